"""The bot service's SQLite connections: one file, WAL, a busy timeout, autocommit (explicit transactions).

``fast_commits``: ``synchronous=NORMAL`` (a commit does not wait for the WAL's fsync) for the stores written on
every event of a handed-off conversation — the handoffs store (transcript lines, mood, the sync cursor) and the
console's search index. With the default FULL each tracker event of a handoff cost the bot service three
fsync'd commits (a third of its CPU in the handoff bench, docs/benchmarks.md). In WAL mode NORMAL never corrupts
the file and a crashed process loses nothing; a power cut may lose the last commits: transcript lines, mood and
cursor are read again from Rasa's tracker by the next sync, and a lost claim or closure shows the conversation
queued / open again. The stores of accounts, teams, canned replies and CSAT keep FULL (rare writes).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_db(path: Path | str, schema: str, *, fast_commits: bool = False) -> sqlite3.Connection:
    """Open (creating its folder) the database at ``path`` and create ``schema``'s tables if missing."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA busy_timeout=5000")
    if fast_commits:
        db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(schema)
    return db
