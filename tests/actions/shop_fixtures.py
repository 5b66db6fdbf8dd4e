"""Shared helpers for the order tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.authority import PROOF_SLOT, issue_proof
from actions.settings import Settings
from scripts.domain_files import load_domain

ROOT = Path(__file__).resolve().parents[2]
SENDER = "test-conversation"  # make_tracker's default sender id
# The seeded demo customers of the documented orders (docs/demo-shop.md).
DEMO_CUSTOMER = {
    "SD-100001": "C-0001",
    "SD-100002": "C-0001",
    "SD-100003": "C-0002",
    "SD-100004": "C-0002",
    "SD-100005": "C-0003",
    "SD-100006": "C-0003",
    "SD-100007": "C-0004",
    "SD-100008": "C-0004",
    "SD-100009": "C-0005",
}
# A Wednesday; every seeded date is relative to it.
NOW = datetime(2025, 3, 12, 10, 0, 0, tzinfo=UTC)


def proven(
    number: str, customer_id: str | None = None, *, sender_id: str = SENDER, age_s: float = 0.0
) -> dict[str, Any]:
    """The slots the verification form sets for ``number``, with a valid proof for ``sender_id`` issued
    ``age_s`` seconds ago (the proof is checked against the real clock)."""
    customer = customer_id or DEMO_CUSTOMER[number]
    key = Settings().verification_key
    return {
        "verified_order_id": number,
        "customer_id": customer,
        PROOF_SLOT: issue_proof(sender_id, number, customer, key=key, now=time.time() - age_s),
    }


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make_tracker(
    slots: dict[str, Any] | None = None,
    *,
    intent: str = "inform",
    entities: list[dict[str, Any]] | None = None,
    text: str = "",
    active_loop: str | None = None,
    candidates: dict[str, Any] | None = None,
    sender_id: str = "test-conversation",
) -> Tracker:
    """A tracker whose ``candidates`` are the slot values a form has just extracted (also set as slots)."""
    events: list[dict[str, Any]] = [{"event": "user", "text": text, "parse_data": {}}]
    events += [{"event": "slot", "name": k, "value": v} for k, v in (candidates or {}).items()]
    return Tracker(
        sender_id,
        {**(slots or {}), **(candidates or {})},
        {"intent": {"name": intent, "confidence": 1.0}, "entities": entities or [], "text": text},
        events,
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


class _Strict(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        raise KeyError(f"response variable {{{key}}} was not supplied")


def render(
    dispatcher: CollectingDispatcher, domain: dict[str, Any], tracker: Tracker | None = None
) -> list[str]:
    """What the shopper would read: each response's first variant filled from the kwargs (and slots)."""
    texts = []
    for message in dispatcher.messages:
        name = message.get("response")
        if not name:
            texts.append(str(message.get("text") or ""))
            continue
        assert name in domain["responses"], f"{name} is not declared in domain/"
        template = domain["responses"][name][0]["text"]
        values = _Strict({**(tracker.slots if tracker else {}), **message})
        texts.append(template.format_map(values))
    return texts


def said(dispatcher: CollectingDispatcher, tracker: Tracker | None = None) -> list[str]:
    """What the shopper reads, rendered against the real domain (see :func:`render`)."""
    return render(dispatcher, load_domain(), tracker)


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("response") or "" for m in dispatcher.messages]


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
