"""What a search gives the actions: a product search's result, a product fact, and product cards (data, never
shopper sentences: the actions word them from their message catalogs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from retrieval.filters import ProductFilters
from retrieval.ranker import Ranked


@dataclass(frozen=True)
class ProductSearchResult:
    query: str
    filters: ProductFilters
    ranked: Ranked
    total_matching: int | None = None  # items passing the filters (None: no filters)


@dataclass(frozen=True)
class ProductFact:
    """What one product's own data says about a question, as data: the action words the sentence
    (``actions/product_facts.py``, from the message catalog of the conversation's language).

    ``field``: ``"price"`` (``values``: the price text), ``"stock"`` (``stock``: the count, None when the shop
    does not say), ``"sizes"`` / ``"colors"`` / ``"material"`` (``values``: the field's values as the catalog
    writes them) or ``"text"`` (``values``: the product text's best sentence; empty when none answers)."""

    product: Mapping[str, Any]
    field: str  # "price" | "stock" | "sizes" | "colors" | "material" | "text"
    values: tuple[str, ...] = ()
    stock: int | None = None
    score: float = 1.0

    @property
    def known(self) -> bool:
        """False: the product's data does not say."""
        return self.stock is not None if self.field == "stock" else bool(self.values)


def cards(
    records: Sequence[Mapping[str, Any]], reasons: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Product cards in the channel-neutral payload shape (docs/architecture.md)."""
    out = []
    for r in records:
        card = {
            "id": r["id"],
            "title": r["title"],
            "price": f"{float(r['price']):.2f}",
            "currency": r["currency"],
            "price_text": r["price_text"],
            "image_url": r.get("image_url") or "",
            "url": r.get("url") or "",
        }
        if reasons and reasons.get(r["id"]):
            card["reason"] = reasons[r["id"]]
        out.append(card)
    return out
