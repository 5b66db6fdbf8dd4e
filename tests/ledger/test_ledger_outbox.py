"""Outbox + sender on eth-tester: transactional queueing, exactly-once delivery, restarts, node outages."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from ledger.canonical import KeyRing
from ledger.client import LedgerClient
from ledger.errors import LedgerConfigError, NodeUnavailableError, OutboxError, WrongChainError
from ledger.outbox import Outbox, connect, enqueue
from ledger.sender import RetryPolicy, Sender
from tests.ledger.ledger_helpers import sample_order


def queue_orders(db: Path, keyring: KeyRing, count: int, start: int = 100001) -> list[str]:
    conn = connect(db)
    numbers = []
    for n in range(start, start + count):
        number = f"SD-{n}"
        conn.execute("BEGIN")
        enqueue(conn, keyring.order_record(sample_order(number)))
        conn.execute("COMMIT")
        numbers.append(number)
    conn.close()
    return numbers


def make_sender(db: Path, client: LedgerClient | None, **kw: object) -> Sender:
    def connect_client() -> LedgerClient:
        if client is None:
            raise NodeUnavailableError("http://127.0.0.1:9", "test: node down")
        return client

    return Sender(Outbox.open(db), connect_client, rng=random.Random(0), **kw)  # type: ignore[arg-type]


def test_enqueue_rolls_back_with_the_order_transaction(tmp_path: Path, keyring: KeyRing) -> None:
    db = tmp_path / "shop.db"
    conn = connect(db)
    conn.execute("BEGIN")
    enqueue(conn, keyring.order_record(sample_order()))
    conn.execute("ROLLBACK")
    assert Outbox.open(db).counts()["pending"] == 0
    conn.execute("BEGIN")
    enqueue(conn, keyring.order_record(sample_order()))
    enqueue(conn, keyring.order_record(sample_order()))  # same record again: no-op
    conn.execute("COMMIT")
    assert Outbox.open(db).counts()["pending"] == 1


def test_a_confirmed_record_never_changes_its_digest(tmp_path: Path, keyring: KeyRing) -> None:
    conn = connect(tmp_path / "shop.db")
    enqueue(conn, keyring.order_record(sample_order()))
    with pytest.raises(OutboxError, match="another digest"):
        enqueue(conn, keyring.order_record(sample_order(total_minor=1)))


def test_sender_delivers_every_pending_record_once(
    tmp_path: Path, keyring: KeyRing, chain: LedgerClient
) -> None:
    db = tmp_path / "shop.db"
    numbers = queue_orders(db, keyring, 40)
    sender = make_sender(db, chain, batch=16, tx_batch=4)
    delivered = 0
    for _ in range(5):
        delivered += sender.deliver_once().delivered
    assert delivered == 40
    assert sender.outbox.counts() == {"pending": 0, "recorded": 40, "conflict": 0, "quarantined": 0}
    on_chain = chain.recorded_digests()
    assert len(on_chain) == chain.record_count() == 40
    for number in numbers:
        row = sender.outbox.get(number)
        assert row is not None and row.tx_hash
        assert on_chain[keyring.record_id(number)][0].hex() == row.digest[2:]


def test_restart_after_sending_but_before_marking_records_nothing_twice(
    tmp_path: Path, keyring: KeyRing, chain: LedgerClient
) -> None:
    db = tmp_path / "shop.db"
    queue_orders(db, keyring, 10)
    outbox = Outbox.open(db)
    # a sender that crashed after its transactions were mined but before it marked the rows
    rows = outbox.due(6)
    chain.record_many([(r.record_id, r.digest) for r in rows], batch_size=3)
    assert outbox.counts()["pending"] == 10
    report = make_sender(db, chain, tx_batch=4).deliver_once()
    assert (report.recorded, report.duplicates) == (4, 6)
    assert chain.record_count() == 10
    assert outbox.counts()["recorded"] == 10


def test_node_down_keeps_records_pending_without_burning_attempts(
    tmp_path: Path, keyring: KeyRing, chain: LedgerClient
) -> None:
    db = tmp_path / "shop.db"
    queue_orders(db, keyring, 5)
    down = make_sender(db, None)
    report = down.deliver_once()
    assert report.node_down and report.delivered == 0
    rows = down.outbox.due(10)
    assert len(rows) == 5 and all(r.attempts == 0 for r in rows)
    assert make_sender(db, chain).deliver_once().delivered == 5


def test_conflicting_digest_on_chain_is_marked_and_not_retried(
    tmp_path: Path, keyring: KeyRing, chain: LedgerClient
) -> None:
    db = tmp_path / "shop.db"
    queue_orders(db, keyring, 1)
    chain.record(keyring.record_id("SD-100001"), b"\x99" * 32)
    sender = make_sender(db, chain)
    assert sender.deliver_once().conflicts == 1
    assert sender.outbox.counts()["conflict"] == 1
    assert sender.deliver_once().delivered == 0


def test_retry_policy_backs_off_with_a_cap() -> None:
    policy = RetryPolicy(base_s=1, factor=2, cap_s=8, node_probe_cap_s=3)
    rng = random.Random(1)
    delays = [policy.record_delay(n, rng) for n in range(6)]
    assert all(0.5 <= d <= 8 for d in delays)
    assert delays[5] >= 4  # capped at 8, jittered to 50..100 %
    assert [policy.probe_delay(n) for n in (1, 2, 3, 10)] == [1, 2, 3, 3]


def test_outbox_rows_hold_no_personal_data(tmp_path: Path, keyring: KeyRing) -> None:
    db = tmp_path / "shop.db"
    queue_orders(db, keyring, 1)
    columns = [row[1] for row in sqlite3.connect(db).execute("PRAGMA table_info(ledger_outbox)")]
    assert not {"email", "name", "address", "customer_id"} & set(columns)


@pytest.mark.parametrize(
    "error",
    [
        LedgerConfigError("LEDGER_CONTRACT_ADDRESS", "no deployment yet"),
        WrongChainError(1, 31337, "http://node"),
    ],
)
def test_configuration_trouble_waits_without_touching_rows(
    tmp_path: Path, keyring: KeyRing, error: Exception
) -> None:
    db = tmp_path / "shop.db"
    queue_orders(db, keyring, 3)

    def connect_client() -> LedgerClient:
        raise error

    sender = Sender(Outbox.open(db), connect_client, rng=random.Random(0))
    report = sender.deliver_once()
    assert report.node_down and report.delivered == 0 and str(error) in report.errors[0]
    assert [r.attempts for r in sender.outbox.due(10)] == [0, 0, 0]


def test_sender_loop_stops_on_request_and_delivers_first(
    tmp_path: Path, keyring: KeyRing, chain: LedgerClient
) -> None:
    import threading

    db = tmp_path / "shop.db"
    queue_orders(db, keyring, 20)
    sender = make_sender(db, chain, batch=8, tx_batch=4)
    stop = threading.Event()
    thread = threading.Thread(target=sender.run, args=(stop, 0.05))
    thread.start()
    for _ in range(200):
        if Outbox.open(db).counts()["recorded"] == 20:
            break
        stop.wait(0.05)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert Outbox.open(db).counts()["recorded"] == 20 == chain.record_count()
