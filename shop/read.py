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
from shop.views import LedgerLine, LedgerOrder, OrderLineView, OrderView, ProductView

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "LedgerLine",
    "LedgerOrder",
    "OrderLineView",
    "OrderView",
    "ProductView",
    "ShopReader",
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


def open_reader(path: str | Path, backend: str = DEFAULT_BACKEND) -> ShopReader:
    """A read-only view of the shop's data of ``backend`` at ``path``."""
    check_backend(backend)
    from shop.sqlite.reader import SqliteShopReader

    return SqliteShopReader(Path(path))
