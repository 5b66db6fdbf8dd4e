"""The console's mood: reading it from tracker events, storing it with the handoff, the queue's order."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.hub import Hub
from bot.mood import MAX_TRACE, SOUR_WEIGHT_MIN, drivers, mood_label, priority, queue_order, read_mood
from bot.store import HandoffStore
from bot.sync import TrackerSync
from tests.bot.conftest import FakeRasa

RECORDED = Path(__file__).parent / "data" / "mood_tracker_events.json"


def recorded_events() -> list[dict[str, Any]]:
    """A real Rasa 3.6 tracker (GET /conversations/{id}/tracker): three shopper messages, then the slot
    events slice mood's action sets, appended through the tracker events API (tests/bot/data/README.md)."""
    return list(json.loads(RECORDED.read_text(encoding="utf-8"))["events"])


def slot(name: str, value: Any, ts: float = 10.0) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value, "timestamp": ts}


def point(ts: float, score: float, mood: float, label: str = "negative") -> dict[str, Any]:
    return {"ts": ts, "score": score, "label": label, "mood": mood}


# --- reading the tracker -----------------------------------------------------------------------------


def test_the_mood_and_its_trace_come_from_a_recorded_tracker() -> None:
    events = recorded_events()
    users = [e for e in events if e["event"] == "user"]
    mood, trace = read_mood(reversed(events))
    assert mood == pytest.approx(-0.55)
    assert [p["ts"] for p in trace] == [u["timestamp"] for u in users]  # one point per judged message
    assert [p["label"] for p in trace] == ["neutral", "negative", "negative"]
    assert trace[-1]["mood"] == pytest.approx(-0.55)


def test_a_conversation_without_a_mood_is_unknown_not_neutral() -> None:
    events = [e for e in recorded_events() if e.get("name") not in ("mood", "mood_trace")]
    assert read_mood(reversed(events)) == (None, [])
    assert mood_label(None) == "unknown"
    assert mood_label(0.0) == "neutral"


def test_the_newest_slot_event_wins_and_a_restart_forgets() -> None:
    older = [slot("mood", -0.8, 1.0), slot("mood_trace", [point(0.5, -0.8, -0.8)], 1.0)]
    newer = [
        slot("mood", 0.3, 3.0),
        slot("mood_trace", [point(0.5, -0.8, -0.8), point(2.5, 0.9, 0.3, "positive")], 3.0),
    ]
    mood, trace = read_mood(reversed(older + newer))
    assert mood == 0.3 and len(trace) == 2
    restart = {"event": "restart", "timestamp": 2.0}
    assert read_mood(reversed([*older, restart])) == (None, [])  # a new conversation: unknown again
    assert read_mood(reversed([*older, restart, *newer]))[0] == 0.3
    assert read_mood(reversed([*older, slot("mood", None, 2.0)]))[0] is None  # reset: unknown again


@pytest.mark.parametrize("bad", ["-0.5", float("nan"), float("inf"), 1.5, -1.01, True, [0.1], {"v": 1}])
def test_a_mood_outside_the_contract_is_not_trusted(bad: Any) -> None:
    mood, _ = read_mood(reversed([slot("mood", bad)]))
    assert mood is None


def test_bad_trace_points_are_dropped_and_the_trace_is_capped() -> None:
    raw = [
        point(1.0, -0.5, -0.5),
        {"ts": 2.0, "score": -0.5, "mood": -0.5},  # no label
        point(3.0, -2.0, -0.5),  # score out of range
        {"ts": "x", "score": 0.1, "label": "neutral", "mood": 0.0},
        "not a point",
        point(4.0, 0.2, -0.3, "sarcastic"),  # not a label
    ]
    _, trace = read_mood(reversed([slot("mood_trace", raw)]))
    assert [p["ts"] for p in trace] == [1.0]
    _, long_trace = read_mood(
        reversed([slot("mood_trace", [point(float(i), 0.1, 0.1, "neutral") for i in range(50)])])
    )
    assert len(long_trace) == MAX_TRACE and long_trace[0]["ts"] == 20.0
    mood, _ = read_mood(reversed([slot("mood_trace", "not a list")]))
    assert mood is None


def test_without_a_mood_slot_the_last_trace_point_gives_the_mood() -> None:
    mood, _ = read_mood(reversed([slot("mood_trace", [point(1.0, -0.5, -0.5), point(2.0, -0.9, -0.7)])]))
    assert mood == -0.7


# --- the queue's order -------------------------------------------------------------------------------


def test_a_sour_conversation_waiting_2_minutes_goes_before_a_calm_one_waiting_5() -> None:
    now = 10_000.0
    sour, calm = ("sour", now - 120, -0.8), ("calm", now - 300, 0.1)
    # minutes waited + 5 × max(0, -mood): sour 2 + 5 × 0.8 = 6.0, calm 5 + 0 = 5.0
    assert priority(120, -0.8) == pytest.approx(2 + SOUR_WEIGHT_MIN * 0.8) == pytest.approx(6.0)
    assert priority(300, 0.1) == pytest.approx(5.0)
    assert [entry for entry, _ in queue_order([calm, sour], now)] == ["sour", "calm"]
    # a mildly unhappy one (mood -0.4: 2 + 2 = 4.0) does not overtake the calm one waiting 5 minutes
    assert [entry for entry, _ in queue_order([calm, ("meh", now - 120, -0.4)], now)] == ["calm", "meh"]


def test_ties_go_by_arrival_and_unknown_or_happy_moods_count_as_calm() -> None:
    now = 10_000.0
    # b: 1 min + 5 × 0.2 = 2.0 min, exactly a's 2 minutes: a arrived first
    entries = [("b", now - 60, -0.2), ("a", now - 120, None), ("c", now - 120, 0.9)]
    ranked = queue_order(entries, now)
    assert [entry for entry, _ in ranked] == ["a", "c", "b"]
    assert [round(score, 6) for _, score in ranked] == [2.0, 2.0, 2.0]


def test_the_drivers_are_the_messages_that_lowered_the_mood_most() -> None:
    trace = [
        point(1.0, 0.6, 0.3, "positive"),
        point(2.0, -0.9, -0.2),  # drop 0.5
        point(3.0, -0.4, -0.3),  # drop 0.1
        point(4.0, 0.8, 0.1, "positive"),  # up
        point(5.0, -0.95, -0.6),  # drop 0.7
        point(6.0, 0.0, -0.5, "neutral"),  # mood rises a little: not a driver
    ]
    found = drivers(trace)  # type: ignore[arg-type]
    assert [(d["ts"], d["drop"]) for d in found] == [(5.0, 0.7), (2.0, 0.5), (3.0, 0.1)]
    assert drivers([point(1.0, -0.5, -0.5)]) == [{**point(1.0, -0.5, -0.5), "drop": 0.5}]  # type: ignore[list-item]
    assert drivers([point(1.0, 0.5, 0.5, "positive")]) == []  # type: ignore[list-item]


# --- the store ---------------------------------------------------------------------------------------


def open_store(path: Path | str = ":memory:", clock: list[float] | None = None) -> HandoffStore:
    now = clock or [1000.0]
    return HandoffStore(path, clock=lambda: now[0])


def test_set_mood_stores_it_and_reports_changes_only() -> None:
    store = open_store()
    handoff, _ = store.open_handoff("c1", "contact_human_agent", [], {})
    assert handoff["mood"] is None and store.mood_trace(handoff["id"]) == []
    trace = [point(999.0, -0.7, -0.7)]
    assert store.set_mood(handoff["id"], -0.7, trace) is True  # type: ignore[arg-type]
    assert store.set_mood(handoff["id"], -0.7, trace) is False  # type: ignore[arg-type]
    assert store.get(handoff["id"])["mood"] == -0.7
    assert store.mood_trace(handoff["id"]) == trace
    assert store.set_mood(handoff["id"], None, []) is True  # back to unknown (e.g. after a restart)
    assert store.get(handoff["id"])["mood"] is None


def test_queue_positions_follow_the_mood_aware_order() -> None:
    clock = [10_000.0]
    store = open_store(clock=clock)
    clock[0] = 10_000.0 - 300
    calm, _ = store.open_handoff("calm", "r", [], {})
    clock[0] = 10_000.0 - 120
    sour, _ = store.open_handoff("sour", "r", [], {})
    clock[0] = 10_000.0
    assert [h["id"] for h, _ in store.queued_by_priority()] == [calm["id"], sour["id"]]
    store.set_mood(sour["id"], -0.8, [])
    ranked = store.queued_by_priority()
    assert [(h["id"], round(p, 2)) for h, p in ranked] == [(sour["id"], 6.0), (calm["id"], 5.0)]
    assert store.queue_position(sour["id"]) == 1 and store.queue_position(calm["id"]) == 2


PRE_MOOD_SCHEMA = """
CREATE TABLE handoffs (
    id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'active', 'closed')), reason TEXT NOT NULL DEFAULT '',
    agent_email TEXT, agent_name TEXT, created_at REAL NOT NULL, claimed_at REAL, closed_at REAL,
    context TEXT NOT NULL DEFAULT '{}', last_event_ts REAL NOT NULL DEFAULT 0,
    language TEXT NOT NULL DEFAULT 'en'
);
INSERT INTO handoffs (id, conversation_id, status, created_at) VALUES ('H-old', 'c-old', 'queued', 900.0);
"""


def test_an_existing_database_without_the_mood_columns_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "handoff.db"
    with sqlite3.connect(path) as db:
        db.executescript(PRE_MOOD_SCHEMA)
    store = open_store(path)
    old = store.get("H-old")
    assert old["mood"] is None and store.mood_trace("H-old") == []  # unknown, not neutral
    assert store.set_mood("H-old", -0.4, [point(950.0, -0.4, -0.4)]) is True  # type: ignore[list-item]
    store.shutdown()
    reopened = open_store(path)  # migrating twice is harmless
    assert reopened.get("H-old")["mood"] == -0.4
    assert [p["ts"] for p in reopened.mood_trace("H-old")] == [950.0]


# --- the tracker sync --------------------------------------------------------------------------------


class RecordingHub(Hub):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    async def publish(self, event: dict[str, Any]) -> None:
        self.events.append(event)


async def test_the_sync_stores_the_recorded_mood_and_publishes_a_change_once() -> None:
    store, rasa, hub = open_store(), FakeRasa(), RecordingHub()
    handoff, _ = store.open_handoff("recorded", "contact_human_agent", [], {})
    rasa.trackers["recorded"] = [e for e in recorded_events() if e.get("name") not in ("mood", "mood_trace")]
    sync = TrackerSync(store, rasa, hub)
    await sync.sync_handoff(store.get(handoff["id"]))
    assert store.get(handoff["id"])["mood"] is None  # nothing judged yet: unknown
    assert {"type": "mood", "handoff_id": handoff["id"]} not in hub.events

    rasa.trackers["recorded"] = recorded_events()
    await sync.sync_handoff(store.get(handoff["id"]))
    assert store.get(handoff["id"])["mood"] == pytest.approx(-0.55)
    assert len(store.mood_trace(handoff["id"])) == 3
    assert hub.events.count({"type": "mood", "handoff_id": handoff["id"]}) == 1
    await sync.sync_handoff(store.get(handoff["id"]))  # nothing new: no second publish
    assert hub.events.count({"type": "mood", "handoff_id": handoff["id"]}) == 1


async def test_the_sync_writes_the_store_only_when_the_mood_moved() -> None:
    store, rasa = open_store(), FakeRasa()
    handoff, _ = store.open_handoff("steady", "contact_human_agent", [], {})
    rasa.trackers["steady"] = recorded_events()
    writes: list[float | None] = []
    set_mood = store.set_mood

    def counting(handoff_id: str, mood: float | None, trace: Any) -> bool:
        writes.append(mood)
        return set_mood(handoff_id, mood, trace)

    store.set_mood = counting  # type: ignore[method-assign]
    sync = TrackerSync(store, rasa, RecordingHub())
    for _ in range(3):  # the poll reads the same tracker again and again
        await sync.sync_handoff(store.get(handoff["id"]))
    assert writes == [pytest.approx(-0.55)]
    rasa.trackers["steady"].append(slot("mood", -0.6, 99.0))
    await sync.sync_handoff(store.get(handoff["id"]))
    assert writes == [pytest.approx(-0.55), -0.6]
