"""Configuration of the bot web service, read once from the environment (see .env.example)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from analytics.errors import ConfigError as AnalyticsConfigError
from analytics.settings import AnalyticsSettings
from analytics.settings import from_env as analytics_from_env
from bot.canned import CannedFileError, load_seed
from bot.errors import ConfigError
from bot.feed_settings import FeedSettings, feed_from_env
from bot.hours import BusinessHours, parse_business_hours
from bot.passwords import hash_password
from bot.widget_session import DEV_SECRET as DEV_WIDGET_SECRET
from shop.read import BACKENDS, DEFAULT_BACKEND

ROOT = Path(__file__).resolve().parent.parent

DEMO_AGENT_EMAIL = "agent@shopdesk.test"
DEMO_ADMIN_EMAIL = "admin@shopdesk.test"  # the demo admin: the console plus the analytics dashboard
DEMO_AGENT_PASSWORD = "shopdesk-demo"  # documented dev login (both demo accounts), refused in production
ROLES = ("agent", "admin")  # an admin also sees the analytics dashboard (bot/dashboard.py)
FLAGS = {
    **dict.fromkeys(("1", "true", "yes", "on"), True),
    **dict.fromkeys(("0", "false", "no", "off"), False),
}
DEV_SECRETS = {"dev-rasa-token", "dev-handoff-token", "dev-session-secret", DEV_WIDGET_SECRET, ""}


@dataclass(frozen=True)
class Agent:
    email: str
    name: str
    password_hash: str
    role: str = "agent"  # "agent" | "admin"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""  # how browsers reach this service; default http://host:port
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_public_url: str = ""  # where the widget's socket.io goes; default: this service (its proxy)
    rasa_token: str = "dev-rasa-token"
    rasa_output_channel: str = "latest"
    handoff_token: str = "dev-handoff-token"
    session_secret: str = "dev-session-secret"
    widget_session_secret: str = DEV_WIDGET_SECRET
    trusted_proxies: frozenset[str] = frozenset()  # peers whose X-Forwarded-For names the client
    handoff_queue_timeout_s: float = 900.0  # a queued handoff nobody claims is closed after this; 0 = never
    db_path: Path = ROOT / "var" / "handoff.db"
    shop_db_path: Path = ROOT / "var" / "shop.db"
    shop_backend: str = DEFAULT_BACKEND  # SHOP_BACKEND: which implementation the shop's read API opens
    agents: tuple[Agent, ...] = ()
    business_hours: BusinessHours = field(default_factory=lambda: parse_business_hours("always"))
    production: bool = False
    session_ttl_s: int = 8 * 3600
    poll_interval_s: float = 0.25
    feed: FeedSettings = field(
        default_factory=FeedSettings
    )  # CONSOLE_FEED, CONSOLE_BROKER_* (bot.feed_settings)
    max_message_chars: int = 2000
    agent_rate: tuple[int, float] = (20, 10.0)  # at most 20 replies per 10 s per agent
    avg_handle_s: int = 180  # expected minutes per conversation for the wait estimate
    allowed_origins: tuple[str, ...] = ()  # extra websocket Origins besides public_url
    csat_idle_s: float = 300.0  # the widget asks for a rating after this much silence following a bot reply
    csat_retry_interval_s: float = 30.0  # how often ratings Rasa missed are written to its tracker again
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)  # EVENT_BROKER_DB, ANALYTICS_DB
    canned_replies_file: Path = (
        ROOT / "bot" / "canned_replies.yml"
    )  # seeds the canned replies (bot.canned_store)
    search_catchup_interval_s: float = 2.0  # the console search indexes what closed since; 0 = only per query
    index_dir: Path = (
        ROOT / "var" / "index"
    )  # INDEX_DIR: where the admin's catalog import writes (bot.catalog_admin)
    catalog_upload_max_bytes: int = 50 * 2**20  # CATALOG_UPLOAD_MAX_MB: a larger upload is answered 413
    # SHOPDESK_CATALOG_ENCODER: the catalog-adapted encoder the admin's import builds the catalog with (the same
    # value as the action server's); None: the stock model
    catalog_encoder: Path | None = None
    # the team slice (docs/console/team.md): auto-assignment and agents going offline
    auto_assign: bool = False  # AUTO_ASSIGN: waiting conversations go to the least busy online agent
    agent_max_chats: int = 3  # AGENT_MAX_CHATS: auto-assignment never gives an agent more than this
    agent_offline_grace_s: float = 60.0  # AGENT_OFFLINE_GRACE_S: no console this long = offline

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def socket_url(self) -> str:
        """Where the widget opens socket.io: by default this service, which proxies it to Rasa."""
        return (self.rasa_public_url or self.base_url).rstrip("/")

    @property
    def origins(self) -> frozenset[str]:
        origins = {self.base_url, *self.allowed_origins}
        if not self.production:
            origins |= {f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"}
        return frozenset(origins)

    @property
    def cookie_secure(self) -> bool:
        return self.production or self.base_url.startswith("https://")


def demo_agents() -> tuple[Agent, ...]:
    password_hash = hash_password(DEMO_AGENT_PASSWORD)
    return (
        Agent(DEMO_AGENT_EMAIL, "Alex (demo agent)", password_hash),
        Agent(DEMO_ADMIN_EMAIL, "Ada (demo admin)", password_hash, "admin"),
    )


def load_agents(path: Path) -> tuple[Agent, ...]:
    """A JSON list of ``{"email", "name", "password_hash", "role"?}`` (hash from ``python -m bot hash-password``;
    role "agent", the default, or "admin")."""
    try:
        rows = json.loads(path.read_text())
        agents = tuple(
            Agent(r["email"].strip().lower(), r["name"], r["password_hash"], r.get("role", "agent"))
            for r in rows
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ConfigError(
            "AGENTS_FILE", str(path), f"a JSON list of {{email, name, password_hash, role?}} ({error})"
        ) from None
    if not agents:
        raise ConfigError("AGENTS_FILE", str(path), "at least one agent")
    for agent in agents:
        if agent.role not in ROLES:
            raise ConfigError(
                "AGENTS_FILE", f"{agent.email}: role {agent.role!r}", f"a role of {', '.join(ROLES)}"
            )
    return agents


def from_env(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    production = env.get("SHOPDESK_ENV", "development") == "production"

    def number(name: str, default: str) -> float:
        raw = env.get(name, default)
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(name, raw, "a number") from None

    def flag(name: str, default: str) -> bool:
        raw = env.get(name, default).strip().lower()
        if raw not in FLAGS:
            raise ConfigError(name, raw, f"one of {', '.join(FLAGS)}")
        return FLAGS[raw]

    agents_file = env.get("AGENTS_FILE", "")
    agents = load_agents(Path(agents_file)) if agents_file else demo_agents()
    try:
        analytics = analytics_from_env(env)
    except AnalyticsConfigError as error:
        raise ConfigError(error.name, error.value, error.expected) from None
    settings = Settings(
        host=env.get("BOT_HOST", "127.0.0.1"),
        port=int(number("BOT_PORT", "8080")),
        public_url=env.get("BOT_PUBLIC_URL", ""),
        rasa_url=env.get("RASA_URL", "http://127.0.0.1:5005"),
        rasa_public_url=env.get("RASA_PUBLIC_URL", ""),
        rasa_token=env.get("RASA_TOKEN", "dev-rasa-token"),
        rasa_output_channel=env.get("RASA_OUTPUT_CHANNEL", "latest"),
        handoff_token=env.get("HANDOFF_TOKEN", "dev-handoff-token"),
        session_secret=env.get("SESSION_SECRET", "dev-session-secret"),
        widget_session_secret=env.get("WIDGET_SESSION_SECRET", DEV_WIDGET_SECRET),
        trusted_proxies=frozenset(
            p.strip() for p in env.get("BOT_TRUSTED_PROXIES", "").split(",") if p.strip()
        ),
        handoff_queue_timeout_s=number("HANDOFF_QUEUE_TIMEOUT_S", "900"),
        db_path=Path(env.get("HANDOFF_DB_PATH", str(ROOT / "var" / "handoff.db"))),
        shop_db_path=Path(env.get("SHOP_DB_PATH", str(ROOT / "var" / "shop.db"))),
        shop_backend=(env.get("SHOP_BACKEND") or DEFAULT_BACKEND).strip().lower(),
        agents=agents,
        business_hours=parse_business_hours(env.get("BUSINESS_HOURS", "always")),
        production=production,
        session_ttl_s=int(number("AGENT_SESSION_TTL_S", str(8 * 3600))),
        poll_interval_s=number("HANDOFF_POLL_INTERVAL_S", "0.25"),
        feed=feed_from_env(env, production),
        allowed_origins=tuple(
            o.strip().rstrip("/") for o in env.get("BOT_ALLOWED_ORIGINS", "").split(",") if o.strip()
        ),
        csat_idle_s=number("CSAT_IDLE_S", "300"),
        csat_retry_interval_s=number("CSAT_RETRY_INTERVAL_S", "30"),
        analytics=analytics,
        canned_replies_file=Path(env.get("CANNED_REPLIES_FILE") or ROOT / "bot" / "canned_replies.yml"),
        search_catchup_interval_s=number("SEARCH_CATCHUP_INTERVAL_S", "2"),
        index_dir=Path(env.get("INDEX_DIR") or ROOT / "var" / "index"),
        catalog_upload_max_bytes=int(number("CATALOG_UPLOAD_MAX_MB", "50") * 2**20),
        catalog_encoder=_catalog_encoder(env.get("SHOPDESK_CATALOG_ENCODER", "")),
        auto_assign=flag("AUTO_ASSIGN", "0"),
        agent_max_chats=int(number("AGENT_MAX_CHATS", "3")),
        agent_offline_grace_s=number("AGENT_OFFLINE_GRACE_S", "60"),
    )
    if not settings.poll_interval_s > 0:
        raise ConfigError("HANDOFF_POLL_INTERVAL_S", settings.poll_interval_s, "a number of seconds above 0")
    if settings.shop_backend not in BACKENDS:
        raise ConfigError("SHOP_BACKEND", settings.shop_backend, f"one of {', '.join(BACKENDS)}")
    if settings.handoff_queue_timeout_s < 0:
        raise ConfigError("HANDOFF_QUEUE_TIMEOUT_S", settings.handoff_queue_timeout_s, "0 (never) or more")
    for name, value in (
        ("CSAT_IDLE_S", settings.csat_idle_s),
        ("CSAT_RETRY_INTERVAL_S", settings.csat_retry_interval_s),
    ):
        if not value > 0:
            raise ConfigError(name, value, "a number of seconds above 0")
    try:
        load_seed(settings.canned_replies_file)  # read again at start-up; checked here to fail fast
    except CannedFileError as error:
        raise ConfigError(
            "CANNED_REPLIES_FILE", str(error.path), f"a usable file: {error.where}: {error.problem}"
        ) from None
    if settings.search_catchup_interval_s < 0:
        raise ConfigError(
            "SEARCH_CATCHUP_INTERVAL_S",
            settings.search_catchup_interval_s,
            "0 (only before each search) or more",
        )
    if not settings.catalog_upload_max_bytes > 0:
        raise ConfigError(
            "CATALOG_UPLOAD_MAX_MB", env.get("CATALOG_UPLOAD_MAX_MB"), "a number of megabytes above 0"
        )
    if settings.agent_max_chats < 1 or settings.agent_max_chats != number("AGENT_MAX_CHATS", "3"):
        raise ConfigError("AGENT_MAX_CHATS", env.get("AGENT_MAX_CHATS"), "a whole number of 1 or more")
    if not settings.agent_offline_grace_s > 0:
        raise ConfigError(
            "AGENT_OFFLINE_GRACE_S", settings.agent_offline_grace_s, "a number of seconds above 0"
        )
    validate(settings)
    return settings


def _catalog_encoder(value: str) -> Path | None:
    """SHOPDESK_CATALOG_ENCODER: empty, or a catalog-adapted model directory (checked as the action server does)."""
    if not value.strip():
        return None
    from retrieval.catalog_encoder import catalog_serving
    from retrieval.config import RetrievalConfig
    from retrieval.errors import ConfigError as RetrievalConfigError

    path = Path(value.strip()).expanduser()
    path = path if path.is_absolute() else ROOT / path
    try:
        catalog_serving(RetrievalConfig(), path)
    except RetrievalConfigError as error:
        raise ConfigError("SHOPDESK_CATALOG_ENCODER", value, str(error)) from None
    return path


def validate(settings: Settings) -> None:
    """Fail fast on placeholder secrets and the demo agent in production."""
    if not settings.production:
        return
    for name, value in (
        ("RASA_TOKEN", settings.rasa_token),
        ("HANDOFF_TOKEN", settings.handoff_token),
        ("SESSION_SECRET", settings.session_secret),
        ("WIDGET_SESSION_SECRET", settings.widget_session_secret),
    ):
        if value in DEV_SECRETS or len(value) < 16:
            raise ConfigError(name, "<hidden>", "a real secret of 16+ characters in production")
    for demo in (DEMO_AGENT_EMAIL, DEMO_ADMIN_EMAIL):
        if any(agent.email == demo for agent in settings.agents):
            raise ConfigError("AGENTS_FILE", demo, "real agents (the demo agents are refused in production)")
