"""Fault tests: kill -9 each process of a supervised stack during one scripted REST conversation.

The stack is `fault_stack` (tests/conftest.py), a stack of its own: the shared `live_stack` is never killed.
One shopper (one sender id) verifies SD-100003 with ben.okafor@example.com and tracks it; then the action
server, Rasa, the bot service, the chain node (anvil itself) and the ledger sender are killed in turn. After
each kill the supervisor must bring the process back, a message sent in the gap must get the technical-problem
reply (or a refused connection while Rasa itself is down) or the right answer, never a wrong one or silence,
and the conversation must end with the right answer. Orders placed while the chain node and the sender are
down must reach the chain exactly once. Every wait is bounded; everything is on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from scripts.stack import ROOT, Stack, descendants
from scripts.supervise import Supervisor
from tests.e2e.shopper import Shopper, all_text
from tests.e2e.stores import open_store

pytestmark = pytest.mark.integration

ORDER = "SD-100003"
EMAIL = "ben.okafor@example.com"
CUSTOMER = "C-0002"
RESTART_TIMEOUT_S = {"actions": 90.0, "rasa": 240.0, "bot": 60.0, "chain": 60.0, "ledger-sender": 30.0}


def technical_problem_texts() -> set[str]:
    """Every variant of utter_technical_problem in the domain (the reply while the action server is down)."""
    texts: set[str] = set()
    for path in sorted((ROOT / "domain").glob("*.yml")):
        responses = (yaml.safe_load(path.read_text()) or {}).get("responses") or {}
        texts.update(str(v.get("text", "")) for v in responses.get("utter_technical_problem") or [])
    texts.discard("")
    return texts


@dataclass
class Conversation:
    """The one scripted conversation the whole module shares, and what was counted before any kill."""

    stack: Stack
    supervisor: Supervisor
    sender: str = field(default_factory=lambda: f"fault-{uuid.uuid4().hex[:10]}")
    tracking_number: str = ""
    orders_before: set[str] = field(default_factory=set)
    placed: list[str] = field(default_factory=list)
    gap_replies: dict[str, list[str]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def conversation(fault_stack: tuple[Stack, Supervisor]) -> Conversation:
    stack, supervisor = fault_stack
    store = open_store(stack.config.shop_db)
    order = store.get_order(ORDER)
    assert order.tracking_number, "the demo order SD-100003 is shipped with a tracking number"
    return Conversation(
        stack,
        supervisor,
        tracking_number=order.tracking_number,
        orders_before={o.number for o in store.orders_for_customer(CUSTOMER)},
    )


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90)) as session:
        yield session


def chat(http: aiohttp.ClientSession, conv: Conversation) -> Shopper:
    return Shopper(http, conv.stack.config.rest_url, sender=conv.sender)


def crash(stack: Stack, name: str) -> int:
    """kill -9 the processes that do the work of `name`: its process group (the action server's Sanic
    manager and worker die together), for the chain node anvil itself (a child in a session of its own)."""
    pid = stack.pid(name)
    if name == "chain":
        anvil = [child for child, _ in descendants(pid) if "anvil" in Path(f"/proc/{child}/comm").read_text()]
        assert anvil, f"no anvil process under the chain launcher {pid}"
        os.kill(anvil[0], signal.SIGKILL)
        return anvil[0]
    os.killpg(pid, signal.SIGKILL)
    return pid


async def wait_back(conv: Conversation, name: str, crashes_before: int) -> None:
    restart = await asyncio.to_thread(
        conv.supervisor.wait_restarted, name, crashes_before + 1, RESTART_TIMEOUT_S[name]
    )
    assert restart.reason == "was killed by SIGKILL" or name == "chain", restart
    assert conv.stack.alive()[name]


async def track(shopper: Shopper) -> str:
    """Ask where the order is; answer the email question if the bot asks it again."""
    return all_text(await shopper.converse(f"where is my order {ORDER}?", email=EMAIL))


async def place_order(conv: Conversation, shopper: Shopper, crash_before_confirming: str) -> str:
    """Put the demo lamp in the cart, check out, kill -9 `crash_before_confirming` and confirm at once: exactly
    one new order, and the shopper is told its number."""
    store = open_store(conv.stack.config.shop_db)
    before = {o.number for o in store.orders_for_customer(CUSTOMER)}
    await shopper.say("add the Arc LED Desk Lamp to my cart")
    summary = await shopper.say("checkout")
    payloads = [str(b.get("payload")) for r in summary for b in r.get("buttons") or []]
    assert "/affirm" in payloads, f"no confirmation asked:\n{shopper.transcript}"
    crash(conv.stack, crash_before_confirming)
    told = all_text(await shopper.say("/affirm"))
    new = {o.number for o in store.orders_for_customer(CUSTOMER)} - before
    assert len(new) == 1, f"one order expected, got {sorted(new)}:\n{shopper.transcript}"
    number = new.pop()
    conv.placed.append(number)
    assert number in told, shopper.transcript
    return number


def assert_clear_or_right(replies: list[dict[str, Any]], right: str, what: str) -> None:
    texts = [str(r.get("text") or "") for r in replies]
    assert replies, f"{what}: no reply at all (silence)"
    told = all_text(replies)
    if right in told:
        return
    problem = technical_problem_texts()
    assert problem, "utter_technical_problem is missing from the domain"
    assert all(text in problem for text in texts if text), f"{what}: neither clear nor right: {texts}"


# ------------------------------------------------------------------------------------------------- the tests
async def test_the_conversation_starts_verified(
    http: aiohttp.ClientSession, conversation: Conversation
) -> None:
    shopper = chat(http, conversation)
    told = await track(shopper)
    assert conversation.tracking_number in told, shopper.transcript


async def test_action_server_crash(http: aiohttp.ClientSession, conversation: Conversation) -> None:
    conv, shopper = conversation, chat(http, conversation)
    crashes = len(conv.supervisor.restarts("actions"))
    crash(conv.stack, "actions")
    gap = await shopper.say(f"where is my order {ORDER}?")
    assert_clear_or_right(gap, conv.tracking_number, "a message while the action server is down")
    conv.gap_replies["actions"] = [str(r.get("text")) for r in gap]
    await wait_back(conv, "actions", crashes)
    assert conv.tracking_number in await track(shopper), shopper.transcript


async def test_rasa_crash(http: aiohttp.ClientSession, conversation: Conversation) -> None:
    conv, shopper = conversation, chat(http, conversation)
    crashes = len(conv.supervisor.restarts("rasa"))
    crash(conv.stack, "rasa")
    with pytest.raises(aiohttp.ClientConnectionError):  # refused: never a wrong answer
        await shopper.say(f"where is my order {ORDER}?")
    await wait_back(conv, "rasa", crashes)
    assert conv.tracking_number in await track(shopper), shopper.transcript


async def test_bot_service_crash(http: aiohttp.ClientSession, conversation: Conversation) -> None:
    conv, shopper = conversation, chat(http, conversation)
    if "bot" not in conv.stack.services:
        pytest.skip("this checkout has no bot service")
    crashes = len(conv.supervisor.restarts("bot"))
    crash(conv.stack, "bot")
    # the shopper's REST conversation does not go through the bot service: it keeps its right answers
    assert conv.tracking_number in await track(shopper), shopper.transcript
    await wait_back(conv, "bot", crashes)
    async with http.get(f"{conv.stack.config.bot_url}/healthz") as response:
        assert response.status == 200


async def test_chain_node_crash(http: aiohttp.ClientSession, conversation: Conversation) -> None:
    conv, shopper = conversation, chat(http, conversation)
    if "chain" not in conv.stack.services:
        pytest.skip("this checkout has no chain node")
    crashes = len(conv.supervisor.restarts("chain"))
    await place_order(conv, shopper, crash_before_confirming="chain")  # the record waits for the node
    await wait_back(conv, "chain", crashes)
    assert conv.tracking_number in await track(shopper), shopper.transcript


async def test_ledger_sender_crash(http: aiohttp.ClientSession, conversation: Conversation) -> None:
    conv, shopper = conversation, chat(http, conversation)
    if "ledger-sender" not in conv.stack.services:
        pytest.skip("this checkout has no ledger sender")
    crashes = len(conv.supervisor.restarts("ledger-sender"))
    await place_order(conv, shopper, crash_before_confirming="ledger-sender")
    await wait_back(conv, "ledger-sender", crashes)
    assert conv.tracking_number in await track(shopper), shopper.transcript


async def test_no_order_or_ledger_record_is_lost_or_duplicated(conversation: Conversation) -> None:
    conv = conversation
    store = open_store(conv.stack.config.shop_db)
    orders = {o.number for o in store.orders_for_customer(CUSTOMER)}
    assert orders == conv.orders_before | set(conv.placed), "orders lost or duplicated"
    assert len(conv.placed) == len(set(conv.placed))
    if "chain" not in conv.stack.services:
        return
    await asyncio.to_thread(assert_ledger_complete, conv, 120.0)


def assert_ledger_complete(conv: Conversation, timeout: float) -> None:
    """Within `timeout`, every outbox row is recorded and the chain holds each exactly once, same digest."""
    from ledger.deployment import connect_existing
    from ledger.outbox import Outbox
    from ledger.settings import LedgerSettings

    settings = LedgerSettings.from_env(conv.stack.config.env())
    deadline = time.monotonic() + timeout
    while True:
        outbox = Outbox.open(conv.stack.config.shop_db)
        try:
            rows = [row for kind in ("order", "recommendations") for row in outbox.by_ref(kind).values()]
        finally:
            outbox.close()
        pending = [row.ref for row in rows if row.status != "recorded"]
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    assert not pending, f"ledger records not delivered within {timeout:.0f} s: {pending}"
    for number in conv.placed:
        assert any(row.ref == number and row.kind == "order" for row in rows), f"no ledger row for {number}"

    client = connect_existing(settings.chain_config(), settings.state_dir)
    on_chain = client.recorded_digests()
    assert client.record_count() == len(rows), "the chain holds more or fewer records than the outbox"
    for row in rows:
        record_id = bytes.fromhex(row.record_id.removeprefix("0x"))
        assert record_id in on_chain, f"{row.kind} {row.ref} is marked recorded but is not on the chain"
        assert on_chain[record_id][0] == bytes.fromhex(row.digest.removeprefix("0x")), row.ref
