"""Issue 10 for the bot service: signed widget sessions, bounded limiters, bad metadata, queue timeouts, PII."""

from __future__ import annotations

import logging
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.hub import Hub
from bot.keys import STORE
from bot.queue_timeout import TIMED_OUT, QueueTimeout
from bot.ratelimit import RateLimiter
from bot.store import HandoffStore
from bot.sync import TrackerSync, new_lines
from bot.widget import widget_message
from bot.widget_session import (
    client_id,
    new_session_id,
    signed_client,
    valid_session_id,
    verified_client,
)
from tests.bot.conftest import ALICE, HANDOFF_HEADERS, FakeRasa, login, queue_handoff

SECRET = "test-widget-secret-0123456789"


async def history(client: TestClient, session_id: str) -> Any:
    return await client.get("/api/widget/history", headers={"X-ShopDesk-Session": session_id})


# --- signed session ids ----------------------------------------------------------------------------------


def test_session_ids_are_signed_and_forgeries_refused() -> None:
    session = new_session_id(SECRET)
    assert valid_session_id(SECRET, session)
    assert new_session_id(SECRET) != session
    assert not valid_session_id("another-secret-0123456789", session)
    tampered = session[:31] + ("0" if session[31] != "0" else "1") + session[32:]
    assert not valid_session_id(SECRET, tampered)
    for bad in ("a" * 64, "a" * 32, session.upper(), session + "0", None, 42, ""):
        assert not valid_session_id(SECRET, bad)


def test_forwarded_client_header_is_verified() -> None:
    client = client_id(SECRET, "203.0.113.7")
    assert client == client_id(SECRET, "203.0.113.7") != client_id(SECRET, "203.0.113.8")
    assert "203.0.113.7" not in client and len(client) == 16
    assert verified_client(SECRET, signed_client(SECRET, client)) == client
    assert verified_client(SECRET, signed_client("other-secret-0123456789", client)) is None
    assert verified_client(SECRET, f"{client}.{'0' * 32}") is None
    assert verified_client(SECRET, client) is None
    assert verified_client(SECRET, None) is None


async def test_history_needs_a_server_issued_session_id(anon: TestClient, fake_rasa: FakeRasa) -> None:
    victim = "c0ffee" * 10 + "c0ff"  # well-formed, but no server signed it: a guessed / known id
    fake_rasa.user_says(victim, "my address is 12 Baker Street")
    refused = await history(anon, victim)
    assert refused.status == 403
    assert "Baker" not in await refused.text()

    issued = await anon.post("/api/widget/session")
    assert issued.status == 200
    session = (await issued.json())["session_id"]
    assert len(session) == 64
    fake_rasa.user_says(session, "hello")
    mine = await history(anon, session)
    assert mine.status == 200
    assert (await mine.json())["messages"] == [{"role": "shopper", "text": "hello"}]
    assert (await anon.get(f"/api/widget/history/{session}")).status in (404, 405)  # ids stay out of URLs


async def test_issuing_sessions_is_rate_limited(anon: TestClient) -> None:
    statuses = [(await anon.post("/api/widget/session")).status for _ in range(21)]
    assert statuses[:20] == [200] * 20 and statuses[20] == 429


# --- bounded rate limiters -------------------------------------------------------------------------------


def test_rate_limiter_memory_is_bounded_under_100k_distinct_keys() -> None:
    limiter = RateLimiter(5, 10.0, max_keys=10_000)
    tracemalloc.start()
    for i in range(20_000):
        limiter.allow(f"warm-{i}")
    warm, _ = tracemalloc.get_traced_memory()
    for i in range(100_000):
        assert limiter.allow(f"key-{i}")
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(limiter) <= 10_000
    assert after - warm < 2_000_000  # bytes: no growth with the number of keys seen


def test_rate_limiter_forgets_idle_keys_and_still_limits() -> None:
    now = [0.0]
    limiter = RateLimiter(3, 10.0, clock=lambda: now[0])
    for i in range(1000):
        limiter.allow(f"idle-{i}")
    assert len(limiter) == 1000
    assert [limiter.allow("busy") for _ in range(4)] == [True, True, True, False]
    now[0] = 10.5
    assert limiter.allow("fresh")
    assert len(limiter) == 1  # every key idle for a whole window is gone
    assert [limiter.allow("busy") for _ in range(4)] == [True, True, True, False]


async def test_history_limit_keys_on_the_address_not_the_session(anon: TestClient) -> None:
    """Cycling through session ids does not get around the per-client limit."""
    statuses = [(await history(anon, new_session_id("x" * 20))).status for _ in range(61)]
    assert statuses[:60] == [403] * 60 and statuses[60] == 429


# --- malformed metadata ----------------------------------------------------------------------------------

BAD_EVENTS: list[dict[str, Any]] = [
    {"event": "user", "text": "/affirm", "timestamp": 1.0, "metadata": ["title", "Yes"]},
    {"event": "user", "text": "hello", "timestamp": 2.0, "metadata": "not an object"},
    {"event": "bot", "text": "hi", "timestamp": 3.0, "metadata": [1, 2], "data": ["x"]},
    {"event": "bot", "text": "", "timestamp": 4.0, "metadata": {}, "data": {"buttons": "nope", "image": 5}},
    {"event": "user", "text": "late", "timestamp": "soon", "metadata": None},
]


def test_malformed_metadata_does_not_break_rendering() -> None:
    rendered = [widget_message(e) for e in BAD_EVENTS]
    assert rendered[1] == {"role": "shopper", "text": "hello"}
    assert rendered[2] == {"role": "bot", "text": "hi"}
    lines = new_lines(BAD_EVENTS, 0.0)
    assert [(role, text) for role, text, *_ in lines] == [
        ("shopper", "/affirm"),
        ("shopper", "hello"),
        ("bot", "hi"),
    ]


async def test_list_metadata_neither_breaks_history_nor_console_sync(
    anon: TestClient, alice: tuple[TestClient, str], fake_rasa: FakeRasa, server: Any
) -> None:
    session = (await (await anon.post("/api/widget/session")).json())["session_id"]
    reply = await queue_handoff(anon, session)
    fake_rasa.trackers[session] = [
        {"event": "user", "text": "where is my parcel", "timestamp": 5000.0, "metadata": ["a", "list"]},
        {"event": "user", "text": "hello?", "timestamp": 5001.0, "metadata": {"shopdesk_msg_id": "forged"}},
    ]
    response = await history(anon, session)
    assert response.status == 200
    store = server.app[STORE]
    sync = TrackerSync(store, fake_rasa, Hub())
    assert await sync.sync_once() == 2
    texts = [m["text"] for m in store.messages(reply["handoff_id"])]
    assert "where is my parcel" in texts and "hello?" in texts


# --- queued handoffs time out ----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_unclaimed_handoff_times_out_and_the_shopper_is_told(tmp_path: Path) -> None:
    clock = Clock()
    store = HandoffStore(tmp_path / "h.db", clock=clock)
    rasa = FakeRasa()
    expiry = QueueTimeout(store, rasa, Hub(), timeout_s=900)
    waiting, _ = store.open_handoff("c" * 64, "contact_human_agent", [], {})
    claimed, _ = store.open_handoff("d" * 64, "contact_human_agent", [], {})
    store.claim(claimed["id"], "alice@shop.test", "Alice")
    clock.now += 899
    assert await expiry.expire_once() == 0
    clock.now += 2
    assert await expiry.expire_once() == 1
    assert store.get(waiting["id"])["status"] == "closed"
    assert store.get(claimed["id"])["status"] == "active"  # an agent holds it: untouched
    assert store.open_handoff_for("c" * 64) is None
    ((conversation, events),) = rasa.appended
    assert conversation == "c" * 64
    kinds = [e["event"] for e in events]
    assert kinds[0] == "resume" and kinds[-1] == "action"  # un-paused, then listening
    assert {"event": "slot", "name": "handoff_status", "value": "offline"} in events
    told = next(e for e in events if e["event"] == "bot")
    assert told["text"] == TIMED_OUT and "leave a message" in told["text"]
    assert [b["payload"] for b in told["data"]["buttons"]] == ["/affirm", "/deny"]
    assert any(m["role"] == "notice" for m in store.messages(waiting["id"]))
    store.shutdown()


async def test_timeout_retries_when_rasa_is_down(tmp_path: Path) -> None:
    clock = Clock()
    store = HandoffStore(tmp_path / "h.db", clock=clock)
    rasa = FakeRasa()
    rasa.down = True
    expiry = QueueTimeout(store, rasa, Hub(), timeout_s=60)
    waiting, _ = store.open_handoff("e" * 64, "contact_human_agent", [], {})
    clock.now += 61
    assert await expiry.expire_once() == 0
    assert store.get(waiting["id"])["status"] == "queued"  # the shopper was not told: still queued
    rasa.down = False
    assert await expiry.expire_once() == 1
    store.shutdown()


# --- no PII in logs above DEBUG ---------------------------------------------------------------------------


async def test_no_emails_or_names_in_logs_above_debug(
    anon: TestClient, server: Any, aiohttp_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client = await aiohttp_client(server)
    csrf = await login(client, ALICE[0], ALICE[2])
    reply = await queue_handoff(anon, "f" * 64)
    await client.post(
        f"/api/console/conversations/{reply['handoff_id']}/claim", headers={"X-CSRF-Token": csrf}
    )
    body = {"conversation_id": "f" * 64, "email": "ada.lovelace@example.com", "message": "call me"}
    assert (await anon.post("/api/tickets", json=body, headers=HANDOFF_HEADERS)).status == 201
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG)
    assert logged  # something was logged at INFO
    for pii in ("@", "Ada", "Lovelace", "Alice Agent"):
        assert pii not in logged, pii
