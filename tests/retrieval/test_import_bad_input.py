"""Bad catalog imports: each is a clear error naming the row and value (or a sensible result), and nothing is
half-imported: a failed import leaves the old version serving and no version directory behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retrieval.catalog import ColumnMapping, preset
from retrieval.config import RetrievalConfig
from retrieval.errors import CatalogError, ConfigError, EncoderError, UnknownItemError
from retrieval.import_catalog import ImportJob, run_import
from retrieval.service import RetrievalService
from tests.retrieval.retrieval_fakes import DEMO_ROWS, FakeEncoder, write_demo_csv

HEADER = "id,title,description,price\n"


def job(path: Path, index_dir: Path, **changes: Any) -> ImportJob:
    fmt, mapping = preset("demo")
    fmt = "json" if path.suffix == ".json" else fmt
    return ImportJob(file=path, fmt=fmt, mapping=mapping, index_dir=index_dir, **changes)


def listing(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir())


@pytest.fixture
def imported(tmp_path: Path, fake_encoder: FakeEncoder) -> Path:
    """An index dir holding the demo catalog, imported the way ``make import-catalog`` does."""
    index_dir = tmp_path / "index"
    run_import(job(write_demo_csv(tmp_path / "demo.csv"), index_dir), fake_encoder)
    return index_dir


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (HEADER + "1,Mug,A mug,\n", r"row 1, field 'price': price is missing"),
        ('[{"id": "1", "title": "Mug"}]', r"missing column\(s\) 'price'.*the file has: id, title"),
        (
            '[{"id": "1", "title": "Mug", "price": 3}, {"id": "2", "title": "Jug"}]',
            r"row 2, field 'price': price is",
        ),
        ('[{"id": "1", "title": "Mug", "price": null}]', r"row 1, field 'price': price is missing"),
        (HEADER + "1,Mug,A mug,3\n1,Mug again,A mug,4\n", r"row 2, field 'id'.*duplicate id '1'"),
        ("[]", "0 product rows"),
        (HEADER, "0 product rows"),
    ],
)
def test_bad_files_name_the_row_and_nothing_changes(
    imported: Path, tmp_path: Path, fake_encoder: FakeEncoder, content: str, message: str
) -> None:
    before = listing(imported)
    path = tmp_path / ("bad.json" if content.startswith("[") else "bad.csv")
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogError, match=message):
        run_import(job(path, imported), fake_encoder)
    assert listing(imported) == before and fake_encoder.encoded == len(DEMO_ROWS)


def test_a_10_mb_description_is_refused_naming_the_row(imported: Path, tmp_path: Path) -> None:
    huge = "x" * 10_000_000
    path = tmp_path / "huge.csv"
    path.write_text(HEADER + f"1,Mug,short,3\n2,Jug,{huge},4\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"row 2.*longer than 131,072 characters"):
        run_import(job(path, imported), FakeEncoder())
    path = tmp_path / "huge.json"
    path.write_text(
        json.dumps([{"id": "2", "title": "Jug", "price": 4, "description": huge}]), encoding="utf-8"
    )
    with pytest.raises(
        CatalogError, match=r"row 1, field 'description': description is 10,000,000 characters"
    ):
        run_import(job(path, imported), FakeEncoder())


def test_broken_encodings(imported: Path, tmp_path: Path) -> None:
    before = listing(imported)
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "1,Caf\xe9 mug,Mug,3\n").encode("latin-1"))
    with pytest.raises(CatalogError, match=r"not valid utf-8 at byte 32 \(line 2\).*encoding"):
        run_import(job(path, imported), FakeEncoder())
    broken = tmp_path / "broken.json"
    broken.write_bytes(b'[{"id": "1", "title": "Mug \xff\xfe", "price": 3}]')
    with pytest.raises(CatalogError, match=r"not valid utf-8 at byte 27"):
        run_import(job(broken, imported), FakeEncoder())
    assert listing(imported) == before
    latin = ImportJob(
        file=path, fmt="csv", mapping=ColumnMapping(encoding="latin-1", strict=False), index_dir=imported
    )
    assert run_import(latin, FakeEncoder()).products == 1  # the mapping names the encoding: imported


def test_an_encoder_failing_mid_import_leaves_no_version_behind(imported: Path, demo_csv: Path) -> None:
    class Failing(FakeEncoder):
        def encode(self, texts: Any, *, show_progress: bool = False) -> np.ndarray:
            raise EncoderError("out of memory")

    before = listing(imported)
    changed = write_demo_csv(demo_csv, [(*DEMO_ROWS[0][:2], "A new description.", *DEMO_ROWS[0][3:])])
    with pytest.raises(EncoderError):
        run_import(job(changed, imported), Failing())
    assert listing(imported) == before


def test_remove_needs_update_and_an_unknown_id_writes_nothing(
    imported: Path, demo_csv: Path, fake_encoder: FakeEncoder
) -> None:
    before = listing(imported)
    with pytest.raises(ConfigError, match=r"remove \['P-1'\]"):
        run_import(job(demo_csv, imported, remove=("P-1",)), fake_encoder)
    with pytest.raises(UnknownItemError, match="'P-404'"):
        run_import(job(demo_csv, imported, update=True, remove=("P-404",)), fake_encoder)
    assert listing(imported) == before


def test_a_catalog_of_one_product_searches_and_recommends(tmp_path: Path, fake_encoder: FakeEncoder) -> None:
    index_dir = tmp_path / "index"
    one = write_demo_csv(tmp_path / "one.csv", [DEMO_ROWS[3]])
    summary = run_import(job(one, index_dir), fake_encoder)
    assert (summary.products, summary.summaries[0].added) == (1, 1)
    service = RetrievalService(RetrievalConfig(index_dir=index_dir), encoder=fake_encoder)
    assert [h.id for h in service.search_products("trolley bag").ranked.hits] == ["P-4"]
    recs = service.recommender([])
    assert [r.id for r in recs.popular(k=4)] == ["P-4"] and recs.similar("P-4", k=4) == []
    with pytest.raises(ConfigError, match=r"IVF16,Flat.*Flat for small shops"):
        run_import(job(one, tmp_path / "ivf", factory="IVF16,Flat"), fake_encoder)
