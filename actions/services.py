"""The action server's composition root: everything the actions use, built once per process at start-up.

    services = Services.from_settings(Settings.from_env())   # validates; opens (and seeds) the order store
    configure(services)                                       # actions.server does both before serving

Why one ``configure(services)`` call and one ``services()`` accessor, not actions constructed with services:
rasa-sdk's ``ActionExecutor`` instantiates every ``Action`` subclass itself, without arguments, when it imports the
actions package, and Sanic pickles that executor into each spawned worker; an action cannot receive objects in its
constructor, and an open SQLite connection cannot travel in a pickle. So ``actions.server`` builds ``Services``
from the validated settings in each process before it serves and hands it over once; actions read it through
``services()`` at call time. There is no lazy default and no second route: ``services()`` before ``configure``
raises, naming the fix. Tests configure their own through the ``services`` fixture (tests/actions/conftest.py).

What is built here and nowhere else: the order store (``shop.open_store``, which picks the implementation from
``SHOP_BACKEND``), the retrieval service (models load on warm-up or first use), the ledger gateway (keys checked
now, the chain reached on first use), the recommender cache and the sentiment scorer (``SENTIMENT_DIR``: the
fine-tuned model when one is trained, else the lexicon baseline; ``sentiment.loading.load_scorer``).
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from actions.settings import Settings, SettingsError
from ledger.errors import LedgerConfigError
from ledger.gateway import LedgerGateway
from retrieval.catalog_encoder import catalog_serving
from retrieval.config import RetrievalConfig
from retrieval.errors import RetrievalError
from retrieval.recommend import Recommender
from retrieval.responder.config import ResponderConfig
from retrieval.service import RetrievalService
from sentiment.lexicon import LexiconScorer
from sentiment.loading import load_scorer
from sentiment.types import Scorer
from shop import open_store
from shop.errors import StoreError
from shop.interface import OrderStore

logger = logging.getLogger(__name__)

T = TypeVar("T")
RECOMMENDER_MAX_AGE_S = 300.0  # the recommender is rebuilt from the order history at most this often


class TimedCache(Generic[T]):
    """One value, rebuilt by ``get(build, key)`` when older than ``max_age_s`` (``clock``: monotonic seconds) or
    built for another ``key`` (the recommender: another catalog version)."""

    def __init__(self, max_age_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._value: T | None = None
        self._at = 0.0
        self._key: object = None

    def get(self, build: Callable[[], T], key: object = None) -> T:
        with self._lock:
            if self._value is None or key != self._key or self._clock() - self._at > self.max_age_s:
                self._value = build()
                self._at = self._clock()
                self._key = key
            return self._value


def retrieval_service(settings: Settings) -> RetrievalService:
    """The retrieval service over ``INDEX_DIR`` and the responder in ``RESPONDER_DIR`` (nothing loads yet); the
    catalog's encoder and thresholds from ``SHOPDESK_CATALOG_ENCODER``. An index built by another encoder than
    the configured one stops the start, naming both."""
    config = RetrievalConfig(index_dir=settings.index_dir)
    if settings.catalog_encoder is not None:
        config = catalog_serving(config, settings.catalog_encoder)
    service = RetrievalService(
        config,
        responder_dir=settings.responder_dir,
        responder_config=ResponderConfig(
            top_k=settings.responder_top_k,
            precision=settings.responder_precision,
            compile=settings.responder_compile,
            threshold_overrides=settings.responder_thresholds,
            gate=settings.responder_gate,
        ),
    )
    try:
        service.check_encoders()
    except RetrievalError as error:
        configured = settings.catalog_encoder or "(empty: the stock model)"
        raise SettingsError(f"SHOPDESK_CATALOG_ENCODER={configured}: {error}") from None
    return service


def sentiment_scorer(settings: Settings) -> Scorer:
    """The scorer in ``SENTIMENT_DIR`` (the lexicon baseline when none is trained); a model that is there but does
    not load stops the start, naming the variable."""
    try:
        scorer = load_scorer(settings.sentiment_dir, cache_size=settings.sentiment_cache)
    except Exception as error:  # whatever the model's loader raises (torch, JSON, a missing file)
        raise SettingsError(
            f"SENTIMENT_DIR={settings.sentiment_dir}: cannot load the sentiment model ({error})"
        ) from None
    logger.info("sentiment scorer: %s (SENTIMENT_DIR=%s)", scorer.name, settings.sentiment_dir)
    return scorer


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: OrderStore
    retrieval: RetrievalService
    ledger: LedgerGateway
    recommender: TimedCache[Recommender] = field(
        default_factory=lambda: TimedCache[Recommender](RECOMMENDER_MAX_AGE_S)
    )
    # the mood's scorer (actions.mood); from_settings loads SENTIMENT_DIR, hand-built services get the baseline
    sentiment: Scorer = field(default_factory=LexiconScorer)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        """Everything, from validated settings (``Settings.from_env``); a ledger setting the key ring still refuses
        (``Settings`` built by hand) fails here as a ``SettingsError`` naming the variable."""
        try:  # the outbox lives in the order store's file (SHOP_DB_PATH), where the ledger sender reads it
            ledger = LedgerGateway.from_settings(settings.ledger, settings.shop_db_path)
        except LedgerConfigError as error:
            raise SettingsError(str(error)) from None
        try:
            store = open_store(  # the ledger's hooks: seeded orders and order changes are recorded too
                settings, on_created=[ledger.queue_hook()], on_changed=[ledger.revision_hook()]
            )
        except (OSError, sqlite3.Error, StoreError) as error:
            raise SettingsError(
                f"SHOP_DB_PATH={settings.shop_db_path}: cannot open the order store ({error})"
            ) from None
        return cls(
            settings=settings,
            store=store,
            retrieval=retrieval_service(settings),
            ledger=ledger,
            sentiment=sentiment_scorer(settings),
        )

    def replace(self, **changes: object) -> Services:
        """A copy with some parts swapped (tests: another store, an in-process chain) and a fresh recommender
        cache (it was built from the old parts)."""
        fresh = {"recommender": TimedCache[Recommender](self.recommender.max_age_s)}
        return dataclasses.replace(self, **{**fresh, **changes})  # type: ignore[arg-type]


_lock = threading.Lock()
_current: Services | None = None


def configure(built: Services | None) -> None:
    """Hand the process's services to the actions (``actions.server`` at start; tests' fixture). ``None`` clears."""
    global _current
    with _lock:
        _current = built


def is_configured() -> bool:
    return _current is not None


def services() -> Services:
    """The services ``configure`` installed; raises when the process never configured any."""
    current = _current
    if current is None:
        raise RuntimeError(
            "actions.services.configure() was never called: start the action server with "
            "`python -m actions.server` (it builds Services.from_settings at start); tests use the `services` fixture"
        )
    return current
