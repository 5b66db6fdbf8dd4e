"""Fixtures for the order-store and order-action tests: a seeded demo shop on a fixed clock, and the actions'
services (``actions.services``) built for each test."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.services import Services, configure, retrieval_service
from actions.services import services as configured
from actions.settings import Settings
from ledger.gateway import LedgerGateway
from retrieval.service import RetrievalService
from shop.demo.seed import open_seeded_store
from shop.sqlite import SqliteOrderStore
from tests.actions.shop_fixtures import NOW, FixedClock, load_domain, make_tracker, render


class NoStore:
    """The order store of a test that did not ask for one: any use says which fixture to request."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"the test uses the order store ({name}): request the `shop` fixture")


@pytest.fixture(scope="session")
def default_retrieval() -> RetrievalService:
    """The retrieval service over the configured index, shared by the tests (its models load once, on use)."""
    return retrieval_service(Settings())


@pytest.fixture(autouse=True)
def services(tmp_path: Path, default_retrieval: RetrievalService) -> Iterator[Services]:
    """The services the actions read, built like ``Services.from_settings`` but from default settings (not the
    environment) and without a store; ``shop`` installs the demo shop, a test swaps parts with ``install``."""
    settings = Settings()
    built = Services(
        settings=settings,
        store=NoStore(),  # type: ignore[arg-type]
        retrieval=default_retrieval,
        ledger=LedgerGateway.from_settings(settings.ledger, tmp_path / "outbox.db"),
    )
    configure(built)
    yield built
    configure(None)


Install = Callable[..., Services]


@pytest.fixture
def install(services: Services) -> Install:
    """``install(store=..., retrieval=..., ledger=...)``: swap parts of the services the actions read now."""

    def _install(**parts: Any) -> Services:
        swapped = configured().replace(**parts)
        configure(swapped)
        return swapped

    return _install


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shop") / "template.db"
    open_seeded_store(path, clock=FixedClock(NOW))
    return path


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def shop(
    seeded_template: Path, tmp_path: Path, clock: FixedClock, services: Services, install: Install
) -> SqliteOrderStore:
    """A fresh copy of the seeded demo shop, installed as the actions' store (the ledger outbox beside it)."""
    path = tmp_path / "shop.db"
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{seeded_template}{suffix}")
        if source.exists():
            shutil.copy(source, f"{path}{suffix}")
    store = SqliteOrderStore(path, clock=clock)
    install(store=store, ledger=LedgerGateway.from_settings(services.settings.ledger, path))
    return store


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
