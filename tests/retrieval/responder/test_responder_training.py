"""Fine-tuning on a tiny real subset (slow: real training on the CPU, about a minute on 2 cores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.retrieval.responder.conftest import TinyRun, tiny_config

pytestmark = pytest.mark.slow


def test_training_lowers_dev_loss_and_raises_dev_mrr_over_the_base_model(tiny_run: TinyRun) -> None:
    dev = tiny_run.meta["dev"]  # the tiny run trains the cross-encoder alone (prior_weight 0)
    assert dev["best"]["epoch"] > 0
    assert dev["best"]["loss"] < dev["base"]["loss"]
    assert dev["best"]["mrr10"] > dev["base"]["mrr10"]


def test_the_checkpoint_explains_itself(tiny_run: TinyRun) -> None:
    meta = json.loads((tiny_run.out / "meta.json").read_text(encoding="utf-8"))
    for key in (
        "base_model",
        "data_checksum",
        "inputs_checksum",
        "config",
        "device",
        "trained_at",
        "train_seconds",
        "calibration",
        "thresholds",
        "base_fingerprint",
    ):
        assert key in meta, key
    assert meta["device"] == "cpu"
    assert meta["config"]["lr"] == tiny_config().lr
    assert meta["dev"]["history"][0]["epoch"] == 0
    assert (tiny_run.out / "model" / "config.json").is_file()
    # every serving precision was scored on dev and calibrated; fp32 is the reference, so it is always kept
    assert set(meta["calibration"]) == set(meta["dev"]["precisions"]) == {"fp32", "bf16", "int8"}
    assert "fp32" in meta["serving"]["precisions_kept"]
    assert set(meta["serving"]["precisions_kept"]) <= {"fp32", "bf16", "int8"}
    assert isinstance(meta["bf16_autocast"], bool)


def test_the_base_model_can_be_cut_to_its_first_layers() -> None:
    from retrieval.responder.errors import ResponderConfigError
    from retrieval.responder.model import CrossEncoder

    small = CrossEncoder.from_base("all-MiniLM-L6-v2", max_length=32, device="cpu", layers=2)
    assert len(small.model.bert.encoder.layer) == 2 and small.model.config.num_hidden_layers == 2
    assert small.logits(["do you ship to spain"], ["Shipping. We ship to Spain."]).shape == (1,)
    with pytest.raises(ResponderConfigError, match="1 to 6"):
        CrossEncoder.from_base("all-MiniLM-L6-v2", max_length=32, device="cpu", layers=7)


def test_training_is_skipped_when_inputs_are_unchanged_and_redone_when_they_change(tiny_run: TinyRun) -> None:
    from retrieval.responder.training.train import train

    kept = train(tiny_config(), tiny_run.data, tiny_run.out, show_progress=False)
    assert kept["trained_at"] == tiny_run.meta["trained_at"]
    from retrieval.responder.training.checkpoint import inputs_checksum
    from retrieval.responder.training.dataset import read_dataset

    changed = inputs_checksum(read_dataset(tiny_run.data), tiny_config(lr=2e-4))
    assert changed != tiny_run.meta["inputs_checksum"]


def test_a_time_budget_stops_training_and_still_saves(tiny_data: Path, tmp_path: Path) -> None:
    from retrieval.responder.training.train import train

    meta = train(
        tiny_config(max_minutes=0.001, epochs=5, max_train_queries=32, max_dev_queries=8),
        tiny_data,
        tmp_path / "m",
        show_progress=False,
    )
    assert meta["stopped"] == "time_budget"
    assert (tmp_path / "m" / "meta.json").is_file()


def test_a_run_without_per_epoch_dev_passes_scores_dev_once_and_only_its_precisions(
    tiny_data: Path, tmp_path: Path
) -> None:
    """CI's setting (``cpu_ci``): no base-model or per-epoch dev pass; the last epoch is scored once, kept, and
    calibrated in the configured serving precisions only; the checkpoint serves in one of them."""
    from retrieval.responder import load_responder
    from retrieval.responder.training.train import train

    meta = train(
        tiny_config(eval_every_epoch=False, precisions=("fp32", "int8"), max_train_queries=48),
        tiny_data,
        tmp_path / "m",
        show_progress=False,
    )
    dev = meta["dev"]
    assert dev["base"] is None and meta["total_cpu_seconds"] > 0
    assert [h["epoch"] for h in dev["history"]] == [2] and dev["best"]["epoch"] == 2
    assert set(meta["calibration"]) == set(dev["precisions"]) == {"fp32", "int8"}
    assert set(meta["serving"]["precisions_kept"]) <= {"fp32", "int8"}
    assert load_responder(tmp_path / "m").precision in meta["serving"]["precisions_kept"]


def test_a_training_config_must_score_fp32() -> None:
    from retrieval.responder.errors import ResponderConfigError
    from retrieval.responder.training.config import TrainConfig

    with pytest.raises(ResponderConfigError, match="precisions"):
        TrainConfig(precisions=("int8",))
    with pytest.raises(ResponderConfigError, match="precisions"):
        TrainConfig(precisions=("fp32", "fp16"))
