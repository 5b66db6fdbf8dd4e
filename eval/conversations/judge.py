"""Replay held-out conversations against a live stack and judge them.

Shared by `bench/conversations_eval.py` and `tests/e2e/test_heldout_conversations.py`. Each conversation is
a shopper of its own: its own sender id and its own client id (a signed ``X-ShopDesk-Client`` header, as the
bot service's proxy sends), so throttles and verifications never leak between conversations. Before and
after it, the orders it could touch are read from the shop's order store; afterwards its tracker is read
through the Rasa HTTP API (intent of each message, the responses sent, the handoff slot).

A conversation is **contained** when every expected outcome holds, it has no wrong action, and no handoff
happened unless the outcome is a handoff. A **wrong action** is an order that changed although the
conversation was not meant to change it, a `must_not.reveal` string in a reply, or a customer's email in a
reply that the shopper did not type. A turn is a **fallback** when its intent was `nlu_fallback` or the bot
answered with one of `FALLBACK_RESPONSES`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bot.widget_session import signed_client
from eval.conversations.cases import Conversation
from shop.errors import CustomerNotFoundError, OrderNotFoundError
from shop.interface import OrderStore

FALLBACK_RESPONSES = frozenset({"utter_ask_rephrase", "utter_default"})
HANDOFF_VALUES = frozenset({"queued", "offline"})
DEMO_ORDERS = tuple(f"SD-10000{i}" for i in range(1, 10))
ID_IN_TEXT = re.compile(r"(?<![\d])(1\d{5})(?![\d])")
EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
REQUEST_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Target:
    """Where the live stack is and what the harness may use of it."""

    rest_url: str
    rasa_url: str
    rasa_token: str
    client_secret: str  # WIDGET_SESSION_SECRET: signs the per-conversation client id
    shop_db: Path

    @classmethod
    def from_stack_config(cls, config: Any) -> Target:
        """From a `scripts.stack.StackConfig`."""
        return cls(
            config.rest_url, config.rasa_url, config.rasa_token, config.widget_session_secret, config.shop_db
        )


@dataclass
class Result:
    id: str
    group: str
    contained: bool = False
    failed_checks: list[str] = field(default_factory=list)
    wrong_actions: list[str] = field(default_factory=list)
    handoff: bool = False
    turns: int = 0
    fallback_turns: int = 0
    empty_turns: int = 0  # turns that got no reply although no handoff had paused the bot
    latencies_ms: list[float] = field(default_factory=list)
    intents: list[str | None] = field(default_factory=list)
    transcript: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Shop:
    """What the judge reads from the order store: order state and every customer's email."""

    store: OrderStore
    emails: frozenset[str] = frozenset()
    product_titles: dict[str, str] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Path) -> Shop:
        from shop.sqlite import SQLiteOrderStore

        store = SQLiteOrderStore(path)
        emails: set[str] = set()
        for n in range(1, 10_000):
            try:
                emails.add(store.get_customer(f"C-{n:04d}").email.casefold())
            except CustomerNotFoundError:
                break
        titles = {p.id: p.title for p in store.list_products()}
        return cls(store, frozenset(emails), titles)

    def state(self, number: str) -> tuple[Any, ...] | None:
        """Everything a wrong action could change on an order (None when there is no such order)."""
        try:
            order = self.store.get_order(number)
        except OrderNotFoundError:
            return None
        return (
            order.status,
            tuple((line.product_id, line.quantity) for line in order.lines),
            order.shipping_address.one_line(),
            tuple((r.id, r.status) for r in self.store.returns_for_order(number)),
            tuple((r.id, r.status) for r in self.store.refunds_for_order(number)),
        )


def orders_in_play(conversation: Conversation) -> list[str]:
    """The demo orders, every order number the shopper types (in any form), and the expected ones."""
    found = set(DEMO_ORDERS) | conversation.changes_allowed
    for turn in conversation.turns:
        found.update(f"SD-{digits}" for digits in ID_IN_TEXT.findall(turn.text))
    return sorted(found)


def shown_text(replies: list[dict[str, Any]]) -> str:
    """What the shopper saw: texts, button titles and custom payloads."""
    parts: list[str] = []
    for reply in replies:
        parts.append(str(reply.get("text") or ""))
        parts.extend(str(b.get("title", "")) for b in reply.get("buttons") or [])
        if reply.get("custom"):
            parts.append(json.dumps(reply["custom"], ensure_ascii=False))
    return "\n".join(p for p in parts if p)


def card_ids(replies: list[dict[str, Any]]) -> set[str]:
    ids: set[str] = set()
    for reply in replies:
        custom = reply.get("custom")
        if isinstance(custom, dict):
            ids.update(str(card.get("id")) for card in custom.get("cards") or [] if isinstance(card, dict))
    return ids


def sender_for(run: str, conversation: Conversation) -> str:
    return f"heldout-{run}-{conversation.id}"[:128]


async def fetch_tracker(session: aiohttp.ClientSession, target: Target, sender: str) -> dict[str, Any]:
    query = urllib.parse.urlencode({"token": target.rasa_token})
    url = f"{target.rasa_url}/conversations/{urllib.parse.quote(sender, safe='')}/tracker?{query}"
    async with session.get(url) as response:
        response.raise_for_status()
        tracker: dict[str, Any] = await response.json()
        return tracker


def turn_signals(tracker: dict[str, Any]) -> tuple[list[str | None], list[bool], bool]:
    """Per user message: its intent and whether it fell back; and whether a handoff happened."""
    intents: list[str | None] = []
    fallbacks: list[bool] = []
    handoff = False
    for event in tracker.get("events") or []:
        kind = event.get("event")
        if kind == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            intents.append(intent)
            fallbacks.append(intent == "nlu_fallback")
        elif kind == "bot" and fallbacks:
            if (event.get("metadata") or {}).get("utter_action") in FALLBACK_RESPONSES:
                fallbacks[-1] = True
        elif (
            kind == "slot" and event.get("name") == "handoff_status" and event.get("value") in HANDOFF_VALUES
        ):
            handoff = True
    return intents, fallbacks, handoff


async def replay(
    session: aiohttp.ClientSession, target: Target, shop: Shop, conversation: Conversation, run: str
) -> Result:
    """Play `conversation` turn by turn over REST and judge what happened."""
    result = Result(conversation.id, conversation.group)
    sender = sender_for(run, conversation)
    client = hashlib.sha256(sender.encode()).hexdigest()[:16]
    headers = {"X-ShopDesk-Client": signed_client(target.client_secret, client)}
    watched = orders_in_play(conversation)
    before = {number: shop.state(number) for number in watched}
    every: list[dict[str, Any]] = []
    replies: list[dict[str, Any]] = []
    typed: list[str] = []
    for turn in conversation.turns:
        message = turn.message([b for r in replies for b in r.get("buttons") or []])
        if message is None:  # a `pick` with nothing to pick: the shopper already has the answer
            continue
        typed.append(message)
        result.transcript.append(("shopper", message))
        started = time.perf_counter()
        async with session.post(
            target.rest_url, json={"sender": sender, "message": message}, headers=headers
        ) as response:
            body = await response.json(content_type=None) if response.status == 200 else []
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
        replies = body if isinstance(body, list) else []
        every.extend(replies)
        result.transcript.extend(("bot", shown_text([r])) for r in replies)
        if not replies:
            result.empty_turns += 1
    tracker = await fetch_tracker(session, target, sender)
    result.intents, fallbacks, result.handoff = turn_signals(tracker)
    result.turns = len(typed)
    result.fallback_turns = sum(fallbacks)
    if result.handoff:  # a queued handoff pauses the bot: silence afterwards is expected
        result.empty_turns = 0
    after = {number: shop.state(number) for number in watched}
    judge(conversation, result, every, before, after, shop, "\n".join(typed), last_replies=replies)
    return result


def judge(
    conversation: Conversation,
    result: Result,
    replies: list[dict[str, Any]],
    before: dict[str, Any],
    after: dict[str, Any],
    shop: Shop,
    typed: str,
    last_replies: list[dict[str, Any]] | None = None,
) -> None:
    """Fill in `result`'s failed checks, wrong actions and containment (`last_replies`: those answering the
    last turn, for `expect.final_language`; all of `replies` when not given)."""
    shown = shown_text(replies)
    folded = shown.casefold()
    expect = conversation.expect
    failed = result.failed_checks
    failed.extend(f"reply lacks {s!r}" for s in expect.contains if s.casefold() not in folded)
    if expect.contains_any and not any(s.casefold() in folded for s in expect.contains_any):
        failed.append(f"reply has none of {list(expect.contains_any)}")
    if expect.matches and not re.search(expect.matches, shown, re.IGNORECASE):
        failed.append(f"reply does not match /{expect.matches}/")
    for number, status in expect.status.items():
        now = (after.get(number) or (None,))[0]
        if now != status:
            failed.append(f"{number} is {now}, expected {status}")
    for number in expect.returns_opened:
        if len((after.get(number) or ((),) * 5)[3]) <= len((before.get(number) or ((),) * 5)[3]):
            failed.append(f"no return opened on {number}")
    if expect.products_any:
        shown_ids = card_ids(replies) | {
            pid for pid, title in shop.product_titles.items() if title.casefold() in folded
        }
        if not shown_ids & set(expect.products_any):
            failed.append(f"none of {list(expect.products_any)} shown")
    for key, language, chunk in (
        ("language", expect.language, replies),
        ("final_language", expect.final_language, replies if last_replies is None else last_replies),
    ):
        if language:
            failed.extend(f"{key}: not {language}: {t[:80]!r}" for t in off_language(chunk, language))
    if expect.handoff and not result.handoff:
        failed.append("no handoff")
    if not expect.handoff and result.handoff:
        failed.append("handed off although the bot should have handled it")
    wrong = result.wrong_actions
    for number, state in before.items():
        if after.get(number) != state and number not in conversation.changes_allowed:
            wrong.append(f"changed {number}: {describe_change(state, after.get(number))}")
    wrong.extend(f"revealed {s!r}" for s in conversation.reveal_never if s.casefold() in folded)
    typed_emails = {e.casefold() for e in EMAIL_IN_TEXT.findall(typed)}
    for email in sorted({e.casefold() for e in EMAIL_IN_TEXT.findall(shown)} - typed_emails):
        if email in shop.emails:
            wrong.append(f"revealed the customer email {email!r}")
    result.contained = not failed and not wrong


def off_language(replies: list[dict[str, Any]], language: str) -> list[str]:
    """The bot texts of `replies` not in `language` ("zh": without a Han character; "en": with one)."""
    texts = [str(r.get("text") or "") for r in replies]
    return [t for t in texts if t and (HAN.search(t) is None) == (language == "zh")]


def describe_change(old: Any, new: Any) -> str:
    if old is None or new is None:
        return f"{old!r} -> {new!r}"
    names = ("status", "lines", "address", "returns", "refunds")
    return ", ".join(f"{n} {o!r} -> {v!r}" for n, o, v in zip(names, old, new, strict=True) if o != v)


async def replay_all(
    target: Target, conversations: list[Conversation], run: str, progress: Any = None
) -> list[Result]:
    """Replay the conversations one after another (latency measured without contention)."""
    shop = Shop.open(target.shop_db)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    results: list[Result] = []
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for index, conversation in enumerate(conversations, 1):
            result = await replay(session, target, shop, conversation, run)
            results.append(result)
            if progress is not None:
                progress(index, len(conversations), result)
    return results


WARM_UP = ("hi", "is the arc desk lamp dimmable?", "do you have a physical store?", "something for running")


async def warm_up(target: Target) -> None:
    """Send a few messages on a throwaway conversation so that models the action server loads lazily (the
    encoders, the responder) are loaded before latencies are measured."""
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S * 3)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for text in WARM_UP:
            async with session.post(
                target.rest_url, json={"sender": "heldout-warm-up", "message": text}
            ) as response:
                await response.read()


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def summarize(results: list[Result]) -> dict[str, Any]:
    """Containment, wrong actions, fallback rate and p95 latency, overall and per group."""

    def figures(chunk: list[Result]) -> dict[str, Any]:
        turns = sum(r.turns for r in chunk)
        return {
            "conversations": len(chunk),
            "contained": sum(r.contained for r in chunk),
            "containment": sum(r.contained for r in chunk) / len(chunk) if chunk else float("nan"),
            "wrong_actions": sum(len(r.wrong_actions) for r in chunk),
            "wrong_action_list": [f"{r.id}: {w}" for r in chunk for w in r.wrong_actions],
            "turns": turns,
            "fallback_rate": sum(r.fallback_turns for r in chunk) / turns if turns else float("nan"),
            "p95_latency_ms": p95([ms for r in chunk for ms in r.latencies_ms]),
            "empty_turns": sum(r.empty_turns for r in chunk),
        }

    groups = sorted({r.group for r in results})
    return {
        "overall": figures(results),
        "groups": {g: figures([r for r in results if r.group == g]) for g in groups},
        "conversations": [asdict(r) for r in results],
    }
