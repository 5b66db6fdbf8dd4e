"""Bi-encoder candidate search used to mine hard negatives and to build the dev re-ranking lists.

It reuses the retrieval package's encoder seam and FAISS index (:mod:`retrieval.encoder`,
:mod:`retrieval.index`), so the responder trains on the candidates the action server will actually see — with
the scores it will see: an answer may be indexed under several texts (a knowledge-base entry under its
passage and each of its example questions, as :mod:`retrieval.kb` indexes it) and is found by its best one.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from typing import Protocol

from retrieval.config import EncoderConfig, IndexConfig
from retrieval.encoder import Encoder, shared_encoder

logger = logging.getLogger(__name__)


class CandidateSearch(Protocol):
    """Built from ``(ids, texts)`` where an id may repeat (one answer, several texts); ``search`` returns
    each id at most once, scored by its best text, best first."""

    def search(
        self, queries: Sequence[str], k: int, *, allowed_ids: Collection[str] | None = None
    ) -> list[list[tuple[str, float]]]: ...


class BiEncoderSearch:
    """A flat inner-product FAISS index over texts, keyed by answer id (ids may repeat; hits are folded)."""

    def __init__(
        self,
        ids: Sequence[str],
        texts: Sequence[str],
        *,
        encoder: Encoder | None = None,
        encoder_config: EncoderConfig | None = None,
        show_progress: bool = False,
    ) -> None:
        from retrieval.index import VectorIndex

        self.encoder = encoder or shared_encoder(encoder_config or EncoderConfig())
        self.show_progress = show_progress
        vectors = self.encoder.encode(list(texts), show_progress=show_progress)
        self.index = VectorIndex(
            dim=int(vectors.shape[1]),
            model=self.encoder.name,
            config=IndexConfig(factory="Flat"),
            kind="responder-mining",
        )
        self._vectors_of: dict[str, list[str]] = {}
        records = []
        for n, (answer, text) in enumerate(zip(ids, texts, strict=True)):
            vector_id = f"{answer}#{n}"
            self._vectors_of.setdefault(answer, []).append(vector_id)
            records.append({"id": vector_id, "answer": answer, "text": text})
        self.index.add(records, vectors)
        self.per_answer = max((len(v) for v in self._vectors_of.values()), default=1)
        logger.info(
            "mining index: %d texts of %d answers encoded with %s",
            len(records),
            len(self._vectors_of),
            self.encoder.name,
        )

    def search(
        self, queries: Sequence[str], k: int, *, allowed_ids: Collection[str] | None = None
    ) -> list[list[tuple[str, float]]]:
        if not queries:
            return []
        vectors = self.encoder.encode(list(queries), show_progress=self.show_progress)
        allowed = (
            None
            if allowed_ids is None
            else {v for answer in allowed_ids for v in self._vectors_of.get(answer, ())}
        )
        rows = self.index.search(vectors, k * self.per_answer, allowed_ids=allowed)
        return [fold_best(((h.item["answer"], h.score) for h in row), k) for row in rows]


def fold_best(hits: Iterable[tuple[str, float]], k: int) -> list[tuple[str, float]]:
    """Each id once, with its best score, best first, at most ``k``."""
    best: dict[str, float] = {}
    for answer, score in hits:
        if answer not in best or score > best[answer]:
            best[answer] = score
    return sorted(best.items(), key=lambda pair: -pair[1])[:k]
