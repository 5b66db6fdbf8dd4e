"""sentiment.finetune: configurations, device selection, balanced sampling, metrics and a tiny real training."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from sentiment.errors import SentimentError
from sentiment.finetune import (
    CONFIGS,
    FinetuneConfig,
    balanced_sample,
    evaluate,
    get_config,
    select_device,
    train,
)
from sentiment.loading import load_scorer
from sentiment.model import CONFIG_FILE, FineTunedScorer
from sentiment.types import Example, Prediction

POSITIVE_EN = ["I love this dress", "great quality, fits well", "wonderful, would buy again", "perfect gift"]
NEGATIVE_EN = [
    "awful, it broke",
    "terrible fit and cheap fabric",
    "I hate it, returning it",
    "worst purchase",
]
NEUTRAL_EN = ["where is my order", "do you ship to Canada", "what sizes are there", "I ordered on Monday"]
POSITIVE_ZH = ["质量很好，很喜欢", "非常满意，物流也快", "东西不错，推荐", "很漂亮，好评"]
NEGATIVE_ZH = ["质量太差了", "很失望，退货", "客服态度很差", "用了一天就坏了"]


def _examples() -> list[Example]:
    rows = [(POSITIVE_EN, "positive", "en"), (NEGATIVE_EN, "negative", "en"), (NEUTRAL_EN, "neutral", "en")]
    rows += [(POSITIVE_ZH, "positive", "zh"), (NEGATIVE_ZH, "negative", "zh")]
    return [Example(t, label, lang, "test") for texts, label, lang in rows for t in texts]  # type: ignore[arg-type]


def test_the_three_named_configs_exist_and_gpu_full_wants_cuda() -> None:
    assert set(CONFIGS) == {"cpu_ci", "cpu_small", "gpu_full"}
    assert CONFIGS["gpu_full"].device == "cuda" and CONFIGS["gpu_full"].frozen_layers == 0
    assert CONFIGS["cpu_ci"].device == CONFIGS["cpu_small"].device == "cpu"
    with pytest.raises(SentimentError, match="'tpu_huge' is not one of cpu_ci, cpu_small, gpu_full"):
        get_config("tpu_huge")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"layers": 13}, "layers 13"),
        ({"frozen_layers": 6, "layers": 6}, "frozen_layers 6"),
        ({"max_len": 2}, "max_len 2"),
        ({"device": "tpu"}, "device 'tpu'"),
        ({"quantize": "int4"}, "quantize 'int4'"),
    ],
)
def test_bad_config_values_are_named(changes: dict, message: str) -> None:
    with pytest.raises(SentimentError, match=message):
        FinetuneConfig("x", **changes)


def test_device_selection() -> None:
    assert select_device(CONFIGS["cpu_ci"]).type == "cpu"
    auto = select_device(replace(CONFIGS["cpu_ci"], device="auto")).type
    assert auto == ("cuda" if torch.cuda.is_available() else "cpu")
    if torch.cuda.is_available():
        assert select_device(CONFIGS["gpu_full"]).type == "cuda"
    else:
        with pytest.raises(SentimentError, match="gpu_full needs a CUDA device"):
            select_device(CONFIGS["gpu_full"])


@pytest.mark.gpu
def test_gpu_full_selects_cuda() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    assert select_device(CONFIGS["gpu_full"]).type == "cuda"


def test_balanced_sample_spreads_over_language_and_label() -> None:
    many = [Example(f"p{i}", "positive", "en", "t") for i in range(100)]
    few = [Example(f"n{i}", "negative", "en", "t") for i in range(5)]
    zh = [Example(f"z{i}", "negative", "zh", "t") for i in range(40)]
    chosen = balanced_sample(many + few + zh, 45, seed=1)
    counts = Counter((ex.language, ex.label) for ex in chosen)
    assert len(chosen) == 45 and len(set(chosen)) == 45
    assert counts[("en", "negative")] == 5  # all of the small group
    assert counts[("en", "positive")] == counts[("zh", "negative")] == 20  # the rest split evenly
    assert balanced_sample(many + few + zh, 45, seed=1) == chosen
    assert len(balanced_sample(few, 100, seed=1)) == 5


def test_evaluate_per_language() -> None:
    gold = [
        Example("a", "positive", "en", "t"),
        Example("b", "negative", "en", "t"),
        Example("c", "neutral", "en", "t"),
        Example("d", "negative", "zh", "t"),
    ]
    preds = [
        Prediction("positive", 0.9),
        Prediction("neutral", -0.2),  # wrong label, right side: counts for binary accuracy
        Prediction("neutral", 0.1),
        Prediction("positive", 0.5),
    ]
    m = evaluate(preds, gold)
    assert m["en"]["n"] == 3 and m["en"]["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["en"]["binary_accuracy"] == 1.0
    assert m["zh"]["accuracy"] == 0.0 and m["zh"]["binary_accuracy"] == 0.0
    assert m["all"]["n"] == 4


def test_tiny_training_writes_a_loadable_model(tmp_path: Path) -> None:
    config = FinetuneConfig(
        "tiny", layers=2, frozen_layers=1, max_len=16, max_train=40, batch_size=8, epochs=2.0, quantize="none"
    )
    examples = _examples()
    summary = train(examples, examples, config, tmp_path, progress=False)
    assert summary["steps"] == 6 and summary["train_examples"] == 20
    assert set(summary["dev"]) == {"en", "zh", "all"}
    # the linear-probe start plus two epochs fit 20 easy training texts
    assert summary["dev"]["all"]["accuracy"] >= 0.8
    written = json.loads((tmp_path / CONFIG_FILE).read_text())
    assert written["training"]["name"] == "tiny" and written["dev_metrics"] == summary["dev"]
    scorer = load_scorer(tmp_path)
    assert isinstance(scorer, FineTunedScorer)
    assert scorer.predict(["I love this dress"])[0].label == "positive"
