"""``python -m analytics.refresh`` (``make analytics``): Rasa's broker events -> the analytics tables.

Incremental: the broker's highest event id read so far is the watermark; a refresh rebuilds the conversations of
every sender with newer events (and of those whose conversation had not ended yet), then the aggregates.
Idempotent: a second run with no new events writes the same rows. A missing or empty broker gives empty tables
and a log line; a malformed event row is skipped and counted (``state.skipped_rows``), never a crash.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analytics import broker, schema
from analytics.conversation import Conversation, conversations_of
from analytics.settings import AnalyticsSettings, from_env

logger = logging.getLogger(__name__)

LOW_RATING = 2  # csat ratings up to this one feed the themes with their comments


@dataclass(frozen=True)
class RefreshResult:
    senders: int  # senders rebuilt
    conversations: int  # conversations written for them
    skipped_rows: int  # malformed broker rows skipped in this run
    watermark: int  # the broker event id read up to


def day_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def _state(connection: sqlite3.Connection, key: str) -> float:
    row = connection.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
    return float(row[0]) if row else 0.0


def _set_state(connection: sqlite3.Connection, key: str, value: float) -> None:
    connection.execute(
        "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def _feedback(conversation: Conversation) -> list[tuple[float, str, str]]:
    """(ts, source, text): complaints, negative messages (mood_trace matched by ts), low ratings' comments."""
    found: dict[float, tuple[float, str, str]] = {}
    by_ts = {turn.ts: turn for turn in conversation.turns}
    for turn in conversation.turns:
        if turn.intent == "complaint" and turn.text.strip():
            found[turn.ts] = (turn.ts, "complaint", turn.text)
    for point in conversation.mood_points.values():
        said = by_ts.get(point.ts)
        if point.label == "negative" and said is not None and said.text.strip() and said.ts not in found:
            found[said.ts] = (said.ts, "negative", said.text)
    rows = sorted(found.values())
    for rating in conversation.csat.values():
        if rating.rating <= LOW_RATING and rating.comment.strip():
            rows.append((rating.ts, "low_rating", rating.comment))
    return rows


def _write(connection: sqlite3.Connection, conversation: Conversation) -> None:
    c = conversation
    key = (c.sender_id, c.session_no)
    handoff = c.handoffs[0] if c.handoffs else None
    csat = c.latest_csat
    contained = c.contained
    connection.execute(
        "INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            *key,
            c.started_at,
            c.last_event_at,
            day_of(c.started_at),
            int(c.ended),
            c.language,
            len(c.turns),
            int(bool(c.handoffs)),
            handoff.reason if handoff else None,
            handoff.outcome if handoff else None,
            int(c.agent_joined),
            c.fallbacks,
            int(c.fallback_loop),
            None if contained is None else int(contained),
            csat.rating if csat else None,
            csat.by if csat else None,
            c.last_mood,
        ),
    )
    connection.executemany(
        "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(*key, t.ts, day_of(t.ts), t.intent, t.confidence, int(t.fallback), t.latency_ms) for t in c.turns],
    )
    connection.executemany(
        "INSERT INTO actions VALUES (?, ?, ?, ?)", [(*key, ts, name) for ts, name in c.actions]
    )
    connection.executemany(
        "INSERT INTO handoffs VALUES (?, ?, ?, ?, ?, ?)",
        [(*key, h.ts, day_of(h.ts), h.reason, h.outcome) for h in c.handoffs],
    )
    connection.executemany(
        "INSERT INTO fallbacks VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(*key, t.ts, day_of(t.ts), c.language, t.text, int(t.answered)) for t in c.turns if t.fallback],
    )
    connection.executemany(
        "INSERT INTO csat VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (*key, r.ts, day_of(r.ts), r.survey_id, r.rating, r.comment, r.by, r.language, r.handoff_id)
            for r in c.csat.values()
        ],
    )
    connection.executemany(
        "INSERT INTO mood VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (*key, p.ts, day_of(p.ts), p.score, p.label, p.mood)
            for p in sorted(c.mood_points.values(), key=lambda p: p.ts)
        ],
    )
    connection.executemany(
        "INSERT INTO feedback_texts VALUES (?, ?, ?, ?, ?, ?)",
        [(*key, ts, source, c.language, text) for ts, source, text in _feedback(c)],
    )


def _aggregate(connection: sqlite3.Connection) -> None:
    connection.execute("DELETE FROM intents")
    connection.execute(
        "INSERT INTO intents SELECT intent, COUNT(*), COUNT(DISTINCT sender_id || '/' || session_no) "
        "FROM turns WHERE intent IS NOT NULL GROUP BY intent"
    )
    connection.execute("DELETE FROM daily")
    connection.execute(
        """INSERT INTO daily
        SELECT c.day, COUNT(*), SUM(c.ended), SUM(COALESCE(c.contained, 0)), SUM(c.handed_off),
               SUM(c.fallbacks > 0),
               CASE WHEN SUM(c.ended) > 0 THEN 1.0 * SUM(COALESCE(c.contained, 0)) / SUM(c.ended) END,
               1.0 * SUM(c.handed_off) / COUNT(*), 1.0 * SUM(c.fallbacks > 0) / COUNT(*),
               (SELECT AVG(m.mood) FROM mood m WHERE m.day = c.day)
        FROM conversations c GROUP BY c.day"""
    )


def _rebuild(
    connection: sqlite3.Connection, settings: AnalyticsSettings, senders: Iterable[str], top: int, now: float
) -> tuple[int, list[int]]:
    """Rewrite the rows of ``senders`` from their broker events; (conversations written, malformed row ids)."""
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    skipped: list[int] = []
    wanted = set(senders)
    for row in broker.events_of(settings.event_broker_db, wanted, top):
        event = broker.parse(row)
        if event is None:
            skipped.append(row.id)
            logger.debug("skipped malformed broker row %s", row.id)
            continue
        events[row.sender_id].append(event)
    written = 0
    for sender in sorted(wanted):
        for table in schema.PER_SENDER:
            connection.execute(f"DELETE FROM {table} WHERE sender_id = ?", (sender,))
        for conversation in conversations_of(sender, events.get(sender, ()), now, settings.idle_end_s):
            if conversation.turns:  # a widget opened and closed without a word is no conversation
                _write(connection, conversation)
                written += 1
    return written, skipped


def refresh(settings: AnalyticsSettings, now: float | None = None) -> RefreshResult:
    """Bring the analytics tables up to the broker's latest event (``now``: the clock for "ended by idling")."""
    now = time.time() if now is None else now
    connection = schema.connect(settings.analytics_db)
    try:
        with connection:
            watermark = int(_state(connection, "watermark"))
            seen_skipped = int(_state(connection, "skipped_rows"))
            senders, top = broker.new_senders(settings.event_broker_db, watermark)
            open_senders = {
                row[0]
                for row in connection.execute("SELECT DISTINCT sender_id FROM conversations WHERE ended = 0")
            }
            fresh_senders = set(senders)
            written, skipped = _rebuild(connection, settings, fresh_senders | open_senders, top, now)
            # a malformed row is read again whenever its sender is rebuilt: count only the new ones
            new_skipped = sum(row_id > watermark for row_id in skipped)
            _aggregate(connection)
            _set_state(connection, "watermark", top)
            _set_state(connection, "skipped_rows", seen_skipped + new_skipped)
    finally:
        connection.close()
    if new_skipped:
        logger.warning("skipped %s malformed event rows of the broker (up to id %s)", new_skipped, top)
    logger.info(
        "analytics refreshed up to broker event %s: %s senders, %s conversations rebuilt (%s rows skipped)",
        top,
        len(fresh_senders | open_senders),
        written,
        len(skipped),
    )
    return RefreshResult(len(fresh_senders | open_senders), written, new_skipped, top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics.refresh", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--broker", type=Path, help="the event broker's SQLite file (default: EVENT_BROKER_DB)"
    )
    parser.add_argument("--db", type=Path, help="the analytics SQLite file (default: ANALYTICS_DB)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = from_env()
    if args.broker or args.db:
        settings = AnalyticsSettings(
            event_broker_db=args.broker or settings.event_broker_db,
            analytics_db=args.db or settings.analytics_db,
            idle_end_s=settings.idle_end_s,
        )
    result = refresh(settings)
    logger.info(
        "%s conversations rebuilt from %s senders; broker read up to event %s",
        result.conversations,
        result.senders,
        result.watermark,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
