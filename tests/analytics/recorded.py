"""A recorded event stream in Rasa 3.6's event format (``Event.as_dict()`` plus ``sender_id``, as the SQL event
broker publishes it), with the counts the pipeline must find in it.

Four shoppers, five conversations (T0 = 2026-12-01 09:00 UTC):
- ``shopper-a`` (en): greets, tracks an order, says goodbye -> ended, contained;
- ``shopper-b`` (en): two fallback misses in a row, accepts a person (queued), an agent joins and hands back,
  rates the agent 2 with a comment -> a fallback loop, handed off ("two fallbacks in a row"), not contained;
- ``shopper-c`` (zh): a complaint, the mood turns negative, asks for a person, nobody online (offline) -> handed
  off ("contact_human_agent"), ended by idling;
- ``shopper-d`` (en): session 0: a product search, one low-confidence message the knowledge base answered, rates
  the bot 5 (the same survey sent twice); session 1 an hour later, still going at NOW -> open.
Plus three malformed rows.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

T0 = 1_796_115_600.0  # 2026-12-01 09:00:00 UTC
NOW = T0 + 2 * 3600 + 600  # shopper-d's second session is 5 minutes old

# The table rasa.core.brokers.sql.SQLEventBroker creates (SQLAlchemy: Integer primary key, String(255), Text).
BROKER_DDL = "CREATE TABLE events (id INTEGER NOT NULL, sender_id VARCHAR(255), data TEXT, PRIMARY KEY (id))"


def user(ts: float, text: str, intent: str, confidence: float = 0.95) -> dict[str, Any]:
    parse = {
        "intent": {"name": intent, "confidence": confidence},
        "entities": [],
        "text": text,
        "message_id": f"m{ts}",
        "metadata": {},
        "intent_ranking": [{"name": intent, "confidence": confidence}],
    }
    return {
        "event": "user",
        "timestamp": ts,
        "metadata": {},
        "text": text,
        "parse_data": parse,
        "input_channel": "socketio",
        "message_id": f"m{ts}",
    }


def bot(ts: float, text: str, **metadata: Any) -> dict[str, Any]:
    return {"event": "bot", "timestamp": ts, "metadata": metadata, "text": text, "data": {}}


def action(ts: float, name: str) -> dict[str, Any]:
    return {
        "event": "action",
        "timestamp": ts,
        "name": name,
        "policy": "RulePolicy",
        "confidence": 1.0,
        "action_text": None,
        "hide_rule_turn": False,
    }


def slot(ts: float, name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "timestamp": ts, "name": name, "value": value}


def session(ts: float) -> list[dict[str, Any]]:
    return [action(ts, "action_session_start"), {"event": "session_started", "timestamp": ts + 0.001}]


def stream() -> list[tuple[str, dict[str, Any]]]:
    a, b, c, d = T0, T0 + 60, T0 + 120, T0 + 180
    shopper_a = [
        *session(a),
        action(a + 0.01, "action_listen"),
        user(a + 1, "hi", "greet"),
        action(a + 1.2, "utter_greet"),
        bot(a + 1.25, "Hello! How can I help?"),
        user(a + 10, "where is my order SD-100042", "track_order"),
        action(a + 10.5, "action_track_order"),
        bot(a + 10.8, "Your order is on its way."),
        user(a + 20, "bye", "goodbye"),
        action(a + 20.1, "utter_goodbye"),
        bot(a + 20.15, "Goodbye!"),
    ]
    survey_b = {
        "survey_id": "s-b",
        "rating": 2,
        "comment": "the agent took ages to answer",
        "by": "agent",
        "language": "en",
        "handoff_id": "H-1",
    }
    shopper_b = [
        *session(b),
        user(b + 1, "blorp the zingle", "nlu_fallback", 0.3),
        action(b + 1.5, "action_fallback"),
        slot(b + 1.6, "fallback_next", "rephrase"),
        bot(b + 1.7, "Sorry, could you rephrase?"),
        user(b + 8, "zingle blorp wobble", "nlu_fallback", 0.2),
        action(b + 8.5, "action_fallback"),
        slot(b + 8.6, "fallback_next", "offer_human"),
        bot(b + 8.9, "Shall I find a person?"),
        user(b + 12, "yes", "affirm"),
        action(b + 12.2, "action_handoff"),
        bot(b + 12.6, "You are number 1 in the queue.", shopdesk_event="queued"),
        slot(b + 12.7, "handoff_status", "queued"),
        {"event": "pause", "timestamp": b + 12.8},
        bot(b + 40, "Sam joined the chat.", shopdesk_role="notice", shopdesk_event="joined"),
        bot(b + 45, "Hi, I am Sam. Let me look.", shopdesk_role="agent", agent_name="Sam"),
        {"event": "resume", "timestamp": b + 300},
        bot(b + 300.1, "You are back with the assistant.", shopdesk_role="notice", shopdesk_event="left"),
        slot(b + 300.2, "handoff_status", None),
        action(b + 300.3, "action_listen"),
        slot(b + 320, "csat", survey_b),
    ]
    trace = [
        {"ts": c + 5, "score": -0.8, "label": "negative", "mood": -0.8},
        {"ts": c + 9, "score": -0.1, "label": "neutral", "mood": -0.5},
    ]
    shopper_c = [
        *session(c),
        slot(c + 0.5, "language", "zh"),
        user(c + 5, "包裹到了但是盒子破损了，里面的杯子也碎了", "complaint"),
        slot(c + 5.1, "mood", -0.8),
        slot(c + 5.1, "mood_trace", trace[:1]),
        action(c + 5.3, "utter_complaint"),
        bot(c + 5.4, "很抱歉听到这个消息。"),
        user(c + 9, "我要找人工客服", "contact_human_agent"),
        slot(c + 9.1, "mood", -0.5),
        slot(c + 9.1, "mood_trace", trace),
        action(c + 9.3, "action_handoff"),
        bot(c + 9.7, "现在没有客服在线。"),
        slot(c + 9.8, "handoff_status", "offline"),
    ]
    survey_d = {
        "survey_id": "s-d",
        "rating": 5,
        "comment": "",
        "by": "bot",
        "language": "en",
        "handoff_id": None,
    }
    d1 = T0 + 2 * 3600 + 300
    shopper_d = [
        *session(d),
        user(d + 2, "show me running shoes", "search_products"),
        action(d + 2.5, "action_search_products"),
        bot(d + 3.0, "Here are some running shoes."),
        user(d + 15, "how long do refunds take?", "nlu_fallback", 0.4),
        action(d + 15.4, "action_fallback"),
        bot(d + 15.6, "Refunds take 5-7 days."),
        slot(d + 15.7, "fallback_next", "answered"),
        slot(d + 40, "csat", survey_d),
        slot(d + 41, "csat", survey_d),  # sent twice: stored once
        slot(d + 42, "csat", {"survey_id": "s-x", "rating": 9, "by": "bot"}),  # out of range: skipped
        *session(d1),
        user(d1 + 1, "hello again", "greet"),
        action(d1 + 1.1, "utter_greet"),
        bot(d1 + 1.2, "Hello!"),
    ]
    events = [("shopper-a", e) for e in shopper_a] + [("shopper-b", e) for e in shopper_b]
    events += [("shopper-c", e) for e in shopper_c] + [("shopper-d", e) for e in shopper_d]
    return sorted(events, key=lambda item: item[1]["timestamp"])


MALFORMED = [("shopper-a", "not json at all"), ("shopper-b", '{"event": "user"}'), ("shopper-c", "[1, 2]")]

EXPECTED = {
    "conversations": 5,
    "ended": 4,
    "contained": 2,  # shopper-a, shopper-d's first session
    "handoffs": 2,
    "fallbacks": 3,
    "csat": 2,
    "intents": {
        "greet": 2,
        "track_order": 1,
        "goodbye": 1,
        "nlu_fallback": 3,
        "affirm": 1,
        "complaint": 1,
        "contact_human_agent": 1,
        "search_products": 1,
    },
    "malformed": 3,
}


def write_broker(path: Path, rows: list[tuple[str, dict[str, Any]]], malformed: bool = True) -> None:
    """Append ``rows`` to the broker database at ``path`` (created in the broker's schema when missing)."""
    connection = sqlite3.connect(path)
    with connection:
        if not connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'events'").fetchone():
            connection.execute(BROKER_DDL)
        for sender, event in rows:
            connection.execute(
                "INSERT INTO events (sender_id, data) VALUES (?, ?)",
                (sender, json.dumps({"sender_id": sender, **event})),
            )
        if malformed:
            connection.executemany("INSERT INTO events (sender_id, data) VALUES (?, ?)", MALFORMED)
    connection.close()
