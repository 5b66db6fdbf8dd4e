"""endpoints.yml's event broker, run in Rasa's environment (broker_probe.py): Rasa's SQL broker on the SQLite
file EVENT_BROKER_DB names, every event published with its sender, personal data redacted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.bot.rasa_env import probe_facts


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("broker")
    return probe_facts(Path(__file__).with_name("broker_probe.py"), str(tmp))


def test_the_sql_broker_writes_every_event_with_its_sender(facts: dict[str, Any]) -> None:
    assert facts["broker"] == "RedactingSQLEventBroker"
    assert facts["columns"] == ["id", "sender_id", "data"]  # what analytics.broker reads
    assert facts["events"] == ["action", "session_started", "action", "user", "slot", "bot"]
    assert facts["senders"] == ["probe"]


def test_the_broker_keeps_no_personal_data(facts: dict[str, Any]) -> None:
    assert not facts["email_anywhere"]
    assert facts["user_text"] == "my email is [email]"
    assert facts["email_slot"] == "[redacted]"
