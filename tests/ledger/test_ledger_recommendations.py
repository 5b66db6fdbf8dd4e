"""Merkle batches of shown recommendation lists: sealed every N lists, delivered, provable one by one."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from ledger.canonical import KeyRing
from ledger.client import LedgerClient
from ledger.errors import CanonicalFormError
from ledger.merkle import leaf_hash, merkle_proof, merkle_root, verify_proof
from ledger.outbox import Outbox, connect
from ledger.recommendations import check_list_proof, list_proof, record_shown_list, seal_batch
from ledger.sender import Sender


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13])
def test_every_leaf_proves_against_the_root_and_a_changed_leaf_does_not(n: int) -> None:
    leaves = [leaf_hash(f"list-{i}".encode()) for i in range(n)]
    root = merkle_root(leaves)
    for index, leaf in enumerate(leaves):
        assert verify_proof(leaf, merkle_proof(leaves, index), root)
        assert not verify_proof(leaf_hash(b"forged"), merkle_proof(leaves, index), root)


def test_shown_lists_are_batched_recorded_and_provable(
    tmp_path: Path, keyring: KeyRing, chain: LedgerClient
) -> None:
    db = tmp_path / "shop.db"
    conn = connect(db)
    sealed = []
    for i in range(10):
        conn.execute("BEGIN")
        batch = record_shown_list(
            conn,
            keyring,
            f"L-{i}",
            [f"P-{1001 + i}", "P-1050"],
            "2025-03-01T10:00:00Z",
            "recommend_items",
            batch_size=4,
        )
        conn.execute("COMMIT")
        sealed.append(batch)
    assert [b for b in sealed if b] == ["RB-000001", "RB-000002"]
    assert list_proof(conn, keyring, "L-9")["batch_ref"] is None  # 2 lists still open
    conn.execute("BEGIN")
    assert seal_batch(conn, keyring) == "RB-000003"
    conn.execute("COMMIT")

    sender = Sender(Outbox.open(db), lambda: chain, rng=random.Random(0))
    assert sender.deliver_once().delivered == 3
    for i in range(10):
        proof = list_proof(conn, keyring, f"L-{i}")
        stored = chain.digest_of(proof["record_id"])
        assert check_list_proof(proof, stored)
        json.dumps(proof)  # a plain JSON bundle
    forged = list_proof(conn, keyring, "L-1")
    forged["canonical_json"] = forged["canonical_json"].replace("P-1002", "P-1003")
    assert not check_list_proof(forged, chain.digest_of(forged["record_id"]))


def test_lists_refuse_anything_but_ids(tmp_path: Path, keyring: KeyRing) -> None:
    conn = connect(tmp_path / "shop.db")
    with pytest.raises(CanonicalFormError):
        record_shown_list(conn, keyring, "L-1", ["anna.berg@example.com"], "2025-03-01T10:00:00Z", "recs")
    with pytest.raises(CanonicalFormError):
        record_shown_list(conn, keyring, "L-1", [], "2025-03-01T10:00:00Z", "recs")
