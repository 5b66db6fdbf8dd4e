"""Reading a shop's catalog (CSV, JSON or parquet) into validated product records.

Columns are mapped by configuration (:class:`ColumnMapping`, a JSON file or a named preset), so any shop's
export can be imported.  Every problem is a :class:`~retrieval.errors.CatalogError` naming the file, the row
(1-based, counting data rows; the CSV line is row + 1) and the field.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrieval.catalog_rows import MAX_DESCRIPTION_CHARS, is_missing, open_rows
from retrieval.catalog_transforms import TRANSFORMS
from retrieval.errors import CatalogError, ConfigError

logger = logging.getLogger(__name__)

FIELDS = (
    "id",
    "title",
    "description",
    "brand",
    "category",
    "price",
    "currency",
    "stock",
    "attributes",
    "image_url",
)
REQUIRED = ("id", "title", "price")
RECORD_VERSION = 2  # bump when Product.record() or embedding_text() change: indexes rebuild
CURRENCY_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$", "INR": "₹", "JPY": "¥"}


@dataclass(frozen=True)
class ColumnMapping:
    """Which source column feeds which catalog field.

    ``columns`` maps catalog fields (see :data:`FIELDS`) to source column names; ``attribute_columns`` maps
    attribute names (``color``, ``gender``…) to source columns; ``defaults`` fills fields the source lacks;
    ``transform`` names a preset-specific reshaping (see :data:`TRANSFORMS`).
    """

    columns: Mapping[str, str] = field(default_factory=lambda: {f: f for f in FIELDS})
    attribute_columns: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    transform: str | None = None
    url_template: str = "/products/{id}"
    encoding: str = "utf-8"
    strict: bool = (
        True  # False: optional mapped columns may be absent (the identity mapping of the demo format)
    )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: object = "mapping") -> ColumnMapping:
        unknown = set(data) - {
            "columns",
            "attribute_columns",
            "defaults",
            "transform",
            "url_template",
            "encoding",
            "strict",
        }
        if unknown:
            raise CatalogError(
                source,
                f"unknown mapping keys {sorted(unknown)}; valid: columns, attribute_columns, "
                "defaults, transform, url_template, encoding",
            )
        columns = dict(data.get("columns", {}))
        bad = set(columns) - set(FIELDS)
        if bad:
            raise CatalogError(
                source, f"unknown catalog fields {sorted(bad)} in columns; valid: {', '.join(FIELDS)}"
            )
        transform = data.get("transform")
        if transform is not None and transform not in TRANSFORMS:
            raise ConfigError("transform", transform, sorted(TRANSFORMS))
        return cls(
            columns=columns,
            attribute_columns=dict(data.get("attribute_columns", {})),
            defaults=dict(data.get("defaults", {})),
            transform=transform,
            url_template=data.get("url_template", "/products/{id}"),
            encoding=data.get("encoding", "utf-8"),
            strict=bool(data.get("strict", True)),
        )

    @classmethod
    def from_file(cls, path: str | Path) -> ColumnMapping:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CatalogError(path, f"cannot read mapping: {exc}") from exc
        return cls.from_dict(data, path)


@dataclass(frozen=True)
class Product:
    id: str
    title: str
    description: str = ""
    brand: str = ""
    category: str = ""
    price: float = 0.0
    currency: str = "EUR"
    stock: int | None = None  # None: the source does not say
    attributes: Mapping[str, Any] = field(default_factory=dict)
    image_url: str = ""
    url: str = ""

    @property
    def colors(self) -> list[str]:
        value = self.attributes.get("color", self.attributes.get("colors", ""))
        values = value if isinstance(value, list) else re.split(r"\s*[,/&]\s*", str(value or ""))
        return [str(v).strip().lower() for v in values if str(v).strip()]

    @property
    def price_text(self) -> str:
        symbol = CURRENCY_SYMBOLS.get(self.currency)
        return f"{symbol}{self.price:,.2f}" if symbol else f"{self.price:,.2f} {self.currency}"

    def embedding_text(self, max_description_chars: int = 400) -> str:
        """The text that is embedded: title first (it carries most of the signal), then facets, then prose."""
        facets = [self.brand, self.category]
        for key, value in self.attributes.items():
            if key == "gender" or isinstance(value, (str, int, float)):
                facets.append(f"{key} {value}")
            elif isinstance(value, list):
                facets.append(f"{key} " + ", ".join(str(v) for v in value[:8]))
        facet_text = "; ".join(f for f in facets if f)
        return f"{self.title}. {facet_text}. {self.description[:max_description_chars]}".strip()

    def record(self) -> dict[str, Any]:
        """The payload stored beside the vector."""
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "brand": self.brand,
            "category": self.category,
            "price": self.price,
            "currency": self.currency,
            "stock": self.stock,
            "attributes": dict(self.attributes),
            "image_url": self.image_url,
            "url": self.url,
            "colors": self.colors,
            "price_text": self.price_text,
            "text": self.embedding_text(),
        }


# ----------------------------------------------------------------------------------------- presets

PRESETS: dict[str, tuple[str, ColumnMapping]] = {
    "demo": ("csv", ColumnMapping(strict=False)),
    "myntra": (
        "csv",
        ColumnMapping(
            columns={
                "id": "ProductID",
                "title": "ProductName",
                "description": "Description",
                "brand": "ProductBrand",
                "price": "Price (INR)",
                "category": "category",
            },
            attribute_columns={"color": "PrimaryColor", "gender": "Gender"},
            defaults={"currency": "INR"},
            transform="myntra",
        ),
    ),
    "online_retail": (
        "parquet",
        ColumnMapping(
            columns={"id": "StockCode", "title": "Description", "price": "Price", "category": "category"},
            defaults={"currency": "GBP", "brand": ""},
            transform="online_retail_lines",
        ),
    ),
}


def preset(name: str) -> tuple[str, ColumnMapping]:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError("catalog preset", name, sorted(PRESETS)) from None


# ----------------------------------------------------------------------------------------- reading
# Rows are streamed (retrieval.catalog_rows): memory holds one row (and the products kept), never the file.


def _check_columns(path: object, mapping: ColumnMapping, available: set[str], *, required_only: bool) -> None:
    needed = {f: c for f, c in mapping.columns.items() if c}
    missing = [
        f"{c!r} (for {f})"
        for f, c in needed.items()
        if c not in available
        and f not in mapping.defaults
        and (f in REQUIRED or (mapping.strict and not required_only))
    ]
    if not required_only:
        missing += [
            f"{c!r} (attribute {a})" for a, c in mapping.attribute_columns.items() if c not in available
        ]
    if missing:
        raise CatalogError(
            path, f"missing column(s) {', '.join(missing)}; the file has: {', '.join(sorted(available))}"
        )


def iter_catalog(
    path: str | Path, fmt: str, mapping: ColumnMapping, limit: int | None = None
) -> Iterator[Product]:
    """Stream, map and validate a catalog file; stops reading after ``limit`` products.

    Raises :class:`CatalogError` on the first bad row (rows after ``limit`` are never read).
    """
    if limit is not None and limit < 1:
        raise ConfigError("limit", limit, "a whole number >= 1")
    needed = {f: c for f, c in mapping.columns.items() if c}
    required_missing = [f for f in REQUIRED if f not in needed and f not in mapping.defaults]
    if required_missing:
        raise CatalogError(
            path, f"the mapping gives no column for required field(s) {', '.join(required_missing)}"
        )
    stream = open_rows(path, fmt, mapping.encoding)
    rows: Iterable[dict[str, Any]] = stream.rows
    columns = stream.columns
    if mapping.transform:
        transform = TRANSFORMS[mapping.transform]
        rows = transform.rows(rows, path)
        columns = None if columns is None else transform.columns(columns)
    first_row: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        if number == 1:  # without a header (JSON), the first object must have the required keys
            known = set(row) if columns is None else set(columns)
            _check_columns(path, mapping, known, required_only=columns is None)
        product = _product(row, number, path, mapping)
        if product.id in first_row:
            raise CatalogError(
                path,
                f"duplicate id {product.id!r} (first seen in row {first_row[product.id]})",
                row=number,
                field="id",
            )
        first_row[product.id] = number
        yield product
        if limit is not None and number >= limit:
            break
    if not first_row:
        raise CatalogError(path, "the catalog has 0 product rows")
    if columns is None:  # JSON: every mapped column must appear in some row read
        _check_columns(path, mapping, stream.seen_columns, required_only=False)


def load_catalog(
    path: str | Path, fmt: str, mapping: ColumnMapping, limit: int | None = None
) -> list[Product]:
    """Read, map and validate a catalog file (streamed; ``limit``: only the first N products are read)."""
    products = list(iter_catalog(path, fmt, mapping, limit))
    logger.info("read %d products from %s", len(products), path)
    return products


def _value(row: Mapping[str, Any], mapping: ColumnMapping, name: str) -> Any:
    column = mapping.columns.get(name)
    value = row.get(column) if column else None
    if is_missing(value) or value == "":
        value = mapping.defaults.get(name)
    return value


def _product(row: Mapping[str, Any], number: int, path: object, mapping: ColumnMapping) -> Product:
    def text(name: str) -> str:
        value = _value(row, mapping, name)
        return "" if is_missing(value) else str(value).strip()

    item_id = text("id")
    if item_id.endswith(".0") and item_id[:-2].isdigit():  # numeric ids read back as floats
        item_id = item_id[:-2]
    if not item_id:
        raise CatalogError(path, "empty id", row=number, field="id")
    title = text("title")
    if not title:
        raise CatalogError(path, "empty title", row=number, field="title")
    price_raw = _value(row, mapping, "price")
    if is_missing(price_raw) or not str(price_raw).strip():
        raise CatalogError(path, "price is missing (every product needs one)", row=number, field="price")
    description = text("description")
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise CatalogError(
            path,
            f"description is {len(description):,} characters; at most {MAX_DESCRIPTION_CHARS:,} are accepted",
            row=number,
            field="description",
        )
    try:
        price = float(str(price_raw).replace(",", "").strip().lstrip("€£$₹"))
    except (TypeError, ValueError):
        raise CatalogError(path, f"price {price_raw!r} is not a number", row=number, field="price") from None
    if not math.isfinite(price) or price < 0:
        raise CatalogError(path, f"price {price_raw!r} must be a number ≥ 0", row=number, field="price")
    stock_raw = _value(row, mapping, "stock")
    stock: int | None = None
    if not is_missing(stock_raw) and str(stock_raw).strip() != "":
        try:
            stock = int(float(str(stock_raw)))
        except ValueError:
            raise CatalogError(
                path, f"stock {stock_raw!r} is not a whole number", row=number, field="stock"
            ) from None
        if stock < 0:
            raise CatalogError(path, f"stock {stock_raw!r} is negative", row=number, field="stock")
    attributes: dict[str, Any] = {}
    attr_raw = _value(row, mapping, "attributes")
    if isinstance(attr_raw, Mapping):
        attributes.update(attr_raw)
    elif isinstance(attr_raw, str) and attr_raw.strip():
        try:
            parsed = json.loads(attr_raw)
        except ValueError:
            raise CatalogError(
                path, f"attributes {attr_raw[:60]!r} is not a JSON object", row=number, field="attributes"
            ) from None
        if not isinstance(parsed, dict):
            raise CatalogError(path, "attributes must be a JSON object", row=number, field="attributes")
        attributes.update(parsed)
    for attr, column in mapping.attribute_columns.items():
        value = row.get(column)
        if not is_missing(value) and str(value).strip():
            attributes[attr] = str(value).strip()
    currency = (text("currency") or "EUR").upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise CatalogError(
            path, f"currency {currency!r} is not an ISO 4217 code such as EUR", row=number, field="currency"
        )
    return Product(
        id=item_id,
        title=title,
        description=description,
        brand=text("brand"),
        category=text("category").lower(),
        price=round(price, 2),
        currency=currency,
        stock=stock,
        attributes=attributes,
        image_url=text("image_url"),
        url=mapping.url_template.format(id=item_id),
    )
