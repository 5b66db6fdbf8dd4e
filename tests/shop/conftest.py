"""Every store implementation the contract suite runs against, each opened on the seeded demo shop.

To add a backend (e.g. Postgres): add its name to ``shop.BACKENDS``, then a fixture here that returns a fresh
store of it holding the demo shop (``shop.demo.seed``) with the ``clock`` fixture, and list it in
``IMPLEMENTATIONS``; every contract test then runs on it.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shop.demo.seed import open_seeded_store
from shop.interface import OrderStore

NOW = datetime(2025, 3, 12, 10, 0, 0, tzinfo=UTC)  # a Wednesday; every seeded date is relative to it


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shop-contract") / "shop.db"
    open_seeded_store(path, clock=FixedClock(NOW))
    return path


@pytest.fixture
def sqlite_store(sqlite_template: Path, tmp_path: Path, clock: FixedClock) -> OrderStore:
    from shop.sqlite import SqliteOrderStore

    path = tmp_path / "shop.db"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{sqlite_template}{suffix}").exists():
            shutil.copy(f"{sqlite_template}{suffix}", f"{path}{suffix}")
    return SqliteOrderStore(path, clock=clock)


# backend name (shop.BACKENDS) -> the fixture giving a fresh store of it on the seeded demo shop
IMPLEMENTATIONS = {"sqlite": "sqlite_store"}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def store(request: pytest.FixtureRequest) -> OrderStore:
    """A fresh store of each implementation, holding the seeded demo shop, its clock fixed at ``NOW``."""
    return request.getfixturevalue(IMPLEMENTATIONS[request.param])


@pytest.fixture
def shop(sqlite_store: OrderStore) -> OrderStore:
    """The SQLite store on the seeded demo shop (tests/shop/test_sqlite_store.py)."""
    return sqlite_store
