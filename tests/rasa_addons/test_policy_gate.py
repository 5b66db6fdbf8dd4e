"""The policy gate (TED run only when it could win) predicts exactly what Rasa's ensemble predicts
(policy_gate_probe.py, Rasa's env: every conversation test and story replayed through both)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rasa_addons.settings import SettingsError, load_settings
from tests.bot.rasa_env import ModelProbes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def facts(model_probes: ModelProbes) -> dict[str, Any]:
    """policy_gate_probe.replay in the session's model probe (the model loaded once, as the served Rasa loads it);
    a fresh probe process when an earlier job installed the gate."""
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
    if not models:
        pytest.skip("no trained Rasa model in models/: run `make model`")
    facts: dict[str, Any] = model_probes.ask(models[-1], "policy_gate", timeout_s=900)
    return facts


def test_every_replayed_prediction_is_the_one_rasas_ensemble_makes(facts: dict[str, Any]) -> None:
    assert facts["sources"]["conversations"]["stories"] > 100 and facts["predictions"] > 1000
    assert facts["differences"] == 0, facts["first_differences"]


def test_ted_is_skipped_where_it_cannot_win_and_run_where_it_does(facts: dict[str, Any]) -> None:
    counts = facts["counts"]
    assert counts["skipped"] + counts["ran"] == facts["predictions"]
    assert counts["skipped"] > counts["ran"] > 0
    # Rasa's own path gave some predictions to TED: a gate that skipped TED there would have differed above
    assert facts["ted_won"] > 0


def test_the_rule_for_skipping(facts: dict[str, Any]) -> None:
    assert facts["decisions"] == {
        "rule_certain": True,  # a rule at 1.0 (priority 4) beats anything TED (priority 1) can say
        "memo_certain": True,
        "fallback_only": False,  # the rule policy's 0.3 fallback: TED may be surer
        "nothing": False,
        "certain_but_rejected": False,  # the ensemble zeroes a rejected action first
        "priority_not_above": False,  # a tie at 1.0 goes to the higher priority: must be strictly above TED's
        "no_user_low": True,  # "no user" predictions overrule all, TED never makes one
    }


def test_graphs_of_another_shape_are_left_to_rasa(facts: dict[str, Any]) -> None:
    assert facts["refused"] == {
        "end_to_end_ted": True,
        "other_ensemble": True,
        "no_deferred_policy": True,
        "no_target": True,
        "this_model": False,
    }


def test_rasas_processor_predicts_through_the_gate_once_installed(facts: dict[str, Any]) -> None:
    assert facts["installed_counts"] == {"skipped": 1, "ran": 0}  # "hi there": the greet rule decides


@pytest.mark.parametrize("raw", ["maybe", "2"])
def test_a_bad_policy_gate_setting_is_refused_by_name(raw: str) -> None:
    with pytest.raises(SettingsError, match="RASA_POLICY_GATE"):
        load_settings({"RASA_POLICY_GATE": raw})


def test_the_gate_is_on_by_default_and_can_be_switched_off() -> None:
    assert load_settings({}).policy_gate
    assert not load_settings({"RASA_POLICY_GATE": "0"}).policy_gate
