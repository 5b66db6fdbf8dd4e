"""Settings from the environment, production refusals, business hours, password hashes."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.hours import parse_business_hours
from bot.passwords import hash_password, verify_password
from bot.settings import DEMO_ADMIN_EMAIL, DEMO_AGENT_EMAIL, from_env

GOOD_SECRETS = {
    "RASA_TOKEN": "r" * 20,
    "HANDOFF_TOKEN": "h" * 20,
    "SESSION_SECRET": "s" * 20,
    "WIDGET_SESSION_SECRET": "w" * 20,
}


def test_defaults_need_no_configuration() -> None:
    settings = from_env({})
    assert settings.port == 8080
    assert [(a.email, a.role) for a in settings.agents] == [
        (DEMO_AGENT_EMAIL, "agent"),
        (DEMO_ADMIN_EMAIL, "admin"),
    ]
    assert settings.business_hours.is_open()


def test_production_refuses_placeholder_secrets() -> None:
    with pytest.raises(ConfigError, match="RASA_TOKEN"):
        from_env({"SHOPDESK_ENV": "production"})


def test_production_refuses_the_demo_agent(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="demo agent"):
        from_env({"SHOPDESK_ENV": "production", **GOOD_SECRETS})
    agents = tmp_path / "agents.json"
    agents.write_text(
        json.dumps([{"email": "Ann@Shop.test", "name": "Ann", "password_hash": hash_password("pw")}])
    )
    settings = from_env({"SHOPDESK_ENV": "production", "AGENTS_FILE": str(agents), **GOOD_SECRETS})
    assert settings.agents[0].email == "ann@shop.test"
    assert settings.cookie_secure


def test_production_refuses_the_dev_widget_session_secret() -> None:
    from bot.widget_session import WidgetSecretError, secret_from_env

    secrets = {k: v for k, v in GOOD_SECRETS.items() if k != "WIDGET_SESSION_SECRET"}
    with pytest.raises(ConfigError, match="WIDGET_SESSION_SECRET"):
        from_env({"SHOPDESK_ENV": "production", **secrets})
    with pytest.raises(WidgetSecretError, match="WIDGET_SESSION_SECRET"):  # what the Rasa channel reads
        secret_from_env({"SHOPDESK_ENV": "production"})
    assert secret_from_env({}) == "dev-widget-session-secret"
    assert secret_from_env({"SHOPDESK_ENV": "production", "WIDGET_SESSION_SECRET": "w" * 20}) == "w" * 20


def test_queue_timeout_setting() -> None:
    assert from_env({}).handoff_queue_timeout_s == 900
    assert from_env({"HANDOFF_QUEUE_TIMEOUT_S": "0"}).handoff_queue_timeout_s == 0
    with pytest.raises(ConfigError, match="HANDOFF_QUEUE_TIMEOUT_S"):
        from_env({"HANDOFF_QUEUE_TIMEOUT_S": "-5"})


@pytest.mark.parametrize("content", ["", "[]", '[{"email": "x"}]', "{"])
def test_bad_agents_file_names_the_setting(tmp_path: Path, content: str) -> None:
    path = tmp_path / "agents.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match="AGENTS_FILE"):
        from_env({"AGENTS_FILE": str(path)})


def test_business_hours() -> None:
    hours = parse_business_hours("Mon-Fri 09:00-18:00 Europe/Berlin; Sat 10:00-14:00 Europe/Berlin")
    monday_noon_berlin = datetime(2025, 3, 3, 11, 0, tzinfo=timezone.utc)  # 12:00 CET
    monday_night = datetime(2025, 3, 3, 22, 0, tzinfo=timezone.utc)
    saturday_late = datetime(2025, 3, 8, 15, 0, tzinfo=timezone.utc)
    sunday = datetime(2025, 3, 9, 11, 0, tzinfo=timezone.utc)
    assert hours.is_open(monday_noon_berlin)
    assert not hours.is_open(monday_night)
    assert not hours.is_open(saturday_late)
    assert not hours.is_open(sunday)
    assert parse_business_hours("Sat-Sun 00:00-24:00").is_open(sunday)


@pytest.mark.parametrize("spec", ["Mon-Fri", "Funday 09:00-17:00", "Mon 9-17", "Mon 09:00-17:00 Mars/Base"])
def test_bad_business_hours_name_the_setting(spec: str) -> None:
    with pytest.raises(ConfigError, match="BUSINESS_HOURS"):
        parse_business_hours(spec)


def test_password_hashes() -> None:
    stored = hash_password("correct horse")
    assert verify_password("correct horse", stored)
    assert not verify_password("wrong", stored)
    assert not verify_password("x", "garbage")
    assert hash_password("same") != hash_password("same")  # salted
