"""Bi-encoder candidate search used to mine hard negatives and to build the dev re-ranking lists.

It reuses the retrieval package's encoder seam and FAISS index (:mod:`retrieval.encoder`,
:mod:`retrieval.index`), so the responder trains on the candidates the action server will actually see.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Protocol

from retrieval.config import EncoderConfig, IndexConfig
from retrieval.encoder import Encoder, shared_encoder

logger = logging.getLogger(__name__)


class CandidateSearch(Protocol):
    def search(
        self, queries: Sequence[str], k: int, *, allowed_ids: Collection[str] | None = None
    ) -> list[list[tuple[str, float]]]: ...


class BiEncoderSearch:
    """A flat inner-product FAISS index over passage texts, keyed by answer id."""

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
        self.index.add([{"id": i, "text": t} for i, t in zip(ids, texts, strict=True)], vectors)
        logger.info("mining index: %d passages encoded with %s", len(ids), self.encoder.name)

    def search(
        self, queries: Sequence[str], k: int, *, allowed_ids: Collection[str] | None = None
    ) -> list[list[tuple[str, float]]]:
        if not queries:
            return []
        vectors = self.encoder.encode(list(queries), show_progress=self.show_progress)
        hits = self.index.search(vectors, k, allowed_ids=allowed_ids)
        return [[(h.id, h.score) for h in row] for row in hits]
