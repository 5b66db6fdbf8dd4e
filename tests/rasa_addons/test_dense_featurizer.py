"""The dense sentence featurizer (rasa_addons/dense_featurizer.py), run in Rasa's environment (featurizer_probe.py):
shapes and dtypes, awkward messages, a trained and reloaded pipeline, and an encoder that actually encodes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"

pytestmark = pytest.mark.skipif(
    not RASA_PYTHON.exists(), reason="Rasa's environment (.venv/rasa) is not set up"
)

KINDS = ["normal", "empty", "long", "chinese", "surrogate"]


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("featurizer")
    done = subprocess.run(
        [str(RASA_PYTHON), str(Path(__file__).with_name("featurizer_probe.py")), str(tmp)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1][len("PROBE ") :])


@pytest.mark.parametrize("kind", KINDS)
def test_every_message_gets_one_normalised_float32_sentence_row(facts: dict[str, Any], kind: str) -> None:
    seen = facts["component"][kind]
    assert seen["sentence_shape"] == [1, facts["component"]["dim"]]
    assert seen["sentence_dtype"] == "float32"
    assert seen["sentence_norm"] == pytest.approx(1.0, abs=1e-3)
    assert seen["finite"]


@pytest.mark.parametrize("kind", KINDS)
def test_token_features_have_one_row_per_token(facts: dict[str, Any], kind: str) -> None:
    seen = facts["component"][kind]
    assert seen["n_tokens"] >= 1
    assert seen["sequence_shape"] == [seen["n_tokens"], facts["component"]["dim"]]
    assert seen["sequence_dtype"] == "float32"


def test_a_repeated_message_is_looked_up_not_encoded_again(facts: dict[str, Any]) -> None:
    cache = facts["component"]["cache"]
    assert cache["new_encodes"] == [0, 0]
    assert cache["same_features"]
    assert cache["max_diff_vs_uncached"] < 1e-5  # the encoder's own rows, up to its batch rounding


def test_a_5000_character_message_keeps_a_row_per_token_but_embeds_only_the_first_256(
    facts: dict[str, Any],
) -> None:
    long = facts["component"]["long"]
    assert long["n_tokens"] > 900  # the text is cut for the sentence row only
    assert long["sequence_shape"][0] == long["n_tokens"]
    assert long["nonzero_rows"] == 256
    assert facts["component"]["normal"]["nonzero_rows"] == facts["component"]["normal"]["n_tokens"]


def test_token_features_are_off_by_default(facts: dict[str, Any]) -> None:
    assert facts["component"]["default_sequence"] is None
    assert facts["component"]["default_sentence"] == [1, facts["component"]["dim"]]


def test_paraphrases_are_closer_than_unrelated_sentences(facts: dict[str, Any]) -> None:
    component = facts["component"]
    assert component["paraphrase_cosine"] > component["unrelated_cosine"] + 0.2


@pytest.mark.parametrize(
    ("key", "named"),
    [("encoder", "'word2vec'; valid: ['e5_small', 'use_v3']"), ("batch_size", "got 0"), ("threads", "'two'")],
)
def test_a_bad_setting_is_refused_with_its_value(facts: dict[str, Any], key: str, named: str) -> None:
    error = facts["component"]["config_errors"][key]
    assert error is not None and key in error and named in error


def test_a_trained_pipeline_loads_back_and_generalises(facts: dict[str, Any]) -> None:
    pipeline = facts["pipeline"]
    assert pipeline["model_exists"]
    assert pipeline["unseen"] == {"track": "track_order", "human": "contact_human_agent", "greet": "greet"}


@pytest.mark.parametrize("kind", KINDS)
def test_the_loaded_model_parses_awkward_messages(facts: dict[str, Any], kind: str) -> None:
    assert facts["pipeline"]["parsed_kinds"][kind] in {"greet", "track_order", "contact_human_agent"}
