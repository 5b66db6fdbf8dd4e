"""Rasa's custom-action calls carry the domain once per action server (rasa_addons.action_domain), against the
action server's own rasa-sdk (action_domain_probe.py, Rasa's environment)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.bot.rasa_env import probe_facts

PROBE = Path(__file__).with_name("action_domain_probe.py")


@pytest.fixture(scope="module")
def facts() -> dict[str, Any]:
    return probe_facts(PROBE, timeout_s=600)


def test_the_action_always_sees_the_whole_domain(facts: dict[str, Any]) -> None:
    seen = [call["saw"] for call in facts["calls"]]
    whole = f"responses={facts['responses']}"
    assert seen == [[whole]] * 4 + [[f"responses={facts['responses'] + 1}"]]


def test_the_domain_travels_once_then_only_its_digest(facts: dict[str, Any]) -> None:
    sent = [call["sent"] for call in facts["calls"]]
    assert sent[0] == {"with_domain": 1, "without_domain": 0, "resent": 0}
    assert sent[1] == sent[2] == {"with_domain": 0, "without_domain": 1, "resent": 0}


def test_a_restarted_action_server_asks_for_the_domain_and_gets_it(facts: dict[str, Any]) -> None:
    assert facts["calls"][3]["sent"] == {"with_domain": 0, "without_domain": 1, "resent": 1}


def test_a_changed_domain_travels_again(facts: dict[str, Any]) -> None:
    assert facts["calls"][4]["sent"] == {"with_domain": 1, "without_domain": 0, "resent": 0}


def test_other_errors_are_rasas_and_not_sent_again(facts: dict[str, Any]) -> None:
    assert facts["unknown"] == "RasaException" and facts["unknown_resent"] == 0
