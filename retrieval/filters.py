"""Product filters understood from a shopper's message: price range, colour, brand, category, in stock.

The filters are applied inside the FAISS search (an IDSelector over the matching items), so a filtered search
returns the best *matching* items rather than filtering a short list afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from retrieval.errors import FilterError

COLORS = (
    "black",
    "white",
    "grey",
    "gray",
    "silver",
    "red",
    "maroon",
    "burgundy",
    "pink",
    "orange",
    "yellow",
    "mustard",
    "gold",
    "green",
    "olive",
    "teal",
    "blue",
    "navy",
    "turquoise",
    "purple",
    "lavender",
    "violet",
    "brown",
    "tan",
    "beige",
    "cream",
    "khaki",
    "charcoal",
    "magenta",
    "peach",
    "coral",
    "rust",
    "off white",
    "multi",
)
_COLOR_ALIASES = {"gray": "grey", "navy blue": "navy", "off-white": "off white"}
# Brand names that are also everyday words are only recognised from the NLU's brand entity.
_AMBIGUOUS_BRANDS = {
    "only",
    "here",
    "now",
    "bare",
    "style",
    "new",
    "fresh",
    "being",
    "look",
    "cover",
    "urban",
    "basics",
    "simple",
    "people",
    "mast",
    "kind",
    "rare",
    "true",
    "nike air",
}

_NUM = r"(-?\s?\d+(?:[.,]\d+)?)\s*(k\b)?"
_CUR = r"(?:€|\$|£|₹|rs\.?|inr|eur(?:os?)?|usd|dollars?|gbp|pounds?|rupees?)?"
_BETWEEN = re.compile(
    rf"\b(?:between|from)\s+{_CUR}\s*{_NUM}\s*{_CUR}\s*(?:and|to|-)\s*{_CUR}\s*{_NUM}", re.I
)
_RANGE = re.compile(
    rf"{_CUR}\s*(\d+(?:[.,]\d+)?)\s*(k\b)?\s*{_CUR}\s*(?:-|–|to)\s*{_CUR}\s*(\d+(?:[.,]\d+)?)\s*(k\b)?\s*{_CUR}"
    r"(?=\s*(?:€|\$|£|eur|euros?|usd|dollars?|gbp|pounds?|rupees?|rs|inr|$|\?|\.|,|\s))",
    re.I,
)
_MAX = re.compile(
    rf"\b(?:under|below|less than|cheaper than|lower than|max(?:imum)?|at most|up to|no more than|"
    rf"not more than|within|budget(?: of| is)?)\s*{_CUR}\s*{_NUM}|<=?\s*{_CUR}\s*{_NUM}",
    re.I,
)
_MAX_AFTER = re.compile(rf"{_CUR}\s*{_NUM}\s*{_CUR}\s+or (?:less|under|below|cheaper)", re.I)
_MIN = re.compile(
    rf"\b(?:over|above|more than|at least|min(?:imum)?|from|starting at|pricier than)\s*{_CUR}\s*{_NUM}|"
    rf">=?\s*{_CUR}\s*{_NUM}",
    re.I,
)
_MIN_AFTER = re.compile(rf"{_CUR}\s*{_NUM}\s*{_CUR}\s+(?:or more|and (?:up|above)|plus)", re.I)
_IN_STOCK = re.compile(
    r"\b(?:in[- ]stock|available (?:now|today|right now)|ready to ship|ships? (?:now|today)|"
    r"available)\b",
    re.I,
)


class FilterTerm(NamedTuple):
    """One search filter: ``code`` (``between``, ``under``, ``over``, ``color``, ``brand``, ``category``,
    ``in_stock``) and its values (``low`` / ``high`` prices as numbers without currency, or ``value``)."""

    code: str
    values: Mapping[str, str]


@dataclass(frozen=True)
class FilterVocabulary:
    """What the catalog contains (lower-cased), so words in a message can be recognised as filters."""

    brands: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    colors: frozenset[str] = frozenset(COLORS)

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> FilterVocabulary:
        brands, categories, colors = set(), set(), set(COLORS)
        for r in records:
            colors.update(str(c).lower() for c in r.get("colors", []) if 2 < len(str(c)) < 20)
            if r.get("brand"):
                brands.add(str(r["brand"]).strip().lower())
            if r.get("category") and r["category"] != "other":
                categories.add(str(r["category"]).strip().lower())
        return cls(frozenset(brands), frozenset(categories), frozenset(colors))


@dataclass(frozen=True)
class ProductFilters:
    min_price: float | None = None
    max_price: float | None = None
    colors: frozenset[str] = field(default_factory=frozenset)
    brands: frozenset[str] = field(default_factory=frozenset)
    categories: frozenset[str] = field(default_factory=frozenset)
    in_stock: bool = False

    def __post_init__(self) -> None:
        for bound in (self.min_price, self.max_price):
            if bound is not None and bound < 0:
                raise FilterError(str(bound), f"a price can't be negative ({bound:g})")
        if self.min_price is not None and self.max_price is not None and self.min_price > self.max_price:
            raise FilterError(
                f"{self.min_price:g}-{self.max_price:g}",
                f"the lowest price ({self.min_price:g}) is above the highest ({self.max_price:g})",
            )

    @property
    def empty(self) -> bool:
        return self == ProductFilters()

    def matches(self, record: Mapping[str, Any]) -> bool:
        price = record.get("price")
        if self.min_price is not None and (price is None or price < self.min_price):
            return False
        if self.max_price is not None and (price is None or price > self.max_price):
            return False
        if self.in_stock and record.get("stock") is not None and record["stock"] <= 0:
            return False
        if self.brands and str(record.get("brand", "")).lower() not in self.brands:
            return False
        if self.categories and str(record.get("category", "")).lower() not in self.categories:
            return False
        if self.colors:
            colors = {_COLOR_ALIASES.get(c, c) for c in record.get("colors", [])}
            title = str(record.get("title", "")).lower()
            if not any(c in colors or re.search(rf"\b{re.escape(c)}\b", title) for c in self.colors):
                return False
        return True

    def terms(self) -> list[FilterTerm]:
        """The filters as codes and values, for a caller to word in its own language (actions.messages):
        ``between`` / ``under`` / ``over`` with ``low`` / ``high`` prices, then ``color``, ``brand``,
        ``category`` (each with a ``value``) and ``in_stock``."""
        terms = []
        if self.min_price is not None and self.max_price is not None:
            terms.append(FilterTerm("between", {"low": f"{self.min_price:g}", "high": f"{self.max_price:g}"}))
        elif self.max_price is not None:
            terms.append(FilterTerm("under", {"high": f"{self.max_price:g}"}))
        elif self.min_price is not None:
            terms.append(FilterTerm("over", {"low": f"{self.min_price:g}"}))
        for code, values in (("color", self.colors), ("brand", self.brands), ("category", self.categories)):
            terms += [FilterTerm(code, {"value": value}) for value in sorted(values)]
        if self.in_stock:
            terms.append(FilterTerm("in_stock", {}))
        return terms

    def describe(self, currency_symbol: str = "") -> str:
        """The filters in English (logs, benchmarks); the shopper reads them from the actions' catalog."""
        parts = []
        for code, values in self.terms():
            low, high = (currency_symbol + values.get(k, "") for k in ("low", "high"))
            parts.append(
                {
                    "between": f"between {low} and {high}",
                    "under": f"under {high}",
                    "over": f"over {low}",
                    "in_stock": "in stock",
                }.get(code, values.get("value", ""))
            )
        return ", ".join(parts)


def _number(raw: str, k: str | None, text: str) -> float:
    value = float(raw.replace(" ", "").replace(",", "."))
    if k:
        value *= 1000
    if value < 0:
        raise FilterError(text, f"a price can't be negative ({raw.strip()})")
    return value


def parse_price(text: str) -> tuple[float | None, float | None, str]:
    """(min, max, text with the price phrase removed). Raises FilterError for impossible ranges."""
    low: float | None = None
    high: float | None = None
    m = _BETWEEN.search(text) or _RANGE.search(text)
    if m:
        low, high = _number(m.group(1), m.group(2), text), _number(m.group(3), m.group(4), text)
        if low > high:
            raise FilterError(text, f"the lowest price ({low:g}) is above the highest ({high:g})")
        return low, high, (text[: m.start()] + text[m.end() :]).strip()
    rest = text
    for pattern, is_max in ((_MAX, True), (_MAX_AFTER, True), (_MIN, False), (_MIN_AFTER, False)):
        m = pattern.search(rest)
        if not m:
            continue
        groups = [g for g in m.groups()]
        raw, k = (groups[0], groups[1]) if groups[0] is not None else (groups[2], groups[3])
        value = _number(raw, k, text)
        if is_max and high is None:
            high = value
        elif not is_max and low is None:
            low = value
        rest = (rest[: m.start()] + rest[m.end() :]).strip()
    if low is not None and high is not None and low > high:
        raise FilterError(text, f"the lowest price ({low:g}) is above the highest ({high:g})")
    return low, high, rest


def _find_terms(text: str, terms: Iterable[str]) -> set[str]:
    lowered = text.lower()
    found = set()
    for term in sorted(terms, key=len, reverse=True):
        if not term:
            continue
        stem = term[:-1] if term.endswith("s") and len(term) > 3 else term
        if re.search(rf"(?<![\w-]){re.escape(stem)}(?:e?s)?(?![\w-])", lowered):
            found.add(term)
    return found


def parse_filters(
    text: str, vocabulary: FilterVocabulary | None = None, entities: Mapping[str, Iterable[str]] | None = None
) -> tuple[ProductFilters, str]:
    """Filters in ``text`` (plus NLU entities, e.g. ``{"color": ["black"]}``) and the query text left to embed."""
    vocabulary = vocabulary or FilterVocabulary()
    entities = entities or {}
    low, high, rest = parse_price(text)
    for value in entities.get("price", []):
        # an NLU price entity without a recognised phrase is a ceiling ("a lamp for 40 euros")
        if high is None and low is None:
            m = re.search(r"-?\d+(?:[.,]\d+)?", str(value))
            if m:
                high = _number(m.group(0), None, str(value))
    colors = {_COLOR_ALIASES.get(c, c) for c in _find_terms(rest, vocabulary.colors)}
    colors |= {_COLOR_ALIASES.get(str(c).lower(), str(c).lower()) for c in entities.get("color", [])}
    brands = _find_terms(rest, vocabulary.brands - _AMBIGUOUS_BRANDS)
    brands |= {str(b).lower() for b in entities.get("brand", []) if str(b).lower() in vocabulary.brands}
    categories = _find_terms(rest, vocabulary.categories)
    categories |= {
        str(c).lower() for c in entities.get("category", []) if str(c).lower() in vocabulary.categories
    }
    # "trolley bag" also matches "bag": keep the most specific category names only
    categories = {c for c in categories if not any(c != o and c in o for o in categories)}
    in_stock = bool(_IN_STOCK.search(rest))
    filters = ProductFilters(
        min_price=low,
        max_price=high,
        colors=frozenset(colors),
        brands=frozenset(brands),
        categories=frozenset(categories),
        in_stock=in_stock,
    )
    return filters, rest
