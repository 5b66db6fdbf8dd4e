"""The bot service's SQLite connections: one file, WAL, a busy timeout, autocommit (explicit transactions)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_db(path: Path | str, schema: str) -> sqlite3.Connection:
    """Open (creating its folder) the database at ``path`` and create ``schema``'s tables if missing."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA busy_timeout=5000")
    db.executescript(schema)
    return db
