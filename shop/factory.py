"""Building a store from settings: ``open_store(settings)`` picks the backend named by ``SHOP_BACKEND``.

No globals: each call builds a new store. Hooks come in here, so the shop never imports who supplies them: the
action server's composition root (``actions.services``) passes the ledger's: ``on_changed`` runs in every line
change's transaction, ``on_created`` in the seed's transaction for each seeded order (as ``create_order`` runs
its own for a new order). The demo seed is imported only when ``seed_if_missing`` asks for it,
so a process that opens an existing shop never imports the demo generator.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from shop.errors import UnknownBackendError
from shop.interface import OrderStore
from shop.model import Clock
from shop.orders import OnChangedHook, OnCreatedHook

logger = logging.getLogger(__name__)

BACKENDS = ("sqlite",)
DEFAULT_BACKEND = "sqlite"


class StoreSettings(Protocol):
    """What ``open_store`` reads from a process's settings (the action server's ``Settings`` has these)."""

    @property
    def shop_backend(self) -> str: ...

    @property
    def shop_db_path(self) -> Path: ...

    @property
    def seed_if_missing(self) -> bool: ...


def check_backend(value: object) -> str:
    """The backend name, normalised; UnknownBackendError for anything not in ``BACKENDS``."""
    name = value.strip().lower() if isinstance(value, str) else value
    if name not in BACKENDS:
        raise UnknownBackendError(value, BACKENDS)
    return str(name)


def open_store(
    settings: StoreSettings,
    *,
    clock: Clock | None = None,
    on_created: Sequence[OnCreatedHook] = (),
    on_changed: Sequence[OnChangedHook] = (),
) -> OrderStore:
    """A new store of the configured backend (seeding an absent demo DB when ``seed_if_missing``, with
    ``on_created`` run for each seeded order); ``on_changed`` runs in each order change's transaction."""
    backend = check_backend(settings.shop_backend)
    if backend != "sqlite":  # pragma: no cover - check_backend refuses every other name today
        raise UnknownBackendError(backend, BACKENDS)
    from shop.sqlite import SqliteOrderStore, utc_now

    store: OrderStore
    if settings.seed_if_missing:
        from shop.demo.seed import open_seeded_store  # the demo generator, only when asked for

        store = open_seeded_store(
            settings.shop_db_path, clock=clock or utc_now, on_created=on_created, on_changed=on_changed
        )
    else:
        store = SqliteOrderStore(settings.shop_db_path, clock=clock or utc_now, on_changed=on_changed)
    logger.info("order store (%s) ready at %s", backend, settings.shop_db_path)
    return store
