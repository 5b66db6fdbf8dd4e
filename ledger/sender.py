"""Deliver pending outbox records to the chain: retries with backoff, idempotent, SIGTERM-safe.

    python -m ledger.sender          # loop until SIGTERM/SIGINT
    python -m ledger.sender --once   # one delivery pass, exit 0 when nothing is left pending

Exactly once: a record is marked recorded only after its receipt (or, for a duplicate, after the stored digest
was read and matched). If the sender dies between sending and marking, the next pass sends again, the contract
rejects the duplicate, and the read confirms it. One sender per row: each pass first claims (leases) its rows in
the outbox, so the action server's instant receipt never sends a row this sender holds, nor the other way round;
a dead holder's lease expires (``LEDGER_SENDER_LEASE_S``) and the rows are taken over. A row that can never be sent
(a malformed id or digest) is quarantined and the pass goes on with the rest; an unexpected error is logged and
the loop carries on — the sender does not die on a bad row. While the node is down the loop probes it with a growing
delay (capped) instead of burning per-record attempts, so every record is due the moment the node returns.
"""

from __future__ import annotations

import argparse
import logging
import random
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

from ledger.client import LedgerClient, RecordResult
from ledger.errors import (
    ChainError,
    ContractMismatchError,
    LedgerError,
    NodeUnavailableError,
    NotOwnerError,
    WrongChainError,
)
from ledger.outbox import Outbox, OutboxRow, new_owner, row_problem

logger = logging.getLogger(__name__)

DEFAULT_LEASE_S = 60.0
MAX_UNEXPECTED_FAILURES = 5  # a row whose send raised an unexpected error this often alone is quarantined


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 0.5
    factor: float = 2.0
    cap_s: float = 30.0
    node_probe_cap_s: float = 5.0

    def record_delay(self, attempts: int, rng: random.Random) -> float:
        """Delay before retrying a record that failed ``attempts`` times (full jitter, 50..100%)."""
        raw = min(self.cap_s, self.base_s * self.factor ** max(0, attempts))
        return raw * (0.5 + rng.random() / 2)

    def probe_delay(self, failures: int) -> float:
        return min(self.node_probe_cap_s, self.base_s * self.factor ** max(0, failures - 1))


@dataclass
class DeliveryReport:
    recorded: int = 0
    duplicates: int = 0
    conflicts: int = 0
    retried: int = 0
    quarantined: int = 0
    node_down: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return self.recorded + self.duplicates


class Sender:
    """One delivery pass at a time over an outbox, with a client made (and remade) by ``connect``."""

    def __init__(
        self,
        outbox: Outbox,
        connect: Callable[[], LedgerClient],
        *,
        batch: int = 64,
        tx_batch: int = 16,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        owner: str | None = None,
    ) -> None:
        self.outbox = outbox
        self.lease_s = lease_s
        self.owner = owner or new_owner("sender")
        self._connect = connect
        self.batch = batch
        self.tx_batch = tx_batch
        self.policy = policy or RetryPolicy()
        self._rng = rng or random.Random()
        self._client: LedgerClient | None = None

    def _get_client(self) -> LedgerClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def deliver_once(self, now: float | None = None) -> DeliveryReport:
        """Claim and send every due row (up to ``batch``); raises nothing for chain trouble, reports it instead."""
        report = DeliveryReport()
        claimed = self.outbox.claim(self.owner, self.batch, self.lease_s, now)
        rows = self._quarantine_bad(claimed, report)
        if not rows:
            return report
        try:
            client = self._get_client()
            results = client.record_many([(r.record_id, r.digest) for r in rows], batch_size=self.tx_batch)
        except NodeUnavailableError as exc:
            self._client = None
            report.node_down = True
            report.errors.append(str(exc))
            self._release(rows)
            return report
        except ChainError as exc:
            if not isinstance(exc, (WrongChainError, ContractMismatchError, NotOwnerError)):
                return self._retry_rows(rows, exc, report, now)
            self._client = None
            report.node_down = True  # a configuration problem: wait like for a node, nothing to burn
            report.errors.append(str(exc))
            logger.error("%s", exc)
            self._release(rows)
            return report
        except LedgerError as exc:  # e.g. no deployment yet: `python -m ledger.node` is still deploying
            self._client = None
            report.node_down = True
            report.errors.append(str(exc))
            logger.warning("%s", exc)
            self._release(rows)
            return report
        except (
            Exception
        ) as exc:  # a bug or a row the checks did not foresee: find the row, keep the rest going
            logger.exception("sending %s rows failed unexpectedly; trying them one by one", len(rows))
            self._client = None
            return self._send_isolated(rows, exc, report, now)
        return self._mark(rows, results, report, now)

    def _quarantine_bad(self, rows: list[OutboxRow], report: DeliveryReport) -> list[OutboxRow]:
        good = []
        for row in rows:
            problem = row_problem(row)
            if problem is None:
                good.append(row)
                continue
            self.outbox.mark_quarantined(row.record_id, problem)
            report.quarantined += 1
            report.errors.append(f"{row.kind} {row.ref}: {problem}")
        return good

    def _release(self, rows: list[OutboxRow]) -> None:
        for row in rows:
            self.outbox.release(row.record_id, self.owner)

    def _send_isolated(
        self, rows: list[OutboxRow], exc: Exception, report: DeliveryReport, now: float | None
    ) -> DeliveryReport:
        """After an unexpected error: each row alone; one that keeps failing is quarantined, not retried forever."""
        now_ts = time.time() if now is None else now
        for row in rows:
            error: Exception = exc
            if len(rows) > 1:
                try:
                    result = self._get_client().record(row.record_id, row.digest)
                except LedgerError as row_exc:  # chain trouble now: an ordinary retry
                    self._client = None
                    delay = self.policy.record_delay(row.attempts, self._rng)
                    self.outbox.mark_retry(row.record_id, str(row_exc), now_ts + delay, self.owner)
                    report.retried += 1
                    continue
                except Exception as row_exc:
                    self._client = None
                    error = row_exc
                else:
                    self._mark([row], [result], report, now)
                    continue
            reason = f"{type(error).__name__}: {error}"
            if row.attempts + 1 >= MAX_UNEXPECTED_FAILURES:
                self.outbox.mark_quarantined(
                    row.record_id, f"unexpected error {row.attempts + 1} times: {reason}"
                )
                report.quarantined += 1
            else:
                delay = self.policy.record_delay(row.attempts, self._rng)
                self.outbox.mark_retry(row.record_id, reason, now_ts + delay, self.owner)
                report.retried += 1
            report.errors.append(f"{row.kind} {row.ref}: {reason}")
        return report

    def _retry_rows(
        self, rows: list[OutboxRow], exc: Exception, report: DeliveryReport, now: float | None
    ) -> DeliveryReport:
        self._client = None
        report.errors.append(str(exc))
        now_ts = time.time() if now is None else now
        with self.outbox.batch():
            for row in rows:
                delay = self.policy.record_delay(row.attempts, self._rng)
                self.outbox.mark_retry(row.record_id, str(exc), now_ts + delay, self.owner)
                report.retried += 1
        return report

    def _mark(
        self, rows: list[OutboxRow], results: list[RecordResult], report: DeliveryReport, now: float | None
    ) -> DeliveryReport:
        now_ts = time.time() if now is None else now
        with self.outbox.batch():
            for row, result in zip(rows, results, strict=True):
                if result.outcome == "recorded":
                    self.outbox.mark_recorded(row.record_id, result.tx_hash, result.block_number)
                    report.recorded += 1
                elif result.outcome == "duplicate":
                    self.outbox.mark_recorded(row.record_id, result.tx_hash, result.block_number)
                    report.duplicates += 1
                elif result.outcome == "conflict":
                    logger.error("%s %s: %s", row.kind, row.ref, result.error)
                    self.outbox.mark_conflict(row.record_id, result.error or "conflict")
                    report.conflicts += 1
                else:
                    error = result.error or "failed"
                    delay = 0.0 if result.node_down else self.policy.record_delay(row.attempts, self._rng)
                    report.node_down = report.node_down or result.node_down
                    self.outbox.mark_retry(row.record_id, error, now_ts + delay, self.owner)
                    report.retried += 1
        if report.node_down:
            self._client = None
        logger.info(
            "delivered %s (%s already on chain), %s to retry, %s conflicts, %s quarantined",
            report.delivered,
            report.duplicates,
            report.retried,
            report.conflicts,
            report.quarantined,
        )
        return report

    def run(self, stop: threading.Event, poll_s: float = 1.0) -> None:
        """Loop until ``stop`` is set; a pass in flight always completes and marks its rows."""
        failures = 0
        while not stop.is_set():
            try:
                report = self.deliver_once()
            except sqlite3.OperationalError as exc:  # the DB is busy or being replaced: try again shortly
                logger.warning("outbox not readable (%s); retrying", exc)
                stop.wait(poll_s)
                continue
            except Exception:  # never die on one bad pass: log it, wait, go on
                logger.exception("delivery pass failed; retrying in %.1fs", poll_s)
                self._client = None
                stop.wait(poll_s)
                continue
            if report.node_down:
                failures += 1
                delay = self.policy.probe_delay(failures)
                logger.warning("chain not ready (try %s); next probe in %.1fs", failures, delay)
                stop.wait(delay)
                continue
            if failures:
                logger.info("node is back after %s failed probes", failures)
            failures = 0
            if report.delivered or report.retried or report.quarantined:
                continue  # there may be more due rows right away
            next_due = self.outbox.next_due_at()
            wait = poll_s if next_due is None else max(0.0, min(poll_s, next_due - time.time()))
            stop.wait(wait)


def main(argv: list[str] | None = None) -> int:
    from ledger.deployment import connect_existing
    from ledger.settings import LedgerSettings

    parser = argparse.ArgumentParser(prog="python -m ledger.sender", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="one pass; exit 1 if rows stay pending")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = LedgerSettings.from_env()
    except LedgerError as exc:
        logger.error("%s", exc)
        return 2
    outbox = Outbox.open(settings.shop_db_path)
    sender = Sender(
        outbox,
        lambda: connect_existing(settings.chain_config(), settings.state_dir),
        batch=settings.sender_batch,
        tx_batch=settings.sender_tx_batch,
        policy=RetryPolicy(cap_s=settings.sender_backoff_cap_s),
        lease_s=settings.sender_lease_s,
    )
    logger.info("ledger sender on %s -> %s (%s)", settings.shop_db_path, settings.rpc_url, outbox.counts())
    if args.once:
        while True:
            report = sender.deliver_once()
            if not (report.delivered or report.quarantined):
                break
        counts = outbox.counts()
        logger.info("outbox: %s", counts)
        return 0 if counts["pending"] == 0 else 1
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("signal %s: finishing the current pass", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sender.run(stop, settings.sender_poll_s)
    outbox.close()
    logger.info("ledger sender stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
