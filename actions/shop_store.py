"""The action server's store: built once from ``actions.settings`` through ``shop.open_store``.

Actions call ``get_store()``; tests call ``set_store(store)`` (and ``set_store(None)`` to reset). A thin
holder until the composition root (``actions/services.py``) passes the store down instead.
"""

from __future__ import annotations

import threading

from shop import OrderStore, open_store

__all__ = ["get_store", "set_store"]

_lock = threading.Lock()
_store: OrderStore | None = None


def get_store() -> OrderStore:
    """The process-wide store, built on first use from the settings (seeding the DB if absent)."""
    global _store
    with _lock:
        if _store is None:
            from actions.settings import get_settings

            _store = open_store(get_settings())
        return _store


def set_store(store: OrderStore | None) -> None:
    """Replace the process-wide store (tests); ``None`` resets to lazy construction."""
    global _store
    with _lock:
        _store = store
