"""The ledger as the actions see it: keyed hashes of orders, the outbox hook, and "is my order record intact?".

``ledger_hook()`` is passed to ``create_order(on_created=[...])`` so the outbox row is written in the same
transaction as the order. ``action_check_order_record`` answers for the shopper's own verified order only.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import verified_order
from ledger.canonical import KeyRing, utc_timestamp
from ledger.client import ChainConfig, LedgerClient
from ledger.errors import ChainError, LedgerError
from ledger.outbox import Outbox, OutboxRow, enqueue, new_owner, row_problem
from ledger.verify import OrderCheck, check_order
from shop.interface import OnCreatedHook, Transaction
from shop.model import Order

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_client: LedgerClient | None = None
_keyring: KeyRing | None = None


def canonical_order_dict(order: Order) -> dict[str, Any]:
    """The order's ledger form: numbers and ids only (no names, emails or addresses)."""
    return {
        "order_number": order.number,
        "created_at": utc_timestamp(order.created_at),
        "currency": order.currency,
        "lines": [
            {
                "product_id": line.product_id,
                "quantity": line.quantity,
                "unit_price_minor": line.unit_price_minor,
            }
            for line in order.lines
        ],
        "shipping_minor": order.shipping_minor,
        "total_minor": order.total_minor,
    }


def keyring() -> KeyRing:
    global _keyring
    with _lock:
        if _keyring is None:
            from actions.settings import get_settings

            _keyring = KeyRing(get_settings().ledger_hmac_key.encode("utf-8"))
        return _keyring


def set_ledger(client: LedgerClient | None, keys: KeyRing | None = None) -> None:
    """Tests install an eth-tester client and key ring; ``None`` resets to the configured ones."""
    global _client, _keyring
    with _lock:
        _client = client
        _keyring = keys


def ledger_client() -> LedgerClient:
    """The process-wide chain client (connected lazily; raises a LedgerError when the chain is unreachable)."""
    global _client
    with _lock:
        if _client is None:
            from actions.settings import get_ledger_settings, get_settings
            from ledger.deployment import connect_existing

            settings, extra = get_settings(), get_ledger_settings()
            config = ChainConfig(
                rpc_url=settings.ledger_rpc_url,
                private_key=settings.ledger_private_key,
                contract_address=settings.ledger_contract_address or None,
                chain_id=extra.chain_id,
                request_timeout_s=extra.receipt_timeout_s,
                receipt_timeout_s=extra.receipt_timeout_s,
            )
            _client = connect_existing(config, extra.state_dir)
        return _client


def forget_client() -> None:
    """Drop a client after a chain error, so the next call reconnects."""
    global _client
    with _lock:
        if _client is not None and not _client.url.startswith("eth-tester"):
            _client = None


def ledger_hook(keys: KeyRing | None = None) -> OnCreatedHook:
    """An ``on_created`` hook queueing the order's ledger record inside the order's transaction."""
    keys = keys or keyring()

    def queue_record(tx: Transaction, order: Order) -> None:
        enqueue(tx, keys.order_record(canonical_order_dict(order)))

    return queue_record


def shop_db_path() -> Any:
    """The SQLite file of the order store in use (the outbox lives beside the orders)."""
    from actions.common import store
    from actions.settings import get_settings

    return getattr(store(), "path", None) or get_settings().shop_db_path


def outbox_for(db_path: Any) -> Outbox:
    return Outbox.open(db_path)


def instant_lease_s() -> float:
    """How long the instant receipt holds its row: a few receipt waits; a dead action server's lease expires."""
    from actions.settings import get_ledger_settings

    return max(15.0, 4 * get_ledger_settings().receipt_timeout_s)


def try_instant_receipt(db_path: Any, order: Order) -> OutboxRow | None:
    """Deliver the new order's record now if the chain answers; otherwise the sender does it later.

    The row is claimed first (a lease in the outbox), so it is sent by this call or by the ledger sender, never
    both. Returns the outbox row afterwards (``recorded`` with its tx hash, or still ``pending``).
    """
    outbox = outbox_for(db_path)
    owner = new_owner("instant")
    try:
        row = outbox.claim_ref(order.number, owner, instant_lease_s())
        if row is None:  # already recorded, or the sender holds it right now
            return outbox.get(order.number)
        if row_problem(row) is not None:  # the sender quarantines it
            outbox.release(row.record_id, owner)
            return outbox.get(order.number)
        try:
            result = ledger_client().record(row.record_id, row.digest)
        except (LedgerError, OSError) as exc:
            forget_client()
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


def check_order_record(order: Order, db_path: Any) -> OrderCheck:
    """Verify one order against the chain (falls back to the outbox when the chain cannot be read)."""
    keys = keyring()
    canonical = canonical_order_dict(order)
    outbox = outbox_for(db_path)
    try:
        row = outbox.get(order.number)
    finally:
        outbox.close()
    try:
        client = ledger_client()
        stored = client.digest_of(keys.record_id(order.number))
        tx_hash = (
            row.tx_hash
            if row and row.tx_hash
            else (client.find_record_tx(keys.record_id(order.number))[0] if stored else None)
        )
    except ChainError:
        forget_client()
        raise
    return check_order(canonical, keys, stored, row, tx_hash)


class ActionCheckOrderRecord(Action):
    """ "Is my order record intact?" — for the verified order of this conversation, with its receipt."""

    def name(self) -> str:
        return "action_check_order_record"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        order = verified_order(tracker)
        if order is None:
            dispatcher.utter_message(response="utter_ledger_need_verified_order")
            return []
        db_path = shop_db_path()
        loop = asyncio.get_running_loop()
        try:
            check = await loop.run_in_executor(None, check_order_record, order, db_path)
        except LedgerError:
            logger.exception("ledger check of %s failed", order.number)
            dispatcher.utter_message(response="utter_ledger_unreachable", order_number=order.number)
            return []
        response = {
            "intact": "utter_ledger_intact",
            "pending": "utter_ledger_pending",
            "tampered": "utter_ledger_tampered",
            "missing": "utter_ledger_missing",
            "orphaned": "utter_ledger_missing",
        }[check.status]
        if check.status != "intact":
            logger.warning("ledger check of %s: %s (%s)", order.number, check.status, check.detail)
        dispatcher.utter_message(
            response=response,
            order_number=order.number,
            tx_hash=check.tx_hash or "-",
            record_id=check.record_id,
        )
        return []
