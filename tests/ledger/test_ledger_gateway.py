"""The ledger gateway the action server calls: queue, record, check, reconnect, and shown recommendation lists."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.canonical import KeyRing, order_dict
from ledger.client import LedgerClient
from ledger.errors import LedgerConfigError, NodeUnavailableError
from ledger.gateway import LedgerGateway
from ledger.outbox import Outbox, connect
from ledger.recommendations import check_list_proof, list_proof
from ledger.sender import Sender
from ledger.settings import LedgerSettings


@dataclass(frozen=True)
class Line:
    product_id: str
    quantity: int
    unit_price_minor: int


@dataclass(frozen=True)
class Order:
    """Shaped like ``ledger.canonical.CanonicalOrder`` (as the order store's ``Order`` is)."""

    number: str = "SD-100001"
    created_at: str = "2025-03-01T10:00:00Z"
    currency: str = "EUR"
    lines: tuple[Line, ...] = (Line("P-1002", 1, 4990), Line("P-1001", 2, 1250))
    shipping_minor: int = 0
    total_minor: int = 7490


def queue(db: Path, gateway: LedgerGateway, order: Order) -> None:
    """What the order store does with ``on_created``: the hook inside the order's transaction."""
    conn = connect(db)
    conn.execute("BEGIN")
    gateway.queue_hook()(conn, order)
    conn.execute("COMMIT")
    conn.close()


def test_an_order_is_queued_recorded_and_checked(
    tmp_path: Path, keyring: KeyRing, chain: LedgerClient
) -> None:
    db = tmp_path / "shop.db"
    gateway = LedgerGateway(keyring, lambda: chain, db)
    order = Order()
    assert gateway.check(order).status == "missing"
    queue(db, gateway, order)
    assert gateway.check(order).status == "pending"
    row = gateway.record(order)
    assert row is not None and row.status == "recorded" and row.tx_hash
    assert chain.digest_of(keyring.record_id(order.number)) == keyring.digest(order_dict(order))
    check = gateway.check(order)
    assert (check.status, check.tx_hash) == ("intact", row.tx_hash)
    assert gateway.check(Order(total_minor=7491)).status == "tampered"


class FlakyConnect:
    """Connects to a node that is down the first time, then to the real chain."""

    def __init__(self, chain: LedgerClient) -> None:
        self.chain, self.calls = chain, 0

    def __call__(self) -> object:
        self.calls += 1
        return DownClient() if self.calls == 1 else self.chain


class DownClient:
    def record(self, *args: object) -> object:
        raise NodeUnavailableError("http://127.0.0.1:9", "test")

    def digest_of(self, *args: object) -> object:
        raise NodeUnavailableError("http://127.0.0.1:9", "test")


def test_a_chain_error_reconnects_on_the_next_call(
    tmp_path: Path, keyring: KeyRing, chain: LedgerClient
) -> None:
    db = tmp_path / "shop.db"
    connect_client = FlakyConnect(chain)
    gateway = LedgerGateway(keyring, connect_client, db)  # type: ignore[arg-type]
    order = Order()
    queue(db, gateway, order)
    row = gateway.record(order)  # the node is down: the row stays for the sender, unleased
    assert row is not None and row.status == "pending" and row.lease_owner is None
    row = gateway.record(order)  # a new client, the record goes through
    assert connect_client.calls == 2
    assert row is not None and row.status == "recorded"


def test_from_settings_refuses_a_short_key_before_any_chain_call(tmp_path: Path) -> None:
    with pytest.raises(LedgerConfigError) as info:
        LedgerGateway.from_settings(LedgerSettings(hmac_key="short"), tmp_path / "shop.db")
    assert info.value.name == "LEDGER_HMAC_KEY"
    gateway = LedgerGateway.from_settings(LedgerSettings(receipt_timeout_s=10.0), tmp_path / "shop.db")
    assert gateway.lease_s == 40.0  # a few receipt waits


def test_shown_lists_are_sealed_delivered_and_provable(
    tmp_path: Path, keyring: KeyRing, chain: LedgerClient
) -> None:
    db = tmp_path / "shop.db"
    gateway = LedgerGateway(keyring, lambda: chain, db, recommendation_batch=3)
    sealed = [
        gateway.record_shown(f"L-{i}", ["P-1001", "P-1002"], "2025-03-01T10:00:00Z", "popular")
        for i in range(4)
    ]
    assert sealed == [None, None, "RB-000001", None]
    outbox = Outbox.open(db)
    assert outbox.record_ids("recommendations") and outbox.counts()["pending"] == 1
    assert Sender(outbox, lambda: chain).deliver_once().recorded == 1
    with sqlite3.connect(db) as conn:
        proof = list_proof(conn, keyring, "L-1")
        assert list_proof(conn, keyring, "L-3")["status"] == "not sealed yet"
    stored = chain.digest_of(proof["record_id"])
    assert check_list_proof(proof, stored)
