"""Where responder training and evaluation text comes from, in one shape.

Our own corpora (shipped, trained on by ``make responder``):
  * the knowledge base ``training_data/kb/`` (YAML/JSON entries with a question, an answer and optional
    paraphrases), and
  * the demo catalog ``training_data/catalog/demo_products.csv``.
Shared evaluation data (``../shared/data``, never copied into the repo): ``ecommerce_faq/faq.json`` and
``myntra/catalog.csv``.
"""

from __future__ import annotations

import csv
import json
import logging
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrieval.responder.errors import TrainingDataError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KbEntry:
    id: str
    question: str
    answer: str
    paraphrases: tuple[str, ...] = ()
    source: str = "kb"
    title: str = ""


def kb_passage(entry: KbEntry) -> str:
    """The text a knowledge-base answer is scored by: ``title. answer`` (what the kb index embeds), or the
    answer alone when the entry has no title."""
    return f"{entry.title.rstrip('.')}. {entry.answer}" if entry.title else entry.answer


@dataclass(frozen=True)
class Product:
    id: str
    title: str
    brand: str = ""
    category: str = ""
    color: str = ""
    gender: str = ""
    price: str = ""
    currency: str = ""
    description: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    source: str = "catalog"


def product_passage(product: Product) -> str:
    """The text a product is scored by: exactly the text the catalog index embeds
    (:meth:`retrieval.catalog.Product.embedding_text`), so serving can pass ``hit.item["text"]`` and the
    bi-encoder cosine it came with."""
    from retrieval.catalog import Product as CatalogProduct

    attributes = dict(product.attributes)
    if product.color:
        attributes.setdefault("color", product.color)
    if product.gender:
        attributes.setdefault("gender", product.gender)
    try:
        price = float(product.price or 0)
    except ValueError:
        price = 0.0
    return CatalogProduct(
        id=product.id,
        title=product.title,
        description=product.description,
        brand=product.brand,
        category=product.category,
        price=price,
        currency=product.currency or "EUR",
        attributes=attributes,
    ).embedding_text()


# -------------------------------------------------------------------------------------- knowledge base
def load_kb(kb_dir: Path) -> list[KbEntry]:
    """The shop's knowledge base, read by retrieval's own loader (the same entries the kb index embeds):
    an entry's first question is its question, the other questions its paraphrases. The responder reads
    English only, so the entries' Chinese text is neither needed nor used here."""
    from retrieval import kb
    from retrieval.errors import CatalogError

    try:
        loaded = kb.load_kb(kb_dir, languages=("en",))
    except CatalogError as exc:
        raise TrainingDataError(kb_dir, str(exc)) from exc
    entries = []
    for entry in loaded:
        question = entry.questions[0] if entry.questions else entry.title
        paraphrases = tuple(q for q in entry.questions if q != question)
        entries.append(KbEntry(entry.id, question, entry.answer, paraphrases, title=entry.title))
    return entries


def load_faq(path: Path) -> list[KbEntry]:
    """The shared ``ecommerce_faq/faq.json`` ({"questions": [{question, answer}]})."""
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = data["questions"] if isinstance(data, Mapping) else data
    return [
        KbEntry(f"faq-{n}", str(r["question"]).strip(), str(r["answer"]).strip(), source="ecommerce_faq")
        for n, r in enumerate(rows)
        if r.get("question") and r.get("answer")
    ]


# -------------------------------------------------------------------------------------------- catalogs
def load_demo_catalog(path: Path) -> list[Product]:
    """``demo_products.csv``: id,title,description,brand,category,price,currency,stock,attributes,image_url."""
    if not path.is_file():
        raise TrainingDataError(path, "demo catalog not found (written by `python -m shop.demo.catalog_gen`)")
    products: list[Product] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for n, row in enumerate(csv.DictReader(handle), start=2):
            try:
                attributes = json.loads(row.get("attributes") or "{}")
            except json.JSONDecodeError as exc:
                raise TrainingDataError(path, f"row {n}: attributes is not JSON ({exc})") from exc
            if not row.get("id") or not row.get("title"):
                raise TrainingDataError(path, f"row {n}: id and title are required")
            products.append(
                Product(
                    id=row["id"],
                    title=row["title"].strip(),
                    brand=(row.get("brand") or "").strip(),
                    category=(row.get("category") or "").strip(),
                    color=_text(attributes.get("color")),
                    price=(row.get("price") or "").strip(),
                    currency=(row.get("currency") or "").strip(),
                    description=(row.get("description") or "").strip(),
                    attributes=dict(attributes),
                    source="demo_catalog",
                )
            )
    return products


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


_GLUED = re.compile(r"(?<=[a-z0-9])(?=[A-Z][a-z])")  # Myntra glues sentences: "lockOne handle"


def load_myntra(path: Path, *, limit: int | None = None, seed: int = 0) -> list[Product]:
    """The shared Myntra catalog (evaluation only); ``limit`` draws a seeded sample of rows."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("ProductID") and r.get("ProductName")]
    if limit is not None and limit < len(rows):
        rows = random.Random(seed).sample(rows, limit)
    products = []
    seen: set[str] = set()
    for r in rows:
        if r["ProductID"] in seen:
            continue
        seen.add(r["ProductID"])
        description = _GLUED.sub(". ", (r.get("Description") or "").strip())
        products.append(
            Product(
                id=f"myntra-{r['ProductID']}",
                title=r["ProductName"].strip(),
                brand=(r.get("ProductBrand") or "").strip(),
                gender=(r.get("Gender") or "").strip(),
                color=(r.get("PrimaryColor") or "").strip(),
                price=(r.get("Price (INR)") or "").strip(),
                currency="INR",
                description=description,
                source="myntra",
            )
        )
    return products


def iter_texts(entries: Iterable[KbEntry]) -> Iterable[str]:
    for e in entries:
        yield e.question
        yield e.answer
