"""The ledger outbox: a table in the shop's SQLite DB holding records to put on chain.

``enqueue(conn, record)`` is called inside the order store's transaction (an ``on_created`` hook), so an order
and its ledger record exist together or not at all. The sender (``python -m ledger.sender``) reads due rows with
its own connection and marks them recorded. Only the order number and the two hashes are stored here.

Row life: ``pending`` → ``recorded`` (tx hash, block) | ``conflict`` (chain holds another digest). A failed try
keeps the row ``pending`` with ``attempts`` + 1 and a later ``next_attempt_at``.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ledger.canonical import OrderRecord
from ledger.errors import OutboxError

logger = logging.getLogger(__name__)

TABLE = "ledger_outbox"
STATUSES = ("pending", "recorded", "conflict")
KINDS = ("order", "recommendations")

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    record_id        TEXT PRIMARY KEY,
    kind             TEXT NOT NULL DEFAULT 'order' CHECK (kind IN ('order', 'recommendations')),
    ref              TEXT NOT NULL,
    digest           TEXT NOT NULL,
    canonical_version INTEGER NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'recorded', 'conflict')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL DEFAULT 0,
    last_error       TEXT,
    tx_hash          TEXT,
    block_number     INTEGER,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (kind, ref)
);
CREATE INDEX IF NOT EXISTS {TABLE}_due ON {TABLE} (status, next_attempt_at);
"""


@dataclass(frozen=True)
class OutboxRow:
    record_id: str
    kind: str
    ref: str
    digest: str
    canonical_version: int
    status: str
    attempts: int
    next_attempt_at: float
    last_error: str | None
    tx_hash: str | None
    block_number: int | None
    created_at: str
    updated_at: str


_COLUMNS = ", ".join(OutboxRow.__dataclass_fields__)


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ensure_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def enqueue(conn: sqlite3.Connection, record: OrderRecord, *, kind: str = "order") -> None:
    """Queue ``record`` in the caller's transaction; the caller commits. Re-queuing the same record is a no-op."""
    if kind not in KINDS:
        raise OutboxError(f"kind {kind!r} unknown; valid: {list(KINDS)}")
    ensure_schema(conn)
    existing = conn.execute(
        f"SELECT record_id, digest FROM {TABLE} WHERE record_id = ? OR (kind = ? AND ref = ?)",
        (record.record_id, kind, record.order_number),
    ).fetchone()
    if existing is not None:
        if existing[0] == record.record_id and existing[1] == record.digest:
            return
        raise OutboxError(
            f"{kind} {record.order_number} is already queued with another digest; a confirmed record never changes"
        )
    now = _now_iso()
    conn.execute(
        f"INSERT INTO {TABLE} (record_id, kind, ref, digest, canonical_version, status, attempts, "
        "next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, 0, ?, ?)",
        (record.record_id, kind, record.order_number, record.digest, record.version, now, now),
    )


def connect(db_path: str | Path) -> sqlite3.Connection:
    """A connection for the sender / verifier: autocommit, WAL, waits for the action server's writes."""
    path = Path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=30000")
    ensure_schema(conn)
    return conn


class Outbox:
    """Reads and updates outbox rows through one connection (autocommit: each update is durable at once)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        ensure_schema(conn)

    @classmethod
    def open(cls, db_path: str | Path) -> Outbox:
        return cls(connect(db_path))

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group several marks into one transaction (one fsync per delivery pass, not per row)."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[OutboxRow]:
        return [
            OutboxRow(*row) for row in self._conn.execute(f"SELECT {_COLUMNS} FROM {TABLE} {sql}", params)
        ]

    def due(self, limit: int, now: float | None = None) -> list[OutboxRow]:
        now = time.time() if now is None else now
        return self._rows(
            "WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY created_at, record_id LIMIT ?",
            (now, limit),
        )

    def next_due_at(self) -> float | None:
        row = self._conn.execute(
            f"SELECT MIN(next_attempt_at) FROM {TABLE} WHERE status = 'pending'"
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def get(self, ref: str, kind: str = "order") -> OutboxRow | None:
        rows = self._rows("WHERE kind = ? AND ref = ?", (kind, ref))
        return rows[0] if rows else None

    def by_ref(self, kind: str = "order") -> dict[str, OutboxRow]:
        return {row.ref: row for row in self._rows("WHERE kind = ?", (kind,))}

    def record_ids(self, kind: str) -> set[bytes]:
        rows = self._conn.execute(f"SELECT record_id FROM {TABLE} WHERE kind = ?", (kind,))
        return {bytes.fromhex(row[0].removeprefix("0x")) for row in rows}

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for status, count in self._conn.execute(f"SELECT status, COUNT(*) FROM {TABLE} GROUP BY status"):
            counts[status] = count
        return counts

    def mark_recorded(self, record_id: str, tx_hash: str | None, block_number: int | None) -> None:
        self._update(
            record_id,
            "status = 'recorded', tx_hash = ?, block_number = ?, last_error = NULL, attempts = attempts + 1",
            (tx_hash, block_number),
        )

    def mark_conflict(self, record_id: str, error: str) -> None:
        self._update(record_id, "status = 'conflict', last_error = ?, attempts = attempts + 1", (error,))

    def mark_retry(self, record_id: str, error: str, next_attempt_at: float) -> None:
        self._update(
            record_id,
            "last_error = ?, next_attempt_at = ?, attempts = attempts + 1",
            (error[:500], next_attempt_at),
        )

    def _update(self, record_id: str, assignments: str, params: tuple[object, ...]) -> None:
        cursor = self._conn.execute(
            f"UPDATE {TABLE} SET {assignments}, updated_at = ? WHERE record_id = ? AND status = 'pending'",
            (*params, _now_iso(), record_id),
        )
        if cursor.rowcount != 1:
            logger.warning("outbox row %s was not pending any more; left as is", record_id)
