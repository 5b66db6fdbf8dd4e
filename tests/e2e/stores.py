"""Open the live stack's order store from a test, read-only in spirit."""

from __future__ import annotations

from pathlib import Path

from shop.interface import OrderStore


def open_store(path: Path) -> OrderStore:
    from shop.sqlite import SQLiteOrderStore

    return SQLiteOrderStore(path)
