"""The training presets: every one loads, and CI's preset (``cpu_ci``) trains exactly as ``cpu_small`` does but
scores a smaller dev sample and has no wall-time cap, so CI's responder does not depend on how loaded the machine is
(a cap cut one CI run after its first epoch, leaving a responder no better than the bi-encoder)."""

from __future__ import annotations

import pytest

from retrieval.responder.training.config import load_train_config, preset_names

LEARNING = (
    "base_model",
    "layers",
    "max_length",
    "negatives",
    "groups_per_batch",
    "epochs",
    "lr",
    "head_lr_multiplier",
    "warmup_ratio",
    "weight_decay",
    "bce_weight",
    "prior_weight",
    "seed",
    "max_train_queries",
    "eval_k",
)


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_loads_under_its_name(name: str) -> None:
    assert load_train_config(name).name == name


def test_the_ci_preset_learns_as_cpu_small_without_a_wall_time_cap() -> None:
    assert {"cpu_small", "cpu_ci", "gpu_full"} <= set(preset_names())
    ci, small = load_train_config("cpu_ci"), load_train_config("cpu_small")
    assert ci.max_minutes is None  # the epoch count, not the clock, decides when CI's training ends
    assert {f: getattr(ci, f) for f in LEARNING} == {f: getattr(small, f) for f in LEARNING}
    assert ci.max_dev_queries is not None and ci.max_dev_queries < (small.max_dev_queries or 10**9)


def test_only_the_ci_preset_skips_the_passes_ci_does_not_read() -> None:
    """CI's build scores dev once (after its last epoch) and calibrates the precisions a CPU without AMX-BF16
    serves; the served presets keep the per-epoch dev passes (early stopping) and every precision."""
    ci = load_train_config("cpu_ci")
    assert not ci.eval_every_epoch and ci.precisions == ("fp32", "int8")
    for name in ("cpu_small", "gpu_full"):
        served = load_train_config(name)
        assert served.eval_every_epoch and served.precisions == ("fp32", "bf16", "int8")
