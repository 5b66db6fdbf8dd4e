"""The ledger outbox: a table in the shop's SQLite DB holding records to put on chain.

``enqueue(conn, record)`` is called inside the order store's transaction (an ``on_created`` hook), so an order
and its ledger record exist together or not at all. Senders read due rows with their own connection and mark
them recorded. Only the order number and the two hashes are stored here. An order's revision n >= 1 (a
legitimate change, ``ledger.canonical``) is a row of its own with the ref ``"SD-100042#n"``.

Row life: ``pending`` → ``recorded`` (tx hash, block) | ``conflict`` (chain holds another digest) |
``quarantined`` (the row can never be sent: a malformed id or digest; ``last_error`` says why). A failed try
keeps the row ``pending`` with ``attempts`` + 1 and a later ``next_attempt_at``.

One sender per row: a sender (``python -m ledger.sender``, or the action server's instant receipt) first
*claims* rows — one UPDATE sets ``lease_owner`` and ``lease_until`` on rows nobody holds — and sends only what it
claimed. Marking a row clears its lease. A lease that expired (its holder died) can be claimed by anyone.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from ledger.canonical import REVISION_SEPARATOR, OrderRecord, parse_revision_ref
from ledger.errors import OutboxError

logger = logging.getLogger(__name__)

TABLE = "ledger_outbox"
STATUSES = ("pending", "recorded", "conflict", "quarantined")
KINDS = ("order", "recommendations")

_TABLE_SQL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    record_id        TEXT PRIMARY KEY,
    kind             TEXT NOT NULL DEFAULT 'order' CHECK (kind IN ('order', 'recommendations')),
    ref              TEXT NOT NULL,
    digest           TEXT NOT NULL,
    canonical_version INTEGER NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'recorded', 'conflict', 'quarantined')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL DEFAULT 0,
    last_error       TEXT,
    tx_hash          TEXT,
    block_number     INTEGER,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    lease_owner      TEXT,
    lease_until      REAL NOT NULL DEFAULT 0,
    UNIQUE (kind, ref)
)"""
_INDEX_SQL = f"CREATE INDEX IF NOT EXISTS {TABLE}_due ON {TABLE} (status, next_attempt_at)"
# the columns of the first schema (no leases, no quarantine): copied over when an old table is upgraded
_V1_COLUMNS = (
    "record_id, kind, ref, digest, canonical_version, status, attempts, next_attempt_at, last_error, "
    "tx_hash, block_number, created_at, updated_at"
)


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
    lease_owner: str | None = None
    lease_until: float = 0.0


_COLUMNS = ", ".join(OutboxRow.__dataclass_fields__)


def new_owner(role: str) -> str:
    """A lease owner id unique to one sender object (role, host, pid, random suffix)."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _is_hex32(value: object) -> bool:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 66:
        return False
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        return False
    return raw != b"\x00" * 32


def row_problem(row: OutboxRow) -> str | None:
    """Why ``row`` can never be sent (it is then quarantined), or None for a sendable row."""
    if row.kind not in KINDS:
        return f"kind {row.kind!r} unknown; valid: {list(KINDS)}"
    if not _is_hex32(row.record_id):
        return "record_id is not a non-zero 0x-prefixed bytes32 hex string"
    if not _is_hex32(row.digest):
        return "digest is not a non-zero 0x-prefixed bytes32 hex string"
    if not isinstance(row.attempts, int) or isinstance(row.attempts, bool) or row.attempts < 0:
        return f"attempts {row.attempts!r} is not a whole number >= 0"
    if not isinstance(row.canonical_version, int) or isinstance(row.canonical_version, bool):
        return f"canonical_version {row.canonical_version!r} is not a whole number"
    if not isinstance(row.ref, str) or not row.ref:
        return "ref is empty"
    return None


class SqlTransaction(Protocol):
    """The caller's open transaction as ``enqueue`` needs it: an ``execute(sql, params)`` (``sqlite3.Connection``
    has it; the shop hands its hooks such a handle, never a driver type)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...


def ensure_schema(conn: SqlTransaction) -> None:
    """Create the table, or upgrade a table of the first schema (adds leases and the quarantine status)."""
    found = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
    ).fetchone()
    if found is None:
        conn.execute(_TABLE_SQL)
        conn.execute(_INDEX_SQL)
        return
    if "lease_owner" in found[0]:
        return
    own_transaction = not getattr(conn, "in_transaction", True)  # a plain handle: already in one
    if own_transaction:
        conn.execute("BEGIN IMMEDIATE")
    try:
        found = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
        ).fetchone()
        if "lease_owner" not in found[0]:  # another process may have upgraded it meanwhile
            logger.info("upgrading the %s table (leases, quarantine)", TABLE)
            conn.execute(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_v1")
            conn.execute(_TABLE_SQL)
            conn.execute(f"INSERT INTO {TABLE} ({_V1_COLUMNS}) SELECT {_V1_COLUMNS} FROM {TABLE}_v1")
            conn.execute(f"DROP TABLE {TABLE}_v1")
            conn.execute(_INDEX_SQL)
    except BaseException:
        if own_transaction:
            conn.execute("ROLLBACK")
        raise
    if own_transaction:
        conn.execute("COMMIT")


def enqueue(conn: SqlTransaction, record: OrderRecord, *, kind: str = "order") -> None:
    """Queue ``record`` in the caller's transaction; the caller commits. Re-queuing the same record is a no-op."""
    if kind not in KINDS:
        raise OutboxError(f"kind {kind!r} unknown; valid: {list(KINDS)}")
    ensure_schema(conn)
    existing = conn.execute(
        f"SELECT record_id, digest FROM {TABLE} WHERE record_id = ? OR (kind = ? AND ref = ?)",
        (record.record_id, kind, record.ref),
    ).fetchone()
    if existing is not None:
        if existing[0] == record.record_id and existing[1] == record.digest:
            return
        raise OutboxError(
            f"{kind} {record.ref} is already queued with another digest; a confirmed record never changes"
        )
    now = _now_iso()
    conn.execute(
        f"INSERT INTO {TABLE} (record_id, kind, ref, digest, canonical_version, status, attempts, "
        "next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, 0, ?, ?)",
        (record.record_id, kind, record.ref, record.digest, record.version, now, now),
    )


def latest_revision(conn: SqlTransaction, order_number: str) -> tuple[int, str] | None:
    """The highest revision of ``order_number`` in the outbox and its digest, or None when none is queued
    (read in the caller's transaction: the change hook numbers the next revision from it)."""
    ensure_schema(conn)
    rows = conn.execute(
        f"SELECT ref, digest FROM {TABLE} WHERE kind = 'order' AND (ref = ? OR substr(ref, 1, ?) = ?)",
        (order_number, len(order_number) + 1, order_number + REVISION_SEPARATOR),
    ).fetchall()
    found = [(parse_revision_ref(str(ref))[1], str(digest)) for ref, digest in rows]
    return max(found) if found else None


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
        """Pending rows due now that nobody holds (read only; :meth:`claim` to send them)."""
        now = time.time() if now is None else now
        return self._rows(
            "WHERE status = 'pending' AND next_attempt_at <= ? AND lease_until <= ? "
            "ORDER BY created_at, record_id LIMIT ?",
            (now, now, limit),
        )

    def claim(self, owner: str, limit: int, lease_s: float, now: float | None = None) -> list[OutboxRow]:
        """Lease up to ``limit`` due rows to ``owner`` for ``lease_s`` seconds, atomically; returns them."""
        now = time.time() if now is None else now
        with self.batch():
            self._conn.execute(
                f"UPDATE {TABLE} SET lease_owner = ?, lease_until = ? WHERE record_id IN ("
                f"SELECT record_id FROM {TABLE} WHERE status = 'pending' AND next_attempt_at <= ? "
                "AND lease_until <= ? ORDER BY created_at, record_id LIMIT ?)",
                (owner, now + lease_s, now, now, limit),
            )
            return self._rows(
                "WHERE status = 'pending' AND lease_owner = ? AND lease_until > ? ORDER BY created_at, record_id",
                (owner, now),
            )

    def claim_ref(
        self, ref: str, owner: str, lease_s: float, kind: str = "order", now: float | None = None
    ) -> OutboxRow | None:
        """Lease one pending row (whatever its ``next_attempt_at``) if nobody holds it; None otherwise."""
        now = time.time() if now is None else now
        cursor = self._conn.execute(
            f"UPDATE {TABLE} SET lease_owner = ?, lease_until = ? "
            "WHERE kind = ? AND ref = ? AND status = 'pending' AND lease_until <= ?",
            (owner, now + lease_s, kind, ref, now),
        )
        if cursor.rowcount != 1:
            return None
        return self.get(ref, kind)

    def release(self, record_id: str, owner: str) -> None:
        """Give a claimed row back without a send (it is due again at once for anyone)."""
        self._conn.execute(
            f"UPDATE {TABLE} SET lease_owner = NULL, lease_until = 0 WHERE record_id = ? AND lease_owner = ?",
            (record_id, owner),
        )

    def next_due_at(self) -> float | None:
        row = self._conn.execute(
            f"SELECT MIN(MAX(next_attempt_at, lease_until)) FROM {TABLE} WHERE status = 'pending'"
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def get(self, ref: str, kind: str = "order") -> OutboxRow | None:
        rows = self._rows("WHERE kind = ? AND ref = ?", (kind, ref))
        return rows[0] if rows else None

    def by_ref(self, kind: str = "order") -> dict[str, OutboxRow]:
        return {row.ref: row for row in self._rows("WHERE kind = ?", (kind,))}

    def quarantined(self) -> list[OutboxRow]:
        return self._rows("WHERE status = 'quarantined' ORDER BY created_at, record_id")

    def record_ids(self, kind: str) -> set[bytes]:
        rows = self._conn.execute(f"SELECT record_id FROM {TABLE} WHERE kind = ?", (kind,))
        found = set()
        for (record_id,) in rows:
            try:
                found.add(bytes.fromhex(str(record_id).removeprefix("0x")))
            except ValueError:  # a corrupted row: quarantined by the sender, not an id of anything
                continue
        return found

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

    def mark_quarantined(self, record_id: str, reason: str) -> None:
        """Take a row that can never be sent out of the queue, with the reason (see ``make verify-orders``)."""
        logger.error("outbox row %s quarantined: %s", record_id, reason)
        self._update(record_id, "status = 'quarantined', last_error = ?", (reason[:500],))

    def mark_retry(
        self, record_id: str, error: str, next_attempt_at: float, owner: str | None = None
    ) -> None:
        """Schedule another try; with ``owner``, only while that owner still holds the lease."""
        self._update(
            record_id,
            "last_error = ?, next_attempt_at = ?, attempts = attempts + 1",
            (error[:500], next_attempt_at),
            owner,
        )

    def _update(
        self, record_id: str, assignments: str, params: tuple[object, ...], owner: str | None = None
    ) -> None:
        where = "record_id = ? AND status = 'pending'" + (" AND lease_owner = ?" if owner else "")
        cursor = self._conn.execute(
            f"UPDATE {TABLE} SET {assignments}, lease_owner = NULL, lease_until = 0, updated_at = ? WHERE {where}",
            (*params, _now_iso(), record_id, *((owner,) if owner else ())),
        )
        if cursor.rowcount != 1:
            logger.warning("outbox row %s was not pending (or not ours) any more; left as is", record_id)
