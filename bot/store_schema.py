"""The handoff store's SQLite schema, its migrations and the row → record conversions (``bot.store``)."""

from __future__ import annotations

import json
import sqlite3

from bot.types import Handoff, Message, Ticket

SCHEMA = """
CREATE TABLE IF NOT EXISTS handoffs (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'active', 'closed')),
    reason TEXT NOT NULL DEFAULT '',
    agent_email TEXT,
    agent_name TEXT,
    created_at REAL NOT NULL,
    claimed_at REAL,
    closed_at REAL,
    context TEXT NOT NULL DEFAULT '{}',
    last_event_ts REAL NOT NULL DEFAULT 0,
    language TEXT NOT NULL DEFAULT 'en',
    mood REAL,
    mood_trace TEXT NOT NULL DEFAULT '[]',
    requeued_at REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_open_handoff ON handoffs(conversation_id) WHERE status != 'closed';
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    handoff_id TEXT NOT NULL REFERENCES handoffs(id),
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    ts REAL NOT NULL,
    key TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    UNIQUE (handoff_id, key)
);
CREATE TABLE IF NOT EXISTS tickets (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    email TEXT NOT NULL,
    message TEXT NOT NULL,
    transcript TEXT NOT NULL DEFAULT '[]',
    created_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    resolved_by TEXT,
    resolved_at REAL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    agent_email TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL,
    expires_at REAL NOT NULL
);
"""

# Columns added after a release: (table, column, definition) — added to an older database when it is opened.
MIGRATIONS = (
    ("handoffs", "language", "TEXT NOT NULL DEFAULT 'en'"),
    ("handoffs", "mood", "REAL"),  # NULL: no judged message yet (unknown, not neutral)
    ("handoffs", "mood_trace", "TEXT NOT NULL DEFAULT '[]'"),
    ("handoffs", "requeued_at", "REAL"),  # back in the queue (bot.team_store.requeue): the timeout restarts
)


def handoff_of(row: sqlite3.Row) -> Handoff:
    return Handoff(
        id=row["id"],
        conversation_id=row["conversation_id"],
        status=row["status"],
        reason=row["reason"],
        agent_email=row["agent_email"],
        agent_name=row["agent_name"],
        created_at=row["created_at"],
        claimed_at=row["claimed_at"],
        closed_at=row["closed_at"],
        context=json.loads(row["context"]),
        last_event_ts=row["last_event_ts"],
        language=row["language"],
        mood=row["mood"],
    )


def message_of(row: sqlite3.Row) -> Message:
    return Message(
        id=row["id"],
        handoff_id=row["handoff_id"],
        role=row["role"],
        text=row["text"],
        ts=row["ts"],
        meta=json.loads(row["meta"]),
    )


def ticket_of(row: sqlite3.Row) -> Ticket:
    return Ticket(
        id=row["id"],
        conversation_id=row["conversation_id"],
        email=row["email"],
        message=row["message"],
        created_at=row["created_at"],
        status=row["status"],
        resolved_by=row["resolved_by"],
    )
