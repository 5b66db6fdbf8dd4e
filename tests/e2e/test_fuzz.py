"""Hostile-input fuzz (issue 10): ``FUZZ_EXAMPLES`` (default 10,000) generated inputs through REST and socket.io.

Against the shared ``live_stack``: random unicode, control characters, 5,001-char messages, ``/intent{...}``
payloads with slot names, JSON with wrong types, SQL and HTML snippets, ids in every accepted and unaccepted form.
Properties: no process dies and no traceback is logged, no HTTP 5xx, every answer is a clear message (a non-empty
list of messages with text, or a 4xx with a JSON error; over socket.io every reply has text), nothing of an
unverified order is revealed (demo emails, names, streets, tracking numbers, refund amounts: read from the seeded
store), and no order, return or refund changes.

Hypothesis generates the inputs (generate phase only: a failure is reported with its input, not shrunk); they are
then sent with ``FUZZ_CONCURRENCY`` (default 6) requests in flight. The mix keeps the file inside ~4 minutes on 2
cores: a message that reaches NLU costs ~50-100 ms of Rasa's time, one the channel refuses ~1-2 ms, so most
inputs are refused at the channel and ``FUZZ_DIALOGUE_SHARE`` (default 0.10) of them reach the dialogue. The
fuzz speaks as a client of its own (a signed ``X-ShopDesk-Client``), so its rate limits and verification
throttles never touch the other live tests, and it never sends an email address (no verification is attempted).
``FUZZ_SEED`` replays a run.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import re
import secrets
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from bot.widget_session import signed_client
from rasa_addons.payloads import RASA_COMMANDS, SHOPPER_ENTITIES, SHOPPER_INTENTS
from scripts.stack import ROOT, Stack

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10000"))
CONCURRENCY = int(os.environ.get("FUZZ_CONCURRENCY", "6"))
DIALOGUE_SHARE = float(os.environ.get("FUZZ_DIALOGUE_SHARE", "0.10"))
SEED = int(os.environ.get("FUZZ_SEED") or random.SystemRandom().randrange(2**32))
REPLY_TIMEOUT_S = 60.0  # REST
SOCKET_TIMEOUT_S = 20.0  # socket.io: a reply (or a session_confirm) not here by then is counted as silence

# share of EXAMPLES per category (the dialogue share is set apart above)
MIX = {
    "rest_refused": 0.38,  # wrong JSON types, bad JSON / UTF-8, 5,001+ chars, >64 KB bodies, forbidden payloads
    "rest_blank": 0.02,  # empty and whitespace-only messages: answered without the dialogue
    "sio_message": 0.44,  # over the socket: too long, forbidden payloads, floods (most rate-limited), text
    "sio_malformed": 0.04,  # frames the channel drops (not an object, message not a string)
    "sio_session": 0.02,  # forged / odd session requests: always a fresh server-issued id
    "sio_oversized": 0.002,  # frames over the 64 KB cap: the server closes the socket (and takes new ones)
}

ID_FORMS = [
    "SD-100002",
    "sd 100002",
    "#100002",
    "100002",
    "SD100002",
    "sd-100002",
    "Sd_100002",
    "ＳＤ－１００００２",
    "SD-１００００２",
    "S\u200bD-100002",
    "SD\u2013100002",
    "SD-100002'--",
    "SD-0000000",
    "SD-99999999999999999999",
    "SD--100002",
    "RF-300001",
    "rf 300001",
    "ＲＦ－３００００１",
    "RT-200001",
    "rt200001",
    "INV-400008",
    "INV-4",
    "INV-400008.pdf",
    "INV-../../etc/passwd",
    "SD-100003",
    "SD-100008",
]
SQL = [
    "' OR '1'='1",
    "1; DROP TABLE orders;--",
    "SD-100002' UNION SELECT email FROM customers--",
    '"; DELETE FROM refunds; --',
    "%' AND 1=1 --",
    "1' AND sleep(5)--",
]
HTML = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<a href='javascript:alert(1)'>order</a>",
    "{{7*7}}",
    "${jndi:ldap://x/a}",
    "&#60;b&#62;bold",
    "]]><!--",
]
WORDS = [
    "where is my order",
    "cancel",
    "refund",
    "status of refund",
    "tracking",
    "invoice",
    "return",
    "change the address of",
    "what is the email on",
    "show me",
    "订单",
    "退款",
    "hello",
    "agent",
]


def _internal_slots() -> list[str]:
    """Slot names of the domain that shoppers may not set (verification, handoff, cart state)."""
    names: set[str] = set()
    for path in sorted((ROOT / "domain").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        names.update((data.get("slots") or {}).keys())
    return sorted(names - SHOPPER_ENTITIES) or ["verified_order_id"]


INTERNAL_SLOTS = _internal_slots()
ALLOWED_ENTITIES = sorted(SHOPPER_ENTITIES - {"email"})  # no email: the fuzz never attempts a verification
ALLOWED_INTENTS = sorted(SHOPPER_INTENTS)


# ----------------------------------------------------------------------------------------- strategies
control_chars = st.text(st.characters(min_codepoint=0, max_codepoint=31), min_size=1, max_size=8)
odd_chars = st.lists(
    st.sampled_from(
        ["\u202e", "\u200b", "\ufeff", "\u0000", "\x7f", "\ud800", "\udfff", "\U0010ffff", "😀", "👩‍👩‍👧"]
    ),
    min_size=1,
    max_size=6,
).map("".join)
any_unicode = st.text(max_size=40)
scalar = st.one_of(
    st.sampled_from(ID_FORMS),
    st.sampled_from(["inf", "-inf", "nan", "-1", "0", "1e309", "", " ", "999999999999"]),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(max_size=12),
)
piece = st.one_of(
    st.sampled_from(ID_FORMS),
    st.sampled_from(SQL),
    st.sampled_from(HTML),
    st.sampled_from(WORDS),
    any_unicode,
    control_chars,
    odd_chars,
)
free_text = st.lists(piece, min_size=1, max_size=4).map(" ".join)
allowed_payload = st.builds(
    lambda intent, entities: f"/{intent}" + (json.dumps(entities, ensure_ascii=False) if entities else ""),
    st.sampled_from(ALLOWED_INTENTS),
    st.dictionaries(st.sampled_from(ALLOWED_ENTITIES), scalar, max_size=3),
)
forbidden_payload = st.one_of(
    st.sampled_from([f"/{c}" for c in sorted(RASA_COMMANDS)]),
    st.builds(
        lambda intent, slot, value: f"/{intent}" + json.dumps({slot: value}),
        st.sampled_from(ALLOWED_INTENTS),
        st.sampled_from(INTERNAL_SLOTS),
        scalar,
    ),
    st.builds(
        lambda name: f"/{name}", st.sampled_from(["do_refund", "admin", "action_cancel_order", "utter_x"])
    ),
    st.builds(
        lambda intent, raw: f"/{intent}{raw}",
        st.sampled_from(ALLOWED_INTENTS),
        st.sampled_from(["[1, 2]", '{"order_id": {"a": 1}}', '{"order_id": [1]}', '{"order_id":', '"x"']),
    ),
)
long_message = st.builds(lambda char, n: char * n, st.characters(min_codepoint=32), st.integers(5001, 6000))
# over socket.io the frame is capped at 64 KB and the client escapes non-ASCII as \uXXXX (astral: 12 bytes), so
# long socket messages stay in the BMP: a bigger frame is refused by closing the socket (sio_oversized below)
long_socket_message = st.builds(
    lambda char, n: char * n, st.characters(min_codepoint=32, max_codepoint=0xFFFF), st.integers(5001, 6000)
)
dialogue_text = st.one_of(free_text, free_text, allowed_payload)


def _json_body(**fields: Any) -> bytes:
    try:
        return json.dumps(fields, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only JSON's \u escape can carry it
        return json.dumps(fields).encode("ascii")


wrong_type = st.one_of(
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
bad_sender = st.one_of(
    wrong_type,
    st.just(""),
    st.builds(lambda c, n: c * n, st.characters(min_codepoint=33, max_codepoint=126), st.integers(129, 300)),
    st.text(st.characters(min_codepoint=0, max_codepoint=31), min_size=1, max_size=5),
)
bad_metadata = st.one_of(
    st.lists(st.integers(), max_size=3),
    st.dictionaries(
        st.text(min_size=1, max_size=5),
        st.dictionaries(st.text(max_size=3), st.integers(), min_size=1),
        min_size=1,
        max_size=2,
    ),
    st.builds(lambda n: {"note": "x" * n}, st.integers(1000, 5000)),
    st.builds(lambda n: {f"k{i}": i for i in range(n)}, st.integers(17, 200)),
    st.just("metadata"),
    st.integers(),
)
refused_body = st.one_of(
    st.builds(lambda m: _json_body(sender=f"fz-{uuid.uuid4().hex[:8]}", message=m), wrong_type),
    st.builds(lambda s: _json_body(sender=s, message="hello"), bad_sender),
    st.builds(lambda md: _json_body(sender="fz-meta", message="hello", metadata=md), bad_metadata),
    st.builds(
        lambda ch: _json_body(sender="fz-chan", message="hello", input_channel=ch),
        st.one_of(
            st.sampled_from(["socketio", "console", "shopdesk_socketio", ""]),
            wrong_type.filter(lambda v: v is not None),  # null is "not given"
        ),
    ),
    st.builds(lambda m: _json_body(sender="fz-long", message=m), long_message),
    st.builds(lambda m: _json_body(sender="fz-cmd", message=m), forbidden_payload),
    st.builds(
        lambda raw: raw,
        st.sampled_from(
            [
                b'{"sender": "x", "message": "hi"',
                b"[]",
                b'"hello"',
                b"42",
                b"null",
                b"",
                b"{",
                b'{"message": "hi"}',
                b'{"sender": "x"}',
            ]
        ),
    ),
    st.builds(
        lambda prefix, bad: b'{"sender": "fz-utf", "message": "' + prefix + bad + b'"}',
        st.sampled_from([b"", b"caf", b"SD-100002 "]),
        st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xfe\xfe", b"\xe9 ", b"\xc0\xaf"]),
    ),
    st.just(b'{"sender": "fz-big", "message": "hi", "pad": "' + b"x" * 70_000 + b'"}'),
)
blank_body = st.builds(
    lambda m: _json_body(sender=f"fz-{uuid.uuid4().hex[:8]}", message=m),
    st.text(st.sampled_from([" ", "\t", "\n", "\r", "\u3000", "\u00a0"]), max_size=6),
)
malformed_frame = st.one_of(
    st.text(max_size=20),
    st.integers(),
    st.lists(st.integers(), max_size=3),
    st.builds(
        lambda m: {"message": m}, wrong_type.filter(lambda v: v is not None and not isinstance(v, str))
    ),
)
forged_session = st.one_of(
    st.builds(lambda h: {"session_id": h}, st.text("0123456789abcdef", min_size=64, max_size=64)),
    st.builds(lambda v: {"session_id": v}, st.one_of(wrong_type, st.text(max_size=80))),
    wrong_type,
    st.just({}),
)


def generate(strategy: st.SearchStrategy[Any], count: int, seed: int) -> list[Any]:
    """``count`` examples of ``strategy`` drawn by Hypothesis (in batches; generate phase only)."""
    out: list[Any] = []
    batch = 20
    attempt = 0
    while len(out) < count and attempt < 5:

        @hypothesis_seed(seed + attempt)
        @settings(
            max_examples=math.ceil((count - len(out)) / batch),
            phases=[Phase.generate],
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(st.lists(strategy, min_size=batch, max_size=batch))
        def collect(items: list[Any]) -> None:
            out.extend(items)

        collect()
        attempt += 1
    return out[:count]


# ----------------------------------------------------------------------------------------- what must not leak
@dataclass
class Private:
    always: list[str]  # never in any reply of an unverified conversation
    refund_amounts: dict[str, list[str]]  # refund id -> its amount as text ("49.90", "49,90")
    orders: dict[str, str] = field(default_factory=dict)  # order number -> status, refunds/returns count

    def leaks(self, sent: str, reply: str) -> list[str]:
        found = [s for s in self.always if s and s in reply]
        sent_upper = _fold(sent)
        for refund_id, amounts in self.refund_amounts.items():
            digits = refund_id.split("-")[1]
            if digits in sent_upper:
                found += [f"{refund_id} amount {a}" for a in amounts if a in reply]
        return found


def _fold(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", text).upper()


def read_secrets(db: Path) -> Private:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        always = [row[0] for row in conn.execute("SELECT email FROM customers")]
        always += [row[0] for row in conn.execute("SELECT name FROM customers") if " " in row[0]]
        always += [row[0] for row in conn.execute("SELECT street FROM customers WHERE street != ''")]
        always += [row[0] for row in conn.execute("SELECT ship_street FROM orders")]
        always += [
            row[0] for row in conn.execute("SELECT tracking_number FROM orders WHERE tracking_number != ''")
        ]
        amounts: dict[str, list[str]] = {}
        for refund_id, minor in conn.execute("SELECT id, amount_minor FROM refunds"):
            text = f"{minor // 100}.{minor % 100:02d}"
            amounts[refund_id] = [text, text.replace(".", ",")]
    finally:
        conn.close()
    return Private(sorted({s for s in always if s and len(s) >= 5}), amounts)


def shop_state(db: Path) -> dict[str, Any]:
    """What an unverified shopper must not change: the seeded orders' states and lines, returns, refunds.

    (A new order is a shopper's right without verification, so orders placed by the fuzz are not counted.)
    """
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {
            "orders": dict(conn.execute("SELECT number, status || ' ' || ship_street FROM orders")),
            "lines": dict(
                conn.execute(
                    "SELECT order_number, group_concat(product_id || 'x' || quantity) FROM order_lines "
                    "GROUP BY order_number"
                )
            ),
            "returns": conn.execute("SELECT COUNT(*) FROM returns").fetchone()[0],
            "refunds": conn.execute("SELECT COUNT(*) FROM refunds").fetchone()[0],
        }
    finally:
        conn.close()


def changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    problems = [f"{k}: {before[k]} -> {after[k]}" for k in ("returns", "refunds") if before[k] != after[k]]
    for table in ("orders", "lines"):
        problems += [
            f"{number}: {value!r} -> {after[table].get(number)!r}"
            for number, value in before[table].items()
            if after[table].get(number) != value
        ]
    return problems


# ----------------------------------------------------------------------------------------- results
@dataclass
class Tally:
    sent: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    silent_senders: list[str] = field(default_factory=list)  # REST conversations answered with nothing

    def fail(self, category: str, sent: object, problem: str) -> None:
        self.outcomes[f"{category}:FAILED"] += 1
        if len(self.failures) < 40:
            self.failures.append(f"[{category}] {problem}; input {_short(sent)}")


def _short(value: object, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars)"


def reply_problem(reply: object) -> str | None:
    """Why ``reply`` (one message from the bot) is not a clear message, or None."""
    if not isinstance(reply, dict):
        return f"a reply that is not an object: {_short(reply)}"
    text = reply.get("text")
    if isinstance(text, str) and text.strip():
        return None
    if reply.get("custom") or reply.get("image") or reply.get("attachment"):
        return None
    return f"a reply without text: {_short(reply)}"


def reply_text(reply: object) -> str:
    return json.dumps(reply, ensure_ascii=False) if not isinstance(reply, str) else reply


# ----------------------------------------------------------------------------------------- REST
async def fuzz_rest(
    stack: Stack,
    headers: dict[str, str],
    cases: list[tuple[str, bytes]],
    private: Private,
    tally: Tally,
) -> None:
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for case in cases:
        queue.put_nowait(case)
    timeout = aiohttp.ClientTimeout(total=REPLY_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as http:

        async def worker() -> None:
            while not queue.empty():
                category, body = queue.get_nowait()
                tally.sent[category] += 1
                try:
                    async with http.post(
                        stack.config.rest_url, data=body, headers={"Content-Type": "application/json"}
                    ) as response:
                        status = response.status
                        raw = await response.read()
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    tally.fail(category, body, f"no HTTP answer ({type(exc).__name__}: {exc})")
                    continue
                check_rest(category, body, status, raw, private, tally)

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


def check_rest(category: str, body: bytes, status: int, raw: bytes, private: Private, tally: Tally) -> None:
    try:
        payload: Any = json.loads(raw)
    except ValueError:
        tally.fail(category, body, f"HTTP {status} with a body that is not JSON: {_short(raw)}")
        return
    if status >= 500:
        tally.fail(category, body, f"HTTP {status}: {_short(payload)}")
        return
    if 400 <= status < 500:
        # the channel answers {"error", "field"}; Sanic's own refusal of a body over the cap {"message", ...}
        error = (payload.get("error") or payload.get("message")) if isinstance(payload, dict) else None
        if not (isinstance(error, str) and error.strip()):
            tally.fail(category, body, f"HTTP {status} without a JSON error: {_short(payload)}")
            return
        tally.outcomes[f"{category}:{status}"] += 1
        return
    if category == "rest_refused":
        tally.fail(
            category, body, f"HTTP {status} accepted a request the channel must refuse: {_short(payload)}"
        )
        return
    if not isinstance(payload, list) or not payload:
        tally.fail(category, body, f"HTTP {status} with no message (silence): {_short(payload)}")
        if len(tally.silent_senders) < 3:
            tally.silent_senders.append(json.loads(body)["sender"])
        return
    for reply in payload:
        problem = reply_problem(reply)
        if problem:
            tally.fail(category, body, problem)
            return
        leaked = private.leaks(body.decode("utf-8", "replace"), reply_text(reply))
        if leaked:
            tally.fail(category, body, f"revealed {leaked} in {_short(reply)}")
            return
    tally.outcomes[f"{category}:{status}"] += 1


# ----------------------------------------------------------------------------------------- socket.io
@dataclass
class Socket:
    client: Any
    inbox: list[Any]
    confirmed: list[Any]
    changed: asyncio.Event  # set whenever something arrives (or the connection drops)

    async def until(self, predicate: Callable[[], bool], timeout: float = SOCKET_TIMEOUT_S) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.changed.clear()
            if predicate():
                return True
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 0.5))
            except asyncio.TimeoutError:
                continue
        return True


async def open_socket(url: str, headers: dict[str, str]) -> Socket:
    import socketio

    client = socketio.AsyncClient(reconnection=False)
    sock = Socket(client, [], [], asyncio.Event())

    def arrived(target: list[Any]) -> Callable[..., None]:
        def handler(*args: Any) -> None:
            target.append(args[0] if args else None)
            sock.changed.set()

        return handler

    client.on("bot_uttered", arrived(sock.inbox))
    client.on("session_confirm", arrived(sock.confirmed))
    client.on("disconnect", sock.changed.set)
    await client.connect(url, transports=["websocket"], socketio_path="/socket.io", headers=headers)
    await client.emit("session_request", {})
    if not await sock.until(lambda: bool(sock.confirmed)):
        raise AssertionError("no session_confirm for a fresh socket")
    return sock


SESSION_ID = re.compile(r"[0-9a-f]{64}")


async def fuzz_socket(
    stack: Stack,
    headers: dict[str, str],
    cases: list[tuple[str, Any]],
    private: Private,
    tally: Tally,
) -> None:
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    for case in cases:
        queue.put_nowait(case)
    url = stack.config.rasa_url

    def check_inbox(sock: Socket, sent: str) -> None:
        for reply in sock.inbox:
            problem = reply_problem(reply)
            if problem:
                tally.fail("sio_reply", sent, problem)
            leaked = private.leaks(sent, reply_text(reply))
            if leaked:
                tally.fail("sio_reply", sent, f"revealed {leaked} in {_short(reply)}")
        sock.inbox.clear()

    async def one(sock: Socket, category: str, data: Any) -> None:
        if category == "sio_session":
            confirmations = len(sock.confirmed)
            await sock.client.emit("session_request", data)
            if not await sock.until(lambda: len(sock.confirmed) > confirmations):
                tally.fail(category, data, "no session_confirm")
                return
            issued = sock.confirmed[-1]
            forged = data.get("session_id") if isinstance(data, dict) else None
            if not (isinstance(issued, str) and SESSION_ID.fullmatch(issued)) or issued == forged:
                tally.fail(category, data, f"session_confirm {issued!r} is not a fresh server-issued id")
                return
            tally.outcomes[f"{category}:issued"] += 1
            return
        seen = len(sock.inbox)
        await sock.client.emit("user_uttered", data)
        if category == "sio_malformed":
            tally.outcomes[f"{category}:dropped"] += 1
            return
        if category == "sio_oversized":  # over max_frame_bytes: the server closes this socket
            if await sock.until(lambda: not sock.client.connected, timeout=10):
                tally.outcomes[f"{category}:closed"] += 1
            else:
                tally.fail(category, data, "a frame over the 64 KB cap was accepted")
            return
        if not await sock.until(lambda: len(sock.inbox) > seen):
            tally.fail(category, data, "no reply over socket.io (silence)")
            return
        notice = any(isinstance(m, dict) and m.get("role") == "notice" for m in sock.inbox[seen:])
        tally.outcomes[f"{category}:{'notice' if notice else 'answered'}"] += 1

    async def worker() -> None:
        sock = await open_socket(url, headers)
        sent = ""
        try:
            while not queue.empty():
                category, data = queue.get_nowait()
                tally.sent[category] += 1
                sent = data.get("message", "") if isinstance(data, dict) else ""
                sent = sent if isinstance(sent, str) else ""
                try:
                    await one(sock, category, data)
                except Exception as exc:  # the socket went away under us
                    tally.fail(category, data, f"socket error {type(exc).__name__}: {exc}")
                if not sock.client.connected:
                    if category != "sio_oversized":
                        tally.fail(category, data, "the server closed the socket")
                    check_inbox(sock, sent)
                    sock = await open_socket(url, headers)  # must still accept new connections
                elif len(sock.inbox) > 50:
                    check_inbox(sock, sent)
            # the socket still works after everything (a too-long message is answered without NLU)
            seen = len(sock.inbox)
            await sock.client.emit("user_uttered", {"message": "x" * 5001})
            if not await sock.until(lambda: len(sock.inbox) > seen):
                tally.fail("sio_probe", "x" * 5001, "the socket stopped answering")
            await asyncio.sleep(0.2)  # replies still on their way belong to this socket's inbox
        finally:
            check_inbox(sock, sent)
            if sock.client.connected:
                await sock.client.disconnect()

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def last_turns(stack: Stack, senders: list[str]) -> list[str]:
    """What the dialogue did in conversations that went silent (intents and actions of the last turns)."""
    lines = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        for sender in senders:
            url = f"{stack.config.rasa_url}/conversations/{sender}/tracker"
            async with http.get(url, params={"token": stack.config.rasa_token}) as response:
                if response.status != 200:
                    lines.append(f"{sender}: tracker HTTP {response.status}")
                    continue
                tracker = await response.json()
            steps = []
            for event in tracker.get("events", [])[-12:]:
                if event.get("event") == "user":
                    steps.append(f"user[{(event.get('parse_data') or {}).get('intent', {}).get('name')}]")
                elif event.get("event") in ("action", "bot", "slot"):
                    steps.append(f"{event['event']}[{event.get('name') or (event.get('text') or '')[:30]}]")
            lines.append(f"{sender}: " + " ".join(steps))
    return lines


# ----------------------------------------------------------------------------------------- the test
def log_sizes(stack: Stack) -> dict[Path, int]:
    return {path: path.stat().st_size for path in stack.log_dir.glob("*.log")}


def tracebacks_since(sizes: dict[Path, int], stack: Stack) -> list[str]:
    found = []
    for path in stack.log_dir.glob("*.log"):
        with path.open("rb") as handle:
            handle.seek(sizes.get(path, 0))
            new = handle.read().decode("utf-8", "replace")
        for match in re.finditer(r"Traceback \(most recent call last\)", new):
            found.append(f"{path.name}: {new[max(0, match.start() - 300) : match.start() + 1200]}")
    return found


def plan(total: int) -> dict[str, int]:
    counts = {"rest_dialogue": round(total * DIALOGUE_SHARE)}
    rest = total - counts["rest_dialogue"]
    weights = sum(MIX.values())
    for category, share in MIX.items():
        counts[category] = round(rest * share / weights)
    counts["sio_message"] += total - sum(counts.values())
    return counts


async def test_hostile_inputs_get_clear_answers_and_reveal_nothing(
    live_stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = live_stack
    started = time.monotonic()
    counts = plan(EXAMPLES)
    fuzz_client = secrets.token_hex(8)  # this run's client id: its own rate limits and verification throttles
    headers = {"X-ShopDesk-Client": signed_client(stack.config.widget_session_secret, fuzz_client)}
    shop_db = stack.config.shop_db
    private = read_secrets(shop_db)
    before = shop_state(shop_db)
    sizes = log_sizes(stack)

    rng = random.Random(SEED)
    dialogue = generate(dialogue_text, counts["rest_dialogue"], SEED)
    # a conversation of its own per message: any failure replays with that one message
    rest_cases = [
        ("rest_dialogue", _json_body(sender=f"fz-{uuid.uuid4().hex[:12]}", message=m)) for m in dialogue
    ]
    rest_cases += [("rest_refused", b) for b in generate(refused_body, counts["rest_refused"], SEED + 1)]
    rest_cases += [("rest_blank", b) for b in generate(blank_body, counts["rest_blank"], SEED + 2)]
    rng.shuffle(rest_cases)
    sio_texts = st.one_of(long_socket_message, forbidden_payload, free_text, allowed_payload)
    sio_cases: list[tuple[str, Any]] = [
        ("sio_message", {"message": m, "session_id": "0" * 64})
        for m in generate(sio_texts, counts["sio_message"], SEED + 3)
    ]
    sio_cases += [("sio_malformed", f) for f in generate(malformed_frame, counts["sio_malformed"], SEED + 4)]
    sio_cases += [("sio_session", s) for s in generate(forged_session, counts["sio_session"], SEED + 5)]
    sio_cases += [
        ("sio_oversized", {"message": "😀" * n})
        for n in rng.choices(range(5600, 9000), k=counts["sio_oversized"])
    ]
    rng.shuffle(sio_cases)
    generated = time.monotonic()

    tally = Tally()
    await fuzz_socket(stack, headers, sio_cases, private, tally)
    socket_done = time.monotonic()
    await fuzz_rest(stack, headers, rest_cases, private, tally)
    rest_done = time.monotonic()

    total = sum(tally.sent.values())
    with capsys.disabled():
        print(f"\nfuzz seed {SEED}: {total} inputs (FUZZ_EXAMPLES={EXAMPLES}, concurrency {CONCURRENCY})")
        for category in sorted(tally.sent):
            outcomes = {
                k.split(":", 1)[1]: v
                for k, v in sorted(tally.outcomes.items())
                if k.startswith(category + ":")
            }
            print(f"  {category:<14} {tally.sent[category]:>6}  {outcomes}")
        print(
            f"  time: generate {generated - started:.1f}s, socket.io {socket_done - generated:.1f}s, "
            f"REST {rest_done - socket_done:.1f}s"
        )
    assert total >= EXAMPLES
    assert all(stack.alive().values()), f"a process died during the fuzz: {stack.alive()}"
    if tally.silent_senders:
        tally.failures += [
            "dialogue of a silent conversation: " + t for t in await last_turns(stack, tally.silent_senders)
        ]
    problems = list(tally.failures)
    problems += [f"the fuzz changed the shop: {c}" for c in changed(before, shop_state(shop_db))]
    problems += [f"traceback logged during the fuzz: {t}" for t in tracebacks_since(sizes, stack)[:3]]
    assert not problems, f"{len(problems)} problems (seed {SEED}; failures capped at 40):\n" + "\n".join(
        problems
    )
