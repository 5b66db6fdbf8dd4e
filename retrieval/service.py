"""What the action server uses: product search, product lookup, knowledge-base answers and recommendations.

One :class:`RetrievalService` per process. Its indexes and encoders live on an :class:`retrieval.shelf.IndexShelf`
(loaded lazily, thread-safe, a newer version on disk swapped in whole); the ranker loads on first use and stays.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrieval.config import STOCK_PRODUCT_RANK, ZH_DIR, RankConfig, RetrievalConfig
from retrieval.encoder import Encoder, query_vectors
from retrieval.filters import FilterVocabulary, parse_filters
from retrieval.hybrid import LexicalIndex, fuse
from retrieval.index import Hit, VectorIndex
from retrieval.kb import fold_entries
from retrieval.lexical import HAN, simplified
from retrieval.query import clean_query
from retrieval.ranker import BiEncoderRanker, Ranked, Ranker, ResponderRanker, load_ranker
from retrieval.recommend import RecConfig, Recommender
from retrieval.results import ProductFact, ProductSearchResult
from retrieval.shelf import CATALOG, GROUP_BY, KB, IndexShelf, lane_of

if TYPE_CHECKING:
    from retrieval.responder.config import ResponderConfig

logger = logging.getLogger(__name__)


class RetrievalService:
    def __init__(
        self,
        config: RetrievalConfig,
        *,
        encoder: Encoder | None = None,
        ranker: Ranker | None = None,
        zh_encoder: Encoder | None = None,
        zh_catalog_encoder: Encoder | None = None,
        responder_dir: str | Path | None = None,
        responder_config: ResponderConfig | None = None,
    ) -> None:
        """``responder_dir``/``responder_config``: the trained responder and how to serve it
        (:class:`retrieval.responder.ResponderConfig`); the bi-encoder thresholds rank when it does not load.
        ``zh_encoder`` / ``zh_catalog_encoder``: the multilingual encoders of the Chinese KB and catalog indexes
        (default: ``config.zh_encoder`` / ``config.zh_catalog_encoder``, loaded on the first Chinese search)."""
        self.config = config
        zh = {name: e for name, e in ((KB, zh_encoder), (CATALOG, zh_catalog_encoder)) if e is not None}
        self.shelf = IndexShelf(config, encoder, zh)
        self._responder_dir = responder_dir
        self._responder_config = responder_config
        self._ranker = ranker
        self._ranker_lock = threading.Lock()

    # ------------------------------------------------------------------ what the shelf holds
    @property
    def encoder(self) -> Encoder:
        return self.shelf.encoder

    def encoder_for(self, language: str = "en", name: str = KB) -> Encoder:
        return self.shelf.encoder_for(language, name)

    def index(self, name: str, language: str = "en") -> VectorIndex:
        return self.shelf.index(name, language)

    def lexical(self, name: str, language: str = "en") -> LexicalIndex:
        return self.shelf.lexical(name, language)

    def check_encoders(self) -> None:
        self.shelf.check_encoders()

    def reload(self) -> None:
        self.shelf.reload()

    @property
    def vocabulary(self) -> FilterVocabulary:
        return self.shelf.vocabulary

    def version(self, name: str = CATALOG, language: str = "en") -> str:
        return self.shelf.version(name, language)

    # ------------------------------------------------------------------ search
    def _candidates(
        self,
        name: str,
        language: str,
        query: str,
        query_vector: Any,
        k: int,
        allowed: Any = None,
    ) -> tuple[list[Hit], set[str]]:
        """The top-``k`` candidates of ``name``'s index: the dense search (a KB entry folded to its best
        record), fused with the BM25 search when the hybrid serves this lane; each hit carries its dense
        score. Also returns the ids of hits the lexical search found."""
        hybrid = self.config.hybrid
        serves = hybrid.serves(lane_of(language))
        index, lexical_index = self.shelf.pair(name, language, with_lexical=serves)
        group_by = GROUP_BY.get(name)
        depth = max(k, hybrid.depth) if serves else k
        dense = index.search(query_vector, k=depth * 3 if group_by else depth, allowed_labels=allowed)[0]
        if group_by:
            dense = fold_entries(dense)
        if lexical_index is None or hybrid.weight_for(name) == 0.0:
            return dense[:k], set()
        lexical = lexical_index.search(query, k=depth, allowed_labels=allowed)
        fused = fuse(
            dense[:depth],
            lexical,
            index=index,
            lexical_index=lexical_index,
            query_vector=query_vector,
            rrf_k=hybrid.rrf_k,
            lexical_weight=hybrid.weight_for(name),
            group_by=group_by,
            method=hybrid.fusion,
        )[:k]
        return [f.hit for f in fused], {f.hit.id for f in fused if f.lexical_rank is not None}

    def _rank_config(self, kind: str, language: str) -> RankConfig:
        if lane_of(language) == "zh":
            return self.config.zh_kb_rank if kind == KB else self.config.zh_product_rank
        return self.config.kb_rank if kind == KB else self.config.product_rank

    @property
    def ranker(self) -> Ranker:
        with self._ranker_lock:
            if self._ranker is None:
                self._ranker = load_ranker(self._responder_dir, self.config.kb_rank, self._responder_config)
            return self._ranker

    def warm_up(self) -> None:
        """Load everything now (the encoder, both indexes, the ranker) rather than on the first question."""
        self.encoder.encode(["warm up"])
        self.encoder_for("en", CATALOG).encode(["warm up"])  # a catalog-adapted model, when configured
        for name in (CATALOG, KB):
            self.index(name)
        _ = self.ranker
        if (Path(self.config.index_dir) / ZH_DIR).is_dir():  # the Chinese indexes, when built
            clean_query("预热", language="zh")  # loads jieba's dictionary (the Chinese query checks use it)
            for name in (CATALOG, KB):
                self.encoder_for("zh", name).encode(["warm up"])
            for name in (CATALOG, KB):
                self.index(name, "zh")

    def _embed(self, text: str, language: str = "en", name: str = KB):  # type: ignore[no-untyped-def]
        return query_vectors(self.encoder_for(language, name), [text])

    # ------------------------------------------------------------------ products
    def product(self, product_id: str) -> Mapping[str, Any]:
        return self.index(CATALOG).get(product_id)

    def search_products(
        self,
        text: str,
        entities: Mapping[str, Iterable[str]] | None = None,
        k: int = 3,
        language: str = "en",
    ) -> ProductSearchResult:
        """Filters from the message applied inside the search; the bi-encoder score decides the move.
        ``language``: the conversation's (a Chinese message searches the English catalog with the multilingual
        index: :func:`search_lane`)."""
        language = search_lane(text, language)
        query = clean_query(text, self.config.max_query_chars, language)
        filters, rest = parse_filters(query, self.vocabulary, entities)
        index = self.index(CATALOG, language)
        rank = self._rank_config(CATALOG, language)
        allowed = None if filters.empty else index.labels_where(filters.matches)
        embed_text = rest if len(re.findall(r"[^\W\d_]{2,}", rest)) >= 1 else query
        hits, lexical_ids = self._candidates(
            CATALOG, language, embed_text, self._embed(embed_text, language, CATALOG), max(k, 5), allowed
        )
        hits = cut_tail(hits, lexical_ids, rank)
        fused_order = self.config.hybrid.serves(lane_of(language))
        ranked = BiEncoderRanker(rank, keep_order=fused_order).rank(
            query, hits, [h.item["text"] for h in hits]
        )
        if ranked.kind == "answer" or (ranked.kind == "clarify" and not filters.empty):
            # a confident search (or one the shopper's own filters narrowed down) shows a few cards, best first
            ranked = Ranked("answer", hits[:k], ranked.confidence, ranked.source, [h.score for h in hits[:k]])
        elif ranked.kind == "handoff" and not filters.empty and hits:
            # filters matched, the wording did not: show what matches the filters rather than nothing
            ranked = Ranked(
                "clarify", hits[:k], ranked.confidence, ranked.source, [h.score for h in hits[:k]]
            )
        return ProductSearchResult(query, filters, ranked, None if allowed is None else len(allowed))

    def identify_product(self, text: str, k: int | None = None, language: str = "en") -> Ranked:
        """Which product a question is about ("is the Aurora desk lamp dimmable?"): a product named in the
        question, else the responder re-ranking the bi-encoder's top-k (it is trained on known-item product
        questions too; English only), else the bi-encoder's own thresholds."""
        language = search_lane(text, language)
        query = clean_query(text, self.config.max_query_chars, language)
        ranker = self._ranker_for(CATALOG, language)
        rank = self._rank_config(CATALOG, language)
        hits, _ = self._candidates(
            CATALOG, language, query, self._embed(query, language, CATALOG), k or ranker.top_k or 5
        )
        named = _named_in(query, hits)
        if named is not None:  # the shopper typed (most of) one product's name: that one
            return Ranked("answer", [named], max(named.score, rank.answer), "title-match")
        return ranker.rank(query, hits, [h.item["text"] for h in hits], kind="product")

    def product_fact(self, product_id: str, question: str, language: str = "en") -> ProductFact:
        """Answer a question about one product from its own text (fields first, then its best sentence)."""
        record = self.product(product_id)
        language = search_lane(question, language)
        q = clean_query(question, self.config.max_query_chars, language).lower()
        attrs = record.get("attributes", {}) or {}
        if language == "zh":  # Traditional characters ask the same questions
            q = simplified(q)
        if re.search(r"\b(price|cost|how much|expensive|cheap)\b" + _ZH_ASKS["price"], q):
            return ProductFact(record, "price", (str(record["price_text"]),))
        if re.search(r"\b(in stock|stock|available|availability|sold out|left)\b" + _ZH_ASKS["stock"], q):
            stock = record.get("stock")
            return ProductFact(record, "stock", stock=None if stock is None else int(stock))
        for field_name, pattern in (
            ("sizes", r"\bsizes?\b|\bfit\b" + _ZH_ASKS["sizes"]),
            ("colors", r"\bcolou?rs?\b" + _ZH_ASKS["colors"]),
            ("material", r"\b(material|made of|fabric|cotton|leather|wool)\b" + _ZH_ASKS["material"]),
        ):
            if re.search(pattern, q):
                value = attrs.get(field_name) or (attrs.get("color") if field_name == "colors" else None)
                if value:
                    values = tuple(map(str, value)) if isinstance(value, list) else (str(value),)
                    return ProductFact(record, field_name, values)
        return self._fact_from_text(record, q, language)

    def _fact_from_text(self, record: Mapping[str, Any], question: str, language: str = "en") -> ProductFact:
        import numpy as np

        sentences = _sentences(record)
        if not sentences:
            return ProductFact(record, "text", score=0.0)
        vectors = self.encoder_for(language).encode(sentences)
        sims = vectors @ self._embed(question, language)[0]
        best = int(np.argmax(sims))
        score = float(sims[best])
        own = (
            lane_of(language) == "zh" or self.config.catalog_encoder is None
        )  # else: the KB's encoder's bands
        if score < (self._rank_config(CATALOG, language) if own else STOCK_PRODUCT_RANK).clarify:
            return ProductFact(record, "text", score=score)
        return ProductFact(record, "text", (sentences[best],), score=score)

    # ------------------------------------------------------------------ knowledge base
    def answer_question(self, text: str, k: int | None = None, language: str = "en") -> Ranked:
        """A knowledge-base answer: the ranker (the responder when trained) over the bi-encoder's top-k
        entries (k: the responder's ``top_k``, 10 for the bi-encoder alone). A Chinese message in a Chinese
        conversation (:func:`search_lane`): the multilingual index (English and Chinese texts of every entry) and its own thresholds, no responder;
        each hit's payload carries ``title_zh`` / ``answer_zh`` (:func:`retrieval.kb.localized`)."""
        language = search_lane(text, language)
        query = clean_query(text, self.config.max_query_chars, language)
        ranker = self._ranker_for(KB, language)
        k = k or ranker.top_k or 10
        hits, _ = self._candidates(KB, language, query, self._embed(query, language), k)
        return ranker.rank(
            query, hits, [f"{str(h.item['title']).rstrip('.')}. {h.item['answer']}" for h in hits], kind="kb"
        )

    def _ranker_for(self, kind: str, language: str) -> Ranker:
        """The responder reads English only: Chinese questions (measured: it re-ranks them worse than the
        multilingual bi-encoder alone, docs/retrieval.md) and product identification without a responder use
        the bi-encoder thresholds."""
        fused_order = self.config.hybrid.serves(lane_of(language))  # the fused order is the order to trust
        if lane_of(language) == "zh":
            return BiEncoderRanker(self._rank_config(kind, language), keep_order=fused_order)
        ranker = self.ranker
        if kind == KB or ranker.name == ResponderRanker.name:
            if isinstance(ranker, BiEncoderRanker) and fused_order:
                return BiEncoderRanker(ranker.config, keep_order=True)
            return ranker
        return BiEncoderRanker(self.config.product_rank, keep_order=fused_order)

    def kb_entry(self, entry_id: str) -> Mapping[str, Any]:
        """An entry's payload (both languages' title and answer) from the English index."""
        return self.index(KB).get(f"{entry_id}#a")

    # ------------------------------------------------------------------ recommendations
    def recommender(
        self,
        baskets: Iterable[Sequence[str]],
        config: RecConfig | None = None,
        histories: Iterable[Sequence[str]] | None = None,
        history_ages: Iterable[Sequence[float]] | None = None,
        basket_ages: Iterable[float] | None = None,
    ) -> Recommender:
        """The recommender over the catalog index; ``baskets``: each order's product ids; ``histories``: each
        customer's purchased product ids (what the personal model is fitted on, see ``RecConfig.model_rows``);
        ``history_ages`` / ``basket_ages``: their ages in days (the recency weights, ``Recommender``)."""
        index = self.index(CATALOG)
        ids = index.ids
        records = [index.get(i) for i in ids]
        available = [r["id"] for r in records if r.get("stock") is None or r["stock"] > 0]
        return Recommender(
            ids,
            index.vectors_for(ids),
            {r["id"]: r.get("category", "") for r in records},
            baskets,
            config,
            titles={r["id"]: r["title"] for r in records},
            available=available,
            histories=histories,
            history_ages=history_ages,
            basket_ages=basket_ages,
        )


# How Chinese shoppers ask for a product's fields (no \b: Han characters are all word characters)
_ZH_ASKS = {
    "price": "|多少钱|价格|价钱|售价|贵不贵|贵吗|便宜",
    "stock": "|有货|有没有货|库存|现货|卖完|售罄|缺货|断货",
    "sizes": "|尺码|尺寸|码数|几码|什么码|合身",
    "colors": "|颜色|什么色|哪些色|几种色",
    "material": "|材质|材料|面料|什么做的|纯棉|真皮|羊毛",
}


def cut_tail(hits: Sequence[Hit], lexical_ids: Collection[str], rank: RankConfig) -> list[Hit]:
    """Product search's candidates without the tail far below the best dense match (under the clarify band by
    more than 0.1, or 0.2 below the best; a hit BM25 found only needs the absolute floor)."""
    best = max((h.score for h in hits), default=0.0)
    return [
        h for h in hits if h.score >= rank.clarify - 0.1 and (h.id in lexical_ids or h.score >= best - 0.2)
    ]


def search_lane(text: str | None, language: str) -> str:
    """The index set a message searches: ``zh`` (the multilingual indexes) when the conversation is Chinese and
    the message has Chinese characters in it, else ``en`` (today's English indexes, which measured better on
    English text: docs/retrieval.md). An English message in an English conversation never changes lanes."""
    return "zh" if language == "zh" and text is not None and HAN.search(text) else "en"


_WORD = re.compile(r"[a-z0-9]+")


def _named_in(query: str, hits: Sequence[Hit]) -> Hit | None:
    """The one hit whose title words (at least two, 60 % or more) appear in the query, if exactly one does."""
    words = set(_WORD.findall(query.lower()))
    scored = []
    for hit in hits:
        title = [w for w in _WORD.findall(str(hit.item.get("title", "")).lower()) if len(w) > 1]
        overlap = sum(w in words for w in title)
        if title and overlap >= 2 and overlap / len(title) >= 0.6:
            scored.append((overlap / len(title), hit))
    scored.sort(key=lambda pair: -pair[0])
    if len(scored) == 1 or (len(scored) > 1 and scored[0][0] > scored[1][0]):
        return scored[0][1]
    return None


def _sentences(record: Mapping[str, Any]) -> list[str]:
    text = str(record.get("description", ""))
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+|(?<=[a-z0-9])(?=[A-Z][a-z])|\n", text) if p.strip()]
    for key, value in (record.get("attributes") or {}).items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{key.replace('_', ' ').capitalize()}: {shown}")
    return [p for p in parts if len(p) > 3][:40]
