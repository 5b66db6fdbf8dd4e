"""Where the pipeline reads Rasa's events and writes its tables, read once from the environment (.env.example)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from analytics.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EVENT_BROKER_DB = "var/events.db"
DEFAULT_ANALYTICS_DB = "var/analytics.db"
# A conversation with no event for this long has ended (Rasa's session_expiration_time, domain/core.yml).
DEFAULT_IDLE_END_S = 60 * 60.0


@dataclass(frozen=True)
class AnalyticsSettings:
    event_broker_db: Path = ROOT / DEFAULT_EVENT_BROKER_DB
    analytics_db: Path = ROOT / DEFAULT_ANALYTICS_DB
    idle_end_s: float = DEFAULT_IDLE_END_S


def _path(env: Mapping[str, str], name: str, default: str) -> Path:
    raw = env.get(name, "").strip() or default
    if raw.startswith("sqlite:"):
        raise ConfigError(name, raw, "a file path (not a URL), e.g. var/events.db")
    path = Path(raw)
    return path if path.is_absolute() else ROOT / path


def from_env(environ: Mapping[str, str] | None = None) -> AnalyticsSettings:
    """EVENT_BROKER_DB and ANALYTICS_DB (paths relative to the repository root); ConfigError naming a bad one."""
    env = os.environ if environ is None else environ
    broker = _path(env, "EVENT_BROKER_DB", DEFAULT_EVENT_BROKER_DB)
    target = _path(env, "ANALYTICS_DB", DEFAULT_ANALYTICS_DB)
    if broker.resolve() == target.resolve():
        raise ConfigError(
            "ANALYTICS_DB", str(target), "a file other than EVENT_BROKER_DB (Rasa owns that one)"
        )
    return AnalyticsSettings(event_broker_db=broker, analytics_db=target)
