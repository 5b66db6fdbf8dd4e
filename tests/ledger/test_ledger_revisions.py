"""Order revisions: a legitimate change of an order is recorded as its next revision, so verification reports it
intact, while a row edited behind the store's back still reads as tampered. Also: the seed queues the records."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from actions.verify_orders import main as verify_orders_main
from actions.verify_orders import run_verification
from ledger.audit import backfill
from ledger.canonical import (
    KeyRing,
    canonical_json,
    check_disclosure,
    order_dict,
    parse_revision_ref,
    revision_ref,
)
from ledger.client import LedgerClient
from ledger.gateway import LedgerGateway, queue_hook
from ledger.outbox import Outbox, connect, enqueue
from ledger.sender import Sender
from shop.demo.seed import open_seeded_store
from shop.model import Address
from shop.sqlite import SqliteOrderStore
from tests.ledger.ledger_helpers import sample_order

NOW = datetime(2025, 3, 12, 10, 0, 0, tzinfo=UTC)
ADDRESS = Address("Neue Straße 7", "20095", "Hamburg", "DE")


@pytest.fixture(scope="module")
def demo_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded demo shop without ledger records (copied per test)."""
    path = tmp_path_factory.mktemp("revisions") / "shop.db"
    open_seeded_store(path, clock=lambda: NOW)
    return path


def open_shop(demo_shop: Path, tmp_path: Path, gateway: LedgerGateway | None) -> SqliteOrderStore:
    db = tmp_path / "shop.db"
    shutil.copy(demo_shop, db)
    hooks = [gateway.revision_hook()] if gateway else []
    return SqliteOrderStore(db, clock=lambda: NOW, on_changed=hooks)


@pytest.fixture
def gateway(tmp_path: Path, keyring: KeyRing, chain: LedgerClient) -> LedgerGateway:
    return LedgerGateway(keyring, lambda: chain, tmp_path / "shop.db")


@pytest.fixture
def shop(demo_shop: Path, tmp_path: Path, gateway: LedgerGateway) -> SqliteOrderStore:
    """A copy of the demo shop whose line changes queue revisions through ``gateway``."""
    return open_shop(demo_shop, tmp_path, gateway)


def order_refs(shop: SqliteOrderStore, number: str) -> list[str]:
    """The outbox refs of ``number``'s records (``SD-…`` for revision 0, ``SD-…#n`` after), as queued."""
    outbox = Outbox.open(shop.path)
    try:
        return [ref for ref in outbox.by_ref("order") if ref.startswith(number)]
    finally:
        outbox.close()


def place_recorded_order(shop: SqliteOrderStore, gateway: LedgerGateway) -> str:
    """A new two-line order, created with the ledger's queue hook and recorded on chain (revision 0)."""
    lines = [("P-1041", 1), ("P-1042", 2)]
    quote = shop.quote_order(lines)
    order = shop.create_order("C-0001", lines, ADDRESS, quote.total_minor, on_created=[gateway.queue_hook()])
    row = gateway.record(order)
    assert row is not None and row.status == "recorded"
    return order.number


def deliver(shop: SqliteOrderStore, chain: LedgerClient) -> None:
    outbox = Outbox.open(shop.path)
    try:
        Sender(outbox, lambda: chain, batch=1000, tx_batch=128).deliver_once()
    finally:
        outbox.close()


def statuses(shop: SqliteOrderStore, keyring: KeyRing, chain: LedgerClient) -> dict[str, str]:
    return {c.order_number: c.status for c in run_verification(shop.path, keyring, chain).checks}


def tamper(shop: SqliteOrderStore, number: str) -> None:
    with sqlite3.connect(shop.path) as conn:
        conn.execute("UPDATE order_lines SET quantity = quantity + 1 WHERE order_number = ?", (number,))


# --- the canonical form of a revision ----------------------------------------------------------------------
def test_revision_0_is_the_record_of_before_revisions(keyring: KeyRing) -> None:
    """Existing chains and the seeded records still verify: revision 0's id, JSON and digest are unchanged."""
    order = sample_order()
    secret = b"test-ledger-hmac-key-0123456789"  # the keyring fixture's
    old_id = hmac.new(secret, b"shopdesk/order-id/v1\x00SD-100001", hashlib.sha256).digest()
    assert keyring.record_id("SD-100001") == keyring.record_id("SD-100001", 0) == old_id
    assert canonical_json({**order, "revision": 0}) == canonical_json(order)
    assert b"revision" not in canonical_json(order)
    assert keyring.order_record({**order, "revision": 0}) == keyring.order_record(order)
    assert keyring.order_record(order).ref == "SD-100001"


def test_each_revision_has_its_own_record_id_digest_and_ref(keyring: KeyRing) -> None:
    order = sample_order()
    records = [keyring.order_record({**order, "revision": n}) for n in range(3)]
    assert len({r.record_id for r in records}) == 3
    assert len({r.digest for r in records}) == 3  # an old revision's digest cannot stand in for a newer one
    assert [r.ref for r in records] == ["SD-100001", "SD-100001#1", "SD-100001#2"]
    assert [parse_revision_ref(r.ref) for r in records] == [("SD-100001", n) for n in range(3)]
    assert revision_ref("SD-100001", 2) == "SD-100001#2"
    assert b'"revision":2' in canonical_json({**order, "revision": 2})
    assert keyring.disclosure({**order, "revision": 2})["record_id"] == records[2].record_id


# --- the problem, and the change recorded as a revision -----------------------------------------------------
def test_without_the_revision_hook_a_line_change_reads_as_tampered(
    demo_shop: Path, tmp_path: Path, keyring: KeyRing, chain: LedgerClient
) -> None:
    """What happened before revisions (and still happens to a store built without the ledger's hook)."""
    shop = open_shop(demo_shop, tmp_path, None)
    gateway = LedgerGateway(keyring, lambda: chain, shop.path)
    number = place_recorded_order(shop, gateway)
    changed = shop.change_order_line(number, "P-1042", 1)
    assert gateway.check(changed).status == "tampered"


def test_a_change_through_the_store_is_recorded_and_verifies_intact(
    shop: SqliteOrderStore, gateway: LedgerGateway, keyring: KeyRing, chain: LedgerClient
) -> None:
    number = place_recorded_order(shop, gateway)
    shop.change_order_line(number, "P-1042", 1)
    changed = shop.remove_order_line(number, "P-1041")
    refs = sorted(order_refs(shop, number))
    assert refs == [number, f"{number}#1", f"{number}#2"]
    assert gateway.check(changed).status == "pending"  # revision 2 queued, not on chain yet
    deliver(shop, chain)
    check = gateway.check(changed)
    assert check.status == "intact" and check.record_id == "0x" + keyring.record_id(number, 2).hex()
    found = statuses(shop, keyring, chain)
    assert found[number] == "intact" and "orphaned" not in found.values()  # old revisions are history
    assert chain.digest_of(keyring.record_id(number, 2)) == keyring.digest(
        {**order_dict(changed), "revision": 2}
    )


def test_a_change_that_leaves_the_canonical_form_alone_queues_nothing(
    shop: SqliteOrderStore, gateway: LedgerGateway, keyring: KeyRing, chain: LedgerClient
) -> None:
    number = place_recorded_order(shop, gateway)
    changed = shop.change_order_line(number, "P-1042", 2)  # the quantity it already has
    assert order_refs(shop, number) == [number]
    assert gateway.check(changed).status == "intact"


def test_a_row_edited_behind_the_store_still_reads_as_tampered(
    shop: SqliteOrderStore, gateway: LedgerGateway, keyring: KeyRing, chain: LedgerClient
) -> None:
    number = place_recorded_order(shop, gateway)
    shop.change_order_line(number, "P-1042", 1)
    deliver(shop, chain)
    tamper(shop, number)
    assert gateway.check(shop.get_order(number)).status == "tampered"
    assert statuses(shop, keyring, chain)[number] == "tampered"


def test_a_change_on_top_of_a_tampered_row_does_not_launder_it(
    shop: SqliteOrderStore, gateway: LedgerGateway, keyring: KeyRing, chain: LedgerClient
) -> None:
    number = place_recorded_order(shop, gateway)
    tamper(shop, number)  # P-1041 and P-1042 quantities + 1, no revision
    changed = shop.change_order_line(number, "P-1042", 1)  # a legitimate-looking change afterwards
    assert order_refs(shop, number) == [number]
    assert gateway.check(changed).status == "tampered"


def test_a_change_of_an_order_without_any_record_queues_nothing(
    shop: SqliteOrderStore, gateway: LedgerGateway, keyring: KeyRing, chain: LedgerClient
) -> None:
    quote = shop.quote_order([("P-1041", 1), ("P-1042", 2)])
    order = shop.create_order("C-0001", [("P-1041", 1), ("P-1042", 2)], ADDRESS, quote.total_minor)  # no hook
    changed = shop.change_order_line(order.number, "P-1042", 1)
    assert gateway.check(changed).status == "missing"  # as before: `--backfill` anchors it as it is


# --- seeding ----------------------------------------------------------------------------------------------
def test_the_seed_queues_one_record_per_seeded_order(
    tmp_path: Path, keyring: KeyRing, chain: LedgerClient
) -> None:
    shop = open_seeded_store(tmp_path / "shop.db", clock=lambda: NOW, on_created=[queue_hook(keyring)])
    outbox = Outbox.open(shop.path)
    rows = outbox.by_ref("order")
    outbox.close()
    with shop.read() as conn:
        numbers = {n for (n,) in conn.execute("SELECT number FROM orders")}
    assert len(numbers) > 300 and set(rows) == numbers
    assert {row.status for row in rows.values()} == {"pending"}
    found = statuses(shop, keyring, chain)
    assert set(found.values()) == {"pending"}  # queued, matching: nothing "missing" after seeding
    deliver(shop, chain)
    assert set(statuses(shop, keyring, chain).values()) == {"intact"}


def test_the_disclosure_of_a_changed_order_is_of_its_latest_revision(
    shop: SqliteOrderStore,
    gateway: LedgerGateway,
    keyring: KeyRing,
    chain: LedgerClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    number = place_recorded_order(shop, gateway)
    shop.change_order_line(number, "P-1042", 1)
    deliver(shop, chain)
    monkeypatch.setenv("LEDGER_HMAC_KEY", "test-ledger-hmac-key-0123456789")  # the keyring fixture's
    assert verify_orders_main(["--db", str(shop.path), "--disclose", number]) == 0
    disclosure = json.loads(capsys.readouterr().out)
    assert disclosure["revision"] == 1
    assert check_disclosure(disclosure, chain.digest_of(disclosure["record_id"]))


def test_backfill_leaves_an_order_with_any_revision_alone(tmp_path: Path, keyring: KeyRing) -> None:
    db = tmp_path / "shop.db"
    conn = connect(db)
    enqueue(conn, keyring.order_record({**sample_order("SD-100001"), "revision": 1}))
    conn.close()
    orders = [sample_order("SD-100001"), sample_order("SD-100002")]
    assert backfill(db, keyring, orders) == 1  # SD-100002 only: SD-100001 has a record (its revision 1)
