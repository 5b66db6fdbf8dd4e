"""The analytics tables (ANALYTICS_DB, SQLite); this package is their only writer and reader.

Per conversation (rebuilt whenever its sender has new events, or while it has not ended): ``conversations``,
``turns``, ``actions``, ``handoffs``, ``fallbacks``, ``csat``, ``mood``, ``feedback_texts`` (texts the themes group).
Aggregates, recomputed at every refresh: ``intents``, ``daily``. ``themes`` is written by analytics.themes,
``state`` holds the broker watermark and counters.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value REAL NOT NULL);
CREATE TABLE IF NOT EXISTS conversations (
    sender_id TEXT NOT NULL, session_no INTEGER NOT NULL,
    started_at REAL NOT NULL, last_event_at REAL NOT NULL, day TEXT NOT NULL,
    ended INTEGER NOT NULL, language TEXT NOT NULL, turns INTEGER NOT NULL,
    handed_off INTEGER NOT NULL, handoff_reason TEXT, handoff_outcome TEXT, agent_joined INTEGER NOT NULL,
    fallbacks INTEGER NOT NULL, fallback_loop INTEGER NOT NULL, contained INTEGER,
    csat_rating INTEGER, csat_by TEXT, last_mood REAL,
    PRIMARY KEY (sender_id, session_no)
);
CREATE TABLE IF NOT EXISTS turns (
    sender_id TEXT NOT NULL, session_no INTEGER NOT NULL, ts REAL NOT NULL, day TEXT NOT NULL,
    intent TEXT, confidence REAL, fallback INTEGER NOT NULL, latency_ms REAL
);
CREATE TABLE IF NOT EXISTS actions (
    sender_id TEXT NOT NULL, session_no INTEGER NOT NULL, ts REAL NOT NULL, name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS handoffs (
    sender_id TEXT NOT NULL, session_no INTEGER NOT NULL, ts REAL NOT NULL, day TEXT NOT NULL,
    reason TEXT NOT NULL, outcome TEXT
);
CREATE TABLE IF NOT EXISTS fallbacks (
    sender_id TEXT NOT NULL, session_no INTEGER NOT NULL, ts REAL NOT NULL, day TEXT NOT NULL,
    language TEXT NOT NULL, text TEXT NOT NULL, answered INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS csat (
    sender_id TEXT NOT NULL, session_no INTEGER NOT NULL, ts REAL NOT NULL, day TEXT NOT NULL,
    survey_id TEXT NOT NULL, rating INTEGER NOT NULL, comment TEXT NOT NULL, by TEXT NOT NULL,
    language TEXT NOT NULL, handoff_id TEXT
);
CREATE TABLE IF NOT EXISTS mood (
    sender_id TEXT NOT NULL, session_no INTEGER NOT NULL, ts REAL NOT NULL, day TEXT NOT NULL,
    score REAL NOT NULL, label TEXT NOT NULL, mood REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback_texts (
    sender_id TEXT NOT NULL, session_no INTEGER NOT NULL, ts REAL NOT NULL,
    source TEXT NOT NULL, language TEXT NOT NULL, text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS intents (intent TEXT PRIMARY KEY, messages INTEGER NOT NULL, conversations INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS daily (
    day TEXT PRIMARY KEY, conversations INTEGER NOT NULL, ended INTEGER NOT NULL, contained INTEGER NOT NULL,
    handed_off INTEGER NOT NULL, with_fallback INTEGER NOT NULL, containment_rate REAL, handoff_rate REAL,
    fallback_rate REAL, mean_mood REAL
);
CREATE TABLE IF NOT EXISTS themes (
    language TEXT NOT NULL, theme_no INTEGER NOT NULL, label TEXT NOT NULL, terms TEXT NOT NULL,
    count INTEGER NOT NULL, examples TEXT NOT NULL, sources TEXT NOT NULL,
    PRIMARY KEY (language, theme_no)
);
CREATE INDEX IF NOT EXISTS turns_sender ON turns (sender_id);
CREATE INDEX IF NOT EXISTS actions_sender ON actions (sender_id);
CREATE INDEX IF NOT EXISTS handoffs_sender ON handoffs (sender_id);
CREATE INDEX IF NOT EXISTS fallbacks_sender ON fallbacks (sender_id);
CREATE INDEX IF NOT EXISTS csat_sender ON csat (sender_id);
CREATE INDEX IF NOT EXISTS mood_sender ON mood (sender_id);
CREATE INDEX IF NOT EXISTS feedback_sender ON feedback_texts (sender_id);
"""

# Rebuilt per sender (a sender's rows are deleted and written again in one transaction).
PER_SENDER = ("conversations", "turns", "actions", "handoffs", "fallbacks", "csat", "mood", "feedback_texts")
# What the dashboard exports as CSV (state is internal).
EXPORTED = (*PER_SENDER, "intents", "daily", "themes")


def connect(path: Path) -> sqlite3.Connection:
    """The analytics database, created with every table when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30.0)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.executescript(SCHEMA)
    return connection


def read_only(path: Path) -> sqlite3.Connection:
    """The analytics database for reading (created first when missing, so an empty one reads as empty tables)."""
    if not path.exists():
        connect(path).close()
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
    connection.row_factory = sqlite3.Row
    return connection
