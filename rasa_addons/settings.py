"""The Rasa process's settings, read once from the environment and validated at start (rasa_addons.serve).

Standard library only. Every value has an embedded development default, so `make run` needs no configuration;
`SHOPDESK_ENV=production` refuses the development secrets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional

DEV_RASA_TOKEN = "dev-rasa-token"
DEV_ACTION_SERVER_TOKEN = "dev-action-token"
DEV_WIDGET_SESSION_SECRET = "dev-widget-session-secret"
DEV_TRACKER_SECRET = "dev-tracker-secret"
DEV_SECRETS = frozenset(
    {DEV_RASA_TOKEN, DEV_ACTION_SERVER_TOKEN, DEV_WIDGET_SESSION_SECRET, DEV_TRACKER_SECRET, ""}
)
MIN_PRODUCTION_SECRET_CHARS = 16

# Values endpoints.yml expands with ${VAR}: Rasa refuses to start when one is unset, so serve.py exports these
# defaults for the variables the environment leaves out.
ENDPOINT_DEFAULTS = {
    "ACTION_SERVER_URL": "http://127.0.0.1:5055/webhook",
    "ACTION_SERVER_TOKEN": DEV_ACTION_SERVER_TOKEN,
    "TRACKER_URL": "sqlite:///var/tracker.db",
    "EVENT_BROKER_DB": "var/events.db",
}


class SettingsError(ValueError):
    """A setting with a bad value; the message names the variable, the value and what is expected."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f"{name}={value!r} is not valid: expected {expected}")
        self.name = name


@dataclass(frozen=True)
class RasaSettings:
    production: bool = False
    rasa_token: str = DEV_RASA_TOKEN
    action_server_token: str = DEV_ACTION_SERVER_TOKEN
    widget_session_secret: str = DEV_WIDGET_SESSION_SECRET
    tracker_secret: str = DEV_TRACKER_SECRET
    action_server_url: str = ENDPOINT_DEFAULTS["ACTION_SERVER_URL"]
    action_timeout_s: float = 30.0
    max_body_bytes: int = 64 * 1024
    redact_tracker: bool = True
    tracker_retention_days: int = 30
    retention_interval_s: float = 3600.0
    host: Optional[str] = None
    threads: int = 1  # RASA_THREADS: TensorFlow / OpenMP / BLAS threads of the Rasa process
    fast_paths: bool = (
        True  # RASA_FAST_PATHS: the per-message cost cuts (rasa_addons.speedups); 0 = Rasa's own
    )
    sqlite_wal: bool = True  # TRACKER_SQLITE_WAL: the SQLite tracker store in WAL mode, synchronous=NORMAL
    fast_load: bool = True  # RASA_FAST_LOAD: DIET/TED load without a traced training step (model_load)
    policy_gate: bool = True  # RASA_POLICY_GATE: TEDPolicy runs only when it could win (policy_gate)


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(name, raw, f"a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise SettingsError(name, raw, f"a whole number from {low} to {high}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(name, raw, f"a number of seconds from {low:g} to {high:g}") from None
    if not low <= value <= high:  # also refuses nan and inf
        raise SettingsError(name, raw, f"a number of seconds from {low:g} to {high:g}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(name, raw, "1 or 0")


def _secret(env: Mapping[str, str], name: str, default: str, production: bool) -> str:
    value = env.get(name, default)
    if production and (value in DEV_SECRETS or len(value) < MIN_PRODUCTION_SECRET_CHARS):
        raise SettingsError(
            name, "<hidden>", f"a real secret of {MIN_PRODUCTION_SECRET_CHARS}+ characters in production"
        )
    if not value:
        raise SettingsError(name, "", "a non-empty secret")
    return value


def load_settings(env: Optional[Mapping[str, str]] = None) -> RasaSettings:
    """The settings from `env` (default: os.environ), or SettingsError naming the first bad variable."""
    env = os.environ if env is None else env
    mode = env.get("SHOPDESK_ENV", "development").strip() or "development"
    if mode not in {"development", "production"}:
        raise SettingsError("SHOPDESK_ENV", mode, "development or production")
    production = mode == "production"
    url = env.get("ACTION_SERVER_URL", ENDPOINT_DEFAULTS["ACTION_SERVER_URL"])
    if not url.startswith(("http://", "https://")):
        raise SettingsError("ACTION_SERVER_URL", url, "an http:// or https:// URL")
    return RasaSettings(
        production=production,
        rasa_token=_secret(env, "RASA_TOKEN", DEV_RASA_TOKEN, production),
        action_server_token=_secret(env, "ACTION_SERVER_TOKEN", DEV_ACTION_SERVER_TOKEN, production),
        widget_session_secret=_secret(env, "WIDGET_SESSION_SECRET", DEV_WIDGET_SESSION_SECRET, production),
        tracker_secret=_secret(env, "TRACKER_SECRET", DEV_TRACKER_SECRET, production),
        action_server_url=url,
        action_timeout_s=_float(env, "ACTION_SERVER_TIMEOUT_S", 30.0, 1.0, 600.0),
        max_body_bytes=_int(env, "RASA_MAX_BODY_BYTES", 64 * 1024, 1024, 16 * 1024 * 1024),
        redact_tracker=_flag(env, "REDACT_TRACKER", True),
        tracker_retention_days=_int(env, "TRACKER_RETENTION_DAYS", 30, 0, 36500),
        retention_interval_s=_float(env, "TRACKER_RETENTION_INTERVAL_S", 3600.0, 1.0, 86400.0 * 7),
        host=env.get("RASA_HOST") or None,
        threads=_int(env, "RASA_THREADS", 1, 1, 64),
        fast_paths=_flag(env, "RASA_FAST_PATHS", True),
        sqlite_wal=_flag(env, "TRACKER_SQLITE_WAL", True),
        fast_load=_flag(env, "RASA_FAST_LOAD", True),
        policy_gate=_flag(env, "RASA_POLICY_GATE", True),
    )
