"""Serving a catalog-adapted encoder (:mod:`retrieval.adapt`): its ``adapt.json``, the ``serving`` settings in it,
and the :class:`RetrievalConfig` that builds and searches the English catalog with it.

The knowledge base keeps the stock encoder (a catalog-adapted model lost one demo-KB paraphrase of 51 when it
served both, docs/benchmarks.md); only ``RetrievalConfig.catalog_encoder``, the product thresholds and the
catalog's lexical weight change. A process's settings (``SHOPDESK_CATALOG_ENCODER``) or a CLI
(``--catalog-model``) call :func:`catalog_serving`; this package never reads the environment.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from retrieval.config import ADAPTED_LEXICAL_WEIGHT, ADAPTED_PRODUCT_RANK, RankConfig, RetrievalConfig
from retrieval.errors import ConfigError

ADAPT_META = "adapt.json"


def read_adapt_meta(model_dir: str | Path) -> dict[str, Any] | None:
    """``adapt.json`` of an adapted model directory (None: not one)."""
    path = Path(model_dir) / ADAPT_META
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def default_serving() -> dict[str, Any]:
    """The ``serving`` block a new adapted model gets: the settings chosen on the Myntra dev half."""
    return {
        "product_rank": {f: getattr(ADAPTED_PRODUCT_RANK, f) for f in ("answer", "clarify", "margin")},
        "lexical_weight": ADAPTED_LEXICAL_WEIGHT,
        "chosen_on": "Myntra dev half (bench/retrieval_adapted.py, docs/benchmarks.md)",
    }


def catalog_serving(config: RetrievalConfig, model_dir: str | Path) -> RetrievalConfig:
    """``config`` with the English catalog built and searched by the adapted model in ``model_dir`` and its
    ``adapt.json`` ``serving`` settings (product thresholds, catalog lexical weight; a model saved before they
    existed gets :func:`default_serving`'s). Raises :class:`ConfigError` naming the directory when it is not a
    catalog-adapted sentence-transformers model."""
    path = Path(model_dir)
    if not (path / "modules.json").is_file():
        raise ConfigError(
            "catalog encoder directory", str(path), "a sentence-transformers model saved by retrieval.adapt"
        )
    try:
        meta = read_adapt_meta(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            "catalog encoder adapt.json", str(path / ADAPT_META), f"readable JSON ({exc})"
        ) from exc
    if meta is None:
        raise ConfigError(
            "catalog encoder directory", str(path), f"a model with {ADAPT_META} (python -m retrieval.adapt)"
        )
    serving = meta.get("serving") or default_serving()
    try:
        answer, clarify, margin = (float(serving["product_rank"][f]) for f in ("answer", "clarify", "margin"))
        rank = RankConfig(answer=answer, clarify=clarify, margin=margin)
        weight = float(serving["lexical_weight"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"{ADAPT_META} serving", serving, "product_rank {answer, clarify, margin} and lexical_weight"
        ) from exc
    if not 0.0 <= rank.clarify <= rank.answer <= 1.0 or not 0.0 <= rank.margin < 1.0:
        raise ConfigError(
            f"{ADAPT_META} serving product_rank", serving["product_rank"], "0 <= clarify <= answer <= 1"
        )
    return dataclasses.replace(
        config,
        catalog_encoder=dataclasses.replace(config.encoder, model=str(path)),
        product_rank=dataclasses.replace(rank, max_choices=config.product_rank.max_choices),
        hybrid=dataclasses.replace(config.hybrid, lexical_weight=weight),  # validated by HybridConfig
    )
