"""sentiment.model: the fine-tuned classifier's artifact, its checks at load, and FineTunedScorer.predict."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from sentiment.errors import SentimentModelError
from sentiment.loading import load_scorer
from sentiment.model import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    FineTunedScorer,
    artifact_config,
    build_net,
    read_config,
    save_model,
)
from sentiment.types import LABELS, NOT_JUDGED

TEXTS = ["I love it", "这个太差了", "where is my parcel", "Not good at all, very disappointed."]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer model (bottom layer frozen) with a random head: what training writes, without the training."""
    torch.manual_seed(0)
    net = build_net(2)
    with torch.no_grad():
        net.head.weight.normal_(0, 0.5)
    out = tmp_path_factory.mktemp("sentiment")
    save_model(
        net,
        artifact_config(
            layers=2, frozen_layers=1, max_len=32, quantize="none", training={"name": "t"}, metrics={}
        ),
        out,
    )
    return out


@pytest.fixture(scope="module")
def scorer(model_dir: Path) -> FineTunedScorer:
    return FineTunedScorer.load(model_dir)


def _copy(model_dir: Path, dest: Path, **changes: object) -> Path:
    dest.mkdir()
    (dest / WEIGHTS_FILE).write_bytes((model_dir / WEIGHTS_FILE).read_bytes())
    config = json.loads((model_dir / CONFIG_FILE).read_text())
    config.update(changes)
    (dest / CONFIG_FILE).write_text(json.dumps(config))
    return dest


def test_artifact_holds_only_the_trained_layers(model_dir: Path) -> None:
    from safetensors.torch import load_file

    keys = set(load_file(str(model_dir / WEIGHTS_FILE)))
    assert "head.weight" in keys
    assert any(k.startswith("bert.encoder.layer.1.") for k in keys)
    assert not any(k.startswith(("bert.encoder.layer.0.", "bert.embeddings.")) for k in keys)
    assert (model_dir / WEIGHTS_FILE).stat().st_size < 5_000_000
    config = read_config(model_dir)
    assert config["labels"] == list(LABELS) and config["layers"] == 2 and config["encoder"]["sha256"]


def test_predictions_keep_order_and_follow_the_probabilities(scorer: FineTunedScorer) -> None:
    preds = scorer.predict(TEXTS)
    probs = scorer.probabilities(TEXTS)
    for pred, p in zip(preds, probs.tolist(), strict=True):
        assert pred.judged
        assert pred.label == LABELS[max(range(3), key=p.__getitem__)]
        assert pred.score == pytest.approx(p[2] - p[0], abs=1e-6)
    # batching and length-sorting do not mix texts up
    one_by_one = [scorer.predict([t])[0] for t in TEXTS]
    assert [p.label for p in one_by_one] == [p.label for p in preds]
    assert [p.score for p in one_by_one] == pytest.approx([p.score for p in preds], abs=1e-5)


def test_texts_without_words_are_not_judged(scorer: FineTunedScorer) -> None:
    preds = scorer.predict(["", "   ", "😡😡", "12345", "I love it"])
    assert preds[:4] == [NOT_JUDGED] * 4
    assert preds[4].judged
    assert scorer.predict([]) == []


def test_reload_gives_the_same_predictions(model_dir: Path, scorer: FineTunedScorer) -> None:
    again = load_scorer(model_dir)
    assert isinstance(again, FineTunedScorer)
    assert torch.allclose(again.probabilities(TEXTS), scorer.probabilities(TEXTS))


def test_int8_quantised_model_stays_close(model_dir: Path, scorer: FineTunedScorer) -> None:
    int8 = FineTunedScorer.load(model_dir, quantize="int8")
    assert int8.net is not scorer.net
    assert (int8.probabilities(TEXTS) - scorer.probabilities(TEXTS)).abs().max() < 0.1


def test_concurrent_predictions_are_the_sequential_ones(scorer: FineTunedScorer) -> None:
    expected = [scorer.predict([t])[0].score for t in TEXTS]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda t: scorer.predict([t])[0].score, TEXTS * 3))
    assert results == pytest.approx(expected * 3, abs=1e-6)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not readable JSON"),
        ('{"format": "sentence-transformers"}', "is not a ShopDesk sentiment model"),
        ("[1, 2]", "is not a ShopDesk sentiment model"),
    ],
)
def test_corrupt_or_foreign_config_names_the_file(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / CONFIG_FILE).write_text(content)
    with pytest.raises(SentimentModelError, match=message) as info:
        FineTunedScorer.load(tmp_path)
    assert str(tmp_path / CONFIG_FILE) in str(info.value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"labels": ["neg", "pos"]}, "labels"),
        ({"frozen_layers": 2}, "frozen_layers 2"),
        ({"max_len": 4096}, "max_len 4096"),
        ({"format_version": 99}, "format_version 99"),
        ({"inference": {"quantize": "int4"}}, "'int4'"),
        ({"encoder": {"sha256": "0" * 64}}, "sha256 000000000000"),
    ],
)
def test_inconsistent_config_is_refused(model_dir: Path, tmp_path: Path, changes: dict, message: str) -> None:
    bad = _copy(model_dir, tmp_path / "m", **changes)
    with pytest.raises(SentimentModelError, match=message):
        load_scorer(bad)


def test_missing_or_mismatched_weights_are_refused(model_dir: Path, tmp_path: Path) -> None:
    gone = _copy(model_dir, tmp_path / "gone")
    (gone / WEIGHTS_FILE).unlink()
    with pytest.raises(SentimentModelError, match=r"weights\.safetensors is missing"):
        load_scorer(gone)
    corrupt = _copy(model_dir, tmp_path / "corrupt")
    (corrupt / WEIGHTS_FILE).write_bytes(b"\x00" * 16)
    with pytest.raises(SentimentModelError, match="not a readable safetensors file"):
        load_scorer(corrupt)
    other = _copy(model_dir, tmp_path / "other", layers=3, frozen_layers=1)
    with pytest.raises(SentimentModelError, match="does not fit"):
        load_scorer(other)


def test_importing_sets_no_thread_count() -> None:
    code = (
        "import torch; torch.set_num_threads(1); "
        "import sentiment.model, sentiment.finetune, sentiment.e5_bert; "
        "assert torch.get_num_threads() == 1, torch.get_num_threads()"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
