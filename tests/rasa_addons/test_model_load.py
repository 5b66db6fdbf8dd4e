"""Loading DIET and TED without tracing a training step changes no prediction (model_load_probe.py, Rasa's env)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rasa_addons.settings import SettingsError, load_settings
from tests.bot.rasa_env import ModelProbes, probe_facts

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("model_load_probe.py")


def _model() -> str:
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
    if not models:
        pytest.skip("no trained Rasa model in models/: run `make model`")
    return str(models[-1])


@pytest.fixture(scope="module")
def loads(model_probes: ModelProbes) -> dict[str, dict[str, Any]]:
    """Rasa's own load in a process of its own; the fast load is the session's model probe (model_probe_server.py
    loads the model as the served Rasa does, then model_load_probe.predictions on that agent)."""
    model = _model()
    return {
        "stock": probe_facts(PROBE, "stock", model, timeout_s=600),
        "fast": model_probes.ask(Path(model), "model_load", timeout_s=600),
    }


def test_both_tensorflow_models_take_the_fast_path(loads: dict[str, dict[str, Any]]) -> None:
    assert loads["fast"]["loads"] == {"fast": 2, "stock": 0}, "DIET and TED, neither fell back to Rasa's load"
    assert loads["stock"]["loads"] == {"fast": 0, "stock": 0}, "the stock run did not install the patch"


def test_the_fast_load_predicts_exactly_what_rasas_load_predicts(loads: dict[str, dict[str, Any]]) -> None:
    stock, fast = loads["stock"]["messages"], loads["fast"]["messages"]
    assert [m["text"] for m in fast] == [m["text"] for m in stock]
    for before, after in zip(stock, fast, strict=True):
        assert after["intents"] == before["intents"], before["text"]  # names and confidences, bit for bit
        assert after["entities"] == before["entities"], before["text"]
        assert after["ted"] == before["ted"], before["text"]
        assert max(after["ted"]) > 0.0


@pytest.mark.parametrize("raw", ["maybe", "2"])
def test_a_bad_fast_load_setting_is_refused_by_name(raw: str) -> None:
    with pytest.raises(SettingsError, match="RASA_FAST_LOAD"):
        load_settings({"RASA_FAST_LOAD": raw})


def test_the_fast_load_is_on_by_default_and_can_be_switched_off() -> None:
    assert load_settings({}).fast_load
    assert not load_settings({"RASA_FAST_LOAD": "0"}).fast_load
