"""The orders aggregate: orders, customers, ownership checks, changes before shipping, creating orders.

``create_order`` runs ``on_created`` hooks inside its write transaction; a hook receives a ``Transaction``
(anything with ``execute(sql, params)``), never a driver type, so the ledger's outbox can write its own row
in the order's transaction without this Protocol naming SQLite. ``change_order_line`` (and so
``remove_order_line``) runs the store's ``on_changed`` hooks, given at construction (``shop.open_store``), in the
change's transaction with the order before and after: the ledger queues the order's next revision there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from shop.model import (
    Address,
    CancellationQuote,
    Customer,
    Order,
    PurchasedLine,
)


class Transaction(Protocol):
    """The open write transaction of ``create_order``: what a hook writes commits or rolls back with the order."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...


OnCreatedHook = Callable[[Transaction, Order], None]
"""Runs inside create_order's transaction after the order rows are written; raising rolls it all back."""

OnChangedHook = Callable[[Transaction, Order, Order], None]
"""Runs inside a change's transaction (order before, order after the change); raising rolls the change back."""


@runtime_checkable
class OrderBook(Protocol):
    # --- orders and verification ---------------------------------------------------------------
    def get_order(self, number: str) -> Order:
        """Raises InvalidIdentifierError, OrderNotFoundError."""
        ...

    def verify_order(self, number: str, email: str) -> Order:
        """The order if ``email`` (case/space-insensitive) is the customer's; else OrderNotFoundError
        or EmailMismatchError (which never reveals the real email)."""
        ...

    def orders_for_customer(self, customer_id: str) -> list[Order]:
        """Newest first. Raises CustomerNotFoundError."""
        ...

    # --- customers -----------------------------------------------------------------------------
    def get_customer(self, customer_id: str) -> Customer: ...

    def find_customer_by_email(self, email: str) -> Customer | None: ...

    # --- changes before shipping ---------------------------------------------------------------
    def cancellation_quote(self, number: str) -> CancellationQuote:
        """Whether the order can be cancelled now and at what fee (policy.cancellation_fee_minor)."""
        ...

    def cancel_order(self, number: str) -> tuple[Order, int]:
        """Cancels; returns the updated order and the fee charged (minor units). A paid order gets a
        Refund of total - fee. Raises OrderNotCancellableError once shipped / cancelled / returned."""
        ...

    def change_shipping_address(self, number: str, address: Address) -> Order:
        """Raises OrderNotModifiableError once shipped, InvalidInputError for an incomplete address."""
        ...

    def change_order_line(self, number: str, product_id: str, quantity: int) -> Order:
        """Sets a line's quantity (0 removes it); only before shipping (OrderNotModifiableError).
        Removing the last line is refused (cancel instead). Totals are recomputed."""
        ...

    def remove_order_line(self, number: str, product_id: str) -> Order: ...

    # --- creating orders (the ordering / ledger flow) ------------------------------------------
    def create_order(
        self,
        customer_id: str,
        lines: Sequence[tuple[str, int]],
        shipping_address: Address,
        expected_total_minor: int,
        *,
        on_created: Sequence[OnCreatedHook] = (),
    ) -> Order:
        """Creates a ``pending`` order and decrements stock in one transaction; hooks run in it.
        Raises ProductNotFoundError, OutOfStockError, InvalidInputError (quantity 1..10 per line,
        no duplicates, non-empty), PriceChangedError (carrying the new total)."""
        ...

    def mark_order_paid(self, number: str) -> Order: ...

    # --- purchase history (recommendations) ----------------------------------------------------
    def purchase_history(self, customer_id: str) -> list[PurchasedLine]: ...

    def all_order_lines(self) -> list[PurchasedLine]:
        """Every line of every non-cancelled order, oldest first."""
        ...
