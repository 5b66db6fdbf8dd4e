from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from retrieval.builder import rebuild, update
from retrieval.catalog import ColumnMapping, load_catalog, preset
from retrieval.catalog_transforms import category_from_title
from retrieval.config import IndexConfig
from retrieval.errors import CatalogError, ConfigError, IndexMetaMismatchError
from retrieval.index import VectorIndex
from tests.retrieval.retrieval_fakes import DEMO_ROWS, FakeEncoder, write_demo_csv

DATA_DIR = Path(os.environ.get("DATA_DIR", Path(__file__).resolve().parents[2] / ".." / "shared" / "data"))


def demo(path: Path):  # type: ignore[no-untyped-def]
    fmt, mapping = preset("demo")
    return load_catalog(path, fmt, mapping)


def test_demo_csv_imports_with_typed_fields(demo_csv: Path) -> None:
    products = demo(demo_csv)
    assert [p.id for p in products] == [r[0] for r in DEMO_ROWS]
    lamp = products[0]
    assert lamp.price == 49.0 and lamp.currency == "EUR" and lamp.stock == 12
    assert lamp.colors == ["black", "white"] and lamp.price_text == "€49.00"
    assert lamp.url == "/products/P-1" and lamp.image_url == "/static/products/P-1.svg"
    assert lamp.title in lamp.embedding_text()


def test_json_with_a_mapping_file(tmp_path: Path) -> None:
    rows = [
        {"sku": "A1", "name": "Red Mug", "cost": "12.5", "colour": "red"},
        {"sku": "A2", "name": "Blue Mug", "cost": 9, "colour": "blue"},
    ]
    (tmp_path / "c.json").write_text(json.dumps({"products": rows}), encoding="utf-8")
    (tmp_path / "m.json").write_text(
        json.dumps(
            {
                "columns": {"id": "sku", "title": "name", "price": "cost"},
                "attribute_columns": {"color": "colour"},
                "defaults": {"currency": "GBP"},
            }
        ),
        encoding="utf-8",
    )
    products = load_catalog(tmp_path / "c.json", "json", ColumnMapping.from_file(tmp_path / "m.json"))
    assert [(p.id, p.price, p.currency, p.colors) for p in products] == [
        ("A1", 12.5, "GBP", ["red"]),
        ("A2", 9.0, "GBP", ["blue"]),
    ]


def test_missing_columns_are_named_with_what_the_file_has(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,name,price\n1,Mug,3\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="'title'") as err:
        demo(path)
    assert "name" in str(err.value)


def test_duplicate_ids_name_both_rows(tmp_path: Path) -> None:
    rows = [DEMO_ROWS[0], DEMO_ROWS[1], DEMO_ROWS[0]]
    with pytest.raises(CatalogError, match=r"row 3.*'id'.*duplicate id 'P-1' \(first seen in row 1\)"):
        demo(write_demo_csv(tmp_path / "d.csv", rows))


def test_bad_encoding_names_byte_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,title,price\n1,Caf\xe9 mug,3\n".encode("latin-1"))
    with pytest.raises(CatalogError, match=r"not valid utf-8 at byte 20 \(line 2\)"):
        demo(path)


def test_bad_encoding_can_be_configured(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,title,price\n1,Caf\xe9 mug,3\n".encode("latin-1"))
    products = load_catalog(path, "csv", ColumnMapping(encoding="latin-1", strict=False))
    assert products[0].title == "Café mug"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,title,price\n", "0 product rows"),
        ("", "0 product rows"),
        ("id,title,price\n1,Mug,abc\n", r"row 1, field 'price'.*not a number"),
        ("id,title,price\n1,Mug,-3\n", r"field 'price'.*≥ 0"),
        ("id,title,price\n1,,3\n", r"field 'title'.*empty title"),
        ("id,title,price,stock\n1,Mug,3,lots\n", r"field 'stock'"),
        ("id,title,price,attributes\n1,Mug,3,not json\n", r"field 'attributes'"),
        ("id,title,price\n1,Mug,3,extra\n", r"row 1.*unquoted comma"),
    ],
)
def test_broken_csv_rows_are_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "c.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogError, match=message):
        demo(path)


def test_broken_json_and_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"products": [1, 2]}', encoding="utf-8")
    with pytest.raises(CatalogError, match="list of product objects"):
        load_catalog(path, "json", ColumnMapping())
    path.write_text("{oops", encoding="utf-8")
    with pytest.raises(CatalogError, match="invalid JSON"):
        load_catalog(path, "json", ColumnMapping())
    with pytest.raises(ConfigError, match="csv"):
        load_catalog(path, "xml", ColumnMapping())
    with pytest.raises(ConfigError, match="myntra"):
        preset("amazon")


def test_parquet_lines_aggregate_to_products(tmp_path: Path) -> None:
    import pandas as pd

    lines = pd.DataFrame(
        {
            "Invoice": ["1", "1", "2", "C3", "4"],
            "StockCode": ["85048", "79323P", "85048", "85048", "POST"],
            "Description": [
                "WHITE HANGING HEART T-LIGHT HOLDER",
                "PINK CHERRY LIGHTS",
                "WHITE HANGING HEART T-LIGHT HOLDER",
                "WHITE HANGING HEART T-LIGHT HOLDER",
                "POSTAGE",
            ],
            "Quantity": [6, 12, 2, -1, 1],
            "Price": [2.55, 6.75, 2.95, 2.55, 18.0],
            "InvoiceDate": ["2009-12-01"] * 5,
            "Customer ID": [1.0] * 5,
            "Country": ["UK"] * 5,
        }
    )
    lines.to_parquet(tmp_path / "lines.parquet")
    fmt, mapping = preset("online_retail")
    products = {p.id: p for p in load_catalog(tmp_path / "lines.parquet", fmt, mapping)}
    assert set(products) == {"85048", "79323P"}  # postage dropped
    assert products["85048"].price == 2.75 and products["85048"].currency == "GBP"
    assert products["85048"].category == "holder"


def test_category_from_title() -> None:
    assert category_from_title("SPYKAR Women Pink Super Skinny Cropped Jeans") == "jeans"
    assert category_from_title("DKNY Unisex Black & Grey Printed Medium Trolley Bag") == "trolley bag"
    assert category_from_title("EthnoVogue Women Kurta Set with Jacket") == "jacket"
    assert category_from_title("Mystery Object") == "other"


# ------------------------------------------------------------------ building from a catalog
def test_rebuild_reuses_unchanged_vectors_and_update_reencodes_only_changes(
    demo_csv: Path, tmp_path: Path
) -> None:
    encoder = FakeEncoder()
    records = [p.record() for p in demo(demo_csv)]
    path = tmp_path / "catalog"
    first = rebuild(path, records, encoder, IndexConfig(), kind="catalog")
    assert (first.added, first.encoded) == (6, 6)
    changed = [dict(r) for r in records[:5]]
    changed[0]["text"] = changed[0]["text"] + " Now with USB-C."
    second = rebuild(path, changed, encoder, IndexConfig(), kind="catalog")
    assert (second.encoded, second.updated, second.removed, second.unchanged) == (1, 1, 1, 4)
    assert len(VectorIndex.load(path)) == 5
    repriced = {**records[1], "price": 10.0, "price_text": "€10.00"}
    new = {**records[5], "id": "P-new"}
    third = update(path, [repriced, new], encoder, IndexConfig(), kind="catalog", remove_ids=["P-3"])
    assert (third.added, third.encoded, third.removed) == (1, 1, 1)
    loaded = VectorIndex.load(path)
    assert loaded.get("P-2")["price"] == 10.0 and "P-3" not in loaded and "P-new" in loaded


def test_rebuild_with_another_model_reencodes_everything(demo_csv: Path, tmp_path: Path) -> None:
    records = [p.record() for p in demo(demo_csv)]
    rebuild(tmp_path / "c", records, FakeEncoder(name="model-a"), IndexConfig(), kind="catalog")
    other = FakeEncoder(name="model-b")
    summary = rebuild(tmp_path / "c", records, other, IndexConfig(), kind="catalog")
    assert summary.encoded == 6 and other.encoded == 6
    with pytest.raises(IndexMetaMismatchError, match="model-a"):
        update(tmp_path / "c", records, FakeEncoder(name="model-a"), IndexConfig(), kind="catalog")


def test_import_cli_reports_broken_file_without_touching_the_index(tmp_path: Path, capsys) -> None:
    from retrieval.import_catalog import main

    path = tmp_path / "c.csv"
    path.write_text("id,title\n1,Mug\n", encoding="utf-8")
    assert main([str(path), "--preset", "demo", "--index-dir", str(tmp_path / "idx"), "-q"]) == 2
    assert "price" in capsys.readouterr().err
    assert not (tmp_path / "idx").exists()


# ------------------------------------------------------------------ the real shared catalogs
def _shared(name: str) -> Path:
    path = DATA_DIR / name
    if not path.exists():
        pytest.skip(f"{path} absent: shared evaluation data is not available here")
    return path


def test_myntra_catalog_imports() -> None:
    fmt, mapping = preset("myntra")
    products = load_catalog(_shared("myntra/catalog.csv"), fmt, mapping)
    assert len(products) >= 12000
    assert all(p.currency == "INR" and p.price > 0 for p in products)
    assert sum(p.category != "other" for p in products) / len(products) > 0.8


def test_online_retail_products_import() -> None:
    fmt, mapping = preset("online_retail")
    products = load_catalog(_shared("online_retail/year_2009_2010.parquet"), fmt, mapping)
    assert 3500 <= len(products) <= 5000
    assert all(p.id[0].isdigit() and p.price > 0 for p in products)


# ------------------------------------------------------------------ streaming and --limit (issue 10)
def _csv_with_bad_row_6(path: Path, good_rows: int = 5, extra_rows: int = 0) -> Path:
    lines = ["id,title,price"] + [f"P-{i},Mug {i},{i}.50" for i in range(1, good_rows + 1)]
    lines.append("P-6,Broken mug,not-a-price")
    lines += [f"P-{i},Mug {i},1" for i in range(7, 7 + extra_rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_limit_stops_reading_before_a_malformed_row_6(tmp_path: Path) -> None:
    path = _csv_with_bad_row_6(tmp_path / "c.csv")
    fmt, mapping = preset("demo")
    assert [p.id for p in load_catalog(path, fmt, mapping, limit=5)] == [f"P-{i}" for i in range(1, 6)]
    with pytest.raises(CatalogError, match=r"row 6, field 'price'"):
        load_catalog(path, fmt, mapping)


def test_json_limit_never_parses_past_the_limit(tmp_path: Path) -> None:
    items = ",\n".join(json.dumps({"id": f"J-{i}", "title": f"Cup {i}", "price": i}) for i in range(1, 6))
    path = tmp_path / "c.json"
    path.write_text(
        '{"shop": {"name": "x"}, "products": [' + items + ', {"id": "J-6", oops', encoding="utf-8"
    )
    assert [p.id for p in load_catalog(path, "json", ColumnMapping(strict=False), limit=5)] == [
        f"J-{i}" for i in range(1, 6)
    ]
    with pytest.raises(CatalogError, match="invalid JSON"):
        load_catalog(path, "json", ColumnMapping(strict=False))


def test_json_is_streamed_across_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from retrieval import catalog_rows

    monkeypatch.setattr(catalog_rows, "CHUNK_BYTES", 7)  # every value straddles chunks
    rows = [{"id": f"K-{i}", "title": f"Bowl {i} ☕", "price": 1234.5 + i, "stock": 10**6} for i in range(40)]
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"items": rows}, ensure_ascii=False, indent=1), encoding="utf-8")
    products = load_catalog(path, "json", ColumnMapping(strict=False))
    assert [(p.id, p.price, p.stock) for p in products] == [(r["id"], r["price"], 10**6) for r in rows]
    assert products[3].title == "Bowl 3 ☕"


def test_limit_on_a_large_file_reads_only_what_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tracemalloc

    from retrieval import catalog

    path = _csv_with_bad_row_6(tmp_path / "big.csv", extra_rows=300_000)
    assert path.stat().st_size > 5_000_000
    consumed = 0
    real_product = catalog._product

    def counting_product(*args: object, **kwargs: object) -> catalog.Product:
        nonlocal consumed
        consumed += 1
        return real_product(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(catalog, "_product", counting_product)
    fmt, mapping = preset("demo")
    tracemalloc.start()
    try:
        products = load_catalog(path, fmt, mapping, limit=5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(products) == 5 and consumed == 5
    assert peak < 1_000_000, f"peak {peak} bytes for 5 rows of a {path.stat().st_size}-byte file"


def test_import_cli_limit_imports_five_from_a_file_broken_at_row_6(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from retrieval import import_catalog

    class ConfiguredFake(FakeEncoder):
        config: dict[str, str] = {}  # noqa: RUF012

    monkeypatch.setattr(import_catalog, "SentenceTransformerEncoder", lambda config: ConfiguredFake())
    path = _csv_with_bad_row_6(tmp_path / "c.csv", extra_rows=50)
    args = [str(path), "--preset", "demo", "--index-dir", str(tmp_path / "idx"), "-q"]
    assert import_catalog.main([*args, "--limit", "5"]) == 0
    assert "5 products" in capsys.readouterr().out
    assert len(VectorIndex.load(tmp_path / "idx" / "catalog")) == 5
    assert import_catalog.main(args) == 2
    assert "row 6" in capsys.readouterr().err


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_csv_line_endings_and_quoted_newlines_stream_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newline: str
) -> None:
    from retrieval import catalog_rows

    monkeypatch.setattr(catalog_rows, "CHUNK_BYTES", 5)
    rows = ["id,title,description,price", '1,Mug,"two' + newline + 'lines",3', "2,Cup,plain,4.5"]
    path = tmp_path / "c.csv"
    path.write_bytes((newline.join(rows) + newline).encode("utf-8"))
    products = load_catalog(path, "csv", ColumnMapping(strict=False))
    assert [(p.id, p.description, p.price) for p in products] == [
        ("1", f"two{newline}lines", 3.0),
        ("2", "plain", 4.5),
    ]
