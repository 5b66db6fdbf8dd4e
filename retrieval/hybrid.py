"""Hybrid search: a BM25 index over the lexical tokens of a :class:`VectorIndex`'s records, and the fusion of
its ranking with the dense (FAISS) one.

:class:`LexicalIndex` is Okapi BM25 (Lucene's always-positive idf) over :func:`retrieval.lexical.tokens` (Latin
runs whole, jieba words + Han bigrams) minus English and Chinese stop words, stored as one SciPy sparse matrix of
precomputed per-(document, term) weights: a query is one sparse column sum, so a search over the 12.5k Myntra
titles is a fraction of a millisecond, and a filtered search scores only the allowed rows (filters apply inside
the lexical search as the FAISS ``IDSelector`` applies them inside the dense one). Documents are grouped by a key
(a product's ``id``; a knowledge-base entry's ``entry_id``, so an entry is one document of its questions, title
and answer).

:func:`fuse` merges the two ranked lists (score fusion or weighted reciprocal-rank fusion); every candidate carries its
**dense** cosine (a lexical-only hit's is computed from its stored vector), because the answer / clarify /
handoff thresholds and the responder's calibration are set on that cosine.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from retrieval.index import Hit, VectorIndex
from retrieval.lexical import tokens

if TYPE_CHECKING:
    import numpy as np

# English function words: a query of only these ("the and of") has nothing for BM25 to match, so the dense
# search alone answers it; documents drop them too (they would only add noise to the length normalisation).
EN_STOP_WORDS = frozenset(
    "a an and are as at be but by can could do does for from had has have how i if in into is it its me my "
    "no not of on or our so that the their them then there these they this to was we were what when where "
    "which who why will with would you your".split()
)


def terms(text: str) -> list[str]:
    """The BM25 terms of ``text``: :func:`retrieval.lexical.tokens` without English stop words."""
    return [t for t in tokens(text) if t not in EN_STOP_WORDS]


@dataclass(frozen=True)
class LexicalHit:
    key: str  # the document key: a record id, or the group key (a KB entry id)
    score: float  # BM25


class LexicalIndex:
    """BM25 over documents built from records; search optionally restricted to records' FAISS labels."""

    def __init__(
        self,
        keys: Sequence[str],
        members: Mapping[str, Sequence[str]],
        row_labels: Sequence[Sequence[int]],
        doc_terms: Sequence[Sequence[str]],
        *,
        k1: float = 1.2,
        b: float = 0.75,
    ) -> None:
        import numpy as np
        from scipy import sparse

        self.keys = list(keys)
        self.source: VectorIndex | None = None  # the vector index it was built from (from_index)
        self.k1 = k1
        self.b = b
        self._members = {k: list(v) for k, v in members.items()}
        self._row_of = {k: row for row, k in enumerate(self.keys)}
        # (label, row) pairs, sorted by label: a filter's labels map to rows with one searchsorted
        pairs = sorted((int(label), row) for row, labels in enumerate(row_labels) for label in labels)
        self._labels = np.asarray([p[0] for p in pairs], dtype="int64")
        self._label_rows = np.asarray([p[1] for p in pairs], dtype="int64")
        vocab: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        lengths = np.zeros(len(self.keys), dtype="float64")
        for row, doc in enumerate(doc_terms):
            counts: dict[int, int] = {}
            for term in doc:
                col = vocab.setdefault(term, len(vocab))
                counts[col] = counts.get(col, 0) + 1
            lengths[row] = len(doc)
            for col, count in counts.items():
                rows.append(row)
                cols.append(col)
                tfs.append(count)
        self.vocab = vocab
        n_docs = len(self.keys)
        tf = np.asarray(tfs, dtype="float64")
        row_idx = np.asarray(rows, dtype="int64")
        col_idx = np.asarray(cols, dtype="int64")
        df = np.bincount(col_idx, minlength=len(vocab)).astype("float64")
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        avgdl = float(lengths.mean()) if n_docs and lengths.sum() else 1.0
        norm = k1 * (1.0 - b + b * lengths[row_idx] / avgdl) if len(row_idx) else np.zeros(0)
        weights = idf[col_idx] * tf * (k1 + 1.0) / (tf + norm) if len(row_idx) else np.zeros(0)
        self._matrix = sparse.csc_matrix(
            (weights, (row_idx, col_idx)), shape=(n_docs, max(len(vocab), 1)), dtype="float64"
        )

    @classmethod
    def from_records(
        cls,
        records: Iterable[Mapping[str, Any]],
        *,
        group_by: str | None = None,
        fields: Sequence[str] = ("text",),
        k1: float = 1.2,
        b: float = 0.75,
    ) -> LexicalIndex:
        """One document per record (``group_by=None``) or per value of ``record[group_by]`` (its records'
        texts joined); a document's text is its records' ``fields`` (e.g. ``("title", "text")`` counts the title
        twice). Records need ``id``; ``label`` (their FAISS label) makes filtered searches possible."""
        order: list[str] = []
        texts: dict[str, list[str]] = {}
        members: dict[str, list[str]] = {}
        labels: dict[str, list[int]] = {}
        for record in records:
            key = str(record.get(group_by) or record["id"]) if group_by else str(record["id"])
            if key not in texts:
                order.append(key)
                texts[key], members[key], labels[key] = [], [], []
            texts[key].extend(str(record.get(f) or "") for f in fields)
            members[key].append(str(record["id"]))
            if record.get("label") is not None:
                labels[key].append(int(record["label"]))
        return cls(
            order,
            members,
            [labels[k] for k in order],
            [terms(" ".join(texts[k])) for k in order],
            k1=k1,
            b=b,
        )

    @classmethod
    def from_index(cls, index: VectorIndex, *, group_by: str | None = None) -> LexicalIndex:
        """The lexical twin of a loaded vector index (the same records, their indexed ``text``)."""
        lexical = cls.from_records(index.items(), group_by=group_by)
        lexical.source = index
        return lexical

    def __len__(self) -> int:
        return len(self.keys)

    def members(self, key: str) -> list[str]:
        """The record ids of a document (one for a product; an entry's questions and answer)."""
        return self._members[key]

    def rows_for_labels(self, allowed_labels: np.ndarray) -> np.ndarray:
        import numpy as np

        allowed = np.asarray(allowed_labels, dtype="int64")
        found = np.isin(self._labels, allowed, assume_unique=False)
        return np.unique(self._label_rows[found])

    def search(
        self,
        query: str,
        k: int = 50,
        *,
        allowed_labels: np.ndarray | None = None,
        allowed_keys: Collection[str] | None = None,
    ) -> list[LexicalHit]:
        """The ``k`` best documents with a positive BM25 score, best first (ties: document order).
        ``allowed_labels`` (FAISS labels of records, as ``VectorIndex.labels_where`` returns them) or
        ``allowed_keys`` restrict the search to those documents; an empty allowed set finds nothing."""
        import numpy as np

        if k <= 0 or not self.keys:
            return []
        query_cols = [self.vocab[t] for t in terms(query) if t in self.vocab]
        if not query_cols:
            return []  # only stop words, emoji or words no document has
        counts = np.bincount(np.asarray(query_cols, dtype="int64"), minlength=self._matrix.shape[1])
        scores = np.asarray(self._matrix @ counts.astype("float64")).ravel()
        rows: np.ndarray | None = None
        if allowed_labels is not None:
            rows = self.rows_for_labels(allowed_labels)
        if allowed_keys is not None:
            keyed = np.asarray(
                sorted(self._row_of[x] for x in allowed_keys if x in self._row_of), dtype="int64"
            )
            rows = keyed if rows is None else np.intersect1d(rows, keyed)
        if rows is not None:
            masked = np.zeros_like(scores)
            masked[rows] = scores[rows]
            scores = masked
        positive = np.flatnonzero(scores > 0)
        if not len(positive):
            return []
        if len(positive) > k:
            top = positive[np.argpartition(-scores[positive], k - 1)[:k]]
        else:
            top = positive
        top = top[np.lexsort((top, -scores[top]))]
        return [LexicalHit(self.keys[row], float(scores[row])) for row in top]


# ------------------------------------------------------------------------------------------------- fusion


def rrf(
    rankings: Sequence[Sequence[str]], *, k: float = 60.0, weights: Sequence[float] | None = None
) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion: ``sum_i w_i / (k + rank_i)`` (rank from 1) over the lists an item is
    in; best first, ties in the order items were first seen (the first list's order first)."""
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(dict.fromkeys(ranking), start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])


@dataclass(frozen=True)
class FusedHit:
    hit: Hit  # the record that represents the document; ``hit.score`` is its dense cosine
    fused: float  # the RRF score
    dense_rank: int | None  # 1-based rank in each list (None: not in it)
    lexical_rank: int | None


def dense_scores(index: VectorIndex, query_vector: np.ndarray, ids: Sequence[str]) -> list[float]:
    """The score the dense search would give ``ids`` for ``query_vector`` (inner product; ``l2`` as FAISS's
    squared distance mapped like :meth:`VectorIndex.search` maps it)."""
    import numpy as np

    if not ids:
        return []
    vectors = index.vectors_for(ids)
    q = np.asarray(query_vector, dtype="float32").reshape(-1)
    if index.config.metric == "l2":
        return [float(1.0 - d / 2.0) for d in ((vectors - q) ** 2).sum(axis=1)]
    return [float(s) for s in vectors @ q]


def fuse(
    dense: Sequence[Hit],
    lexical: Sequence[LexicalHit],
    *,
    index: VectorIndex,
    lexical_index: LexicalIndex,
    query_vector: np.ndarray,
    rrf_k: float = 60.0,
    lexical_weight: float = 0.5,
    group_by: str | None = None,
    method: str = "rrf",
) -> list[FusedHit]:
    """The dense hits (already one per document: folded by ``group_by`` for the KB) fused with the lexical
    hits, best first. ``method``: ``rrf`` (weighted reciprocal ranks, ``rrf_k``) or ``score``
    (``(1 - w) * cosine + w * BM25 / the query's best BM25``; a document outside the BM25 list scores 0 there).
    A lexical-only document is represented by its member record with the best dense score, which the hit
    carries (the thresholds and the responder's calibration read that score)."""

    def key_of(hit: Hit) -> str:
        return str(hit.item.get(group_by) or hit.id) if group_by else hit.id

    by_key = {key_of(h): h for h in dense}
    dense_keys = list(by_key)
    lexical_keys = [h.key for h in lexical]
    missing = [key for key in lexical_keys if key not in by_key]
    member_ids = [m for key in missing for m in lexical_index.members(key) if m in index]
    scored = dict(zip(member_ids, dense_scores(index, query_vector, member_ids), strict=True))
    for key in missing:
        members = [m for m in lexical_index.members(key) if m in scored]
        if not members:  # the vector index no longer holds it (a stale lexical index): never shown
            continue
        best = max(members, key=lambda m: scored[m])
        by_key[key] = Hit(best, scored[best], index.get(best))
    weights = (1.0 - lexical_weight, lexical_weight)
    dense_rank = {key: n for n, key in enumerate(dense_keys, start=1)}
    lexical_rank = {key: n for n, key in enumerate(lexical_keys, start=1)}
    if method == "score":
        bm25 = {h.key: h.score for h in lexical}
        top = max(bm25.values(), default=0.0) or 1.0
        scores = {
            key: weights[0] * hit.score + weights[1] * bm25.get(key, 0.0) / top for key, hit in by_key.items()
        }
        fused = sorted(scores.items(), key=lambda pair: -pair[1])
    elif method == "rrf":
        fused = rrf([dense_keys, [k for k in lexical_keys if k in by_key]], k=rrf_k, weights=weights)
    else:
        raise ValueError(f"unknown fusion method {method!r}; known: 'rrf', 'score'")
    return [FusedHit(by_key[key], score, dense_rank.get(key), lexical_rank.get(key)) for key, score in fused]
