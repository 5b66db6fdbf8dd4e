"""Issue 10, order authority inside the action server: the verification proof, forged and expired slots,
the throttle, the new-session reset, hostile quantities, the token on the HTTP endpoints and PII in logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher
from sanic import Sanic

from actions import order_action as orders_module
from actions import server
from actions.authority import PROOF_SLOT, client_key, issue_proof, proof_is_valid, verified_order_number
from actions.cancellation import ActionCancelOrder, ActionCheckCancellationFee
from actions.ledger_check import ActionCheckOrderRecord
from actions.order_changes import (
    ActionChangeOrderLine,
    ActionChangeShippingAddress,
    ActionKeepOrder,
    parse_quantity,
)
from actions.order_tasks import TASKS, ActionOrderTask
from actions.returns import ActionTrackRefund
from actions.session import ActionSessionStart
from actions.settings import DEV_ACTION_SERVER_TOKEN, Settings, SettingsError
from actions.verification import ValidateOrderVerificationForm
from shop.sqlite import SqliteOrderStore
from tests.actions.shop_fixtures import FixedClock, make_tracker, proven, responses, slot_events

KEY = "unit-test-verification-key"
FORM_DOMAIN = {"forms": {"order_verification_form": {"required_slots": ["order_id", "email"]}}}
DEMO_STREETS = ("Lindenstraße", "Lindenstrasse")


def snapshot(shop: SqliteOrderStore, number: str) -> tuple[Any, ...]:
    order = shop.get_order(number)
    return (
        order.status,
        order.total_minor,
        order.lines,
        order.shipping_address,
        len(shop.refunds_for_order(number)),
    )


async def run_action(
    action: Any, slots: dict[str, Any], **kw: Any
) -> tuple[CollectingDispatcher, dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, make_tracker(slots, **kw), {})
    return dispatcher, slot_events(events)


async def run_form(
    candidates: dict[str, Any], slots: dict[str, Any] | None = None, **kw: Any
) -> tuple[CollectingDispatcher, dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        {"requested_slot": "email", **(slots or {})},
        candidates=candidates,
        active_loop="order_verification_form",
        **kw,
    )
    events = await ValidateOrderVerificationForm().run(dispatcher, tracker, FORM_DOMAIN)
    return dispatcher, slot_events(events)


# --- the proof ------------------------------------------------------------------------------------------
def test_proof_binds_sender_order_customer_and_time() -> None:
    now = 1_800_000_000.0
    proof = issue_proof("conv-a", "SD-100002", "C-0001", key=KEY, now=now)
    ok = {
        "sender_id": "conv-a",
        "order_number": "SD-100002",
        "customer_id": "C-0001",
        "key": KEY,
        "ttl_s": 1800,
    }
    assert proof_is_valid(proof, now=now + 10, **ok)
    assert not proof_is_valid(proof, now=now + 10, **{**ok, "sender_id": "conv-b"})
    assert not proof_is_valid(proof, now=now + 10, **{**ok, "order_number": "SD-100003"})
    assert not proof_is_valid(proof, now=now + 10, **{**ok, "customer_id": "C-0002"})
    assert not proof_is_valid(proof, now=now + 10, **{**ok, "key": "another-key"})
    assert not proof_is_valid(proof, now=now + 1800, **ok)  # expired
    assert not proof_is_valid(proof, now=now - 3600, **ok)  # issued in the future
    version, issued, signature = proof.split(".")
    assert not proof_is_valid(f"{version}.{int(issued) + 1}.{signature}", now=now + 10, **ok)
    for junk in (None, "", "v1", "v1.x.y", 42, ["v1"], "v1." + "9" * 40 + ".00"):
        assert not proof_is_valid(junk, now=now, **ok)


def test_verified_order_number_needs_the_proof() -> None:
    assert verified_order_number(make_tracker(proven("SD-100002"))) == "SD-100002"
    forged = {"verified_order_id": "SD-100002", "customer_id": "C-0001"}
    assert verified_order_number(make_tracker(forged)) is None
    stolen = proven("SD-100002", sender_id="someone-else")
    assert verified_order_number(make_tracker(stolen)) is None
    ttl = Settings().verification_ttl_s
    assert verified_order_number(make_tracker(proven("SD-100002", age_s=ttl + 5))) is None
    assert verified_order_number(make_tracker(proven("SD-100002", age_s=ttl - 60))) == "SD-100002"


async def test_verification_sets_a_proof_and_drops_the_email(shop: SqliteOrderStore) -> None:
    _, slots = await run_form({"order_id": "SD-100003", "email": "ben.okafor@example.com"})
    assert slots["verified_order_id"] == "SD-100003" and slots["email"] is None
    assert verified_order_number(make_tracker(slots)) == "SD-100003"


# --- a forged slot alone is not enough ------------------------------------------------------------------
FORGED = {"order_id": "SD-100002", "verified_order_id": "SD-100002", "customer_id": "C-0001"}


async def test_forged_slot_cannot_cancel(shop: SqliteOrderStore) -> None:
    before = snapshot(shop, "SD-100002")
    dispatcher, slots = await run_action(ActionCancelOrder(), {**FORGED, "order_step": "confirm_cancel"})
    assert responses(dispatcher) == ["utter_verify_first"]
    assert slots["verified_order_id"] is None and slots[PROOF_SLOT] is None
    assert snapshot(shop, "SD-100002") == before
    assert shop.get_order("SD-100002").status == "paid"


async def test_proof_of_another_conversation_cannot_cancel(shop: SqliteOrderStore) -> None:
    dispatcher, _ = await run_action(ActionCancelOrder(), proven("SD-100002", sender_id="the-real-shopper"))
    assert responses(dispatcher) == ["utter_verify_first"]
    assert shop.get_order("SD-100002").status == "paid"


async def test_expired_verification_cannot_cancel(shop: SqliteOrderStore) -> None:
    stale = proven("SD-100002", age_s=Settings().verification_ttl_s + 1)
    dispatcher, _ = await run_action(ActionCancelOrder(), stale)
    assert responses(dispatcher) == ["utter_verify_first"]
    assert shop.get_order("SD-100002").status == "paid"


async def test_valid_proof_still_cancels(shop: SqliteOrderStore) -> None:
    dispatcher, _ = await run_action(ActionCancelOrder(), proven("SD-100002"))
    assert responses(dispatcher) == ["utter_order_cancelled_refund"]
    assert shop.get_order("SD-100002").status == "cancelled"


@pytest.mark.parametrize("task", sorted(TASKS))
async def test_forged_slot_gets_no_order_task(shop: SqliteOrderStore, task: str) -> None:
    before = {n: snapshot(shop, n) for n in ("SD-100002", "SD-100003", "SD-100007")}
    for number in before:
        forged = {
            "order_id": number,
            "verified_order_id": number,
            "order_task": task,
            "refund_id": "RF-300001",
        }
        dispatcher, _ = await run_action(ActionOrderTask(), forged)
        assert responses(dispatcher) == ["utter_verify_first"], (task, number)
        told = str(dispatcher.messages)
        assert "JJD014600003" not in told and "RF-300001" not in told
    assert {n: snapshot(shop, n) for n in before} == before


@pytest.mark.parametrize(
    ("action", "extra"),
    [
        (ActionKeepOrder(), {}),
        (ActionChangeOrderLine(), {"line_item": "P-1042", "line_quantity": "0"}),
        (
            ActionChangeShippingAddress(),
            {"new_street": "Elm 1", "new_postcode": "10115", "new_city": "Berlin", "new_country": "DE"},
        ),
        (ActionCheckCancellationFee(), {}),
        (ActionTrackRefund(), {"refund_id": "RF-300001"}),
    ],
)
async def test_every_order_action_refuses_a_forged_slot(
    shop: SqliteOrderStore, action: Any, extra: dict[str, Any]
) -> None:
    before = snapshot(shop, "SD-100002")
    dispatcher, _ = await run_action(action, {**FORGED, **extra})
    assert responses(dispatcher) == ["utter_verify_first"]
    assert snapshot(shop, "SD-100002") == before


async def test_ledger_check_refuses_a_forged_slot(shop: SqliteOrderStore) -> None:
    dispatcher, _ = await run_action(ActionCheckOrderRecord(), FORGED)
    assert responses(dispatcher) == ["utter_ledger_need_verified_order"]


# --- a new session forgets the shopper --------------------------------------------------------------------
async def test_new_session_keeps_the_cart_and_drops_the_verification() -> None:
    cart = [{"product_id": "P-1042", "quantity": 1}]
    slots = {
        **proven("SD-100002"),
        "order_id": "SD-100002",
        "email": "anna.berg@example.com",
        "customer_name": "Anna Berg",
        "checkout_address": "Lindenstraße 12, 10969 Berlin",
        "cart": cart,
        "handoff_status": "queued",
        "shown_product_id": "P-1042",
    }
    events = await ActionSessionStart().run(CollectingDispatcher(), make_tracker(slots), {})
    assert events[0]["event"] == "session_started" and events[-1]["name"] == "action_listen"
    carried = slot_events(events)
    assert carried == {"cart": cart, "handoff_status": "queued", "shown_product_id": "P-1042"}


# --- throttle, one reply ---------------------------------------------------------------------------------
def test_client_is_the_channel_metadata_else_the_sender() -> None:
    tracker = make_tracker({}, sender_id="s-1")
    assert client_key(tracker) == "sender:s-1"
    with_meta = Tracker(
        "s-2",
        {},
        {"intent": {}, "entities": [], "metadata": {"shopdesk_client": "ab12"}},
        [],
        False,
        None,
        {},
        "",
    )
    assert client_key(with_meta) == "client:ab12"
    from_event = Tracker(
        "s-3", {}, {}, [{"event": "user", "metadata": {"shopdesk_client": "cd34"}}], False, None, {}, ""
    )
    assert client_key(from_event) == "client:cd34"


async def test_failures_per_order_survive_restarts_and_new_senders(shop: SqliteOrderStore) -> None:
    limit = Settings().verification_max_failures_per_order
    for attempt in range(limit):  # each from a brand-new conversation, as after /restart
        dispatcher, _ = await run_form(
            {"email": "guess@example.com"}, {"order_id": "SD-100002"}, sender_id=f"attacker-{attempt}"
        )
        assert responses(dispatcher) == ["utter_verification_failed"]
    # now even the right email is not checked for this order, from any conversation
    dispatcher, slots = await run_form(
        {"email": "anna.berg@example.com"}, {"order_id": "SD-100002"}, sender_id="attacker-next"
    )
    assert responses(dispatcher) == ["utter_verification_throttled"]
    assert slots["verified_order_id"] is None and slots["email"] is None
    # another order is not affected for a fresh client
    dispatcher, slots = await run_form({"email": "ben.okafor@example.com"}, {"order_id": "SD-100003"})
    assert slots["verified_order_id"] == "SD-100003"


async def test_failures_per_client_span_orders_and_senders(
    shop: SqliteOrderStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = Settings().verification_max_failures_per_client
    meta = {"shopdesk_client": "one-address"}
    for attempt in range(limit):  # every attempt a different (unknown or real) order number
        tracker = make_tracker(
            {"requested_slot": "email", "order_id": f"SD-1{10000 + attempt}"},
            candidates={"email": "guess@example.com"},
            active_loop="order_verification_form",
            sender_id=f"walker-{attempt}",
        )
        tracker.latest_message["metadata"] = meta
        dispatcher = CollectingDispatcher()
        await ValidateOrderVerificationForm().run(dispatcher, tracker, FORM_DOMAIN)
        assert responses(dispatcher) == ["utter_verification_failed"]
    tracker = make_tracker(
        {"requested_slot": "email", "order_id": "SD-100003"},
        candidates={"email": "ben.okafor@example.com"},
        active_loop="order_verification_form",
        sender_id="walker-last",
    )
    tracker.latest_message["metadata"] = meta
    dispatcher = CollectingDispatcher()
    await ValidateOrderVerificationForm().run(dispatcher, tracker, FORM_DOMAIN)
    assert responses(dispatcher) == ["utter_verification_throttled"]


async def test_throttle_window_passes(shop: SqliteOrderStore, clock: FixedClock) -> None:
    window = Settings().verification_throttle_window_s
    for _ in range(Settings().verification_max_failures_per_order):
        shop.record_verification_failure("SD-100002", "client:x", window)
    assert shop.verification_failures("SD-100002", "client:y", window) == (5, 0)
    clock.now += timedelta(seconds=window + 1)
    assert shop.verification_failures("SD-100002", "client:x", window) == (0, 0)
    shop.record_verification_failure("SD-100002", "client:x", window)  # also prunes the old rows
    assert shop.verification_failures("SD-100002", "client:x", 10 * window) == (1, 1)


# --- hostile line quantities ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        "inf",
        "-inf",
        "nan",
        "NaN",
        "-1",
        "1e999",
        "99999999999999999999",
        "2.5",
        "abc",
        "",
        None,
        [1],
        {"a": 1},
        True,
        11,
        float("inf"),
    ],
)
async def test_hostile_line_quantity_is_not_understood(shop: SqliteOrderStore, raw: Any) -> None:
    before = snapshot(shop, "SD-100002")
    slots = {
        **proven("SD-100002"),
        "order_step": "choose_change",
        "line_item": "P-1042",
        "line_quantity": raw,
    }
    dispatcher, events = await run_action(ActionChangeOrderLine(), slots)
    assert responses(dispatcher) == ["utter_change_not_understood"]
    assert events["line_quantity"] is None and snapshot(shop, "SD-100002") == before


@pytest.mark.parametrize(("raw", "expected"), [("0", 0), ("1", 1), (" 3 ", 3), (2, 2), (4.0, 4), ("10", 10)])
def test_good_line_quantities(raw: Any, expected: int) -> None:
    assert parse_quantity(raw) == expected


# --- settings -----------------------------------------------------------------------------------------------
def test_action_server_settings_defaults_and_production() -> None:
    settings = Settings.from_env({})
    assert settings.action_server_host == "127.0.0.1"
    assert settings.action_server_token == DEV_ACTION_SERVER_TOKEN and settings.verification_ttl_s == 1800
    real = {
        "SHOPDESK_ENV": "production",
        "HANDOFF_TOKEN": "h-secret",
        "LEDGER_PRIVATE_KEY": "0x" + "1" * 64,
        "LEDGER_HMAC_KEY": "l-secret-of-at-least-thirty-two-bytes",
        "VERIFICATION_KEY": "v-secret",
    }
    with pytest.raises(SettingsError, match="ACTION_SERVER_TOKEN"):
        Settings.from_env(real)
    with pytest.raises(SettingsError, match="VERIFICATION_KEY"):
        Settings.from_env({**real, "ACTION_SERVER_TOKEN": "a-secret", "VERIFICATION_KEY": ""})
    assert Settings.from_env({**real, "ACTION_SERVER_TOKEN": "a-secret"}).environment == "production"
    for name, value in (
        ("VERIFICATION_TTL_S", "0"),
        ("VERIFICATION_TTL_S", "soon"),
        ("VERIFICATION_MAX_FAILURES_PER_ORDER", "0"),
        ("VERIFICATION_THROTTLE_WINDOW_S", "-5"),
        ("ACTION_SERVER_HOST", "0.0.0.0 x"),
    ):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value})


# --- the HTTP endpoints need the token ----------------------------------------------------------------------
@pytest.fixture
async def action_server(shop: SqliteOrderStore) -> AsyncIterator[str]:
    Sanic.test_mode = True  # one app per test in one process
    executor = ActionExecutor()
    executor.register_package("actions")
    app = server.create_app(executor, token="unit-test-token", cors_origins=None)
    srv = await app.create_server(host="127.0.0.1", port=0, return_asyncio_server=True)
    assert srv is not None
    await srv.startup()
    port = srv.server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    srv.close()
    await srv.wait_closed()
    await asyncio.sleep(0)


def forged_call(sender: str, slots: dict[str, Any], action: str) -> dict[str, Any]:
    return {
        "next_action": action,
        "sender_id": sender,
        "version": "3.6.0",
        "tracker": {
            "sender_id": sender,
            "slots": slots,
            "latest_message": {"intent": {"name": "affirm"}, "entities": [], "text": "yes"},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
        "domain": {"responses": {}, "slots": {}, "forms": {}, "actions": []},
    }


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong-token", "unit-test-token", "Basic dW5pdC10ZXN0LXRva2Vu"]
)
async def test_webhook_without_the_token_is_refused_and_changes_nothing(
    action_server: str, shop: SqliteOrderStore, header: str | None
) -> None:
    before = snapshot(shop, "SD-100002")
    call = forged_call(
        "intruder",
        {**proven("SD-100002", sender_id="intruder"), "order_step": "confirm_cancel"},
        "action_cancel_order",
    )
    headers = {"Authorization": header} if header else {}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{action_server}/webhook", json=call, headers=headers) as reply:
            assert reply.status == 401
            assert "unauthorized" in (await reply.json())["error"]
        async with http.get(f"{action_server}/actions", headers=headers) as reply:
            assert reply.status == 401
        async with http.get(f"{action_server}/health") as reply:
            assert reply.status == 200
    assert snapshot(shop, "SD-100002") == before


async def test_webhook_with_the_token_still_refuses_a_forged_slot(
    action_server: str, shop: SqliteOrderStore
) -> None:
    before = snapshot(shop, "SD-100002")
    auth = {"Authorization": "Bearer unit-test-token"}
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{action_server}/webhook",
            json=forged_call("intruder", FORGED, "action_cancel_order"),
            headers=auth,
        ) as reply:
            assert reply.status == 200
            body = await reply.json()
        assert [r.get("response") for r in body["responses"]] == ["utter_verify_first"]
        assert snapshot(shop, "SD-100002") == before
        # the same call with a real proof for this conversation does cancel: the token alone is not the check
        call = forged_call("intruder", {**proven("SD-100002", sender_id="intruder")}, "action_cancel_order")
        async with http.post(f"{action_server}/webhook", json=call, headers=auth) as reply:
            assert reply.status == 200
        async with http.get(f"{action_server}/actions", headers=auth) as reply:
            names = {a["name"] for a in await reply.json()}
    assert shop.get_order("SD-100002").status == "cancelled"
    assert "action_session_start" in names


async def test_server_errors_do_not_echo_the_tracker(
    action_server: str, shop: SqliteOrderStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(orders_module, "verified_order_number", boom)
    call = forged_call("s", {"email": "anna.berg@example.com"}, "action_cancel_order")
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{action_server}/webhook", json=call, headers={"Authorization": "Bearer unit-test-token"}
        ) as reply:
            text = await reply.text()
    assert reply.status == 500
    assert "anna.berg" not in text and "request_body" not in text  # rasa-sdk's handler echoed both


# --- PII stays out of the logs above DEBUG -------------------------------------------------------------------
async def test_verification_and_order_flows_log_no_pii(
    shop: SqliteOrderStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await run_form({"order_id": "SD-100003", "email": "anna.berg@example.com"})  # mismatch
    await run_form({"order_id": "SD-199999", "email": "ben.okafor@example.com"})  # unknown
    await run_form({"order_id": "SD-100003", "email": "ben.okafor@example.com"})  # success
    await run_action(ActionOrderTask(), {**proven("SD-100004"), "order_task": "return"})
    await run_action(ActionCancelOrder(), proven("SD-100001"))
    text = caplog.text.lower()
    assert caplog.records, "the flows log something at INFO"
    for secret in (
        "anna.berg",
        "ben.okafor",
        "@example.com",
        "anna berg",
        "ben okafor",
        *[s.lower() for s in DEMO_STREETS],
    ):
        assert secret not in text, secret


def test_server_start_validates_settings_and_binds_loopback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr("sys.argv", ["actions.server", "--actions", "actions"])
    monkeypatch.setenv("SHOP_DB_PATH", str(tmp_path / "shop.db"))  # main opens the store before serving
    monkeypatch.setenv("SHOP_DB_SEED", "0")
    for name, value in {
        "SHOPDESK_ENV": "production",
        "HANDOFF_TOKEN": "h-secret",
        "LEDGER_PRIVATE_KEY": "0x" + "1" * 64,
        "LEDGER_HMAC_KEY": "l-secret-of-at-least-thirty-two-bytes",
        "VERIFICATION_KEY": "v-secret",
        "ACTION_SERVER_TOKEN": DEV_ACTION_SERVER_TOKEN,
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit):
        server.main()
    assert "ACTION_SERVER_TOKEN" in capsys.readouterr().err

    prepared: dict[str, Any] = {}

    class FakeApp:
        def prepare(self, **kwargs: Any) -> None:
            prepared.update(kwargs)

    monkeypatch.setenv("SHOPDESK_ENV", "development")
    monkeypatch.delenv("ACTION_SERVER_HOST", raising=False)
    monkeypatch.setenv("SANIC_HOST", "0.0.0.0")  # no longer read: binding elsewhere is ACTION_SERVER_HOST
    monkeypatch.setattr(server.AppLoader, "load", lambda self: FakeApp())
    monkeypatch.setattr(server.Sanic, "serve", lambda **kwargs: None)
    server.main()
    assert prepared["host"] == "127.0.0.1"
