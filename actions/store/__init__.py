"""The shop's order system: a Protocol (``interface``), an SQLite implementation and the demo seed.

Actions call ``get_store()``; tests call ``set_store(store)`` (and ``set_store(None)`` to reset).
"""

from __future__ import annotations

import logging
import threading

from actions.store.errors import StoreError
from actions.store.interface import OrderStore

__all__ = ["OrderStore", "StoreError", "get_store", "set_store"]

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_store: OrderStore | None = None


def get_store() -> OrderStore:
    """The process-wide store, built on first use from ``actions.settings`` (seeding the DB if absent)."""
    global _store
    with _lock:
        if _store is None:
            from actions.settings import get_settings
            from actions.store.seed import open_seeded_store
            from actions.store.sqlite import SqliteOrderStore

            settings = get_settings()
            if settings.seed_if_missing:
                _store = open_seeded_store(settings.shop_db_path)
            else:
                _store = SqliteOrderStore(settings.shop_db_path)
            logger.info("order store ready at %s", settings.shop_db_path)
        return _store


def set_store(store: OrderStore | None) -> None:
    """Replace the process-wide store (tests); ``None`` resets to lazy construction."""
    global _store
    with _lock:
        _store = store
