"""Tamper-evident recommendation records: what was shown to shoppers, one Merkle root per N lists on chain.

``record_shown_list(conn, keyring, list_id, product_ids, shown_at, source)`` stores the canonical list (ids and a
UTC time only — no shopper data) in ``ledger_rec_lists``; every ``batch_size`` lists it seals a batch and
queues its root in the outbox (kind ``recommendations``) in the same transaction. ``list_proof`` later returns
the list, its Merkle path and the batch's record id, so anyone can check it against the chain with
``check_list_proof`` — without the shop's key and without seeing other lists.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime
from typing import Any

from ledger.canonical import KeyRing, OrderRecord, utc_timestamp
from ledger.errors import CanonicalFormError
from ledger.merkle import leaf_hash, merkle_proof, merkle_root, verify_proof
from ledger.outbox import enqueue

TABLE = "ledger_rec_lists"
VERSION = 1
_BATCH_DOMAIN = b"shopdesk/rec-batch/v1\x00"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    list_id    TEXT PRIMARY KEY,
    canonical  TEXT NOT NULL,
    leaf       TEXT NOT NULL,
    batch_ref  TEXT,
    position   INTEGER,
    seq        INTEGER NOT NULL
)
"""


def batch_record_id(keyring: KeyRing, batch_ref: str) -> bytes:
    return keyring.keyed(_BATCH_DOMAIN, batch_ref)


def canonical_list(list_id: str, product_ids: list[str], shown_at: datetime | str, source: str) -> bytes:
    for field, value in (
        ("list_id", list_id),
        ("source", source),
        *(("product_ids", p) for p in product_ids),
    ):
        if not isinstance(value, str) or not _ID.match(value):
            raise CanonicalFormError(field, f"{value!r} must be a short identifier")
    if not product_ids:
        raise CanonicalFormError("product_ids", "must not be empty")
    data = {
        "v": VERSION,
        "list_id": list_id,
        "product_ids": list(product_ids),
        "shown_at": utc_timestamp(shown_at),
        "source": source,
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def record_shown_list(
    conn: sqlite3.Connection,
    keyring: KeyRing,
    list_id: str,
    product_ids: list[str],
    shown_at: datetime | str,
    source: str,
    *,
    batch_size: int = 64,
) -> str | None:
    """Store one shown list (in the caller's transaction); returns the batch ref when this list sealed one."""
    canonical = canonical_list(list_id, product_ids, shown_at, source)
    conn.execute(SCHEMA)
    seq = conn.execute(f"SELECT COALESCE(MAX(seq), 0) + 1 FROM {TABLE}").fetchone()[0]
    conn.execute(
        f"INSERT INTO {TABLE} (list_id, canonical, leaf, seq) VALUES (?, ?, ?, ?)",
        (list_id, canonical.decode(), leaf_hash(canonical).hex(), seq),
    )
    open_rows = conn.execute(
        f"SELECT list_id, leaf FROM {TABLE} WHERE batch_ref IS NULL ORDER BY seq"
    ).fetchall()
    if len(open_rows) < batch_size:
        return None
    return seal_batch(conn, keyring, open_rows)


def seal_batch(
    conn: sqlite3.Connection, keyring: KeyRing, rows: list[tuple[str, str]] | None = None
) -> str | None:
    """Seal the open lists (e.g. at shutdown or on a timer) into one batch and queue its root."""
    conn.execute(SCHEMA)
    if rows is None:
        rows = conn.execute(
            f"SELECT list_id, leaf FROM {TABLE} WHERE batch_ref IS NULL ORDER BY seq"
        ).fetchall()
    if not rows:
        return None
    count = conn.execute(
        f"SELECT COUNT(DISTINCT batch_ref) FROM {TABLE} WHERE batch_ref IS NOT NULL"
    ).fetchone()[0]
    batch_ref = f"RB-{count + 1:06d}"
    root = merkle_root([bytes.fromhex(leaf) for _, leaf in rows])
    conn.executemany(
        f"UPDATE {TABLE} SET batch_ref = ?, position = ? WHERE list_id = ?",
        [(batch_ref, position, list_id) for position, (list_id, _) in enumerate(rows)],
    )
    record = OrderRecord(batch_ref, "0x" + batch_record_id(keyring, batch_ref).hex(), "0x" + root.hex())
    enqueue(conn, record, kind="recommendations")
    return batch_ref


def list_proof(conn: sqlite3.Connection, keyring: KeyRing, list_id: str) -> dict[str, Any]:
    """Everything needed to check one shown list against the chain (no key material)."""
    row = conn.execute(
        f"SELECT canonical, batch_ref, position FROM {TABLE} WHERE list_id = ?", (list_id,)
    ).fetchone()
    if row is None:
        raise KeyError(f"unknown recommendation list {list_id!r}")
    canonical, batch_ref, position = row
    if batch_ref is None:
        return {
            "list_id": list_id,
            "canonical_json": canonical,
            "batch_ref": None,
            "status": "not sealed yet",
        }
    leaves = [
        bytes.fromhex(leaf)
        for (leaf,) in conn.execute(
            f"SELECT leaf FROM {TABLE} WHERE batch_ref = ? ORDER BY position", (batch_ref,)
        )
    ]
    return {
        "list_id": list_id,
        "canonical_json": canonical,
        "batch_ref": batch_ref,
        "record_id": "0x" + batch_record_id(keyring, batch_ref).hex(),
        "root": "0x" + merkle_root(leaves).hex(),
        "proof": merkle_proof(leaves, position),
    }


def check_list_proof(proof: dict[str, Any], stored_root: bytes | None) -> bool:
    """True when the list hashes up to the root the chain stores for its batch."""
    if stored_root is None or proof.get("batch_ref") is None:
        return False
    leaf = leaf_hash(str(proof["canonical_json"]).encode())
    return verify_proof(leaf, [(side, h) for side, h in proof["proof"]], stored_root)
