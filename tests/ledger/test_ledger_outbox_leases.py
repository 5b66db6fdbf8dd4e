"""One sender per outbox row (leases), and bad rows quarantined instead of blocking the queue (issue 10)."""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ledger.audit import outbox_summary
from ledger.canonical import KeyRing
from ledger.client import LedgerClient, RecordResult
from ledger.gateway import LedgerGateway
from ledger.outbox import TABLE, Outbox, connect, enqueue
from ledger.sender import MAX_UNEXPECTED_FAILURES, Sender
from tests.ledger.ledger_helpers import sample_order


class SpyClient:
    """A real eth-tester client that notes every record id it is asked to send; ``during`` runs mid-send."""

    url = "eth-tester://spy"

    def __init__(
        self, inner: LedgerClient, sent: list[str], during: Callable[[], None] | None = None
    ) -> None:
        self._inner, self._sent, self._during = inner, sent, during
        self.fail_on: set[str] = set()

    def record_many(
        self, items: Sequence[tuple[bytes | str, bytes | str]], *, batch_size: int = 1
    ) -> list[RecordResult]:
        ids = [str(r) for r, _ in items]
        if self.fail_on & set(ids):
            raise TypeError("simulated library bug on one row")
        self._sent.extend(ids)
        if self._during is not None:
            during, self._during = self._during, None
            during()
        return self._inner.record_many(items, batch_size=batch_size)

    def record(self, record_id: bytes | str, digest: bytes | str) -> RecordResult:
        return self.record_many([(record_id, digest)])[0]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def queue(db: Path, keyring: KeyRing, count: int) -> list[str]:
    conn = connect(db)
    numbers = [f"SD-{n}" for n in range(100001, 100001 + count)]
    for number in numbers:
        conn.execute("BEGIN")
        enqueue(conn, keyring.order_record(sample_order(number)))
        conn.execute("COMMIT")
    conn.close()
    return numbers


def sender_for(db: Path, client: Any, **kw: Any) -> Sender:
    return Sender(Outbox.open(db), lambda: client, rng=random.Random(0), **kw)


def gateway(db: Path, keyring: KeyRing, client: Any) -> LedgerGateway:
    """The action server's ledger gateway on ``client`` (the instant receipt is ``gateway.record``)."""
    return LedgerGateway(keyring, lambda: client, db)


def test_instant_receipt_never_sends_a_row_the_sender_is_sending(
    tmp_path: Path, keyring: KeyRing, chain: LedgerClient
) -> None:
    db = tmp_path / "shop.db"
    (number,) = queue(db, keyring, 1)
    sent: list[str] = []
    instant = gateway(db, keyring, SpyClient(chain, sent))
    instant_rows = []
    sender = sender_for(
        db,
        SpyClient(
            chain,
            sent,
            during=lambda: instant_rows.append(
                instant.record(SimpleNamespace(number=number))  # type: ignore[arg-type]
            ),
        ),
    )
    report = sender.deliver_once()
    assert report.recorded == 1 and report.duplicates == 0
    assert len(sent) == 1, f"the row was sent {len(sent)} times"
    assert instant_rows[0] is not None and instant_rows[0].status == "pending"  # it saw the sender's lease
    row = sender.outbox.get(number)
    assert row is not None and row.status == "recorded" and row.lease_owner is None


def test_sender_never_sends_a_row_the_instant_receipt_is_sending(
    tmp_path: Path, keyring: KeyRing, chain: LedgerClient
) -> None:
    db = tmp_path / "shop.db"
    (number,) = queue(db, keyring, 1)
    sent: list[str] = []
    sender = sender_for(db, SpyClient(chain, sent))
    reports = []
    instant = gateway(
        db, keyring, SpyClient(chain, sent, during=lambda: reports.append(sender.deliver_once()))
    )
    row = instant.record(SimpleNamespace(number=number))  # type: ignore[arg-type]
    assert reports[0].delivered == 0 and reports[0].retried == 0
    assert len(sent) == 1, f"the row was sent {len(sent)} times"
    assert row is not None and row.status == "recorded" and row.tx_hash


def test_an_expired_lease_is_taken_over(tmp_path: Path, keyring: KeyRing, chain: LedgerClient) -> None:
    db = tmp_path / "shop.db"
    (number,) = queue(db, keyring, 1)
    outbox = Outbox.open(db)
    assert outbox.claim_ref(number, "instant@dead-host:1", lease_s=10, now=1000.0) is not None
    assert outbox.claim_ref(number, "someone-else", lease_s=10, now=1005.0) is None
    sender = sender_for(db, chain)
    assert sender.deliver_once(now=1005.0).delivered == 0  # still held by the (dead) action server
    assert sender.deliver_once(now=1011.0).delivered == 1  # its lease ran out: the sender takes over
    assert outbox.counts()["recorded"] == 1


def test_concurrent_senders_send_each_row_once(tmp_path: Path, keyring: KeyRing, chain: LedgerClient) -> None:
    db = tmp_path / "shop.db"
    queue(db, keyring, 30)
    sent: list[str] = []
    lock = threading.Lock()

    class Serial(SpyClient):  # eth-tester is not thread-safe; the leases are what is under test
        def record_many(self, items: Any, *, batch_size: int = 1) -> list[RecordResult]:
            with lock:
                return super().record_many(items, batch_size=batch_size)

    senders = [sender_for(db, Serial(chain, sent), batch=4, tx_batch=2) for _ in range(3)]

    def drain(sender: Sender) -> None:
        for _ in range(20):
            sender.deliver_once()

    threads = [threading.Thread(target=drain, args=(s,)) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(sent) == sorted(set(sent)) and len(sent) == 30
    assert senders[0].outbox.counts()["recorded"] == 30


def corrupt(db: Path, number: str, assignment: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute(f"UPDATE {TABLE} SET {assignment} WHERE ref = ?", (number,))
    conn.commit()
    conn.close()


def test_corrupted_rows_are_quarantined_and_the_rest_is_delivered(
    tmp_path: Path, keyring: KeyRing, chain: LedgerClient
) -> None:
    db = tmp_path / "shop.db"
    numbers = queue(db, keyring, 6)
    corrupt(db, numbers[0], "digest = '0xnot-a-digest'")
    corrupt(
        db,
        numbers[1],
        "record_id = '0x' || substr('0000000000000000000000000000000000000000000000000000000000000000', 1, 64)",
    )
    corrupt(db, numbers[2], "attempts = 'lots'")
    sender = sender_for(db, chain)
    report = sender.deliver_once()
    assert (report.quarantined, report.recorded) == (3, 3)
    assert sender.outbox.counts() == {"pending": 0, "recorded": 3, "conflict": 0, "quarantined": 3}
    bad = {row.ref: row.last_error for row in sender.outbox.quarantined()}
    assert set(bad) == set(numbers[:3])
    assert "digest" in str(bad[numbers[0]]) and "record_id" in str(bad[numbers[1]])
    lines = outbox_summary(db)
    assert lines[0] == "outbox: pending 0, recorded 3, conflict 0, quarantined 3"
    assert any(numbers[0] in line and "digest" in line for line in lines[1:])


def test_the_sender_loop_survives_a_bad_row_and_keeps_delivering(
    tmp_path: Path, keyring: KeyRing, chain: LedgerClient
) -> None:
    db = tmp_path / "shop.db"
    numbers = queue(db, keyring, 4)
    corrupt(db, numbers[0], "digest = 'garbage'")
    sender = sender_for(db, chain)
    stop = threading.Event()
    thread = threading.Thread(target=sender.run, args=(stop, 0.05))
    thread.start()
    outbox = Outbox.open(db)
    try:
        for _ in range(200):
            if outbox.counts()["pending"] == 0:
                break
            stop.wait(0.05)
        assert thread.is_alive()
        assert outbox.counts() == {"pending": 0, "recorded": 3, "conflict": 0, "quarantined": 1}
        # the loop is still serving: a new row is delivered too
        conn = connect(db)
        enqueue(conn, keyring.order_record(sample_order("SD-200001")))
        conn.close()
        for _ in range(200):
            if outbox.counts()["recorded"] == 4:
                break
            stop.wait(0.05)
        assert outbox.counts()["recorded"] == 4
    finally:
        stop.set()
        thread.join(timeout=30)


def test_a_row_that_breaks_the_client_is_isolated_then_quarantined(
    tmp_path: Path, keyring: KeyRing, chain: LedgerClient
) -> None:
    db = tmp_path / "shop.db"
    numbers = queue(db, keyring, 5)
    spy = SpyClient(chain, [])
    spy.fail_on = {keyring.order_record(sample_order(numbers[2])).record_id}
    sender = sender_for(db, spy)
    report = sender.deliver_once(now=0.0)
    assert (report.recorded, report.retried) == (4, 1)
    for step in range(1, MAX_UNEXPECTED_FAILURES + 1):
        sender.deliver_once(now=step * 1000.0)
    row = sender.outbox.get(numbers[2])
    assert row is not None and row.status == "quarantined" and "TypeError" in str(row.last_error)


def test_an_outbox_of_the_first_schema_is_upgraded_in_place(tmp_path: Path, keyring: KeyRing) -> None:
    db = tmp_path / "shop.db"
    conn = sqlite3.connect(db)
    conn.executescript(
        """
        CREATE TABLE ledger_outbox (
            record_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL DEFAULT 'order' CHECK (kind IN ('order', 'recommendations')),
            ref TEXT NOT NULL, digest TEXT NOT NULL, canonical_version INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'recorded', 'conflict')),
            attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL DEFAULT 0, last_error TEXT,
            tx_hash TEXT, block_number INTEGER, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            UNIQUE (kind, ref));
        CREATE INDEX ledger_outbox_due ON ledger_outbox (status, next_attempt_at);
        """
    )
    record = keyring.order_record(sample_order("SD-100001"))
    conn.execute(
        "INSERT INTO ledger_outbox (record_id, ref, digest, canonical_version, created_at, updated_at) "
        "VALUES (?, 'SD-100001', 'bad', 1, 'x', 'x')",
        (record.record_id,),
    )
    conn.commit()
    conn.close()
    outbox = Outbox.open(db)
    row = outbox.get("SD-100001")
    assert row is not None and row.status == "pending" and row.lease_owner is None
    outbox.mark_quarantined(row.record_id, "digest is not a bytes32")
    assert outbox.counts()["quarantined"] == 1


def test_the_lease_setting_is_validated_by_name() -> None:
    from ledger.errors import LedgerConfigError
    from ledger.settings import LedgerSettings

    assert LedgerSettings.from_env({}).sender_lease_s == 60.0
    assert LedgerSettings.from_env({"LEDGER_SENDER_LEASE_S": "15"}).sender_lease_s == 15.0
    for bad in ("soon", "0", "86400"):
        with pytest.raises(LedgerConfigError, match="LEDGER_SENDER_LEASE_S"):
            LedgerSettings.from_env({"LEDGER_SENDER_LEASE_S": bad})
