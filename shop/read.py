"""The shop's read API for the other processes (the bot's console and shop page, ledger verification).

They read through this, never with SQL of their own: ``open_reader(path)`` gives a read-only view of the
shop's data (``mode=ro`` for SQLite; it never creates or writes the DB). Every method raises
``ShopUnavailableError`` when the data cannot be read (no DB yet, unreadable file), so callers can answer
"unavailable" without knowing the backend. Values are JSON-ready dicts, as stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from shop.factory import BACKENDS, DEFAULT_BACKEND, check_backend
from shop.views import (
    AddressUse,
    AddressView,
    CustomerHistory,
    LedgerLine,
    LedgerOrder,
    OrderLineView,
    OrderView,
    ProductView,
    VerificationFailureView,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "AddressUse",
    "AddressView",
    "CustomerHistory",
    "LedgerLine",
    "LedgerOrder",
    "OrderLineView",
    "OrderView",
    "ProductView",
    "ShopReader",
    "VerificationFailureView",
    "open_reader",
]


class ShopReader(Protocol):
    def order(self, number: str) -> OrderView | None:
        """The order (``number`` already normalised, see ``shop.ids``) with its lines and customer, or None."""
        ...

    def products_in_stock(self) -> list[ProductView]:
        """Every product with stock left, by id."""
        ...

    def ledger_orders(self, number: str | None = None) -> Iterator[LedgerOrder]:
        """Every order (or just ``number``) by number, in its ledger form; fast for 10k+ orders."""
        ...

    # --- customer histories (the console's risk signals) ---------------------------------------------
    def customer_history(self, customer_id: str) -> CustomerHistory | None:
        """The customer (``customer_id`` already normalised) with every order, return request and refund,
        oldest first; None for an unknown customer."""
        ...

    def returns_per_customer(self, since: str) -> dict[int, int]:
        """How many customers (of those with at least one order) made how many return requests created at or
        after ``since`` (ISO 8601 UTC, as stored): ``{return count: customers}``, zero counts included."""
        ...

    def address_uses(self, postcode_keys: list[str]) -> list[AddressUse]:
        """Every customer's default address and every order's shipping address whose postcode, upper-cased
        without spaces and hyphens, is one of ``postcode_keys`` (one row per distinct use)."""
        ...

    def verification_failures(
        self, order_numbers: list[str], clients: list[str], until: str
    ) -> list[VerificationFailureView]:
        """The failed order verifications still on record (the shop keeps them for its throttle window only)
        at or before ``until`` of any of ``order_numbers`` or by any of ``clients``, oldest first."""
        ...


def open_reader(path: str | Path, backend: str = DEFAULT_BACKEND) -> ShopReader:
    """A read-only view of the shop's data of ``backend`` at ``path``."""
    check_backend(backend)
    from shop.sqlite.reader import SqliteShopReader

    return SqliteShopReader(Path(path))
