"""Thin helpers over the faiss module for :class:`retrieval.index.VectorIndex`: factory strings, stable int64
labels for string ids, id-mapped indexes, metric codes, the GPU copy, and the library versions recorded in
``meta.json``. faiss is imported when first needed."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from retrieval.config import METRICS
from retrieval.errors import ConfigError

logger = logging.getLogger(__name__)

_FACTORY_RE = re.compile(
    r"^(Flat|HNSW\d+(_?Flat)?|IVF\d+(_HNSW\d+)?,(Flat|PQ\d+(x\d+)?|SQ\d+|SQfp16)|HNSW\d+,(SQ\d+|SQfp16|PQ\d+)|PQ\d+|SQ\d+|SQfp16)$"
)
_FACTORY_EXAMPLES = ("Flat", "HNSW32", "IVF256,Flat", "IVF1024,PQ32", "HNSW32,SQ8")


def faiss_module() -> Any:
    """The faiss module, typed loosely (its bundled stubs miss the search-parameter and direct-map classes)."""
    import faiss

    return faiss


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def label_for(item_id: str, generation: int = 0) -> int:
    """A stable non-negative int64 label for an item id (FAISS needs integer ids)."""
    key = item_id if generation == 0 else f"{item_id}#{generation}"
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big") >> 1


def validate_factory(factory: str) -> str:
    factory = factory.strip()
    if factory.startswith("IDMap"):
        raise ConfigError(
            "index factory",
            factory,
            "a factory without IDMap (ids are added by ShopDesk): " + ", ".join(_FACTORY_EXAMPLES),
        )
    if not _FACTORY_RE.match(factory):
        raise ConfigError("index factory", factory, ", ".join(_FACTORY_EXAMPLES))
    return factory


def library_versions() -> dict[str, str]:
    faiss = faiss_module()
    import numpy as np

    versions = {"faiss": faiss.__version__, "numpy": np.__version__}
    try:
        import sentence_transformers

        versions["sentence_transformers"] = sentence_transformers.__version__
    except ImportError:  # pragma: no cover - always installed in .venv/app
        pass
    return versions


def supports_remove(factory: str) -> bool:
    return not factory.startswith("HNSW")


def metric_code(metric: str) -> int:
    faiss = faiss_module()

    if metric not in METRICS:
        raise ConfigError("metric", metric, METRICS)
    return faiss.METRIC_INNER_PRODUCT if metric == "ip" else faiss.METRIC_L2


def with_ids(index: Any) -> Any:
    """Give an index stable 64-bit ids: IVF stores ids itself (plus a hash table for remove/reconstruct by id);
    every other type is wrapped in IndexIDMap2."""
    faiss = faiss_module()

    if isinstance(index, faiss.IndexIDMap2):
        return index
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        if ivf.direct_map.type != faiss.DirectMap.Hashtable:
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        return index
    return faiss.IndexIDMap2(index)


def maybe_to_gpu(index: Any) -> Any:
    """Copy an index to all GPUs when faiss-gpu sees one; the CPU index otherwise (same results)."""
    faiss = faiss_module()

    if not hasattr(faiss, "get_num_gpus") or faiss.get_num_gpus() <= 0:
        return index
    try:
        gpu = faiss.index_cpu_to_all_gpus(index)
    except Exception as exc:  # unsupported type on GPU: keep the CPU index
        logger.warning("index stays on CPU: %s", exc)
        return index
    logger.info("index moved to %d GPU(s)", faiss.get_num_gpus())
    return gpu
