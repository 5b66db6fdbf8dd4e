"""Build, rebuild or update a saved index from records, re-encoding only what changed.

A rebuild writes a complete new version next to the old one and swaps the ``<name>`` link atomically, so the
previous index stays in service (and on disk) until the new one is complete.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.config import IndexConfig
from retrieval.encoder import Encoder
from retrieval.errors import IndexMetaMismatchError, IndexMissingError, RetrievalError
from retrieval.index import VectorIndex
from retrieval.index_faiss import text_hash

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildSummary:
    path: Path
    kind: str
    items: int
    added: int
    updated: int
    removed: int
    unchanged: int
    encoded: int
    seconds: float
    skipped: bool = False

    def line(self) -> str:
        if self.skipped:
            return f"{self.kind}: up to date ({self.items} items) at {self.path}"
        return (
            f"{self.kind}: {self.items} items at {self.path} — {self.added} added, {self.updated} updated, "
            f"{self.removed} removed, {self.unchanged} unchanged; {self.encoded} encoded in {self.seconds:.1f}s"
        )


def _load_compatible(path: Path, encoder: Encoder, config: IndexConfig) -> VectorIndex | None:
    try:
        return VectorIndex.load(path, expect_model=encoder.name, config=config)
    except IndexMissingError:
        return None
    except IndexMetaMismatchError as exc:
        logger.info("not reusing vectors from %s: %s", path, exc)
        return None
    except RetrievalError as exc:
        logger.warning("ignoring unreadable index at %s: %s", path, exc)
        return None


def _encode(encoder: Encoder, texts: Sequence[str], show_progress: bool) -> Any:
    return encoder.encode(list(texts), show_progress=show_progress)


def rebuild(
    path: str | Path,
    records: Sequence[Mapping[str, Any]],
    encoder: Encoder,
    config: IndexConfig,
    *,
    kind: str,
    extra_meta: Mapping[str, Any] | None = None,
    show_progress: bool = False,
) -> BuildSummary:
    """Replace the index at ``path`` with exactly ``records`` (vectors of unchanged texts are reused)."""
    import numpy as np

    start = time.perf_counter()
    path = Path(path)
    old = _load_compatible(path, encoder, config)
    ids = [str(r["id"]) for r in records]
    reuse_ids = (
        []
        if old is None or not _lossless(config)
        else [
            r["id"]
            for r in records
            if r["id"] in old and old.get(str(r["id"]))["text_hash"] == text_hash(str(r["text"]))
        ]
    )
    reuse_set = set(reuse_ids)
    to_encode = [r for r in records if r["id"] not in reuse_set]
    dim = encoder.dim
    vectors = np.zeros((len(records), dim), dtype="float32")
    position = {item_id: row for row, item_id in enumerate(ids)}
    if reuse_ids and old is not None:
        vectors[[position[i] for i in reuse_ids]] = old.vectors_for(reuse_ids)
    if to_encode:
        logger.info("encoding %d %s texts with %s", len(to_encode), kind, encoder.name)
        vectors[[position[str(r["id"])] for r in to_encode]] = _encode(
            encoder, [str(r["text"]) for r in to_encode], show_progress
        )
    index = VectorIndex(dim=dim, model=encoder.name, config=config, kind=kind, extra_meta=extra_meta)
    index.add(records, vectors)
    index.save(path)
    old_ids = set(old.ids) if old is not None else set()
    new_ids = set(ids)
    updated = len([r for r in to_encode if r["id"] in old_ids])
    return BuildSummary(
        path,
        kind,
        len(index),
        added=len(new_ids - old_ids),
        updated=updated,
        removed=len(old_ids - new_ids),
        unchanged=len(reuse_ids),
        encoded=len(to_encode),
        seconds=time.perf_counter() - start,
    )


def update(
    path: str | Path,
    records: Sequence[Mapping[str, Any]],
    encoder: Encoder,
    config: IndexConfig,
    *,
    kind: str,
    remove_ids: Sequence[str] = (),
    extra_meta: Mapping[str, Any] | None = None,
    show_progress: bool = False,
) -> BuildSummary:
    """Add or replace ``records`` and remove ``remove_ids`` in the saved index; others stay untouched."""
    start = time.perf_counter()
    path = Path(path)
    index = VectorIndex.load(path, expect_model=encoder.name, config=config)
    changed = [
        r
        for r in records
        if r["id"] not in index or index.get(str(r["id"]))["text_hash"] != text_hash(str(r["text"]))
    ]
    unchanged_payload = [r for r in records if r not in changed]
    added, updated = (0, 0)
    if changed:
        added, updated = index.upsert(
            changed, _encode(encoder, [str(r["text"]) for r in changed], show_progress)
        )
    # payload-only changes (price, stock) keep their vectors
    payload_updates = 0
    for record in unchanged_payload:
        current = dict(index.get(str(record["id"])))
        index.set_payload(str(record["id"]), record)
        if index.get(str(record["id"])) != current:
            payload_updates += 1
    removed = index.remove(remove_ids) if remove_ids else 0
    if extra_meta:
        index.extra_meta.update(extra_meta)
    index.save(path)
    return BuildSummary(
        path,
        kind,
        len(index),
        added=added,
        updated=updated + payload_updates,
        removed=removed,
        unchanged=len(unchanged_payload) - payload_updates,
        encoded=len(changed),
        seconds=time.perf_counter() - start,
    )


def _lossless(config: IndexConfig) -> bool:
    return "PQ" not in config.factory and "SQ" not in config.factory
