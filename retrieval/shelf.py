"""The indexes and encoders a retrieval process serves: loaded lazily, kept, and swapped for newer versions.

:class:`IndexShelf` holds, per search lane (``en``, ``zh``) and index name (``kb``, ``catalog``), the FAISS index
of the version on disk now, its BM25 twin, the catalog's filter vocabulary and the encoders that embed queries for
them. An index follows its ``<index_dir>/<name>`` link (:mod:`retrieval.live`): when an import swaps in a new
version, the next call loads it and swaps it in whole, dropping what was derived from the old one; a version that
fails to load is logged and the old one keeps serving. Thread-safe (actions call it from
``loop.run_in_executor``). :class:`retrieval.service.RetrievalService` queries through one shelf.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.config import ZH_DIR, RetrievalConfig
from retrieval.encoder import Encoder, model_identity, shared_encoder
from retrieval.errors import RetrievalError
from retrieval.filters import FilterVocabulary
from retrieval.hybrid import LexicalIndex
from retrieval.index import VectorIndex
from retrieval.index_files import check_model
from retrieval.live import DiskVersion, Key, VersionWatch, current_version

logger = logging.getLogger(__name__)

CATALOG = "catalog"
KB = "kb"
GROUP_BY = {KB: "entry_id"}  # a KB entry's records (questions, title + answer) are one search document


def lane_of(language: str) -> str:
    """The index lane of a language: ``zh`` for Chinese, ``en`` for everything else."""
    return "zh" if language == "zh" else "en"


@dataclass
class _State:
    indexes: dict[tuple[str, str], VectorIndex] = field(default_factory=dict)
    # the BM25 twin of each loaded (lane, name) index, built from its records on first use; dropped with it
    lexical: dict[tuple[str, str], LexicalIndex] = field(default_factory=dict)
    vocabulary: FilterVocabulary | None = None
    watch: VersionWatch = field(default_factory=VersionWatch)  # which version of each index is served
    paths: dict[tuple[str, str], str] = field(default_factory=dict)  # <index_dir>/<name> of each loaded index


class IndexShelf:
    def __init__(
        self,
        config: RetrievalConfig,
        encoder: Encoder | None = None,
        zh_encoders: dict[str, Encoder] | None = None,
    ) -> None:
        """``encoder``: the English query encoder (default: ``config.encoder``, loaded on first use);
        ``zh_encoders``: the multilingual encoders of the Chinese indexes by name (default: the config's)."""
        self.config = config
        self._encoder = encoder
        self._zh_encoders = dict(zh_encoders or {})
        self._state = _State()
        self.lock = threading.RLock()

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = shared_encoder(self.config.encoder)
        return self._encoder

    def encoder_for(self, language: str = "en", name: str = KB) -> Encoder:
        """The encoder of ``language``'s ``name`` index: the English model (the catalog's own when configured), or
        for ``zh`` the multilingual one (KB: E5; catalog: E5 + USE fused: better for English products)."""
        if lane_of(language) == "en":
            catalog = self.config.catalog_encoder if name == CATALOG else None
            return self.encoder if catalog is None else shared_encoder(catalog)  # one per process
        with self.lock:
            if name not in self._zh_encoders:
                config = self.config.zh_catalog_encoder if name == CATALOG else self.config.zh_encoder
                self._zh_encoders[name] = shared_encoder(config)
            return self._zh_encoders[name]

    def index(self, name: str, language: str = "en") -> VectorIndex:
        """``name`` (``kb``/``catalog``) for ``language``: ``<index_dir>/<name>`` or ``<index_dir>/zh/<name>``;
        the version on disk now (a newer one is loaded by one caller while the others keep the old one whole)."""
        lane = lane_of(language)
        key = (lane, name)
        current = self._state.indexes.get(key)
        if current is not None:
            newer = self._state.watch.newer(key, self._state.paths[key])
            if newer is None or not self._state.watch.claim(key):
                return current
            try:
                return self._swap_in(key, newer, current)
            finally:
                self._state.watch.release(key)
        with self.lock:
            if key not in self._state.indexes:
                path = self._index_path(lane, name)
                self._state.paths[key] = str(path)
                found = current_version(path)
                self._state.indexes[key] = self._load(key, found.path if found.version else path)
                self._state.watch.served(key, found.version)
            return self._state.indexes[key]

    def check_encoders(self) -> None:
        """Refuse (``IndexMetaMismatchError``, naming both) an English index built by another encoder than the
        configured one, before anything loads: its vectors searched with another model would be garbage."""
        for name, encoder in ((KB, self.config.encoder), (CATALOG, self.config.catalog_encoder)):
            check_model(self._index_path("en", name), model_identity((encoder or self.config.encoder).model))

    def _index_path(self, lane: str, name: str) -> Path:
        return Path(self.config.index_dir) / (ZH_DIR if lane == "zh" else "") / name

    def _load(self, key: Key, path: Path) -> VectorIndex:
        lane, name = key
        encoder = self.encoder_for(lane, name)
        return VectorIndex.load(
            path,
            expect_model=encoder.name,
            expect_dim=encoder.dim,
            config=self.config.catalog_index if name == CATALOG else self.config.kb_index,
        )

    def _swap_in(self, key: Key, newer: DiskVersion, current: VectorIndex) -> VectorIndex:
        try:
            fresh = self._load(key, newer.path)
        except (RetrievalError, OSError) as exc:
            logger.warning("new %s index %s not loaded, the old one keeps serving: %s", key, newer.path, exc)
            self._state.watch.refuse(key, newer.version)
            return current
        with self.lock:
            self._state.indexes[key] = fresh
            self._state.watch.served(key, newer.version)
            self._drop_derived(*key)
        logger.info("now serving %s index %s (%d items)", key, newer.path.name, len(fresh))
        return fresh

    def _drop_derived(self, lane: str, name: str) -> None:
        """Forget what was built from the ``(lane, name)`` index it replaces (call with ``self.lock`` held).
        Build such caches under ``self.lock`` from ``self.index(...)`` so a swap cannot interleave."""
        if (lane, name) == ("en", CATALOG):
            self._state.vocabulary = None
        self._state.lexical.pop((lane, name), None)

    def lexical(self, name: str, language: str = "en") -> LexicalIndex:
        """The BM25 index over the records of :meth:`index` (``name``, ``language``), built on first use
        (a knowledge-base entry is one document: its questions, title and answer)."""
        lane = lane_of(language)
        with self.lock:
            return self._lexical_of(self.index(name, lane), lane, name)

    def pair(self, name: str, language: str, with_lexical: bool) -> tuple[VectorIndex, LexicalIndex | None]:
        """``name``'s dense index and (``with_lexical``) its BM25 twin, of one version even when a new version
        is swapped in meanwhile."""
        lane = lane_of(language)
        with self.lock:
            index = self.index(name, lane)
            return index, self._lexical_of(index, lane, name) if with_lexical else None

    def _lexical_of(self, index: VectorIndex, lane: str, name: str) -> LexicalIndex:
        """The BM25 twin of exactly ``index`` (call with ``self.lock`` held)."""
        cached = self._state.lexical.get((lane, name))
        if cached is None or cached.source is not index:
            start = time.perf_counter()
            cached = LexicalIndex.from_index(index, group_by=GROUP_BY.get(name))
            if self._state.indexes.get((lane, name)) is index:
                self._state.lexical[lane, name] = cached
            logger.info(
                "lexical index %s/%s: %d documents in %.0f ms",
                lane,
                name,
                len(cached),
                (time.perf_counter() - start) * 1000,
            )
        return cached

    def reload(self) -> None:
        """Drop loaded indexes (the next call loads the current version on disk)."""
        with self.lock:
            for key in list(self._state.indexes):
                self._drop_derived(*key)
            self._state.indexes.clear()
            self._state.lexical.clear()
            self._state.watch.clear()
            self._state.vocabulary = None

    @property
    def vocabulary(self) -> FilterVocabulary:
        """The catalog's filter vocabulary (categories, colours, …), built once per served catalog version."""
        self.index(CATALOG)  # a new catalog version swaps in here, dropping the old vocabulary
        with self.lock:
            if self._state.vocabulary is None:
                self._state.vocabulary = FilterVocabulary.from_records(self.index(CATALOG).items())
            return self._state.vocabulary

    def version(self, name: str = CATALOG, language: str = "en") -> str:
        """The version of the ``name`` index being served (after noticing a newer one on disk): what caches
        built from the index (the action server's recommender) key on."""
        self.index(name, language)
        return self._state.watch.serving.get((lane_of(language), name), "")
