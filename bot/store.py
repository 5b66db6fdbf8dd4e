"""The handoff service's own state in SQLite: handoffs (queue, claims), their transcripts, tickets, sessions.

Everything survives a restart of the service; the transcript is re-synchronised from Rasa's tracker from
``last_event_ts`` on (see ``bot.sync``), so nothing a shopper wrote while the console was down is lost.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from bot.errors import HandoffNotFoundError, HandoffStateError, TicketNotFoundError
from bot.mood import MoodPoint, queue_order
from bot.sqlite_db import open_db
from bot.store_schema import MIGRATIONS, SCHEMA, handoff_of, message_of, ticket_of
from bot.types import Handoff, Message, Ticket, TranscriptLine

Clock = Callable[[], float]


class HandoffStore:
    def __init__(self, path: Path | str, clock: Clock = time.time) -> None:
        self._db = open_db(path, SCHEMA, fast_commits=True)  # bot.sqlite_db: rewritten from trackers
        self._migrate()
        self.clock = clock

    def _migrate(self) -> None:
        for table, column, definition in MIGRATIONS:
            columns = {row["name"] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in columns:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    def shutdown(self) -> None:
        self._db.close()

    # --- handoffs ---------------------------------------------------------------------------------
    def open_handoff(
        self,
        conversation_id: str,
        reason: str,
        transcript: Iterable[TranscriptLine],
        context: dict[str, object],
        language: str = "en",
    ) -> tuple[Handoff, bool]:
        """Queues a conversation; returns (handoff, created). An already open one is returned as is."""
        existing = self.open_handoff_for(conversation_id)
        if existing is not None:
            return existing, False
        handoff_id = "H-" + secrets.token_hex(6)
        now = self.clock()
        lines = list(transcript)
        last_ts = max((float(line["ts"]) for line in lines), default=now - 1.0)
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT INTO handoffs"
                " (id, conversation_id, status, reason, created_at, context, last_event_ts, language)"
                " VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)",
                (handoff_id, conversation_id, reason, now, json.dumps(context), last_ts, language),
            )
            for line in lines:
                role = line["role"] if line["role"] in ("shopper", "bot", "agent", "notice") else "bot"
                # the same key as bot.sync gives the tracker event, so the poller does not store it twice
                key = f"{'user' if role == 'shopper' else 'bot'}:{float(line['ts'])!r}"
                self._db.execute(
                    "INSERT OR IGNORE INTO messages (handoff_id, role, text, ts, key) VALUES (?, ?, ?, ?, ?)",
                    (handoff_id, role, line["text"], float(line["ts"]), key),
                )
        return self.get(handoff_id), True

    def get(self, handoff_id: str) -> Handoff:
        row = self._db.execute("SELECT * FROM handoffs WHERE id = ?", (handoff_id,)).fetchone()
        if row is None:
            raise HandoffNotFoundError(handoff_id)
        return handoff_of(row)

    def open_handoff_for(self, conversation_id: str) -> Handoff | None:
        row = self._db.execute(
            "SELECT * FROM handoffs WHERE conversation_id = ? AND status != 'closed'", (conversation_id,)
        ).fetchone()
        return handoff_of(row) if row else None

    def handled_since(self, conversation_id: str, since: float) -> Handoff | None:
        """The newest handoff of this conversation a person took (claimed) that was still open at or after
        ``since``: who handled the conversation since then (CSAT: a rating is the agent's when one did)."""
        row = self._db.execute(
            "SELECT * FROM handoffs WHERE conversation_id = ? AND claimed_at IS NOT NULL"
            " AND (closed_at IS NULL OR closed_at >= ?) ORDER BY claimed_at DESC LIMIT 1",
            (conversation_id, since),
        ).fetchone()
        return handoff_of(row) if row else None

    def list_handoffs(self, statuses: tuple[str, ...], limit: int = 200) -> list[Handoff]:
        marks = ",".join("?" * len(statuses))
        order = "created_at" if "closed" not in statuses else "closed_at DESC"
        rows = self._db.execute(
            f"SELECT * FROM handoffs WHERE status IN ({marks}) ORDER BY {order} LIMIT ?",
            (*statuses, limit),
        ).fetchall()
        return [handoff_of(row) for row in rows]

    def queue_position(self, handoff_id: str) -> int:
        """1-based place in the waiting queue in the console's order (``queued_by_priority``); 0: not queued."""
        handoff = self.get(handoff_id)
        if handoff["status"] != "queued":
            return 0
        ranked = [queued["id"] for queued, _ in self.queued_by_priority()]
        return ranked.index(handoff_id) + 1 if handoff_id in ranked else 0

    def queued_by_priority(self, now: float | None = None, limit: int = 200) -> list[tuple[Handoff, float]]:
        """Queued handoffs with their priority (``bot.mood.priority``: waiting time and negative mood),
        highest first, ties by arrival."""
        now = self.clock() if now is None else now
        waiting = {handoff["id"]: handoff for handoff in self.list_handoffs(("queued",), limit=10_000)}
        ranked = queue_order([(h["id"], h["created_at"], h["mood"]) for h in waiting.values()], now)
        return [(waiting[handoff_id], score) for handoff_id, score in ranked[:limit]]

    def claim(self, handoff_id: str, agent_email: str, agent_name: str) -> Handoff:
        """One agent per conversation: the first claim wins, a second one raises HandoffStateError."""
        cursor = self._db.execute(
            "UPDATE handoffs SET status = 'active', agent_email = ?, agent_name = ?, claimed_at = ?"
            " WHERE id = ? AND status = 'queued'",
            (agent_email, agent_name, self.clock(), handoff_id),
        )
        handoff = self.get(handoff_id)
        if cursor.rowcount == 0:
            by = f"claimed by {handoff['agent_name']}" if handoff["agent_name"] else ""
            raise HandoffStateError(handoff_id, handoff["status"], ("queued",), by)
        return handoff

    def require_owner(self, handoff_id: str, agent_email: str) -> Handoff:
        handoff = self.get(handoff_id)
        if handoff["status"] != "active":
            raise HandoffStateError(handoff_id, handoff["status"], ("active",))
        if handoff["agent_email"] != agent_email:
            raise HandoffStateError(handoff_id, "claimed by another agent", ("claimed by you",))
        return handoff

    def close(self, handoff_id: str, agent_email: str) -> Handoff:
        cursor = self._db.execute(
            "UPDATE handoffs SET status = 'closed', closed_at = ? WHERE id = ? AND status = 'active'"
            " AND agent_email = ?",
            (self.clock(), handoff_id, agent_email),
        )
        if cursor.rowcount == 0:
            self.require_owner(handoff_id, agent_email)  # raises the precise error
        return self.get(handoff_id)

    def queued_before(self, cutoff: float) -> list[Handoff]:
        """Queued handoffs queued at or before ``cutoff`` (oldest first): created, or returned to the queue."""
        rows = self._db.execute(
            "SELECT * FROM handoffs WHERE status = 'queued' AND COALESCE(requeued_at, created_at) <= ?"
            " ORDER BY created_at",
            (cutoff,),
        ).fetchall()
        return [handoff_of(row) for row in rows]

    def expire(self, handoff_id: str) -> bool:
        """Closes a handoff that is still queued (nobody claimed it); False when a claim won the race."""
        cursor = self._db.execute(
            "UPDATE handoffs SET status = 'closed', closed_at = ?, reason = reason || ' (timed out)'"
            " WHERE id = ? AND status = 'queued'",
            (self.clock(), handoff_id),
        )
        return cursor.rowcount == 1

    def requeue(self, handoff_id: str) -> None:
        """Undoes ``expire`` when the shopper could not be told (retried on the next round)."""
        self._db.execute(
            "UPDATE handoffs SET status = 'queued', closed_at = NULL, reason = replace(reason, ' (timed out)', '')"
            " WHERE id = ? AND status = 'closed' AND agent_email IS NULL",
            (handoff_id,),
        )

    def set_last_event_ts(self, handoff_id: str, ts: float) -> None:
        self._db.execute(
            "UPDATE handoffs SET last_event_ts = MAX(last_event_ts, ?) WHERE id = ?", (ts, handoff_id)
        )

    def set_language(self, handoff_id: str, language: str) -> bool:
        """Records the conversation's language (bot.language); True when it changed."""
        cursor = self._db.execute(
            "UPDATE handoffs SET language = ? WHERE id = ? AND language != ?",
            (language, handoff_id, language),
        )
        return cursor.rowcount == 1

    def set_mood(self, handoff_id: str, mood: float | None, trace: list[MoodPoint]) -> bool:
        """Records the conversation's mood (None: unknown) and its trace; True when either changed."""
        encoded = json.dumps(trace)
        cursor = self._db.execute(
            "UPDATE handoffs SET mood = ?, mood_trace = ? WHERE id = ? AND (mood IS NOT ? OR mood_trace != ?)",
            (mood, encoded, handoff_id, mood, encoded),
        )
        return cursor.rowcount == 1

    def mood_trace(self, handoff_id: str) -> list[MoodPoint]:
        row = self._db.execute("SELECT mood_trace FROM handoffs WHERE id = ?", (handoff_id,)).fetchone()
        if row is None:
            raise HandoffNotFoundError(handoff_id)
        trace: list[MoodPoint] = json.loads(row[0])
        return trace

    # --- messages ---------------------------------------------------------------------------------
    def add_message(
        self,
        handoff_id: str,
        role: str,
        text: str,
        ts: float,
        key: str,
        meta: dict[str, object] | None = None,
    ) -> Message | None:
        """Stores a transcript line once (``key`` deduplicates); returns it, or None if it was known."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO messages (handoff_id, role, text, ts, key, meta) VALUES (?, ?, ?, ?, ?, ?)",
            (handoff_id, role, text, ts, key, json.dumps(meta or {})),
        )
        if cursor.rowcount == 0:
            return None
        row = self._db.execute("SELECT * FROM messages WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return message_of(row)

    def confirm_message(self, handoff_id: str, key: str, text: str) -> Message | None:
        """Drops ``meta.unconfirmed`` from the line stored under ``key`` and gives it the tracker's ``text``
        (bot.edge_feed: Rasa's tracker has it now); returns it, or None when there is no such line or it was
        confirmed already."""
        cursor = self._db.execute(
            "UPDATE messages SET meta = json_remove(meta, '$.unconfirmed'), text = ?"
            " WHERE handoff_id = ? AND key = ? AND json_extract(meta, '$.unconfirmed') IS NOT NULL",
            (text, handoff_id, key),
        )
        if cursor.rowcount == 0:
            return None
        row = self._db.execute(
            "SELECT * FROM messages WHERE handoff_id = ? AND key = ?", (handoff_id, key)
        ).fetchone()
        return message_of(row)

    def messages(self, handoff_id: str, after_id: int = 0) -> list[Message]:
        self.get(handoff_id)
        rows = self._db.execute(
            "SELECT * FROM messages WHERE handoff_id = ? AND id > ? ORDER BY ts, id", (handoff_id, after_id)
        ).fetchall()
        return [message_of(row) for row in rows]

    # --- tickets ----------------------------------------------------------------------------------
    def create_ticket(
        self, conversation_id: str, email: str, message: str, transcript: list[TranscriptLine]
    ) -> Ticket:
        ticket_id = "T-" + secrets.token_hex(5)
        self._db.execute(
            "INSERT INTO tickets (id, conversation_id, email, message, transcript, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (ticket_id, conversation_id, email, message, json.dumps(transcript), self.clock()),
        )
        return self.get_ticket(ticket_id)

    def get_ticket(self, ticket_id: str) -> Ticket:
        row = self._db.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise TicketNotFoundError(ticket_id)
        return ticket_of(row)

    def ticket_transcript(self, ticket_id: str) -> list[TranscriptLine]:
        row = self._db.execute("SELECT transcript FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise TicketNotFoundError(ticket_id)
        return json.loads(row[0])

    def list_tickets(self, status: str | None = None, limit: int = 200) -> list[Ticket]:
        if status:
            rows = self._db.execute(
                "SELECT * FROM tickets WHERE status = ? ORDER BY created_at DESC LIMIT ?", (status, limit)
            ).fetchall()
        else:
            rows = self._db.execute(
                "SELECT * FROM tickets ORDER BY created_at DESC LIMIT ?", (limit,)
            ).fetchall()
        return [ticket_of(row) for row in rows]

    def resolve_ticket(self, ticket_id: str, agent_email: str) -> Ticket:
        self.get_ticket(ticket_id)
        self._db.execute(
            "UPDATE tickets SET status = 'resolved', resolved_by = ?, resolved_at = ? WHERE id = ?",
            (agent_email, self.clock(), ticket_id),
        )
        return self.get_ticket(ticket_id)

    # --- agent sessions ---------------------------------------------------------------------------
    def create_session(self, token_hash: str, agent_email: str, csrf: str, ttl_s: float) -> None:
        now = self.clock()
        self._db.execute(
            "INSERT INTO sessions (token_hash, agent_email, csrf, created_at, last_seen, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (token_hash, agent_email, csrf, now, now, now + ttl_s),
        )

    def session(self, token_hash: str) -> tuple[str, str] | None:
        """(agent_email, csrf) of a live session, touching it; None when unknown or expired."""
        now = self.clock()
        row = self._db.execute(
            "SELECT agent_email, csrf, expires_at FROM sessions WHERE token_hash = ?", (token_hash,)
        ).fetchone()
        if row is None:
            return None
        if row["expires_at"] <= now:
            self.delete_session(token_hash)
            return None
        self._db.execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?", (now, token_hash))
        return row["agent_email"], row["csrf"]

    def delete_session(self, token_hash: str) -> None:
        self._db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    def delete_sessions_of(self, agent_email: str) -> int:
        """Ends every session of one agent (disabled by an admin); how many there were."""
        return self._db.execute("DELETE FROM sessions WHERE agent_email = ?", (agent_email,)).rowcount

    def agents_seen_since(self, since: float) -> set[str]:
        rows = self._db.execute(
            "SELECT DISTINCT agent_email FROM sessions WHERE last_seen >= ? AND expires_at > ?",
            (since, self.clock()),
        ).fetchall()
        return {row[0] for row in rows}
