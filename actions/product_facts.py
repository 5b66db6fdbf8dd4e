"""A product fact (``retrieval.results.ProductFact``: what a product's own data says) as the sentence the
shopper reads, worded by the message catalog of the conversation's language (``Catalog.PRODUCT_FACTS``).

Values keep the catalog's spelling unless the language has a word for them (``COLORS``, ``MATERIALS``,
``SIZES``); prices, sizes like ``M`` or ``42`` and the product text's own sentence stay as the shop writes them.
"""

from __future__ import annotations

from collections.abc import Mapping

from actions.messages import Catalog
from retrieval.results import ProductFact

# Up to this many items left, the answer says how many.
SHOW_STOCK_COUNT_UP_TO = 10


def fact_sentence(words: Catalog, fact: ProductFact) -> str | None:
    """The sentence for ``fact``; None when the product's data does not say (the caller says so instead)."""
    if not fact.known:
        return None
    title = str(fact.product["title"])
    templates = words.PRODUCT_FACTS
    if fact.field == "price":
        return templates["price"].format(title=title, price=fact.values[0])
    if fact.field == "stock":
        count = fact.stock or 0
        if count <= 0:
            return templates["out_of_stock"].format(title=title)
        key = "in_stock" if count <= SHOW_STOCK_COUNT_UP_TO else "in_stock_many"
        return templates[key].format(title=title, count=count)
    if fact.field == "text":
        return templates["text"].format(title=title, sentence=fact.values[0])
    vocabulary = _vocabulary(words, fact.field)
    values = [vocabulary.get(value, vocabulary.get(value.lower(), value)) for value in fact.values]
    return templates[fact.field].format(title=title, values=words.FACT_VALUE_SEPARATOR.join(values))


def _vocabulary(words: Catalog, field: str) -> Mapping[str, str]:
    if field not in ("sizes", "colors", "material"):
        raise ValueError(
            f"product fact field {field!r} has no wording (price, stock, sizes, colors, material, text)"
        )
    return {"sizes": words.SIZES, "colors": words.COLORS, "material": words.MATERIALS}[field]
