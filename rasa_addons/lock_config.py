"""The settings of `rasa_addons.lock_store.AtomicRedisLockStore`, read from an endpoints file and validated.

Standard library only, so the app environment's tests check it without Rasa. The keys are those of Rasa's
`type: redis` lock store, plus two of ours:

    lock_store:
      type: rasa_addons.lock_store.AtomicRedisLockStore
      url: ${REDIS_HOST}          # a host name, or a whole redis:// / rediss:// URL (its parts are defaults)
      port: ${REDIS_PORT}         # 6379
      db: ${REDIS_DB}             # 1 (Rasa's default for its lock store)
      username: ...               # optional (Redis ACL)
      password: ${REDIS_PASSWORD} # optional
      use_ssl: false              # ssl_certfile, ssl_keyfile, ssl_ca_certs with it
      key_prefix: shopdesk        # alphanumeric; keys are `<prefix>:lock:{<conversation>}:q|e|n`
      socket_timeout: 10          # seconds
      poll_interval_s: 0.02       # ours: how often a waiting message asks "is it my turn?" (Rasa's: 1 s)
      counter_ttl_s: 600          # ours: how long a conversation's ticket counter outlives its last ticket

An empty value (a `${VAR}` left empty) means the default. A bad value or an unknown key raises
`LockStoreConfigError`, whose message names the key, the value and what is expected.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any, Mapping, Optional

DEFAULT_SOCKET_TIMEOUT_S = 10.0
DEFAULT_POLL_INTERVAL_S = 0.02
DEFAULT_COUNTER_TTL_S = 600.0
LOCK_KEY_PART = "lock"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
KNOWN_KEYS = frozenset(
    {
        "url",
        "host",
        "port",
        "db",
        "username",
        "password",
        "use_ssl",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_ca_certs",
        "key_prefix",
        "socket_timeout",
        "poll_interval_s",
        "counter_ttl_s",
    }
)


class LockStoreConfigError(ValueError):
    """A lock store setting with a bad value: names the key, the value and what is expected."""

    def __init__(self, key: str, value: Any, expected: str) -> None:
        super().__init__(f"lock_store {key}={value!r} is not valid: expected {expected}")
        self.key = key


@dataclass(frozen=True)
class LockStoreConfig:
    host: str = "localhost"
    port: int = 6379
    db: int = 1
    username: Optional[str] = None
    password: Optional[str] = None
    use_ssl: bool = False
    ssl_certfile: Optional[str] = None
    ssl_keyfile: Optional[str] = None
    ssl_ca_certs: Optional[str] = None
    key_prefix: str = ""
    socket_timeout: float = DEFAULT_SOCKET_TIMEOUT_S
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S
    counter_ttl_s: float = DEFAULT_COUNTER_TTL_S

    @property
    def address(self) -> str:
        """host:port (db N), for error messages; never the password."""
        return f"{self.host}:{self.port} (db {self.db})"

    def key(self, conversation_id: str, part: str) -> str:
        """The Redis key of one part of a conversation's lock. The conversation sits in a hash tag, so its keys
        share one Redis Cluster slot (a Lua script may only touch keys of one slot)."""
        prefix = f"{self.key_prefix}:" if self.key_prefix else ""
        return f"{prefix}{LOCK_KEY_PART}:{{{conversation_id}}}:{part}"


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _int(key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise LockStoreConfigError(key, value, f"an integer in {low}..{high}")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise LockStoreConfigError(key, value, f"an integer in {low}..{high}") from None
    if not low <= number <= high:
        raise LockStoreConfigError(key, value, f"an integer in {low}..{high}")
    return number


def _float(key: str, value: Any, low: float, high: float) -> float:
    expected = f"a number of seconds in ({low:g}, {high:g}]"
    if isinstance(value, bool):
        raise LockStoreConfigError(key, value, expected)
    try:
        number = float(str(value).strip())
    except ValueError:
        raise LockStoreConfigError(key, value, expected) from None
    if not low < number <= high:
        raise LockStoreConfigError(key, value, expected)
    return number


def _bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise LockStoreConfigError(key, value, "true or false")


def _from_url(url: str) -> dict[str, Any]:
    """The parts of a redis:// or rediss:// URL as settings (host, port, db, username, password, use_ssl)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("redis", "rediss") or not parsed.hostname:
        raise LockStoreConfigError("url", url, "a host name or a redis://host:port/db URL")
    parts: dict[str, Any] = {"host": parsed.hostname, "use_ssl": parsed.scheme == "rediss"}
    try:
        if parsed.port is not None:
            parts["port"] = parsed.port
    except ValueError:
        raise LockStoreConfigError("url", url, "a port in 1..65535") from None
    if parsed.path.strip("/"):
        parts["db"] = parsed.path.strip("/")
    if parsed.username:
        parts["username"] = urllib.parse.unquote(parsed.username)
    if parsed.password:
        parts["password"] = urllib.parse.unquote(parsed.password)
    return parts


def parse_lock_config(values: Mapping[str, Any]) -> LockStoreConfig:
    """A validated LockStoreConfig from an endpoints entry's keys (`url` and the rest; `type` left out)."""
    unknown = sorted(set(values) - KNOWN_KEYS)
    if unknown:
        raise LockStoreConfigError(unknown[0], values[unknown[0]], f"one of the keys {sorted(KNOWN_KEYS)}")
    given = {key: value for key, value in values.items() if _present(value)}
    url = given.pop("url", None)
    if url is not None and "host" in given:
        raise LockStoreConfigError("host", given["host"], "either url or host, not both")
    merged: dict[str, Any] = {}
    if url is not None:
        text = str(url).strip()
        merged.update(_from_url(text) if "://" in text else {"host": text})
    merged.update(given)  # explicit keys win over the URL's parts

    host = str(merged.get("host", "localhost")).strip()
    if not host or any(char.isspace() or char in "/@" for char in host):
        raise LockStoreConfigError("url", merged.get("host"), "a host name or a redis://host:port/db URL")
    prefix = str(merged.get("key_prefix", "")).strip()
    if prefix and not prefix.isalnum():
        raise LockStoreConfigError("key_prefix", prefix, "letters and digits only")

    def optional_text(key: str) -> Optional[str]:
        return str(merged[key]) if key in merged else None

    return LockStoreConfig(
        host=host,
        port=_int("port", merged.get("port", 6379), 1, 65535),
        db=_int("db", merged.get("db", 1), 0, 1_000_000),
        username=optional_text("username"),
        password=optional_text("password"),
        use_ssl=_bool("use_ssl", merged.get("use_ssl", False)),
        ssl_certfile=optional_text("ssl_certfile"),
        ssl_keyfile=optional_text("ssl_keyfile"),
        ssl_ca_certs=optional_text("ssl_ca_certs"),
        key_prefix=prefix,
        socket_timeout=_float(
            "socket_timeout", merged.get("socket_timeout", DEFAULT_SOCKET_TIMEOUT_S), 0, 300
        ),
        poll_interval_s=_float(
            "poll_interval_s", merged.get("poll_interval_s", DEFAULT_POLL_INTERVAL_S), 0, 5
        ),
        counter_ttl_s=_float(
            "counter_ttl_s", merged.get("counter_ttl_s", DEFAULT_COUNTER_TTL_S), 0, 30 * 86400
        ),
    )
