"""Reading Rasa's SQL event broker (``rasa.core.brokers.sql.SQLEventBroker``): table ``events`` with the columns
``id`` (integer, increasing), ``sender_id`` and ``data`` (the event's JSON, ``Event.as_dict()`` plus
``sender_id``). Read-only: the broker's file belongs to Rasa.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

CHUNK = 500  # sender ids per query (SQLite's bound-parameter limit is 999 on old builds)


@dataclass(frozen=True)
class BrokerRow:
    id: int
    sender_id: str
    data: str


def _connect(path: Path) -> sqlite3.Connection | None:
    if not path.exists():
        logger.info("event broker database %s does not exist yet: no events to read", path)
        return None
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    has_table = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'"
    ).fetchone()
    if not has_table:
        logger.info("event broker database %s has no events table yet: no events to read", path)
        connection.close()
        return None
    return connection


def new_senders(path: Path, after_id: int) -> tuple[set[str], int]:
    """The senders with events after ``after_id`` and the highest event id now (``after_id`` when none)."""
    connection = _connect(path)
    if connection is None:
        return set(), after_id
    with connection:
        rows = connection.execute(
            "SELECT sender_id, MAX(id) FROM events WHERE id > ? GROUP BY sender_id", (after_id,)
        ).fetchall()
    connection.close()
    senders = {str(sender) for sender, _ in rows if sender is not None}
    top = max((int(top) for _, top in rows), default=after_id)
    return senders, top


def events_of(path: Path, senders: Iterable[str], up_to_id: int) -> Iterator[BrokerRow]:
    """Every event row of ``senders`` with an id up to ``up_to_id``, in id order within each chunk of senders."""
    connection = _connect(path)
    if connection is None:
        return
    wanted = sorted(senders)
    try:
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            marks = ",".join("?" * len(chunk))
            for row_id, sender, data in connection.execute(
                f"SELECT id, sender_id, data FROM events WHERE sender_id IN ({marks}) AND id <= ? "
                "ORDER BY sender_id, id",
                (*chunk, up_to_id),
            ):
                yield BrokerRow(int(row_id), str(sender), data if isinstance(data, str) else "")
    finally:
        connection.close()


def parse(row: BrokerRow) -> dict[str, Any] | None:
    """The event of a row, or None for a malformed one (not JSON, not an object, no event type or timestamp)."""
    try:
        event = json.loads(row.data)
    except ValueError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        return None
    timestamp = event.get("timestamp")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        return None
    return event
