"""The pipeline on a recorded event stream: known counts, idempotence, increments, malformed rows, no broker."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from analytics.refresh import refresh
from analytics.settings import AnalyticsSettings
from tests.analytics.recorded import EXPECTED, NOW, T0, slot, stream, user, write_broker

TABLES = (
    "conversations",
    "turns",
    "actions",
    "handoffs",
    "fallbacks",
    "csat",
    "mood",
    "feedback_texts",
    "intents",
    "daily",
)


@pytest.fixture
def settings(tmp_path: Path) -> AnalyticsSettings:
    return AnalyticsSettings(event_broker_db=tmp_path / "events.db", analytics_db=tmp_path / "analytics.db")


def query(settings: AnalyticsSettings, sql: str) -> list[tuple]:
    connection = sqlite3.connect(settings.analytics_db)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def dump(settings: AnalyticsSettings) -> dict[str, list[tuple]]:
    return {table: sorted(query(settings, f"SELECT * FROM {table}"), key=repr) for table in TABLES}


def test_recorded_stream_gives_the_known_counts(settings: AnalyticsSettings) -> None:
    write_broker(settings.event_broker_db, stream())
    result = refresh(settings, now=NOW)
    assert result.skipped_rows == EXPECTED["malformed"]
    assert query(settings, "SELECT COUNT(*), SUM(ended), SUM(contained) FROM conversations") == [
        (EXPECTED["conversations"], EXPECTED["ended"], EXPECTED["contained"])
    ]
    assert query(settings, "SELECT COUNT(*) FROM handoffs") == [(EXPECTED["handoffs"],)]
    assert query(settings, "SELECT COUNT(*) FROM fallbacks") == [(EXPECTED["fallbacks"],)]
    assert query(settings, "SELECT COUNT(*) FROM csat") == [(EXPECTED["csat"],)]
    assert dict(query(settings, "SELECT intent, messages FROM intents")) == EXPECTED["intents"]


def test_each_conversation_gets_its_facts(settings: AnalyticsSettings) -> None:
    write_broker(settings.event_broker_db, stream())
    refresh(settings, now=NOW)
    rows = query(
        settings,
        "SELECT sender_id, session_no, ended, language, turns, handed_off, handoff_reason, handoff_outcome, "
        "agent_joined, fallbacks, fallback_loop, contained, csat_rating, csat_by, last_mood "
        "FROM conversations ORDER BY sender_id, session_no",
    )
    assert rows == [
        ("shopper-a", 0, 1, "en", 3, 0, None, None, 0, 0, 0, 1, None, None, None),
        ("shopper-b", 0, 1, "en", 3, 1, "two fallbacks in a row", "queued", 1, 2, 1, 0, 2, "agent", None),
        ("shopper-c", 0, 1, "zh", 2, 1, "contact_human_agent", "offline", 0, 0, 0, 0, None, None, -0.5),
        ("shopper-d", 0, 1, "en", 2, 0, None, None, 0, 1, 0, 1, 5, "bot", None),
        ("shopper-d", 1, 0, "en", 1, 0, None, None, 0, 0, 0, None, None, None, None),
    ]
    latencies = query(settings, "SELECT latency_ms FROM turns WHERE sender_id = 'shopper-a' ORDER BY ts")
    assert latencies == [(250.0,), (800.0,), (150.0,)]
    assert query(settings, "SELECT text, answered FROM fallbacks ORDER BY ts") == [
        ("blorp the zingle", 0),
        ("zingle blorp wobble", 0),
        ("how long do refunds take?", 1),
    ]
    assert query(settings, "SELECT sender_id, label, mood FROM mood ORDER BY ts") == [
        ("shopper-c", "negative", -0.8),
        ("shopper-c", "neutral", -0.5),
    ]
    feedback = query(settings, "SELECT sender_id, source, language FROM feedback_texts ORDER BY ts")
    assert feedback == [("shopper-c", "complaint", "zh"), ("shopper-b", "low_rating", "en")]
    day = query(
        settings, "SELECT day, conversations, ended, contained, handed_off, containment_rate FROM daily"
    )
    assert day == [("2026-12-01", 5, 4, 2, 2, 0.5)]


def test_a_second_run_changes_nothing(settings: AnalyticsSettings) -> None:
    write_broker(settings.event_broker_db, stream())
    refresh(settings, now=NOW)
    first = dump(settings)
    again = refresh(settings, now=NOW)
    assert dump(settings) == first
    assert again.skipped_rows == 0  # the malformed rows are counted once
    assert query(settings, "SELECT value FROM state WHERE key = 'skipped_rows'") == [(3.0,)]


def test_new_events_extend_a_conversation_and_idling_ends_it(settings: AnalyticsSettings) -> None:
    write_broker(settings.event_broker_db, stream())
    refresh(settings, now=NOW)
    later = T0 + 2 * 3600 + 400
    write_broker(
        settings.event_broker_db,
        [("shopper-d", user(later, "I am really unhappy with this", "complaint"))],
        malformed=False,
    )
    result = refresh(settings, now=later + 1)
    assert result.senders == 1  # only shopper-d is rebuilt
    assert query(
        settings, "SELECT turns, ended FROM conversations WHERE sender_id = 'shopper-d' AND session_no = 1"
    ) == [(2, 0)]
    refresh(settings, now=later + 3600)  # no new event, but the open conversation has idled out
    assert query(settings, "SELECT ended, contained FROM conversations WHERE session_no = 1") == [(1, 1)]


def test_missing_broker_gives_empty_tables(
    settings: AnalyticsSettings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="analytics"):
        result = refresh(settings, now=NOW)
    assert result.conversations == 0
    assert all(rows == [] for rows in dump(settings).values())
    assert "does not exist yet" in caplog.text


def test_broker_without_events_table_gives_empty_tables(settings: AnalyticsSettings) -> None:
    sqlite3.connect(settings.event_broker_db).close()
    assert refresh(settings, now=NOW).conversations == 0
    assert query(settings, "SELECT COUNT(*) FROM conversations") == [(0,)]


def test_malformed_slot_values_are_skipped(settings: AnalyticsSettings) -> None:
    rows = [
        ("x", user(T0, "hi", "greet")),
        ("x", slot(T0 + 1, "mood", "very bad")),
        ("x", slot(T0 + 1, "mood_trace", [{"ts": T0, "score": "?", "label": "negative", "mood": 0}])),
        ("x", slot(T0 + 2, "csat", {"survey_id": "s", "rating": True, "by": "bot"})),
    ]
    write_broker(settings.event_broker_db, rows, malformed=False)
    refresh(settings, now=NOW)
    assert query(settings, "SELECT last_mood, csat_rating FROM conversations") == [(None, None)]
    assert query(settings, "SELECT COUNT(*) FROM mood") == [(0,)]
