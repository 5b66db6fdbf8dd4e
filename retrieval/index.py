"""A FAISS index with stable string ids, a payload per item and a self-describing meta.json.

Layout of a saved index (``<dir>/<name>`` is a symlink to the current version, swapped atomically)::

    <name> -> <name>.<stamp>/
        index.faiss     the FAISS index with ids (IDMap2-wrapped; IVF keeps ids itself); labels are 63-bit hashes of item ids
        items.jsonl     one JSON object per item: id, label, text, text_hash and its payload
        meta.json       model, dimension, metric, factory, item count, checksums, library versions

Items can be added, updated and removed without re-encoding the others.  Index types that cannot remove
vectors (HNSW) keep a tombstone list that every search excludes; :meth:`VectorIndex.compact` rebuilds them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrieval.config import IndexConfig
from retrieval.errors import (
    ConfigError,
    DuplicateIdError,
    IndexCorruptError,
    IndexMetaMismatchError,
    UnknownItemError,
)
from retrieval.index_faiss import (
    faiss_module,
    label_for,
    library_versions,
    maybe_to_gpu,
    metric_code,
    supports_remove,
    text_hash,
    validate_factory,
    with_ids,
)
from retrieval.index_files import FORMAT_VERSION, read_meta, swap_link

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    item: Mapping[str, Any]


class VectorIndex:
    """Vectors in FAISS, payloads in a dict; ids are the shop's own item ids (strings)."""

    def __init__(
        self,
        *,
        dim: int,
        model: str,
        config: IndexConfig,
        kind: str = "items",
        extra_meta: Mapping[str, Any] | None = None,
    ) -> None:
        faiss = faiss_module()

        self.dim = dim
        self.model = model
        self.config = IndexConfig(**{**config.__dict__, "factory": validate_factory(config.factory)})
        self.kind = kind
        self.extra_meta: dict[str, Any] = dict(extra_meta or {})
        self._metric = metric_code(self.config.metric)
        self._index = with_ids(faiss.index_factory(dim, self.config.factory, self._metric))
        self._items: dict[str, dict[str, Any]] = {}  # id -> record (with "label")
        self._by_label: dict[int, str] = {}
        self._tombstones: set[int] = set()
        self._gpu_index: Any = None

    # ------------------------------------------------------------------ building
    @property
    def trained(self) -> bool:
        return bool(self._index.is_trained)

    def train(self, vectors: np.ndarray) -> None:
        if self.trained:
            return
        faiss = faiss_module()

        nlist = (
            getattr(faiss.try_extract_index_ivf(self._index), "nlist", 0)
            if "IVF" in self.config.factory
            else 0
        )
        if nlist and len(vectors) < nlist:
            raise ConfigError(
                "index factory",
                self.config.factory,
                f"a factory whose IVF list count is at most the item count ({len(vectors)}); use Flat for small shops",
            )
        self._index.train(self._as_matrix(vectors))

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    @property
    def ids(self) -> list[str]:
        return list(self._items)

    def get(self, item_id: str) -> dict[str, Any]:
        try:
            return self._items[item_id]
        except KeyError:
            raise UnknownItemError(item_id) from None

    def items(self) -> Iterable[dict[str, Any]]:
        return self._items.values()

    def add(self, records: Sequence[Mapping[str, Any]], vectors: np.ndarray) -> None:
        """Add new items; each record needs ``id`` and ``text``. Existing ids raise :class:`DuplicateIdError`."""
        seen: set[str] = set()
        for record in records:
            item_id = str(record["id"])
            if item_id in self._items or item_id in seen:
                raise DuplicateIdError(
                    item_id, "(already in the index)" if item_id in self._items else "(twice in the batch)"
                )
            seen.add(item_id)
        self._insert(records, vectors)

    def upsert(self, records: Sequence[Mapping[str, Any]], vectors: np.ndarray) -> tuple[int, int]:
        """Add new items and replace existing ones; returns (added, updated)."""
        ids = [str(r["id"]) for r in records]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise DuplicateIdError(dup, "(twice in the batch)")
        existing = [i for i in ids if i in self._items]
        self._drop(existing)
        self._insert(records, vectors)
        return len(ids) - len(existing), len(existing)

    def set_payload(self, item_id: str, record: Mapping[str, Any]) -> None:
        """Replace an item's payload (price, stock…) without touching its vector; ``text`` must not change."""
        current = self.get(item_id)
        if str(record.get("text", current["text"])) != current["text"]:
            raise ValueError(f"text of {item_id!r} changed: use upsert() so the vector is re-encoded")
        self._items[item_id] = {
            **current,
            **record,
            "id": item_id,
            "label": current["label"],
            "text_hash": current["text_hash"],
        }

    def remove(self, ids: Iterable[str]) -> int:
        ids = list(ids)
        for item_id in ids:
            if item_id not in self._items:
                raise UnknownItemError(item_id)
        self._drop(ids)
        return len(ids)

    def compact(self) -> None:
        """Rebuild the FAISS index from the live vectors (drops tombstones)."""
        if not self._tombstones:
            return
        faiss = faiss_module()

        live = list(self._items.values())
        vectors = self._reconstruct_labels([r["label"] for r in live])
        fresh = with_ids(faiss.index_factory(self.dim, self.config.factory, self._metric))
        if not fresh.is_trained:
            fresh.train(vectors)
        import numpy as np

        fresh.add_with_ids(vectors, np.asarray([r["label"] for r in live], dtype="int64"))
        self._index = fresh
        self._tombstones.clear()
        self._by_label = {r["label"]: r["id"] for r in live}
        self._gpu_index = None

    def vectors_for(self, ids: Sequence[str]) -> np.ndarray:
        return self._reconstruct_labels([self.get(i)["label"] for i in ids])

    def _reconstruct_labels(self, labels: Sequence[int]) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(labels), self.dim), dtype="float32")
        for row, label in enumerate(labels):
            out[row] = self._index.reconstruct(int(label))
        return out

    def _as_matrix(self, vectors: np.ndarray) -> np.ndarray:
        import numpy as np

        matrix = np.ascontiguousarray(vectors, dtype="float32")
        if matrix.ndim != 2 or matrix.shape[1] != self.dim:
            raise IndexMetaMismatchError(
                "<in memory>", "dimension", self.dim, matrix.shape[-1] if matrix.ndim else None
            )
        return matrix

    def _insert(self, records: Sequence[Mapping[str, Any]], vectors: np.ndarray) -> None:
        import numpy as np

        matrix = self._as_matrix(vectors)
        if len(records) != len(matrix):
            raise ValueError(f"{len(records)} records but {len(matrix)} vectors")
        if not records:
            return
        if not self.trained:
            self.train(matrix)
        labels = np.empty(len(records), dtype="int64")
        new_records = []
        for row, record in enumerate(records):
            item_id = str(record["id"])
            generation = 0
            label = label_for(item_id)
            while label in self._tombstones or (label in self._by_label and self._by_label[label] != item_id):
                if label in self._by_label and label not in self._tombstones:
                    raise DuplicateIdError(item_id, f"(label collision with {self._by_label[label]!r})")
                generation += 1
                label = label_for(item_id, generation)
            text = str(record.get("text", ""))
            stored = {**record, "id": item_id, "label": label, "text": text, "text_hash": text_hash(text)}
            labels[row] = label
            new_records.append(stored)
        self._index.add_with_ids(matrix, labels)
        for stored in new_records:
            self._items[stored["id"]] = stored
            self._by_label[stored["label"]] = stored["id"]
        self._gpu_index = None

    def _drop(self, ids: Sequence[str]) -> None:
        import numpy as np

        if not ids:
            return
        labels = np.asarray([self._items[i]["label"] for i in ids], dtype="int64")
        if supports_remove(self.config.factory):
            removed = self._index.remove_ids(labels)
            if removed != len(labels):
                raise IndexCorruptError("<in memory>", f"removed {removed} vectors for {len(labels)} ids")
            for label in labels.tolist():
                self._by_label.pop(label, None)
        else:
            self._tombstones.update(labels.tolist())
        for item_id in ids:
            del self._items[item_id]
        self._gpu_index = None

    # ------------------------------------------------------------------ searching
    def labels_where(self, predicate: Callable[[Mapping[str, Any]], bool]) -> np.ndarray:
        import numpy as np

        return np.fromiter((r["label"] for r in self._items.values() if predicate(r)), dtype="int64")

    def search(
        self,
        queries: np.ndarray,
        k: int = 10,
        *,
        allowed_labels: np.ndarray | None = None,
        allowed_ids: Collection[str] | None = None,
    ) -> list[list[Hit]]:
        """Nearest items per query row; ``allowed_*`` restricts the search inside FAISS (an IDSelector)."""
        faiss = faiss_module()
        import numpy as np

        matrix = self._as_matrix(np.atleast_2d(queries))
        if allowed_ids is not None:
            allowed_labels = np.asarray(
                [self._items[i]["label"] for i in allowed_ids if i in self._items], dtype="int64"
            )
        if allowed_labels is None and self._tombstones:
            allowed_labels = np.fromiter((r["label"] for r in self._items.values()), dtype="int64")
        if (allowed_labels is not None and len(allowed_labels) == 0) or not self._items or k <= 0:
            return [[] for _ in range(len(matrix))]
        k = min(k, len(self._items))
        if allowed_labels is None:
            index = self._search_index()
            params = self._params(None)
        else:
            index = self._index
            params = self._params(faiss.IDSelectorBatch(np.ascontiguousarray(allowed_labels, dtype="int64")))
        distances, labels = (
            index.search(matrix, k, params=params) if params is not None else index.search(matrix, k)
        )
        results: list[list[Hit]] = []
        for drow, lrow in zip(distances, labels, strict=True):
            hits = []
            for dist, label in zip(drow.tolist(), lrow.tolist(), strict=True):
                item_id = self._by_label.get(label) if label >= 0 else None
                if item_id is None or label in self._tombstones:
                    continue
                score = dist if self.config.metric == "ip" else 1.0 - dist / 2.0
                hits.append(Hit(item_id, float(score), self._items[item_id]))
            results.append(hits)
        return results

    def _params(self, selector: Any) -> Any:
        faiss = faiss_module()

        factory = self.config.factory
        if factory.startswith("HNSW"):
            return faiss.SearchParametersHNSW(sel=selector, efSearch=self.config.ef_search)
        if factory.startswith("IVF"):
            return faiss.SearchParametersIVF(sel=selector, nprobe=self.config.nprobe)
        return faiss.SearchParameters(sel=selector) if selector is not None else None

    def _search_index(self) -> Any:
        """The GPU copy for unfiltered searches when a GPU exists (Flat and IVF only), else the CPU index."""
        if not self.config.use_gpu or self.config.factory.startswith(("HNSW", "PQ", "SQ")):
            return self._index
        if self._gpu_index is None:
            self._gpu_index = maybe_to_gpu(self._index)
        return self._gpu_index

    # ------------------------------------------------------------------ persistence
    def meta(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "model": self.model,
            "dimension": self.dim,
            "metric": self.config.metric,
            "factory": self.config.factory,
            "item_count": len(self._items),
            "vector_count": int(self._index.ntotal),
            "tombstones": sorted(self._tombstones),
            "library_versions": library_versions(),
            **self.extra_meta,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write to a fresh version directory, then point ``path`` at it with one atomic rename."""
        faiss = faiss_module()

        link = Path(path)
        link.parent.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
        tmp = link.parent / f".{link.name}.{stamp}.tmp"
        final = link.parent / f"{link.name}.{stamp}"
        tmp.mkdir()
        try:
            faiss.write_index(self._index, str(tmp / "index.faiss"))
            lines = [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in self._items.values()]
            payload = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
            (tmp / "items.jsonl").write_bytes(payload)
            meta = {
                **self.meta(),
                "items_sha256": hashlib.sha256(payload).hexdigest(),
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            (tmp / "meta.json").write_text(
                json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
            for name in ("index.faiss", "items.jsonl", "meta.json"):
                with open(tmp / name, "rb") as fh:
                    os.fsync(fh.fileno())
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        swap_link(link, final)
        logger.info(
            "saved %s index (%d items, %s) to %s", self.kind, len(self._items), self.config.factory, final
        )
        return final

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        expect_model: str | None = None,
        expect_dim: int | None = None,
        config: IndexConfig | None = None,
    ) -> VectorIndex:
        """Load and check a saved index; any mismatch with what the caller expects raises."""
        faiss = faiss_module()

        root = Path(path)
        meta = read_meta(root)
        if expect_model is not None and meta["model"] != expect_model:
            raise IndexMetaMismatchError(root, "model", expect_model, meta["model"])
        if expect_dim is not None and meta["dimension"] != expect_dim:
            raise IndexMetaMismatchError(root, "dimension", expect_dim, meta["dimension"])
        if config is not None:
            for field in ("factory", "metric"):
                if meta[field] != getattr(config, field):
                    raise IndexMetaMismatchError(root, field, getattr(config, field), meta[field])
        payload = (root / "items.jsonl").read_bytes()
        if hashlib.sha256(payload).hexdigest() != meta.get("items_sha256"):
            raise IndexCorruptError(root, "items.jsonl does not match the checksum in meta.json")
        known = {
            "format_version",
            "kind",
            "model",
            "dimension",
            "metric",
            "factory",
            "item_count",
            "vector_count",
            "tombstones",
            "library_versions",
            "items_sha256",
            "saved_at",
        }
        cfg = config or IndexConfig(factory=meta["factory"], metric=meta["metric"])
        obj = cls(
            dim=int(meta["dimension"]),
            model=meta["model"],
            config=cfg,
            kind=meta.get("kind", "items"),
            extra_meta={k: v for k, v in meta.items() if k not in known},
        )
        obj._index = with_ids(faiss.read_index(str(root / "index.faiss")))
        if obj._index.d != obj.dim:
            raise IndexCorruptError(
                root, f"index.faiss has dimension {obj._index.d}, meta.json says {obj.dim}"
            )
        for line in payload.decode("utf-8").splitlines():
            record = json.loads(line)
            obj._items[record["id"]] = record
            obj._by_label[record["label"]] = record["id"]
        obj._tombstones = set(meta.get("tombstones", []))
        if len(obj._items) != meta["item_count"] or obj._index.ntotal != meta["vector_count"]:
            raise IndexCorruptError(
                root,
                f"meta.json says {meta['item_count']} items / {meta['vector_count']} vectors, found "
                f"{len(obj._items)} items / {obj._index.ntotal} vectors",
            )
        vs = meta.get("library_versions", {})
        if vs.get("faiss") and vs["faiss"] != faiss.__version__:
            logger.warning(
                "index %s was written by faiss %s, running %s", root, vs["faiss"], faiss.__version__
            )
        logger.info(
            "loaded %s index from %s (%d items, %s)", obj.kind, root.resolve(), len(obj), obj.config.factory
        )
        return obj
