"""Action-server failures are never silence: a real Rasa Agent (agent_probe.py, in Rasa's environment) with the
action endpoint on a closed port, a server answering 401 and one that never answers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.bot.rasa_env import ModelProbes

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"


def _model() -> Path | None:
    chosen = os.environ.get("SHOPDESK_TEST_MODEL")
    if chosen:
        return Path(chosen)
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


@pytest.fixture(scope="module")
def facts(model_probes: ModelProbes) -> dict[str, Any]:
    model = _model()
    if not RASA_PYTHON.exists() or model is None:
        if os.environ.get("CI"):
            pytest.fail("no trained Rasa model in models/: `make test` trains one first")
        pytest.skip("no trained Rasa model in models/ (or .venv/rasa): run `make model`")
    # agent_probe.failures in the session's model probe (the model loaded once, with agent_probe's tracker
    # store); a fresh probe process when an earlier job installed the guard or the policy gate
    facts: dict[str, Any] = model_probes.ask(model, "agent", timeout_s=600)
    return facts


@pytest.mark.parametrize("failure", ["closed", "unauthorized", "timeout"])
def test_the_shopper_gets_the_technical_problem_reply_instead_of_silence(
    facts: dict[str, Any], failure: str
) -> None:
    seen = facts[failure]
    assert seen["domain_text"], "the model's domain has no utter_technical_problem (retrain: make model)"
    assert seen["first"] == [seen["domain_text"][0]]


@pytest.mark.parametrize("failure", ["closed", "unauthorized", "timeout"])
def test_the_failed_turn_is_undone_and_the_conversation_continues(
    facts: dict[str, Any], failure: str
) -> None:
    seen = facts[failure]
    assert "review" not in seen["applied_intents_after_failure"]
    assert seen["latest_action"] == "action_listen"
    assert seen["second"] and seen["second"][0] in seen["greet"]


def test_rasa_sends_the_action_server_token_from_endpoints_yml(facts: dict[str, Any]) -> None:
    assert facts["authorization_seen"] == ["Bearer probe-token"]


def test_without_the_guard_the_shopper_is_not_told(facts: dict[str, Any]) -> None:
    # What the shopper got before: nothing, or whatever the policies guessed next after an action that "ran"
    # with no events (here Rasa's default fallback) — never that the action server is down. Keeps the tests above honest.
    unguarded = facts["unguarded"]
    assert unguarded["domain_text"][0] not in unguarded["first"]
