"""The Rasa-side cost cuts are in effect and change no behaviour (speedups_probe.py runs in Rasa's env)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rasa_addons import speedups
from rasa_addons.settings import SettingsError, load_settings
from tests.bot.rasa_env import probe_facts

PROBE = Path(__file__).with_name("speedups_probe.py")


@pytest.fixture(scope="module")
def validator() -> dict[str, Any]:
    return probe_facts(PROBE, "validator", "/tmp")


def test_the_cached_validator_replaces_rasas_per_call_validate(validator: dict[str, Any]) -> None:
    assert validator["cached"] == [True, True, True], "Rasa's, the fail-safe and the slot-mapping actions"
    assert validator["jsonschema_validate_calls"] == 0, "no schema check and validator build per answer"


def test_the_cached_validator_accepts_and_refuses_exactly_what_rasa_did(validator: dict[str, Any]) -> None:
    assert validator["after"] == validator["before"]
    good = validator["good"]
    assert validator["before"][:good] == ["ok"] * good
    assert all(result.startswith("ValidationError: ") for result in validator["before"][good:])
    assert all("Failed to validate Action server response" in result for result in validator["after"][good:])


def test_rasas_events_api_validates_with_one_validator_and_refuses_what_it_refused(tmp_path: Path) -> None:
    facts = probe_facts(PROBE, "events", str(tmp_path))
    assert facts["after"] == facts["before"]
    good = facts["good"]
    assert facts["before"][:good] == ["ok"] * good
    assert all(
        result.startswith("400 Failed to validate the events format.") for result in facts["before"][good:]
    )
    assert facts["jsonschema_validate_calls"] == 0


def test_the_sqlite_tracker_store_runs_in_wal_mode_unless_switched_off(tmp_path: Path) -> None:
    facts = probe_facts(PROBE, "wal", str(tmp_path))
    assert facts["journal_on"] == "wal" and facts["synchronous_on"] == 1  # NORMAL
    assert facts["journal_off"] == "delete" and facts["synchronous_off"] == 2  # Rasa's default: FULL


def test_a_conversation_survives_a_crash_right_after_it_was_saved(tmp_path: Path) -> None:
    saved = probe_facts(PROBE, "write", str(tmp_path))["saved"]
    facts = probe_facts(PROBE, "read", str(tmp_path))
    assert facts["wal_left_by_crash"], "the crash left the turn in the WAL, not yet in the main file"
    assert facts["events"] == saved
    assert facts["texts"] == [f"message {i}" for i in range(5)]
    assert facts["order_id"] == "SD-100042"


def test_a_save_publishes_and_stores_the_same_events_without_reading_the_conversation_back(
    tmp_path: Path,
) -> None:
    facts = probe_facts(PROBE, "stream", str(tmp_path))
    fast, rasa = facts["fast"], facts["rasa"]
    assert fast["published"] == rasa["published"] and len(fast["published"]) == 15
    assert [e["event"] for e in fast["published"][:3]] == ["user", "slot", "action"]
    assert all("anna.berg" not in json.dumps(e) for e in fast["published"]), "still redacted"
    assert fast["stored"] == rasa["stored"] and len(fast["stored"]) == 15
    assert rasa["reads_while_saving"] == 3 and fast["reads_while_saving"] == 0
    assert rasa["broker_commits"] == 15 and fast["broker_commits"] == 3, "one broker transaction a save"


def test_thread_limits_cover_every_numeric_library() -> None:
    env: dict[str, str] = {}
    speedups.limit_threads(2, env)
    assert env == dict.fromkeys(speedups.THREAD_VARIABLES, "2")
    with pytest.raises(ValueError, match="threads=0"):
        speedups.limit_threads(0, env)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RASA_THREADS", "0"),
        ("RASA_THREADS", "two"),
        ("RASA_FAST_PATHS", "maybe"),
        ("TRACKER_SQLITE_WAL", "2"),
    ],
)
def test_bad_speed_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"{name}='{value}'"):
        load_settings({name: value})


def test_the_cuts_are_on_by_default_and_rasa_threads_reach_every_library() -> None:
    defaults = load_settings({})
    assert defaults.threads == 1 and defaults.fast_paths and defaults.sqlite_wal
    env = {"RASA_THREADS": "2", "RASA_FAST_PATHS": "0", "TRACKER_SQLITE_WAL": "off"}
    settings = load_settings(env)
    assert (settings.threads, settings.fast_paths, settings.sqlite_wal) == (2, False, False)
    speedups.limit_threads(settings.threads, env)
    assert env["OMP_NUM_THREADS"] == env["TF_NUM_INTRAOP_THREADS"] == "2"
