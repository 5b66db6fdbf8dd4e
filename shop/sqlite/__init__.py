"""The SQLite backend of the shop (``SHOP_BACKEND=sqlite``), the default."""

from __future__ import annotations

from shop.sqlite.base import to_db, utc_now, validate_address
from shop.sqlite.schema import SCHEMA_VERSION
from shop.sqlite.store import SQLiteOrderStore, SqliteOrderStore

__all__ = ["SCHEMA_VERSION", "SQLiteOrderStore", "SqliteOrderStore", "to_db", "utc_now", "validate_address"]
