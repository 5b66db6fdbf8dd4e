"""The team slice's state (issue 17): internal notes, agent status, and the moves of a handoff between agents.

Its own connection to the handoff service's SQLite file (``HANDOFF_DB_PATH``) and its own tables:

- ``handoff_notes``: internal notes (``kind='note'``, written by an agent) and system notes (``kind='system'``:
  transfers, returns to the queue), keyed by handoff id; never deleted, so they stay after the close;
- ``agent_status``: one row per agent: online / away / offline, why it was last set (``cause``), since when, and
  when the agent last got a conversation (auto-assignment's "idle longest").

The handoff rows themselves belong to ``bot.store``; the two moves this slice adds (transfer to another agent,
return to the queue) are single guarded UPDATEs here — ``WHERE status = 'active' AND agent_email = <owner>`` — so
of two racing moves (or a move racing a close) exactly one takes effect, as ``HandoffStore.claim`` does.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypedDict

from aiohttp import web

from bot.sqlite_db import open_db

Status = Literal["online", "away", "offline"]
STATUSES: tuple[str, ...] = ("online", "away", "offline")
NoteKind = Literal["note", "system"]
Clock = Callable[[], float]

SCHEMA = """
CREATE TABLE IF NOT EXISTS handoff_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    handoff_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('note', 'system')),
    author_email TEXT,
    author_name TEXT,
    text TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS handoff_notes_by_handoff ON handoff_notes(handoff_id, id);
CREATE TABLE IF NOT EXISTS agent_status (
    email TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('online', 'away', 'offline')),
    cause TEXT NOT NULL DEFAULT '',
    since REAL NOT NULL,
    last_assigned_at REAL
);
"""


class Note(TypedDict):
    id: int
    handoff_id: str
    kind: NoteKind
    author_email: str | None
    author_name: str | None
    text: str
    created_at: float


class AgentState(TypedDict):
    email: str
    status: Status
    cause: str  # login | logout | agent (chosen in the console) | disconnected | reconnected
    since: float
    last_assigned_at: float | None


def _note(row: sqlite3.Row) -> Note:
    return Note(
        id=row["id"],
        handoff_id=row["handoff_id"],
        kind=row["kind"],
        author_email=row["author_email"],
        author_name=row["author_name"],
        text=row["text"],
        created_at=row["created_at"],
    )


def _state(row: sqlite3.Row) -> AgentState:
    return AgentState(
        email=row["email"],
        status=row["status"],
        cause=row["cause"],
        since=row["since"],
        last_assigned_at=row["last_assigned_at"],
    )


class TeamStore:
    def __init__(self, path: Path | str, clock: Clock = time.time) -> None:
        self._db = open_db(path, SCHEMA)
        self.clock = clock

    def shutdown(self) -> None:
        self._db.close()

    # --- notes ------------------------------------------------------------------------------------
    def add_note(
        self, handoff_id: str, kind: NoteKind, text: str, author_email: str | None, author_name: str | None
    ) -> Note:
        cursor = self._db.execute(
            "INSERT INTO handoff_notes (handoff_id, kind, author_email, author_name, text, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (handoff_id, kind, author_email, author_name, text, self.clock()),
        )
        row = self._db.execute("SELECT * FROM handoff_notes WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return _note(row)

    def notes(self, handoff_id: str) -> list[Note]:
        rows = self._db.execute(
            "SELECT * FROM handoff_notes WHERE handoff_id = ? ORDER BY id", (handoff_id,)
        ).fetchall()
        return [_note(row) for row in rows]

    # --- agent status -----------------------------------------------------------------------------
    def set_status(self, email: str, status: Status, cause: str) -> Status | None:
        """Records the agent's status; returns the previous one (None: no row yet). ``since`` moves only when
        the status changes."""
        if status not in STATUSES:
            raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        previous = self.state(email)
        now = self.clock()
        if previous is None:
            self._db.execute(
                "INSERT INTO agent_status (email, status, cause, since) VALUES (?, ?, ?, ?)",
                (email, status, cause, now),
            )
            return None
        self._db.execute(
            "UPDATE agent_status SET cause = ?, since = CASE WHEN status = ? THEN since ELSE ? END, status = ?"
            " WHERE email = ?",
            (cause, status, now, status, email),
        )
        return previous["status"]

    def state(self, email: str) -> AgentState | None:
        row = self._db.execute("SELECT * FROM agent_status WHERE email = ?", (email,)).fetchone()
        return _state(row) if row else None

    def states(self) -> dict[str, AgentState]:
        return {row["email"]: _state(row) for row in self._db.execute("SELECT * FROM agent_status")}

    def with_status(self, *statuses: str) -> set[str]:
        marks = ",".join("?" * len(statuses))
        rows = self._db.execute(f"SELECT email FROM agent_status WHERE status IN ({marks})", statuses)
        return {row[0] for row in rows}

    def assigned(self, email: str) -> None:
        """The agent just got a conversation (claim, transfer, auto-assignment): no longer idle."""
        self._db.execute(
            "UPDATE agent_status SET last_assigned_at = ? WHERE email = ?", (self.clock(), email)
        )

    # --- handoff moves (guarded UPDATEs on bot.store's handoffs table) ----------------------------
    def transfer(self, handoff_id: str, from_email: str, to_email: str, to_name: str) -> bool:
        """Gives an active handoff of ``from_email`` to another agent; False when it is no longer theirs.
        ``claimed_at`` stays the first claim's (the shopper's wait for a person is not changed)."""
        cursor = self._db.execute(
            "UPDATE handoffs SET agent_email = ?, agent_name = ?"
            " WHERE id = ? AND status = 'active' AND agent_email = ?",
            (to_email, to_name, handoff_id, from_email),
        )
        return cursor.rowcount == 1

    def requeue(self, handoff_id: str, from_email: str) -> bool:
        """Returns an active handoff of ``from_email`` to the waiting queue; False when it is no longer theirs.

        It keeps its ``created_at`` (its place: the queue orders by waiting time since the handoff) and its
        transcript; the agent and ``claimed_at`` are cleared; ``requeued_at`` restarts the queue timeout."""
        cursor = self._db.execute(
            "UPDATE handoffs SET status = 'queued', agent_email = NULL, agent_name = NULL, claimed_at = NULL,"
            " requeued_at = ? WHERE id = ? AND status = 'active' AND agent_email = ?",
            (self.clock(), handoff_id, from_email),
        )
        return cursor.rowcount == 1

    def active_of(self, email: str) -> list[str]:
        rows = self._db.execute(
            "SELECT id FROM handoffs WHERE status = 'active' AND agent_email = ? ORDER BY claimed_at",
            (email,),
        )
        return [row[0] for row in rows]

    def loads(self) -> dict[str, int]:
        """Active conversations per agent."""
        rows = self._db.execute(
            "SELECT agent_email, COUNT(*) FROM handoffs WHERE status = 'active' GROUP BY agent_email"
        )
        return {row[0]: row[1] for row in rows if row[0]}


TEAM_STORE = web.AppKey("team_store", TeamStore)
