"""Preset-specific reshaping of a catalog's row stream before its columns are mapped: the Myntra export gets
a category read from its product title; Online Retail invoice lines are folded into one row per product.
:data:`TRANSFORMS` is what a :class:`retrieval.catalog.ColumnMapping` names with ``transform``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

MYNTRA_CATEGORIES = (
    "trolley bag",
    "duffel bag",
    "laptop bag",
    "backpack",
    "handbag",
    "sling bag",
    "clutch",
    "wallet",
    "belt",
    "watch",
    "sunglasses",
    "kurta set",
    "kurta",
    "kurti",
    "saree",
    "lehenga",
    "dupatta",
    "salwar",
    "churidar",
    "palazzos",
    "leggings",
    "jeans",
    "trousers",
    "chinos",
    "joggers",
    "track pants",
    "shorts",
    "skirt",
    "dress",
    "jumpsuit",
    "top",
    "t-shirt",
    "tshirt",
    "shirt",
    "polo",
    "sweatshirt",
    "hoodie",
    "sweater",
    "cardigan",
    "jacket",
    "blazer",
    "coat",
    "shrug",
    "waistcoat",
    "suit",
    "nehru jacket",
    "sherwani",
    "bra",
    "briefs",
    "boxers",
    "trunks",
    "vest",
    "socks",
    "nightdress",
    "night suit",
    "pyjamas",
    "lounge pants",
    "tights",
    "sneakers",
    "sports shoes",
    "running shoes",
    "casual shoes",
    "formal shoes",
    "loafers",
    "boots",
    "heels",
    "flats",
    "sandals",
    "flip-flops",
    "slippers",
    "mojaris",
    "earrings",
    "necklace",
    "bracelet",
    "ring",
    "jewellery set",
    "bangles",
    "scarf",
    "stole",
    "cap",
    "hat",
    "perfume",
    "deodorant",
    "lipstick",
    "nail polish",
    "kajal",
    "foundation",
    "face wash",
    "cream",
    "serum",
    "shampoo",
    "lounge shorts",
    "capris",
    "tunic",
)


def category_from_title(title: str, vocabulary: Iterable[str] = MYNTRA_CATEGORIES) -> str:
    """The catalog category named latest in a product title ("… Cropped Jeans" → "jeans")."""
    lowered = title.lower()
    best, best_pos = "", -1
    for category in vocabulary:
        for match in re.finditer(rf"\b{re.escape(category)}s?\b", lowered):
            # latest mention wins; on ties the longer name ("kurta set" over "kurta")
            if match.start() > best_pos or (match.start() == best_pos and len(category) > len(best)):
                best, best_pos = category, match.start()
    return {"tshirt": "t-shirt", "kurti": "kurta"}.get(best, best) or "other"


def _myntra(rows: Iterable[dict[str, Any]], source: object) -> Iterator[dict[str, Any]]:
    for row in rows:
        row["category"] = category_from_title(str(row.get("ProductName", "")))
        yield row


def _online_retail_lines(rows: Iterable[dict[str, Any]], source: object) -> Iterator[dict[str, Any]]:
    """Invoice lines → one row per product: most frequent description, median positive unit price.

    An aggregation: it reads every line before the first product comes out (only the counters are kept).
    """
    from collections import Counter, defaultdict
    from statistics import median

    titles: dict[str, Counter[str]] = defaultdict(Counter)
    prices: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        code = str(row.get("StockCode", "")).strip()
        if not code[:1].isdigit():  # postage, bank charges, manual adjustments, samples
            continue
        if str(row.get("Invoice", "")).startswith("C"):
            continue
        desc = str(row.get("Description") or "").strip()
        price = row.get("Price")
        if desc and desc == desc.upper():
            titles[code][desc] += 1
        if isinstance(price, (int, float)) and price > 0 and (row.get("Quantity") or 0) > 0:
            prices[code].append(float(price))
    for code, counter in titles.items():
        if not prices.get(code):
            continue
        title = counter.most_common(1)[0][0]
        words = re.findall(r"[A-Z][A-Z\-]+", title)
        yield {
            "StockCode": code,
            "Description": title.title(),
            "Price": round(median(prices[code]), 2),
            "category": (words[-1].lower() if words else "other"),
        }


@dataclass(frozen=True)
class Transform:
    """A preset-specific reshaping of the row stream, and the columns its rows have (given the file's)."""

    rows: Callable[[Iterable[dict[str, Any]], object], Iterator[dict[str, Any]]]
    columns: Callable[[list[str]], list[str]]


TRANSFORMS: dict[str, Transform] = {
    "myntra": Transform(_myntra, lambda columns: [*columns, "category"]),
    "online_retail_lines": Transform(
        _online_retail_lines, lambda columns: ["StockCode", "Description", "Price", "category"]
    ),
}
