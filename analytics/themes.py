"""``python -m analytics.themes`` (``make themes``): feedback grouped into themes per language.

The texts are the ``feedback_texts`` table's (complaints, negative messages, low ratings' comments: analytics.refresh).
Per language they are embedded (multilingual E5 through ``retrieval.multilingual``; any :class:`Embedder`),
centred (E5's cosines crowd into 0.8-0.95; removing the mean direction spreads them), clustered agglomeratively
(average linkage, cosine) with k chosen by silhouette from 2 to ``max_themes``, and a set whose best silhouette
stays under ``min_silhouette`` is one theme. Each theme gets a label from its top c-TF-IDF terms
(analytics.terms), its count and up to 3 examples (the texts nearest its centre). 0 texts: no theme; 1: one
theme; 2: one theme when their cosine reaches ``same_theme_cosine``, else two.
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from analytics import schema
from analytics.settings import from_env
from analytics.terms import class_tfidf

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

EXAMPLES = 3
MAX_TEXTS = 2000  # per language, the newest: clustering is quadratic


class Embedder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class ThemeConfig:
    max_themes: int = 8
    min_silhouette: float = 0.05
    same_theme_cosine: float = 0.9


@dataclass(frozen=True)
class Theme:
    language: str
    label: str
    terms: list[str]
    count: int
    examples: list[str]
    sources: dict[str, int]


def default_embedder() -> Embedder:
    from retrieval.config import EncoderConfig
    from retrieval.multilingual import E5_SMALL, E5Encoder

    return E5Encoder(EncoderConfig(model=E5_SMALL, batch_size=32))


def cluster(vectors: np.ndarray, config: ThemeConfig) -> list[int]:
    """A cluster number per row of unit ``vectors``."""
    import numpy as np

    n = len(vectors)
    if n == 0:
        return []
    if n == 1:
        return [0]
    if n == 2:
        return [0, 0] if float(vectors[0] @ vectors[1]) >= config.same_theme_cosine else [0, 1]
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import silhouette_score

    centred = vectors - vectors.mean(axis=0, keepdims=True)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    centred = centred / np.where(norms > 0, norms, 1.0)
    best: tuple[float, list[int]] = (config.min_silhouette, [0] * n)
    for k in range(2, min(config.max_themes, n - 1) + 1):
        labels = AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average").fit_predict(
            centred
        )
        score = float(silhouette_score(centred, labels, metric="cosine"))
        if score > best[0]:
            best = (score, [int(label) for label in labels])
    return best[1]


def themes_for(
    texts: Sequence[tuple[str, str]], language: str, embedder: Embedder, config: ThemeConfig
) -> list[Theme]:
    """``texts``: (text, source) pairs of one language -> themes, the largest first."""
    import numpy as np

    if not texts:
        return []
    vectors = np.asarray(embedder.encode([text for text, _ in texts]), dtype="float32")
    labels = cluster(vectors, config)
    members: dict[int, list[int]] = defaultdict(list)
    for row, number in enumerate(labels):
        members[number].append(row)
    groups = sorted(members.values(), key=lambda rows: (-len(rows), rows[0]))
    terms = class_tfidf([[texts[i][0] for i in rows] for rows in groups], language)
    found = []
    for rows, top in zip(groups, terms, strict=True):
        centre = vectors[rows].mean(axis=0)
        nearest = sorted(rows, key=lambda i: (-float(vectors[i] @ centre), i))
        examples: list[str] = []
        for i in nearest:  # distinct texts only
            if texts[i][0] not in examples:
                examples.append(texts[i][0])
            if len(examples) == EXAMPLES:
                break
        sources: dict[str, int] = defaultdict(int)
        for i in rows:
            sources[texts[i][1]] += 1
        label = " · ".join(top) if top else examples[0][:40]
        found.append(Theme(language, label, top, len(rows), examples, dict(sources)))
    return found


def _feedback(connection: sqlite3.Connection) -> dict[str, list[tuple[str, str]]]:
    by_language: dict[str, list[tuple[str, str]]] = defaultdict(list)
    rows = connection.execute(
        "SELECT language, text, source FROM feedback_texts WHERE TRIM(text) != '' ORDER BY ts DESC"
    ).fetchall()
    for language, text, source in rows:
        if len(by_language[language]) < MAX_TEXTS:
            by_language[language].append((text[:1000], source))
    return by_language


def refresh_themes(
    db: Path, embedder: Embedder | None = None, config: ThemeConfig | None = None
) -> list[Theme]:
    """Recompute every theme from the ``feedback_texts`` table and store them (``themes``), replacing the old ones."""
    config = config or ThemeConfig()
    connection = schema.connect(db)
    try:
        texts = _feedback(connection)
        found: list[Theme] = []
        if any(texts.values()):
            embedder = embedder or default_embedder()
            for language in sorted(texts):
                found += themes_for(texts[language], language, embedder, config)
        with connection:
            connection.execute("DELETE FROM themes")
            numbers: dict[str, int] = defaultdict(int)
            for theme in found:
                connection.execute(
                    "INSERT INTO themes VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        theme.language,
                        numbers[theme.language],
                        theme.label,
                        json.dumps(theme.terms, ensure_ascii=False),
                        theme.count,
                        json.dumps(theme.examples, ensure_ascii=False),
                        json.dumps(theme.sources, sort_keys=True),
                    ),
                )
                numbers[theme.language] += 1
    finally:
        connection.close()
    logger.info("%s themes from %s texts", len(found), sum(len(v) for v in texts.values()))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics.themes", description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="the analytics SQLite file (default: ANALYTICS_DB)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for theme in refresh_themes(args.db or from_env().analytics_db):
        logger.info("[%s] %s (%s)", theme.language, theme.label, theme.count)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
