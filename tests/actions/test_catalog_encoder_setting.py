"""SHOPDESK_CATALOG_ENCODER: validated with the other settings, and the start refuses an index built by another
encoder than the configured one (naming both)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actions.services import retrieval_service
from actions.settings import Settings, SettingsError
from retrieval.build import build_catalog
from retrieval.catalog import preset
from retrieval.catalog_encoder import ADAPT_META
from retrieval.config import DEFAULT_MODEL, IndexConfig
from retrieval.encoder import model_identity
from tests.retrieval.retrieval_fakes import FakeEncoder, write_demo_csv


def _model(path: Path, answer: float = 0.61) -> Path:
    path.mkdir(parents=True)
    (path / "modules.json").write_text("[]", encoding="utf-8")
    (path / "model.safetensors").write_bytes(b"weights")
    serving = {"product_rank": {"answer": answer, "clarify": 0.4, "margin": 0.03}, "lexical_weight": 0.1}
    (path / ADAPT_META).write_text(json.dumps({"serving": serving}), encoding="utf-8")
    return path


def test_the_setting_is_read_and_checked(tmp_path: Path) -> None:
    assert Settings.from_env({}).catalog_encoder is None
    assert Settings.from_env({"SHOPDESK_CATALOG_ENCODER": " "}).catalog_encoder is None
    model = _model(tmp_path / "adapted")
    assert Settings.from_env({"SHOPDESK_CATALOG_ENCODER": str(model)}).catalog_encoder == model
    with pytest.raises(SettingsError, match=r"SHOPDESK_CATALOG_ENCODER=.*not-there.*sentence-transformers"):
        Settings.from_env({"SHOPDESK_CATALOG_ENCODER": str(tmp_path / "not-there")})
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "modules.json").write_text("[]", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"SHOPDESK_CATALOG_ENCODER=.*adapt.json"):
        Settings.from_env({"SHOPDESK_CATALOG_ENCODER": str(tmp_path / "plain")})


def test_the_start_refuses_an_index_built_by_another_encoder(tmp_path: Path) -> None:
    """Fails on the old code: the action server started and searched the adapted vectors with the stock model."""
    model = _model(tmp_path / "shop-adapted")
    index_dir = tmp_path / "index"
    fmt, mapping = preset("demo")
    adapted = FakeEncoder(name=model_identity(str(model)))
    build_catalog(write_demo_csv(tmp_path / "demo.csv"), fmt, mapping, index_dir, adapted, IndexConfig())

    with pytest.raises(SettingsError) as refused:
        retrieval_service(Settings(index_dir=index_dir))
    message = str(refused.value)
    assert "SHOPDESK_CATALOG_ENCODER" in message and adapted.name in message and DEFAULT_MODEL in message

    service = retrieval_service(Settings(index_dir=index_dir, catalog_encoder=model))
    assert service.config.catalog_encoder is not None and service.config.catalog_encoder.model == str(model)
    assert service.config.product_rank.answer == 0.61 and service.config.hybrid.lexical_weight == 0.1
    assert service.config.encoder.model == DEFAULT_MODEL  # the KB keeps the stock model

    other = _model(tmp_path / "other", answer=0.7)
    with pytest.raises(SettingsError, match="other@"):
        retrieval_service(Settings(index_dir=index_dir, catalog_encoder=other))
