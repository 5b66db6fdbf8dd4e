"""SHOPDESK_CATALOG_ENCODER in the console: checked at start; the admin's catalog import builds with that model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.catalog_admin import CatalogImporter
from bot.errors import ConfigError
from bot.settings import from_env
from retrieval.catalog_encoder import ADAPT_META, default_serving
from retrieval.config import DEFAULT_MODEL


def test_the_console_reads_and_checks_the_catalog_encoder(tmp_path: Path) -> None:
    assert from_env({}).catalog_encoder is None
    model = tmp_path / "adapted"
    model.mkdir()
    (model / "modules.json").write_text("[]", encoding="utf-8")
    with pytest.raises(ConfigError, match="SHOPDESK_CATALOG_ENCODER"):
        from_env({"SHOPDESK_CATALOG_ENCODER": str(model)})  # no adapt.json
    (model / ADAPT_META).write_text(json.dumps({"serving": default_serving()}), encoding="utf-8")
    settings = from_env({"SHOPDESK_CATALOG_ENCODER": str(model)})
    assert settings.catalog_encoder == model

    assert CatalogImporter(tmp_path / "index").encoder_config.model == DEFAULT_MODEL
    importer = CatalogImporter(tmp_path / "index", catalog_model=settings.catalog_encoder)
    assert importer.encoder_config.model == str(model)
