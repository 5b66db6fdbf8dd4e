"""SQLite implementation of ``OrderStore`` (stdlib ``sqlite3``): one mixin per aggregate over a shared base."""

from __future__ import annotations

from shop.sqlite.aftersales import SqliteAfterSales
from shop.sqlite.catalog import SqliteCatalog
from shop.sqlite.inbox import SqliteInbox
from shop.sqlite.orders import SqliteOrders


class SqliteOrderStore(SqliteOrders, SqliteCatalog, SqliteAfterSales, SqliteInbox):
    """``OrderStore`` on an SQLite file: ``SqliteOrderStore(path, clock=...)``; the schema is created on open."""


SQLiteOrderStore = SqliteOrderStore  # alias: both spellings are used across the repo
