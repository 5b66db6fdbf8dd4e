"""Writes the demo catalog ``training_data/catalog/demo_products.csv`` deterministically.

    python -m shop.demo.catalog_gen [--out training_data/catalog/demo_products.csv]

Columns: id,title,description,brand,category,price,currency,stock,attributes,image_url (price in major units
with two decimals, attributes a JSON object). Descriptions are written to answer the questions shoppers ask
("is this lamp dimmable?", "what sizes does it come in?", "is it waterproof?").
The products and ``BUNDLES`` (keys of products bought together, which drive the seed's co-purchase structure)
are data, in ``catalog_specs.yml``.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from retrieval.catalog import FIELDS as CATALOG_FIELDS
from shop.policy import CURRENCY

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "training_data" / "catalog" / "demo_products.csv"
COLUMNS = CATALOG_FIELDS  # the catalog format retrieval imports
FIRST_ID = 1001
SEED = 20240601
SPECS_FILE = Path(__file__).with_name("catalog_specs.yml")


@dataclass(frozen=True)
class Spec:
    key: str
    title: str
    brand: str
    category: str
    price: str
    blurb: str
    attributes: dict[str, object] = field(default_factory=dict)
    stock: int | None = None  # None: drawn from the seeded RNG


def load_specs(path: Path = SPECS_FILE) -> tuple[tuple[Spec, ...], tuple[tuple[str, ...], ...]]:
    """The products and the bundles (keys bought together) of ``catalog_specs.yml``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    specs = tuple(Spec(**entry) for entry in data["specs"])
    keys = {spec.key for spec in specs}
    bundles = tuple(tuple(bundle) for bundle in data["bundles"])
    unknown = sorted({key for bundle in bundles for key in bundle} - keys)
    if unknown or len(keys) != len(specs):
        raise ValueError(f"{path}: bundles name unknown products {unknown} or a product key repeats")
    return specs, bundles


SPECS, BUNDLES = load_specs()


def product_ids() -> dict[str, str]:
    """key → id (``P-1001`` …) in catalog order."""
    return {spec.key: f"P-{FIRST_ID + i}" for i, spec in enumerate(SPECS)}


def bundle_product_ids() -> list[list[str]]:
    ids = product_ids()
    return [[ids[key] for key in bundle] for bundle in BUNDLES]


def _facts(attrs: dict[str, object]) -> list[str]:
    facts = []
    if "sizes" in attrs:
        facts.append(f"Sizes: {', '.join(map(str, attrs['sizes']))}.")  # type: ignore[call-overload]
    if "color" in attrs:
        facts.append(f"Colours: {', '.join(map(str, attrs['color']))}.")  # type: ignore[call-overload]
    if "material" in attrs:
        facts.append(f"Material: {attrs['material']}.")
    dimmable = attrs.get("dimmable")
    if dimmable is True:
        facts.append("Dimmable: yes.")
    elif dimmable is False:
        facts.append("Dimmable: no.")
    elif isinstance(dimmable, str):
        facts.append(f"Dimmable: {dimmable}.")
    if "wattage_w" in attrs:
        facts.append(f"Power: {attrs['wattage_w']} W.")
    waterproof = attrs.get("waterproof")
    if waterproof is True:
        facts.append("Waterproof: yes.")
    elif waterproof is False:
        facts.append("Waterproof: no" + (" (water-resistant)." if attrs.get("water_resistant") else "."))
    elif isinstance(waterproof, str):
        facts.append(f"Waterproof: {waterproof}.")
    if "care" in attrs:
        facts.append(f"Care: {attrs['care']}.")
    return facts


def build_rows(seed: int = SEED) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i, spec in enumerate(SPECS):
        pid = f"P-{FIRST_ID + i}"
        stock = spec.stock if spec.stock is not None else rng.randint(4, 120)
        rows.append(
            {
                "id": pid,
                "title": spec.title,
                "description": " ".join([spec.blurb, *_facts(spec.attributes)]),
                "brand": spec.brand,
                "category": spec.category,
                "price": spec.price,
                "currency": CURRENCY,
                "stock": str(stock),
                "attributes": json.dumps(spec.attributes, ensure_ascii=False, sort_keys=True),
                "image_url": f"/static/products/{pid}.svg",
            }
        )
    return rows


def write_catalog(out: Path, rows: Sequence[dict[str, str]]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="CSV to write (default: %(default)s)")
    args = parser.parse_args(argv)
    rows = build_rows()
    write_catalog(args.out, rows)
    print(f"wrote {len(rows)} products to {args.out}")  # noqa: T201 (CLI output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
