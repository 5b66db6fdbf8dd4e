"""The CSAT ratings table: one row per (conversation, survey id), and which rows Rasa's tracker still lacks.

Its own table (``csat_ratings``) and its own connection; by default it lives in the handoff service's SQLite
file (``HANDOFF_DB_PATH``). Nothing else reads or writes it: the analytics pipeline sees ratings through the
``csat`` slot in Rasa's event stream (``bot.csat`` writes it), the handoff store is only asked who handled a
conversation.

A row is written once: a second rating for the same survey raises ``AlreadyRatedError``, whichever request
lost the race (the UNIQUE constraint decides, not a read before the write). ``tracker_written_at`` stays null
until the ``SlotSet("csat", …)`` reached Rasa; ``pending_tracker_writes`` lists those rows for the retry loop.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypedDict

from bot.errors import BotError
from bot.sqlite_db import open_db

RatedBy = Literal["bot", "agent"]
Trigger = Literal["goodbye", "resolved", "handback", "inactivity"]
TRIGGERS: tuple[str, ...] = ("goodbye", "resolved", "handback", "inactivity")
MIN_RATING = 1
MAX_RATING = 5
MAX_COMMENT_CHARS = 1000

SCHEMA = """
CREATE TABLE IF NOT EXISTS csat_ratings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    survey_id TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment TEXT NOT NULL DEFAULT '',
    rated_by TEXT NOT NULL CHECK (rated_by IN ('bot', 'agent')),
    language TEXT NOT NULL CHECK (language IN ('en', 'zh')),
    handoff_id TEXT,
    trigger TEXT NOT NULL,
    created_at REAL NOT NULL,
    tracker_written_at REAL,
    tracker_attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    UNIQUE (conversation_id, survey_id)
);
CREATE INDEX IF NOT EXISTS csat_by_conversation ON csat_ratings(conversation_id, created_at);
CREATE INDEX IF NOT EXISTS csat_tracker_pending ON csat_ratings(next_attempt_at) WHERE tracker_written_at IS NULL;
"""

Clock = Callable[[], float]


class CsatSlot(TypedDict):
    """The ``csat`` slot's value (the issue-14 contract): what analytics reads from the event stream."""

    survey_id: str
    rating: int
    comment: str
    by: RatedBy
    language: str
    handoff_id: str | None


class Rating(TypedDict):
    id: int
    conversation_id: str
    survey_id: str
    rating: int
    comment: str
    by: RatedBy
    language: str
    handoff_id: str | None
    trigger: str
    created_at: float
    tracker_written_at: float | None
    tracker_attempts: int


class AlreadyRatedError(BotError):
    """This survey (or this conversation episode) already has a rating."""

    def __init__(self, conversation_id: str, survey_id: str) -> None:
        super().__init__(f"survey {survey_id!r} of this conversation is already rated")
        self.conversation_id = conversation_id
        self.survey_id = survey_id


def _rating(row: sqlite3.Row) -> Rating:
    return Rating(
        id=row["id"],
        conversation_id=row["conversation_id"],
        survey_id=row["survey_id"],
        rating=row["rating"],
        comment=row["comment"],
        by=row["rated_by"],
        language=row["language"],
        handoff_id=row["handoff_id"],
        trigger=row["trigger"],
        created_at=row["created_at"],
        tracker_written_at=row["tracker_written_at"],
        tracker_attempts=row["tracker_attempts"],
    )


def slot_value(rating: Rating) -> CsatSlot:
    """The ``csat`` slot value of a stored rating (exactly the contract's keys)."""
    return CsatSlot(
        survey_id=rating["survey_id"],
        rating=rating["rating"],
        comment=rating["comment"],
        by=rating["by"],
        language=rating["language"],
        handoff_id=rating["handoff_id"],
    )


class CsatStore:
    def __init__(self, path: Path | str, clock: Clock = time.time) -> None:
        self._db = open_db(path, SCHEMA)
        self.clock = clock

    def shutdown(self) -> None:
        self._db.close()

    def add(
        self,
        conversation_id: str,
        survey_id: str,
        rating: int,
        comment: str,
        by: RatedBy,
        language: str,
        handoff_id: str | None,
        trigger: str,
    ) -> Rating:
        """Stores a rating once; AlreadyRatedError when this (conversation, survey) has one."""
        if not MIN_RATING <= rating <= MAX_RATING:
            raise ValueError(f"rating {rating!r} is not an integer from {MIN_RATING} to {MAX_RATING}")
        try:
            cursor = self._db.execute(
                "INSERT INTO csat_ratings (conversation_id, survey_id, rating, comment, rated_by, language,"
                " handoff_id, trigger, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    survey_id,
                    rating,
                    comment,
                    by,
                    language,
                    handoff_id,
                    trigger,
                    self.clock(),
                ),
            )
        except sqlite3.IntegrityError:
            raise AlreadyRatedError(conversation_id, survey_id) from None
        return self.get(int(cursor.lastrowid or 0))

    def get(self, rating_id: int) -> Rating:
        row = self._db.execute("SELECT * FROM csat_ratings WHERE id = ?", (rating_id,)).fetchone()
        if row is None:
            raise KeyError(f"no rating {rating_id}")
        return _rating(row)

    def for_conversation(self, conversation_id: str) -> list[Rating]:
        rows = self._db.execute(
            "SELECT * FROM csat_ratings WHERE conversation_id = ? ORDER BY created_at, id", (conversation_id,)
        ).fetchall()
        return [_rating(row) for row in rows]

    def last_rated_at(self, conversation_id: str) -> float | None:
        """When this conversation was last rated (the start of its current episode), or None."""
        row = self._db.execute(
            "SELECT MAX(created_at) FROM csat_ratings WHERE conversation_id = ?", (conversation_id,)
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    # --- the tracker write (SlotSet "csat") ---------------------------------------------------------
    def mark_written(self, rating_id: int) -> None:
        self._db.execute(
            "UPDATE csat_ratings SET tracker_written_at = ?, tracker_attempts = tracker_attempts + 1"
            " WHERE id = ? AND tracker_written_at IS NULL",
            (self.clock(), rating_id),
        )

    def mark_failed(self, rating_id: int, retry_in_s: float) -> None:
        self._db.execute(
            "UPDATE csat_ratings SET tracker_attempts = tracker_attempts + 1, next_attempt_at = ?"
            " WHERE id = ? AND tracker_written_at IS NULL",
            (self.clock() + retry_in_s, rating_id),
        )

    def pending_tracker_writes(self, limit: int = 50) -> list[Rating]:
        """Ratings whose slot has not reached Rasa yet and whose next attempt is due (oldest first)."""
        rows = self._db.execute(
            "SELECT * FROM csat_ratings WHERE tracker_written_at IS NULL AND next_attempt_at <= ?"
            " ORDER BY created_at, id LIMIT ?",
            (self.clock(), limit),
        ).fetchall()
        return [_rating(row) for row in rows]
