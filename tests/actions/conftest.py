"""Fixtures for the order-store and order-action tests: a seeded demo shop on a fixed clock."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.store import set_store
from actions.store.seed import open_seeded_store
from actions.store.sqlite import SqliteOrderStore
from tests.actions.shop_fixtures import NOW, FixedClock, load_domain, make_tracker, render


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shop") / "template.db"
    open_seeded_store(path, clock=FixedClock(NOW))
    return path


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def shop(seeded_template: Path, tmp_path: Path, clock: FixedClock) -> Iterator[SqliteOrderStore]:
    """A fresh copy of the seeded demo shop, installed as the actions' store."""
    path = tmp_path / "shop.db"
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{seeded_template}{suffix}")
        if source.exists():
            shutil.copy(source, f"{path}{suffix}")
    store = SqliteOrderStore(path, clock=clock)
    set_store(store)
    yield store
    set_store(None)


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """domain/orders.yml merged with the other domain files' responses (for rendering)."""
    return load_domain()


@pytest.fixture
def tracker_factory() -> Any:
    return make_tracker


@pytest.fixture
def say(domain: dict[str, Any]) -> Any:
    """``say(dispatcher)`` → the texts the shopper reads."""

    def _say(dispatcher: CollectingDispatcher, tracker: Tracker | None = None) -> list[str]:
        return render(dispatcher, domain, tracker)

    return _say
