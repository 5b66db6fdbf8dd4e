"""EVENT_BROKER_DB and ANALYTICS_DB: embedded defaults, relative to the repository, bad values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.errors import ConfigError
from analytics.settings import ROOT, from_env
from bot.errors import ConfigError as BotConfigError
from bot.settings import from_env as bot_from_env


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    settings = from_env({})
    assert (settings.event_broker_db, settings.analytics_db) == (
        ROOT / "var/events.db",
        ROOT / "var/analytics.db",
    )
    chosen = from_env({"EVENT_BROKER_DB": str(tmp_path / "e.db"), "ANALYTICS_DB": "x/a.db"})
    assert (chosen.event_broker_db, chosen.analytics_db) == (tmp_path / "e.db", ROOT / "x/a.db")


def test_bad_values_are_named() -> None:
    with pytest.raises(ConfigError, match=r"EVENT_BROKER_DB='sqlite:///var/events\.db'"):
        from_env({"EVENT_BROKER_DB": "sqlite:///var/events.db"})
    with pytest.raises(ConfigError, match=r"ANALYTICS_DB.*other than EVENT_BROKER_DB"):
        from_env({"EVENT_BROKER_DB": "var/x.db", "ANALYTICS_DB": "var/x.db"})


def test_the_bot_service_validates_them_at_start() -> None:
    with pytest.raises(BotConfigError, match="ANALYTICS_DB"):
        bot_from_env({"EVENT_BROKER_DB": "var/x.db", "ANALYTICS_DB": "var/x.db"})
    assert bot_from_env({"ANALYTICS_DB": "var/a2.db"}).analytics.analytics_db == ROOT / "var/a2.db"
