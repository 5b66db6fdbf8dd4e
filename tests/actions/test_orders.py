"""Order actions (verification, tracking, cancellation, changes, returns, refunds, invoices) on the
seeded demo shop, through a Tracker, a CollectingDispatcher and the domain's own response texts."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import cancellation, common, order_tasks
from actions.cancellation import ActionCancelOrder, ActionCheckCancellationFee
from actions.order_changes import (
    ActionChangeOrderLine,
    ActionChangeShippingAddress,
    ActionKeepOrder,
    ValidateShippingAddressForm,
    normalize_country,
)
from actions.order_tasks import ActionOrderTask
from actions.returns import ActionTrackRefund
from actions.verification import ValidateOrderVerificationForm
from shop.errors import StoreError
from shop.sqlite import SqliteOrderStore
from tests.actions.shop_fixtures import make_tracker, proven, responses, slot_events

DEMO_EMAIL = {
    "SD-100001": "anna.berg@example.com",
    "SD-100002": "anna.berg@example.com",
    "SD-100003": "ben.okafor@example.com",
    "SD-100004": "ben.okafor@example.com",
    "SD-100005": "chloe.martin@example.com",
    "SD-100006": "chloe.martin@example.com",
    "SD-100007": "david.chen@example.com",
    "SD-100008": "david.chen@example.com",
    "SD-100009": "emma.fischer@example.com",
}


def verified(number: str, task: str = "track", **extra: Any) -> dict[str, Any]:
    """The slots after a successful verification of ``number`` (the email is not kept)."""
    return {"order_id": number, **proven(number), "order_task": task, **extra}


async def run_form(candidates: dict[str, Any], slots: dict[str, Any] | None = None, domain: Any = None):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        {"requested_slot": "order_id", **(slots or {})},
        candidates=candidates,
        active_loop="order_verification_form",
    )
    events = await ValidateOrderVerificationForm().run(dispatcher, tracker, domain)
    return dispatcher, slot_events(events)


async def run_action(action: Any, slots: dict[str, Any], domain: dict[str, Any]):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots)
    events = await action.run(dispatcher, tracker, domain)
    return dispatcher, slot_events(events), tracker


# --- verification -----------------------------------------------------------------------------------
async def test_correct_email_verifies(shop: SqliteOrderStore, domain: dict[str, Any], say: Any) -> None:
    dispatcher, slots = await run_form(
        {"order_id": "sd100003", "email": "Ben.Okafor@example.com"}, domain=domain
    )
    assert slots["verified_order_id"] == "SD-100003"
    assert slots["customer_id"] == "C-0002"
    assert slots["email"] is None and slots["customer_name"] is None  # no PII kept in the tracker
    assert slots["verification_attempts"] == 0
    assert say(dispatcher) == ["Thanks, Ben — that's all I need. Let me look at SD-100003."]


async def test_wrong_email_never_reveals_the_real_one(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any
) -> None:
    dispatcher, slots = await run_form(
        {"order_id": "SD-100003", "email": "anna.berg@example.com"}, domain=domain
    )
    assert slots["email"] is None and slots.get("verified_order_id") is None
    assert slots["verification_attempts"] == 1
    (text,) = say(dispatcher)
    assert "couldn't match" in text and "ben" not in text.lower() and "okafor" not in text.lower()


async def test_unknown_order_alone_reveals_nothing_and_asks_for_the_email(
    shop: SqliteOrderStore, domain: dict[str, Any]
) -> None:
    # Before: "I couldn't find an order SD-199999" at once, an oracle for which numbers exist.
    dispatcher, slots = await run_form({"order_id": "SD-199999"}, domain=domain)
    assert slots["order_id"] == "SD-199999" and slots["verified_order_id"] is None
    assert dispatcher.messages == [] and "verification_attempts" not in slots


async def test_unknown_order_and_wrong_email_get_the_same_reply(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any
) -> None:
    unknown, unknown_slots = await run_form(
        {"order_id": "SD-199999", "email": "anna.berg@example.com"}, domain=domain
    )
    mismatch, mismatch_slots = await run_form(
        {"order_id": "SD-100003", "email": "anna.berg@example.com"}, domain=domain
    )
    assert responses(unknown) == responses(mismatch) == ["utter_verification_failed"]
    assert say(unknown) == say(mismatch)
    assert unknown_slots == mismatch_slots | {"order_id": "SD-199999"}


async def test_email_given_before_the_number_is_checked_with_it(
    shop: SqliteOrderStore, domain: dict[str, Any]
) -> None:
    dispatcher, slots = await run_form(
        {"order_id": "SD-100003"}, slots={"email": "ben.okafor@example.com"}, domain=domain
    )
    assert slots["verified_order_id"] == "SD-100003" and slots["email"] is None
    assert responses(dispatcher) == ["utter_order_verified"]


@pytest.mark.parametrize("hostile", ["1; DROP TABLE orders", "../../etc/passwd", "<script>x</script>"])
async def test_hostile_order_ids_get_a_clean_answer(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any, hostile: str
) -> None:
    dispatcher, slots = await run_form({"order_id": hostile}, domain=domain)
    assert slots["order_id"] is None
    assert responses(dispatcher) == ["utter_order_id_invalid"]
    assert "SD-100042" in say(dispatcher)[0]
    assert shop.get_order("SD-100001").number == "SD-100001"


async def test_stray_malformed_id_does_not_count_when_not_asked(
    shop: SqliteOrderStore, domain: dict[str, Any]
) -> None:
    _, slots = await run_form({"order_id": "5"}, slots={"requested_slot": "email"}, domain=domain)
    assert slots["order_id"] is None and "verification_attempts" not in slots


async def test_third_failure_locks_and_ends_the_form(shop: SqliteOrderStore, domain: dict[str, Any]) -> None:
    dispatcher, slots = await run_form(
        {"email": "wrong@example.com"},
        slots={"order_id": "SD-100003", "verification_attempts": 2.0, "requested_slot": "email"},
        domain=domain,
    )
    assert slots["verification_attempts"] == 3
    assert slots["requested_slot"] is None  # the form stops asking
    assert responses(dispatcher) == ["utter_verification_failed"]


async def test_locked_then_order_task_offers_a_person(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any
) -> None:
    dispatcher, slots, _ = await run_action(
        ActionOrderTask(),
        {"order_id": "SD-100003", "verification_attempts": 3.0, "order_task": "track"},
        domain,
    )
    assert slots["order_step"] == "offer_human"
    assert "three tries" in say(dispatcher)[0]


async def test_already_verified_order_is_not_asked_again(
    shop: SqliteOrderStore, domain: dict[str, Any]
) -> None:
    dispatcher, slots = await run_form({"order_id": "SD-100004"}, slots=verified("SD-100004"), domain=domain)
    assert slots["order_id"] == "SD-100004" and "verified_order_id" not in slots  # kept as it was
    assert slots["requested_slot"] is None  # the form ends at once: no email asked
    assert dispatcher.messages == []  # no "thanks" again, no question


async def test_email_repeated_for_the_verified_order_is_dropped(
    shop: SqliteOrderStore, domain: dict[str, Any]
) -> None:
    dispatcher, slots = await run_form(
        {"order_id": "SD-100004", "email": "ben.okafor@example.com"},
        slots=verified("SD-100004"),
        domain=domain,
    )
    assert slots["email"] is None and slots["requested_slot"] is None
    assert dispatcher.messages == []


async def test_switching_to_another_order_asks_for_its_email(
    shop: SqliteOrderStore, domain: dict[str, Any]
) -> None:
    # Ben verified SD-100004; now asks about Anna's SD-100001: asked for its email, nothing counted.
    dispatcher, slots = await run_form({"order_id": "SD-100001"}, slots=verified("SD-100004"), domain=domain)
    assert slots["order_id"] == "SD-100001" and slots.get("email") is None
    assert slots["verified_order_id"] is None and slots["verification_proof"] is None
    assert "verification_attempts" not in slots and dispatcher.messages == []


async def test_store_outage_during_verification(
    shop: SqliteOrderStore, domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        def verification_failures(self, *args: Any) -> None:
            raise StoreError("disk I/O error")

    monkeypatch.setattr("actions.verification.store", lambda: Broken())
    dispatcher, slots = await run_form(
        {"order_id": "SD-100003", "email": "ben.okafor@example.com"}, domain=domain
    )
    assert responses(dispatcher) == ["utter_order_system_down"] and slots["verified_order_id"] is None


# --- tracking ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("number", "response", "fragments"),
    [
        ("SD-100001", "utter_track_pending", ["waiting for the payment"]),
        ("SD-100002", "utter_track_paid", ["is paid"]),
        ("SD-100009", "utter_track_packed", ["packed"]),
        (
            "SD-100003",
            "utter_track_shipped",
            ["DHL", "JJD014600003", "https://track.example.com/dhl/JJD014600003", "Thursday 13 March"],
        ),
        ("SD-100004", "utter_track_delivered", ["delivered by DPD", "7 Mar 2025", "30 days"]),
        ("SD-100006", "utter_track_cancelled", ["cancelled on"]),
        ("SD-100007", "utter_track_returned", ["RF-300001"]),
    ],
)
async def test_track_each_status(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any, number: str, response: str, fragments: list[str]
) -> None:
    dispatcher, _, _ = await run_action(ActionOrderTask(), verified(number, "track"), domain)
    assert responses(dispatcher)[0] == response
    text = " ".join(say(dispatcher))
    for fragment in fragments:
        assert fragment in text
    assert number in text


# --- cancellation -------------------------------------------------------------------------------------
async def test_cancel_paid_order_asks_with_buttons_then_cancels(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any
) -> None:
    dispatcher, slots, _ = await run_action(ActionOrderTask(), verified("SD-100002", "cancel"), domain)
    assert slots["order_step"] == "confirm_cancel"
    text = say(dispatcher)[0]
    assert "free" in text and "€89.80" in text and "Mastercard ending 5100" in text
    assert [b["payload"] for b in domain["responses"]["utter_cancel_confirm_free"][0]["buttons"]] == [
        "/affirm",
        "/deny",
    ]
    dispatcher, slots, _ = await run_action(
        ActionCancelOrder(), verified("SD-100002", order_step="confirm_cancel"), domain
    )
    assert slots["order_step"] is None
    assert shop.get_order("SD-100002").status == "cancelled"
    (text,) = say(dispatcher)
    (refund,) = shop.refunds_for_order("SD-100002")
    assert refund.id in text and "€89.80" in text


async def test_cancel_packed_order_states_the_fee(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any
) -> None:
    dispatcher, slots, _ = await run_action(ActionOrderTask(), verified("SD-100009", "cancel"), domain)
    assert slots["order_step"] == "confirm_cancel"
    assert "€4.95 handling fee" in say(dispatcher)[0]
    dispatcher, _, _ = await run_action(ActionCancelOrder(), verified("SD-100009"), domain)
    assert responses(dispatcher) == ["utter_order_cancelled_fee"]
    assert "€4.95" in say(dispatcher)[0]


async def test_cancel_unpaid_order(shop: SqliteOrderStore, domain: dict[str, Any], say: Any) -> None:
    dispatcher, _, _ = await run_action(ActionOrderTask(), verified("SD-100001", "cancel"), domain)
    assert responses(dispatcher) == ["utter_cancel_confirm_unpaid"]
    dispatcher, _, _ = await run_action(ActionCancelOrder(), verified("SD-100001"), domain)
    assert responses(dispatcher) == ["utter_order_cancelled_unpaid"]


async def test_no_cancel_after_shipping_offers_a_return(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any
) -> None:
    dispatcher, slots, _ = await run_action(ActionOrderTask(), verified("SD-100003", "cancel"), domain)
    assert slots.get("order_step") is None
    text = say(dispatcher)[0]
    assert "can't be cancelled" in text and "return" in text
    assert shop.get_order("SD-100003").status == "shipped"


async def test_shopper_keeps_the_order(shop: SqliteOrderStore, domain: dict[str, Any], say: Any) -> None:
    dispatcher, slots, _ = await run_action(
        ActionKeepOrder(), verified("SD-100002", order_step="confirm_cancel"), domain
    )
    assert slots["order_step"] is None
    assert say(dispatcher) == ["Okay, I've left SD-100002 exactly as it is."]
    assert shop.get_order("SD-100002").status == "paid"


async def test_cancel_race_after_shipping(shop: SqliteOrderStore, domain: dict[str, Any]) -> None:
    with shop.transaction() as conn:
        conn.execute(
            "UPDATE orders SET status = 'shipped', shipped_at = '2025-03-12T09:00:00+00:00' "
            "WHERE number = 'SD-100002'"
        )
    dispatcher, _, _ = await run_action(ActionCancelOrder(), verified("SD-100002"), domain)
    assert responses(dispatcher) == ["utter_cancel_too_late"]


async def test_cancellation_fee_for_the_verified_order(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any
) -> None:
    for number, expected in [
        ("SD-100002", "utter_fee_free"),
        ("SD-100009", "utter_fee_packed"),
        ("SD-100003", "utter_fee_not_cancellable"),
    ]:
        dispatcher, _, _ = await run_action(ActionCheckCancellationFee(), verified(number), domain)
        assert responses(dispatcher) == [expected]
        say(dispatcher)


# --- changes --------------------------------------------------------------------------------------------
async def test_change_offers_buttons_and_removes_an_item(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any
) -> None:
    dispatcher, slots, _ = await run_action(ActionOrderTask(), verified("SD-100002", "change"), domain)
    assert slots["order_step"] == "choose_change"
    buttons = dispatcher.messages[0]["buttons"]
    payloads = [b["payload"] for b in buttons]
    assert '/inform{"line_item": "P-1042", "line_quantity": "0"}' in payloads
    assert "/deny" in payloads
    dispatcher, slots, _ = await run_action(
        ActionChangeOrderLine(), verified("SD-100002", line_item="P-1042", line_quantity="0"), domain
    )
    assert slots["order_step"] is None and slots["line_item"] is None
    texts = say(dispatcher)
    assert "removed Cork Yoga Blocks (Pair)" in texts[0] and "€59.90" in texts[0]
    assert responses(dispatcher) == ["utter_order_line_changed", "utter_change_refund"]
    assert "€29.90" in texts[1]


async def test_change_refused_after_shipping(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any
) -> None:
    dispatcher, slots, _ = await run_action(ActionOrderTask(), verified("SD-100003", "change"), domain)
    assert responses(dispatcher) == ["utter_change_refused_shipped"] and slots.get("order_step") is None
    say(dispatcher)


async def test_change_last_item_suggests_cancelling(shop: SqliteOrderStore, domain: dict[str, Any]) -> None:
    shop.remove_order_line("SD-100009", "P-1022")
    dispatcher, _, _ = await run_action(
        ActionChangeOrderLine(), verified("SD-100009", line_item="P-1028", line_quantity="0"), domain
    )
    assert responses(dispatcher) == ["utter_change_last_item"]


async def test_change_with_a_forged_item(shop: SqliteOrderStore, domain: dict[str, Any]) -> None:
    dispatcher, _, _ = await run_action(
        ActionChangeOrderLine(), verified("SD-100002", line_item="P-1001'--", line_quantity="x"), domain
    )
    assert responses(dispatcher) == ["utter_change_not_understood"]


# --- address ----------------------------------------------------------------------------------------------
async def test_address_change_flow(shop: SqliteOrderStore, domain: dict[str, Any], say: Any) -> None:
    dispatcher, slots, _ = await run_action(ActionOrderTask(), verified("SD-100002", "address"), domain)
    assert slots["order_step"] == "collect_address" and slots["new_street"] is None
    assert "Lindenstraße 12" in say(dispatcher)[0]
    new = {"new_street": "Neue Straße 7", "new_postcode": "20095", "new_city": "Hamburg", "new_country": "DE"}
    dispatcher, slots, _ = await run_action(
        ActionChangeShippingAddress(), verified("SD-100002", **new), domain
    )
    assert shop.get_order("SD-100002").shipping_address.city == "Hamburg"
    assert say(dispatcher) == [
        "All set — SD-100002 will now go to Anna Berg, Neue Straße 7, 20095 Hamburg, DE."
    ]
    assert slots["new_street"] is None and slots["order_step"] is None


async def test_address_change_refused_after_shipping(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any
) -> None:
    dispatcher, slots, _ = await run_action(ActionOrderTask(), verified("SD-100003", "address"), domain)
    assert responses(dispatcher) == ["utter_address_refused_shipped"] and slots.get("order_step") is None
    assert "DHL" in say(dispatcher)[0]


@pytest.mark.parametrize(
    ("slot", "value", "expected"),
    [
        ("new_street", "Neue Straße 7", "Neue Straße 7"),
        ("new_street", "7", None),
        ("new_postcode", "1016 dv", "1016 DV"),
        ("new_postcode", "abc", None),
        ("new_city", "Frankfurt am Main", "Frankfurt am Main"),
        ("new_city", "<script>", None),
        ("new_country", "germany", "DE"),
        ("new_country", "NL", "NL"),
        ("new_country", "Narnia", None),
    ],
)
async def test_address_form_validation(
    shop: SqliteOrderStore, domain: dict[str, Any], slot: str, value: str, expected: str | None
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        {"requested_slot": slot}, candidates={slot: value}, active_loop="shipping_address_form"
    )
    events = await ValidateShippingAddressForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[slot] == expected
    assert bool(dispatcher.messages) == (expected is None)


def test_normalize_country() -> None:
    assert normalize_country("The Netherlands") == "NL"
    assert normalize_country("uk") == "GB"
    assert normalize_country("US") is None


# --- returns and refunds -----------------------------------------------------------------------------------
async def test_return_inside_the_window_is_opened(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any
) -> None:
    dispatcher, slots, _ = await run_action(ActionOrderTask(), verified("SD-100004", "return"), domain)
    assert responses(dispatcher) == ["utter_return_created"]
    (request,) = shop.returns_for_order("SD-100004")
    text = say(dispatcher)[0]
    assert request.id in text and "Stride Running Shoe" in text and "€136.90" in text
    assert slots.get("order_step") is None


async def test_return_outside_the_window_offers_a_person(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any
) -> None:
    dispatcher, slots, _ = await run_action(ActionOrderTask(), verified("SD-100005", "return"), domain)
    assert slots["order_step"] == "offer_human"
    text = say(dispatcher)[0]
    assert (
        "30-day return window closed" in text and "10 Feb 2025" in text
    )  # delivered 60 days before NOW, + 30
    assert shop.returns_for_order("SD-100005") == []


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("SD-100002", "utter_return_not_shipped"),
        ("SD-100003", "utter_return_not_delivered"),
        ("SD-100007", "utter_refund_in_progress"),
        ("SD-100006", "utter_refund_none"),
    ],
)
async def test_return_in_other_states(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any, number: str, expected: str
) -> None:
    dispatcher, _, _ = await run_action(ActionOrderTask(), verified(number, "return"), domain)
    assert responses(dispatcher) == [expected]
    say(dispatcher)


async def test_refund_status_through_the_order(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any
) -> None:
    dispatcher, _, _ = await run_action(ActionOrderTask(), verified("SD-100007", "refund_status"), domain)
    text = say(dispatcher)[0]
    assert "RF-300001" in text and "€99.00" in text and "Visa ending 1881" in text


async def test_track_refund_by_id_needs_a_verified_order(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any
) -> None:
    # Before: the amount, the order and the date of any refund, to anyone who typed its number.
    dispatcher, slots, _ = await run_action(ActionTrackRefund(), {"refund_id": "rf300001"}, domain)
    assert responses(dispatcher) == ["utter_verify_first"]
    text = say(dispatcher)[0]
    assert "RF-300001" not in text and "SD-100007" not in text and "€" not in text
    assert slots["refund_id"] is None


async def test_refund_number_of_the_verified_order_is_reported(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any
) -> None:
    dispatcher, slots, _ = await run_action(
        ActionOrderTask(), verified("SD-100007", "refund_status", refund_id="rf300001"), domain
    )
    assert responses(dispatcher) == ["utter_refund_in_progress"]
    assert "RF-300001" in say(dispatcher)[0] and slots["refund_id"] is None


async def test_refund_number_of_another_order_is_not_reported(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any
) -> None:
    dispatcher, _, _ = await run_action(
        ActionOrderTask(), verified("SD-100004", "refund_status", refund_id="RF-300001"), domain
    )
    assert responses(dispatcher) == ["utter_refund_not_on_order"]
    assert "€" not in say(dispatcher)[0] and "SD-100007" not in say(dispatcher)[0]


async def test_return_number_of_the_verified_order(shop: SqliteOrderStore, domain: dict[str, Any]) -> None:
    dispatcher, _, _ = await run_action(
        ActionTrackRefund(), verified("SD-100007", return_id="RT-200001"), domain
    )
    assert responses(dispatcher) == ["utter_refund_in_progress"]


@pytest.mark.parametrize("reference", ["RF-399999", "RF-1' OR '1'='1", "<img src=x>"])
async def test_unknown_or_hostile_refund_ids(
    shop: SqliteOrderStore, domain: dict[str, Any], say: Any, reference: str
) -> None:
    dispatcher, _, _ = await run_action(
        ActionOrderTask(), verified("SD-100007", "refund_status", refund_id=reference), domain
    )
    assert responses(dispatcher) == ["utter_refund_not_on_order"]
    say(dispatcher)


# --- invoices ------------------------------------------------------------------------------------------------
async def test_invoice_link(shop: SqliteOrderStore, domain: dict[str, Any], say: Any) -> None:
    dispatcher, _, _ = await run_action(ActionOrderTask(), verified("SD-100008", "invoice"), domain)
    assert "/invoices/INV-400008.pdf" in say(dispatcher)[0]


async def test_invoice_of_another_order_is_not_shared(shop: SqliteOrderStore, domain: dict[str, Any]) -> None:
    dispatcher, slots, _ = await run_action(
        ActionOrderTask(), verified("SD-100008", "invoice", invoice_id="INV-400004"), domain
    )
    assert responses(dispatcher)[0] == "utter_invoice_not_on_order"
    assert "INV-400004.pdf" not in str(dispatcher.messages)
    assert slots["invoice_id"] is None


async def test_no_invoice_before_payment(shop: SqliteOrderStore, domain: dict[str, Any]) -> None:
    dispatcher, _, _ = await run_action(ActionOrderTask(), verified("SD-100001", "invoice"), domain)
    assert responses(dispatcher) == ["utter_invoice_none_yet"]


async def test_several_invoices_are_listed(shop: SqliteOrderStore, domain: dict[str, Any], say: Any) -> None:
    shop.remove_order_line("SD-100002", "P-1042")  # issues a corrected invoice
    dispatcher, _, _ = await run_action(ActionOrderTask(), verified("SD-100002", "invoice"), domain)
    text = say(dispatcher)[0]
    assert text.count("/invoices/INV-") == 2


# --- robustness ------------------------------------------------------------------------------------------------
async def test_store_errors_never_escape(
    shop: SqliteOrderStore, domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Flaky:
        def __getattr__(self, name: str) -> Any:
            def fail(*args: Any, **kwargs: Any) -> None:
                raise StoreError("database is locked")

            return fail

    monkeypatch.setattr(common, "store", lambda: Flaky())
    monkeypatch.setattr(cancellation, "store", lambda: Flaky())
    for task in order_tasks.TASKS:
        dispatcher, _, _ = await run_action(ActionOrderTask(), verified("SD-100002", task), domain)
        assert responses(dispatcher) == ["utter_order_system_down"], task


def test_every_response_the_actions_use_is_declared(domain: dict[str, Any]) -> None:
    import re
    from pathlib import Path

    source = "".join(
        (Path(order_tasks.__file__).parent / name).read_text()
        for name in (
            "order_tasks.py",
            "order_changes.py",
            "cancellation.py",
            "order_action.py",
            "returns.py",
            "invoices.py",
            "verification.py",
            "common.py",
        )
    )
    used = set(re.findall(r'response="(utter_[a-z_]+)"', source))
    assert used and used <= set(domain["responses"])
    assert {"order_verification_form", "shipping_address_form"} <= set(domain["forms"])
