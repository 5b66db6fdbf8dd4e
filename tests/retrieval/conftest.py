"""Fixtures for the retrieval tests: a deterministic bag-of-words encoder and small catalogs on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.config import IndexConfig, RetrievalConfig
from tests.retrieval.retrieval_fakes import KB_YAML, FakeEncoder, write_demo_csv


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def demo_csv(tmp_path: Path) -> Path:
    return write_demo_csv(tmp_path / "demo.csv")


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    root.mkdir()
    (root / "test.yml").write_text(KB_YAML, encoding="utf-8")
    return root


@pytest.fixture
def built_index_dir(tmp_path: Path, demo_csv: Path, kb_dir: Path, fake_encoder: FakeEncoder) -> Path:
    from retrieval.build import build_catalog, build_kb
    from retrieval.catalog import preset

    index_dir = tmp_path / "index"
    build_kb(kb_dir, index_dir, fake_encoder, IndexConfig())
    fmt, mapping = preset("demo")
    build_catalog(demo_csv, fmt, mapping, index_dir, fake_encoder, IndexConfig())
    return index_dir


@pytest.fixture
def service(built_index_dir: Path, fake_encoder: FakeEncoder):  # type: ignore[no-untyped-def]
    from retrieval.config import RankConfig
    from retrieval.ranker import BiEncoderRanker
    from retrieval.service import RetrievalService

    config = RetrievalConfig(
        index_dir=built_index_dir,
        product_rank=RankConfig(answer=0.5, clarify=0.2),
        kb_rank=RankConfig(answer=0.5, clarify=0.25),
    )
    return RetrievalService(config, encoder=fake_encoder, ranker=BiEncoderRanker(config.kb_rank))
