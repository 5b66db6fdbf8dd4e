"""The production topology's settings (`make run-cluster`, docs/deploy.md), read once and validated at start.

Every address is a setting, so a part can live on another machine: the engines are URLs (`REDIS_URL`,
`POSTGRES_URL`, `RABBITMQ_URL`); `CLUSTER_ENGINES` says which of them this box starts itself (on the URL's
port: its host must then be loopback); `RASA_UPSTREAMS_EXTRA` / `ACTION_UPSTREAMS_EXTRA` add Rasa instances and
action workers on other machines to nginx's upstreams. A bad value raises `ClusterConfigError` naming the
variable and the value (never a password). Standard library only.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from scripts.engines import RabbitPorts
from scripts.nginx import NginxConfigError, NginxSite, check_address
from scripts.stack import LOOPBACK, StackConfig, free_port

ENGINES = ("redis", "postgres", "rabbitmq")
DEV_POSTGRES_PASSWORD = "dev-postgres-password"
DEFAULTS = {
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "POSTGRES_URL": f"postgresql://rasa:{DEV_POSTGRES_PASSWORD}@127.0.0.1:5432/rasa",
    "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/",
}
SCHEMES = {"REDIS_URL": ("redis",), "POSTGRES_URL": ("postgresql",), "RABBITMQ_URL": ("amqp", "amqps")}
MAX_PROCESSES = 16


class ClusterConfigError(ValueError):
    """A cluster setting with a bad value; the message names the variable, the value and what is expected."""

    def __init__(self, name: str, value: object, expected: str) -> None:
        super().__init__(f"{name}={value!r} is not valid: expected {expected}")
        self.name = name


@dataclass(frozen=True)
class EngineUrl:
    """One engine's parsed URL."""

    url: str
    host: str
    port: int
    user: str
    password: str
    path: str  # the db number (Redis), database (Postgres) or vhost (RabbitMQ), without the leading /


def shown(url: str) -> str:
    parts = urlsplit(url)
    return url.replace(f":{parts.password}@", ":***@", 1) if parts.password else url


def parse_engine_url(name: str, url: str) -> EngineUrl:
    parts = urlsplit(url)
    expected = f"{'|'.join(SCHEMES[name])}://[user:password@]host:port/..."
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in SCHEMES[name] or not parts.hostname or not port:
        raise ClusterConfigError(name, shown(url), expected)
    path = parts.path.lstrip("/")
    if name == "REDIS_URL" and not (path or "0").isdigit():
        raise ClusterConfigError(name, shown(url), "a Redis db number as the path, e.g. redis://host:6379/0")
    if name == "POSTGRES_URL" and not (path and parts.username and parts.password):
        raise ClusterConfigError(name, shown(url), "postgresql://user:password@host:port/database")
    return EngineUrl(
        url, parts.hostname, port, unquote(parts.username or ""), unquote(parts.password or ""), path
    )


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _count(env: Mapping[str, str], name: str, default: int, most: int = MAX_PROCESSES) -> int:
    raw = env.get(name, "").strip() or str(default)
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise ClusterConfigError(name, raw, f"a whole number from 1 to {most}")
    return int(raw)


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip() or str(default)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ClusterConfigError(name, raw, "a TCP port (1-65535)")
    return int(raw)


def _addresses(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name, "")
    addresses = tuple(part.strip() for part in raw.replace(",", " ").split() if part.strip())
    for address in addresses:
        try:
            check_address(address, name)
        except NginxConfigError:
            raise ClusterConfigError(name, raw, "host:port addresses separated by commas") from None
    return addresses


@dataclass
class ClusterConfig:
    """The stack (its rasa/action ports are nginx's, so everyone reaches Rasa and the actions through nginx),
    the local processes' ports and the engines' URLs."""

    stack: StackConfig
    data_dir: Path
    rasa_ports: tuple[int, ...]
    action_ports: tuple[int, ...]
    engine_urls: dict[str, str] = field(default_factory=lambda: dict(DEFAULTS))
    local_engines: tuple[str, ...] = ENGINES
    extra_rasa_upstreams: tuple[str, ...] = ()
    extra_action_upstreams: tuple[str, ...] = ()
    listen_host: str = LOOPBACK
    rabbitmq_dist_port: int = 25672
    rabbitmq_epmd_port: int = 4369
    sql_pool_size: str = "5"
    sql_max_overflow: str = "10"

    def __post_init__(self) -> None:
        for name, url in self.engine_urls.items():
            parsed = parse_engine_url(name, url)
            engine = name.removesuffix("_URL").lower()
            if engine in self.local_engines and not is_loopback(parsed.host):
                raise ClusterConfigError(
                    name, shown(url), f"a loopback host while CLUSTER_ENGINES starts {engine} on this box"
                )
        if "rabbitmq" in self.local_engines:
            rabbit = self.engine("RABBITMQ_URL")
            if (rabbit.user, rabbit.password) != ("guest", "guest"):
                raise ClusterConfigError(
                    "RABBITMQ_URL", shown(rabbit.url), "user guest:guest for a local RabbitMQ"
                )

    @classmethod
    def on_free_ports(cls, var_dir: Path, rasa_instances: int = 2, action_workers: int = 2,
                      **stack_overrides: object) -> ClusterConfig:  # fmt: skip
        """Every port free, random internal secrets and a random Postgres password (tests, benchmarks)."""
        stack = StackConfig.on_free_ports(var_dir, **stack_overrides)
        rabbit = RabbitPorts.free()
        password = random_password()
        return cls(
            stack=stack,
            data_dir=var_dir / "cluster",
            rasa_ports=tuple(free_port() for _ in range(rasa_instances)),
            action_ports=tuple(free_port() for _ in range(action_workers)),
            engine_urls={
                "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
                "POSTGRES_URL": f"postgresql://rasa:{password}@127.0.0.1:{free_port()}/rasa",
                "RABBITMQ_URL": f"amqp://guest:guest@127.0.0.1:{rabbit.amqp}/",
            },
            rabbitmq_dist_port=rabbit.dist,
            rabbitmq_epmd_port=rabbit.epmd,
        )

    def engine(self, name: str) -> EngineUrl:
        return parse_engine_url(name, self.engine_urls[name])

    @property
    def rabbit_ports(self) -> RabbitPorts:
        return RabbitPorts(self.engine("RABBITMQ_URL").port, self.rabbitmq_dist_port, self.rabbitmq_epmd_port)

    def site(self) -> NginxSite:
        return NginxSite(
            rasa_port=self.stack.rasa_port,
            action_port=self.stack.action_port,
            rasa_upstreams=tuple(f"{LOOPBACK}:{p}" for p in self.rasa_ports) + self.extra_rasa_upstreams,
            action_upstreams=tuple(f"{LOOPBACK}:{p}" for p in self.action_ports)
            + self.extra_action_upstreams,
            listen_host=self.listen_host,
        )

    def env(self) -> dict[str, str]:
        """What endpoints.cluster.yml, the bot service and the analytics sink read (.env.example)."""
        redis, postgres, rabbit = (self.engine(n) for n in ("REDIS_URL", "POSTGRES_URL", "RABBITMQ_URL"))
        return {
            "REDIS_URL": redis.url,
            "REDIS_HOST": redis.host,
            "REDIS_PORT": str(redis.port),
            "REDIS_DB": redis.path or "0",
            "REDIS_PASSWORD": redis.password,
            "POSTGRES_HOST": postgres.host,
            "POSTGRES_PORT": str(postgres.port),
            "POSTGRES_DB": postgres.path,
            "POSTGRES_USER": postgres.user,
            "POSTGRES_PASSWORD": postgres.password,
            "TRACKER_URL": postgres.url,
            # Rasa's Postgres pool is 50 + 100 overflow per instance by default, more than max_connections (100)
            # allows for two; its tracker store uses one connection at a time (docs/deploy.md, sizing)
            "SQL_POOL_SIZE": self.sql_pool_size,
            "SQL_MAX_OVERFLOW": self.sql_max_overflow,
            "RABBITMQ_URL": rabbit.url,
            "SOCKETIO_MANAGER_URL": redis.url,  # socket.io rooms across the Rasa instances (bot/rasa_channel.py)
            "CONSOLE_FEED": "broker",
            "CONSOLE_BROKER_URL": rabbit.url,
            "ANALYTICS_BROKER_URL": rabbit.url,
        }


def random_password() -> str:

    return secrets.token_urlsafe(18)


def from_env(env: Mapping[str, str], stack: StackConfig) -> ClusterConfig:
    """The cluster's settings from `env` over the defaults, around an already-read StackConfig (scripts.run's:
    ports, secrets, hosts); ClusterConfigError naming the first bad one."""
    instances = _count(env, "RASA_INSTANCES", 2)
    workers = _count(env, "ACTION_WORKERS", 2)
    rasa_base = _port(env, "RASA_BASE_PORT", 5006)
    action_base = _port(env, "ACTION_BASE_PORT", 5056)
    raw_engines = env.get("CLUSTER_ENGINES", " ".join(ENGINES))
    local = tuple(part for part in raw_engines.replace(",", " ").split() if part)
    if any(engine not in ENGINES for engine in local):
        raise ClusterConfigError("CLUSTER_ENGINES", raw_engines, f"some of {', '.join(ENGINES)} (or empty)")
    if env.get("SHOPDESK_ENV") == "production" and DEV_POSTGRES_PASSWORD in env.get(
        "POSTGRES_URL", DEV_POSTGRES_PASSWORD
    ):
        raise ClusterConfigError(
            "POSTGRES_URL", "<hidden>", "a real password in production (not the dev default)"
        )
    rasa_ports = tuple(range(rasa_base, rasa_base + instances))
    action_ports = tuple(range(action_base, action_base + workers))
    if set(rasa_ports) & set(action_ports):
        raise ClusterConfigError("ACTION_BASE_PORT", action_base, f"ports apart from Rasa's {rasa_ports}")
    return ClusterConfig(
        stack=stack,
        data_dir=Path(env.get("CLUSTER_DIR", "").strip() or stack.var_dir / "cluster"),
        rasa_ports=rasa_ports,
        action_ports=action_ports,
        engine_urls={name: env.get(name, "").strip() or default for name, default in DEFAULTS.items()},
        local_engines=local,
        extra_rasa_upstreams=_addresses(env, "RASA_UPSTREAMS_EXTRA"),
        extra_action_upstreams=_addresses(env, "ACTION_UPSTREAMS_EXTRA"),
        listen_host=env.get("CLUSTER_HOST", "").strip() or LOOPBACK,
        rabbitmq_dist_port=_port(env, "RABBITMQ_DIST_PORT", 25672),
        rabbitmq_epmd_port=_port(env, "RABBITMQ_EPMD_PORT", 4369),
        sql_pool_size=str(_count(env, "SQL_POOL_SIZE", 5, 100)),
        sql_max_overflow=str(_count(env, "SQL_MAX_OVERFLOW", 10, 100)),
    )
