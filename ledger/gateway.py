"""The ledger as the action server sees it: queue an order's record, record it now, check it, reconnect.

One object per process (``actions.services.Services.ledger``), built from ``LedgerSettings`` at start, so a bad
``LEDGER_HMAC_KEY`` stops the start instead of the first order. Orders come in as anything shaped like
``ledger.canonical.CanonicalOrder``; the canonical form is built in ``ledger.canonical`` only.

- ``queue_hook()``: an ``on_created`` hook writing the order's outbox row in the order's own SQLite transaction.
- ``revision_hook()``: an ``on_changed`` hook queueing the order's next revision (a legitimate change) in the
  change's own transaction, so verification compares the order with what it legitimately became.
- ``record(order)``: deliver the new order's record now if the chain answers (the instant receipt); otherwise the
  ledger sender does it later. The outbox row is claimed (leased) first, so the row is sent by this call or by
  the sender, never both.
- ``check(order)``: the order against its latest recorded revision on the chain (and its outbox row).
- ``reconnect()``: drop the chain client after a chain error; the next call connects again.
- ``record_shown(...)``: a recommendation list shown to a shopper, sealed in Merkle batches
  (``ledger.recommendations``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from ledger.canonical import CanonicalOrder, KeyRing, order_dict, revision_ref
from ledger.client import LedgerClient
from ledger.errors import CanonicalFormError, ChainError, LedgerError
from ledger.outbox import (
    Outbox,
    OutboxRow,
    SqlTransaction,
    connect,
    enqueue,
    latest_revision,
    new_owner,
    row_problem,
)
from ledger.recommendations import record_shown_list
from ledger.settings import LedgerSettings
from ledger.verify import OrderCheck, check_order, latest_on_chain

logger = logging.getLogger(__name__)

QueueHook = Callable[[SqlTransaction, CanonicalOrder], None]
RevisionHook = Callable[[SqlTransaction, CanonicalOrder, CanonicalOrder], None]
MIN_LEASE_S = 15.0


def queue_hook(keys: KeyRing) -> QueueHook:
    """An ``on_created`` hook queueing an order's record (revision 0) inside the order's transaction."""

    def queue_record(conn: SqlTransaction, order: CanonicalOrder) -> None:
        enqueue(conn, keys.order_record(order_dict(order)))

    return queue_record


class LedgerGateway:
    """Record, check and reconnect over one chain client (connected lazily, remade after a chain error)."""

    def __init__(
        self,
        keys: KeyRing,
        connect_client: Callable[[], LedgerClient],
        outbox_path: str | Path,
        *,
        lease_s: float = MIN_LEASE_S,
        recommendation_batch: int = 64,
    ) -> None:
        self.keys = keys
        self.outbox_path = Path(outbox_path)
        self.lease_s = lease_s
        self.recommendation_batch = recommendation_batch
        self._connect = connect_client
        self._client: LedgerClient | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LedgerGateway(outbox={self.outbox_path})"

    @classmethod
    def from_settings(cls, settings: LedgerSettings, outbox_path: str | Path) -> LedgerGateway:
        """Keys checked now (``KeyRing`` refuses a short key); the chain is reached on first use."""
        from ledger.deployment import connect_existing

        config = settings.chain_config(timeout_s=settings.receipt_timeout_s)
        return cls(
            KeyRing(settings.hmac_key.encode("utf-8")),
            lambda: connect_existing(config, settings.state_dir),
            outbox_path,
            # a few receipt waits: a dead action server's lease expires and the sender takes the row over
            lease_s=max(MIN_LEASE_S, 4 * settings.receipt_timeout_s),
        )

    # --- the chain client ------------------------------------------------------------------------------------
    def client(self) -> LedgerClient:
        """The chain client, connected on first use (raises a ``LedgerError`` when the chain is unreachable)."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def reconnect(self) -> None:
        """Forget the client after a chain error, so the next call connects again."""
        with self._lock:
            self._client = None

    # --- orders ----------------------------------------------------------------------------------------------
    def queue_hook(self) -> QueueHook:
        """An ``on_created`` hook queueing the order's ledger record inside the order's transaction."""
        return queue_hook(self.keys)

    def revision_hook(self) -> RevisionHook:
        """An ``on_changed`` hook (order before, order after) queueing the order's next revision inside the
        change's transaction, when the change alters the canonical form.

        Nothing is queued (and verification keeps reporting what it reported) when the order has no record
        yet (``--backfill`` anchors it as it is) or when the order *before* the change already differed from
        its latest record: a change made on top of a tampered row must not launder it."""
        keys = self.keys

        def queue_revision(conn: SqlTransaction, before: CanonicalOrder, after: CanonicalOrder) -> None:
            latest = latest_revision(conn, after.number)
            if latest is None:
                logger.info("order %s changed but has no ledger record; no revision queued", after.number)
                return
            revision, digest = latest
            try:
                before_digest = keys.order_record({**order_dict(before), "revision": revision}).digest
                after_record = keys.order_record({**order_dict(after), "revision": revision})
            except CanonicalFormError as exc:
                logger.warning("order %s: no revision queued, its form is invalid: %s", after.number, exc)
                return
            if before_digest != digest:
                logger.warning(
                    "order %s differed from its ledger revision %s before this change; no revision queued",
                    after.number,
                    revision,
                )
                return
            if after_record.digest == digest:  # nothing the ledger covers changed (e.g. only the address)
                return
            enqueue(conn, keys.order_record({**order_dict(after), "revision": revision + 1}))

        return queue_revision

    def record(self, order: CanonicalOrder) -> OutboxRow | None:
        """Deliver the order's queued record now if the chain answers; returns its outbox row afterwards
        (``recorded`` with its tx hash, or still ``pending`` for the sender)."""
        outbox = Outbox.open(self.outbox_path)
        owner = new_owner("instant")
        try:
            row = outbox.claim_ref(order.number, owner, self.lease_s)
            if row is None:  # already recorded, or the sender holds it right now
                return outbox.get(order.number)
            if row_problem(row) is not None:  # the sender quarantines it
                outbox.release(row.record_id, owner)
                return outbox.get(order.number)
            try:
                result = self.client().record(row.record_id, row.digest)
            except (LedgerError, OSError) as exc:
                self.reconnect()
                outbox.release(row.record_id, owner)
                logger.info("ledger record of %s stays pending: %s", order.number, exc)
                return outbox.get(order.number)
            if result.outcome in ("recorded", "duplicate"):
                outbox.mark_recorded(row.record_id, result.tx_hash, result.block_number)
            elif result.outcome == "conflict":
                outbox.mark_conflict(row.record_id, result.error or "conflict")
            else:
                outbox.release(row.record_id, owner)
            return outbox.get(order.number)
        finally:
            outbox.close()

    def check(self, order: CanonicalOrder) -> OrderCheck:
        """The order against the chain and its outbox row; raises a ``ChainError`` when the chain cannot be read."""
        conn = connect(self.outbox_path)
        try:
            queued = latest_revision(conn, order.number)
            start = queued[0] if queued else 0
            queued_row = Outbox(conn).get(revision_ref(order.number, start))
        finally:
            conn.close()
        try:
            client = self.client()
            revision = latest_on_chain(
                order.number, self.keys, lambda rid: client.digest_of(rid) is not None, start
            )
            row = queued_row if revision == start else None  # a later one only on chain: its row is gone
            record_id = self.keys.record_id(order.number, revision)
            stored = client.digest_of(record_id)
            tx_hash = (
                row.tx_hash
                if row and row.tx_hash
                else (client.find_record_tx(record_id)[0] if stored else None)
            )
        except ChainError:
            self.reconnect()
            raise
        return check_order(order_dict(order), self.keys, stored, row, tx_hash, revision)

    # --- recommendations -------------------------------------------------------------------------------------
    def record_shown(
        self, list_id: str, product_ids: Sequence[str], shown_at: datetime | str, source: str
    ) -> str | None:
        """Store one shown recommendation list; every ``recommendation_batch`` lists a Merkle root is queued
        for the chain (outbox kind ``recommendations``). Returns the batch ref when this list sealed one."""
        conn = connect(self.outbox_path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                sealed = record_shown_list(
                    conn,
                    self.keys,
                    list_id,
                    list(product_ids),
                    shown_at,
                    source,
                    batch_size=self.recommendation_batch,
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return sealed
        finally:
            conn.close()
