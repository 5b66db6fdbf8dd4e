"""The training presets: every one loads, and CI's preset (``cpu_ci``) is ``cpu_small`` trained shorter, with no
wall-time cap, so CI's responder does not depend on how loaded the machine is."""

from __future__ import annotations

import pytest

from retrieval.responder.training.config import load_train_config, preset_names


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_loads_under_its_name(name: str) -> None:
    assert load_train_config(name).name == name


def test_the_ci_preset_is_cpu_small_trained_shorter_without_a_wall_time_cap() -> None:
    assert {"cpu_small", "cpu_ci", "gpu_full"} <= set(preset_names())
    ci, small = load_train_config("cpu_ci"), load_train_config("cpu_small")
    assert ci.max_minutes is None  # an epoch count, not the clock, decides when CI's training ends
    assert ci.epochs < small.epochs
    same = ("base_model", "max_length", "negatives", "groups_per_batch", "max_dev_queries", "eval_k", "seed")
    assert {f: getattr(ci, f) for f in same} == {f: getattr(small, f) for f in same}  # dev figures compare
