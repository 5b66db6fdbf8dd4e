"""``OrderStore``: the whole shop as the actions see it, the union of the aggregate Protocols.

Code that needs one aggregate only should ask for that Protocol (``OrderBook``, ``Catalog``, ``AfterSales``,
``Inbox``); the value types live in ``shop.model``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from shop.aftersales import AfterSales
from shop.catalog import Catalog
from shop.inbox import Inbox
from shop.orders import OnCreatedHook, OrderBook, Transaction

__all__ = ["AfterSales", "Catalog", "Inbox", "OnCreatedHook", "OrderBook", "OrderStore", "Transaction"]


@runtime_checkable
class OrderStore(OrderBook, Catalog, AfterSales, Inbox, Protocol):
    """Every method raises subclasses of ``shop.errors.StoreError`` only."""
