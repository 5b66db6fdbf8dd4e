"""How the console learns what happens in a handed-off conversation: ``CONSOLE_FEED`` and its broker settings.

``poll`` (the default): the bot service reads the tracker of every open handoff every
``HANDOFF_POLL_INTERVAL_S``. ``broker``: it consumes Rasa's events from RabbitMQ (``bot.broker_feed``), fed by
``rasa_addons.event_broker.RedactingPikaEventBroker``; the poll then runs only as a catch-up on every
(re)connect and as a safety pass every ``CONSOLE_BROKER_SAFETY_S`` (docs/handoff.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.errors import ConfigError
from rasa_addons.broker_topology import CONSOLE_QUEUE, EXCHANGE

FEEDS = ("poll", "broker")
DEFAULT_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/"
# AMQP names are short strings; we allow the characters RabbitMQ's own tools print without quoting
NAME = re.compile(r"[A-Za-z0-9_.:-]{1,255}")


@dataclass(frozen=True)
class FeedSettings:
    mode: str = "poll"  # CONSOLE_FEED
    broker_url: str = DEFAULT_BROKER_URL  # CONSOLE_BROKER_URL
    exchange: str = EXCHANGE  # CONSOLE_BROKER_EXCHANGE
    queue: str = CONSOLE_QUEUE  # CONSOLE_BROKER_QUEUE
    prefetch: int = 100  # CONSOLE_BROKER_PREFETCH: unacknowledged messages the broker may send ahead
    safety_interval_s: float = 30.0  # CONSOLE_BROKER_SAFETY_S: a full tracker pass this often; 0 = never
    reconnect_max_s: float = 10.0  # the longest wait between two connection attempts (backoff from 0.2 s)

    @property
    def shown_url(self) -> str:
        return hide_password(self.broker_url)


def hide_password(url: str) -> str:
    """``url`` with its password replaced by ``***`` (what errors and logs may show)."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


def check_broker_url(url: str, production: bool) -> None:
    expected = "amqp://user:password@host:port/vhost (or amqps://)"
    parts = urlsplit(url)
    if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
        raise ConfigError("CONSOLE_BROKER_URL", hide_password(url), expected)
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        raise ConfigError("CONSOLE_BROKER_URL", hide_password(url), f"a numeric port: {expected}") from None
    if production and (parts.username or "guest") == "guest":
        raise ConfigError(
            "CONSOLE_BROKER_URL", hide_password(url), "a RabbitMQ user of its own in production (not guest)"
        )


def feed_from_env(env: Mapping[str, str], production: bool = False) -> FeedSettings:
    """The feed settings, validated; ConfigError names the variable and its value (password hidden)."""
    mode = env.get("CONSOLE_FEED", "poll").strip().lower() or "poll"
    if mode not in FEEDS:
        raise ConfigError("CONSOLE_FEED", mode, f"one of {', '.join(FEEDS)}")
    url = env.get("CONSOLE_BROKER_URL", "").strip() or DEFAULT_BROKER_URL
    names = {}
    for variable, default in (("CONSOLE_BROKER_EXCHANGE", EXCHANGE), ("CONSOLE_BROKER_QUEUE", CONSOLE_QUEUE)):
        value = env.get(variable, "").strip() or default
        if not NAME.fullmatch(value):
            raise ConfigError(variable, value, "1–255 characters of letters, digits, _ . : -")
        names[variable] = value
    raw_prefetch = env.get("CONSOLE_BROKER_PREFETCH", "100")
    try:
        prefetch = int(raw_prefetch)
    except ValueError:
        prefetch = 0
    if not 1 <= prefetch <= 65535:
        raise ConfigError("CONSOLE_BROKER_PREFETCH", raw_prefetch, "a whole number from 1 to 65535")
    raw_safety = env.get("CONSOLE_BROKER_SAFETY_S", "30")
    try:
        safety = float(raw_safety)
    except ValueError:
        safety = -1.0
    if not (safety == 0 or 1 <= safety < float("inf")):
        raise ConfigError(
            "CONSOLE_BROKER_SAFETY_S", raw_safety, "0 (no safety pass) or a number of seconds ≥ 1"
        )
    if mode == "broker":
        check_broker_url(url, production)
    return FeedSettings(
        mode=mode,
        broker_url=url,
        exchange=names["CONSOLE_BROKER_EXCHANGE"],
        queue=names["CONSOLE_BROKER_QUEUE"],
        prefetch=prefetch,
        safety_interval_s=safety,
    )
