"""The redacting tracker store and the log redaction, run in Rasa's environment (store_probe.py) on a real SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.bot.rasa_env import probe_facts


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("store")
    return probe_facts(Path(__file__).with_name("store_probe.py"), str(tmp))


def test_stored_texts_have_no_email_phone_or_street(facts: dict[str, Any]) -> None:
    conversation = facts["conversation"]
    assert conversation["texts_redacted"]
    assert conversation["marks_present"]
    assert conversation["latest_message_redacted"]


def test_live_slot_values_are_sealed_at_rest_and_come_back_intact(facts: dict[str, Any]) -> None:
    conversation = facts["conversation"]
    assert conversation["live_email_kept"]
    assert conversation["live_street_kept"]
    assert conversation["live_values_sealed"] == 2  # email and new_street, as written on the first save
    assert conversation["quote_kept"]  # a checkout in progress keeps its delivery address
    assert conversation["street_nowhere_at_rest"]
    assert conversation["other_key_reads_nothing"]


def test_earlier_values_of_personal_slots_are_rewritten_once_superseded_or_cleared(
    facts: dict[str, Any],
) -> None:
    conversation = facts["conversation"]
    assert conversation["no_email_after_clear"]
    assert conversation["old_street_gone"]
    assert conversation["state_after_clear"] == [None, "Hauptstraße 7"]
    assert conversation["events_stored"] == conversation["events_in_tracker"]


def test_retention_deletes_old_conversations_and_old_sessions_only(facts: dict[str, Any]) -> None:
    retention = facts["retention"]
    assert retention["old_rows"] == 0
    assert retention["both_texts"] == ["new session"]
    assert retention["both_loads"] == "new session"
    assert retention["fresh_rows"] == 1
    assert retention["deleted"] == 4


def test_log_records_above_debug_are_redacted(facts: dict[str, Any]) -> None:
    assert facts["logs"]["info"] == "shopper [email] at [address], phone [phone]"
    assert facts["logs"]["debug"] == "debug keeps anna.berg@example.com"
