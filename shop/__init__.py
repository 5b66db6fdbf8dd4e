"""The shop backend: the one owner of the shop's data (orders, catalog, after-sales, inbox).

- ``shop.interface.OrderStore`` (the union of ``OrderBook``, ``Catalog``, ``AfterSales``, ``Inbox``) is what
  the actions use; value types are in ``shop.model``, errors in ``shop.errors``, identifiers in ``shop.ids``.
- ``shop.open_store(settings)`` builds the store named by ``SHOP_BACKEND`` (``shop.sqlite`` today).
- ``shop.read.ShopReader`` is the read-only view other processes (bot, verification) use.
- ``shop.demo`` generates the demo catalog and seeds the demo shop; nothing imports it at start-up.

``shop`` imports none of ``actions``, ``bot``, ``retrieval`` or ``ledger``.
"""

from __future__ import annotations

from shop.errors import StoreError, UnknownBackendError
from shop.factory import BACKENDS, DEFAULT_BACKEND, check_backend, open_store
from shop.interface import OrderStore

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "OrderStore",
    "StoreError",
    "UnknownBackendError",
    "check_backend",
    "open_store",
]
