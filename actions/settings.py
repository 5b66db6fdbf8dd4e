"""Action-server settings: the one place the action server reads ``os.environ``.

Every value has a development default so ``make run`` needs no configuration; with
``SHOPDESK_ENV=production`` placeholder secrets are refused at startup. ``Settings.from_env()`` runs once, in
``actions.server`` before serving (``actions.services.Services.from_settings``); nothing in the actions reads the
environment or these settings lazily. The ledger part (``Settings.ledger``) is read by ``ledger.settings`` — the
same code, rules and development keys as the ledger sender.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from actions.mood_rules import MoodConfig
from ledger.errors import LedgerConfigError
from ledger.settings import LedgerSettings
from retrieval.responder.config import PRECISION_CHOICES, THRESHOLD_PROBABILITIES, Gate
from retrieval.responder.errors import ResponderConfigError
from shop import BACKENDS, DEFAULT_BACKEND

REPO_ROOT = Path(__file__).resolve().parent.parent

DEV_HANDOFF_TOKEN = "dev-handoff-token"
DEV_ACTION_SERVER_TOKEN = "dev-action-token"
DEV_VERIFICATION_KEY = "dev-verification-key"
_PLACEHOLDERS = {
    DEV_HANDOFF_TOKEN,
    DEV_ACTION_SERVER_TOKEN,
    DEV_VERIFICATION_KEY,
    "",
    "changeme",
}
ENVIRONMENTS = ("development", "test", "production")
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


def _path(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    shop_backend: str = DEFAULT_BACKEND  # SHOP_BACKEND: which shop implementation (shop.BACKENDS)
    shop_db_path: Path = REPO_ROOT / "var" / "shop.db"
    seed_if_missing: bool = True
    handoff_url: str = "http://127.0.0.1:8080"
    handoff_token: str = DEV_HANDOFF_TOKEN
    index_dir: Path = REPO_ROOT / "var" / "index"
    responder_dir: Path = REPO_ROOT / "var" / "responder"
    responder_top_k: int = 20  # RESPONDER_TOP_K: candidates the responder re-ranks
    responder_precision: str = "auto"  # RESPONDER_PRECISION: auto | fp32 | bf16 | int8
    responder_compile: bool = True  # RESPONDER_COMPILE: torch.compile at startup (0 to serve eagerly)
    # RESPONDER_THRESHOLDS="answer=0.5,clarify=0.1": replace the thresholds fitted on dev, field by field
    responder_thresholds: tuple[tuple[str, float], ...] = ()
    # RESPONDER_GATE: on (the gate chosen on dev) | off (always re-rank) | "margin=0.12,floor=0.6,kinds=kb+product"
    responder_gate: Gate | None = field(default_factory=Gate)
    # LEDGER_*: the chain, the signing key, the HMAC key, the receipt wait (ledger.settings reads them)
    ledger: LedgerSettings = field(default_factory=LedgerSettings)
    # --- order authority (issue 10) ---
    action_server_token: str = DEV_ACTION_SERVER_TOKEN  # ACTION_SERVER_TOKEN: Rasa's bearer token
    action_server_host: str = "127.0.0.1"  # ACTION_SERVER_HOST: where the action server binds
    verification_key: str = DEV_VERIFICATION_KEY  # VERIFICATION_KEY: signs the verification proof slot
    verification_ttl_s: int = 1800  # VERIFICATION_TTL_S: how long a verified order stays verified
    # VERIFICATION_MAX_FAILURES_PER_ORDER / _PER_CLIENT within VERIFICATION_THROTTLE_WINDOW_S
    verification_max_failures_per_order: int = 5
    verification_max_failures_per_client: int = 20
    verification_throttle_window_s: int = 900
    # --- retrieval before giving up (issue 12) ---
    policy_kb_answers: bool = (
        True  # POLICY_KB_ANSWERS: policy intents answer from a specific KB entry (0: static)
    )
    fallback_offer_human_after: int = (
        2  # FALLBACK_OFFER_HUMAN_AFTER: misses in a row before a person is offered
    )
    # --- mood (issue 14) ---
    # SENTIMENT_DIR: the trained sentiment model (none there: the lexicon baseline)
    sentiment_dir: Path = REPO_ROOT / "var" / "sentiment"
    mood: MoodConfig = field(default_factory=MoodConfig)  # MOOD_*: smoothing and when to offer a person
    # SENTIMENT_CACHE: single-text predictions the model keeps (repeated messages: "hi", "thanks"); 0: none
    sentiment_cache: int = 4096
    # --- per-message cost (issue 15) ---
    threads: int = (
        1  # ACTION_THREADS: torch / OpenMP / BLAS threads of each worker (the box is shared with Rasa)
    )
    # --- catalog-adapted encoder (issue 16) ---
    # SHOPDESK_CATALOG_ENCODER: a model directory from `make adapt-encoder` that builds and searches the English
    # catalog (with the thresholds in its adapt.json); empty: the stock model. The KB keeps the stock model.
    catalog_encoder: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        d = cls()
        settings = cls(
            environment=env.get("SHOPDESK_ENV", d.environment),
            shop_backend=(env.get("SHOP_BACKEND") or d.shop_backend).strip().lower(),
            shop_db_path=_path(env["SHOP_DB_PATH"]) if env.get("SHOP_DB_PATH") else d.shop_db_path,
            seed_if_missing=env.get("SHOP_DB_SEED", "1").strip().lower() not in _FALSE,
            handoff_url=env.get("HANDOFF_URL", d.handoff_url).rstrip("/"),
            handoff_token=env.get("HANDOFF_TOKEN", d.handoff_token),
            index_dir=_path(env["INDEX_DIR"]) if env.get("INDEX_DIR") else d.index_dir,
            responder_dir=_path(env["RESPONDER_DIR"]) if env.get("RESPONDER_DIR") else d.responder_dir,
            responder_top_k=_int("RESPONDER_TOP_K", env.get("RESPONDER_TOP_K"), d.responder_top_k),
            responder_precision=env.get("RESPONDER_PRECISION", d.responder_precision).strip().lower(),
            responder_compile=env.get("RESPONDER_COMPILE", "1").strip().lower() not in _FALSE,
            responder_thresholds=_thresholds(env.get("RESPONDER_THRESHOLDS", "")),
            responder_gate=_gate(env.get("RESPONDER_GATE", "on")),
            action_server_token=env.get("ACTION_SERVER_TOKEN") or d.action_server_token,  # empty: default
            action_server_host=(env.get("ACTION_SERVER_HOST") or d.action_server_host).strip(),
            verification_key=env.get("VERIFICATION_KEY") or d.verification_key,
            verification_ttl_s=_int(
                "VERIFICATION_TTL_S", env.get("VERIFICATION_TTL_S"), d.verification_ttl_s
            ),
            verification_max_failures_per_order=_int(
                "VERIFICATION_MAX_FAILURES_PER_ORDER",
                env.get("VERIFICATION_MAX_FAILURES_PER_ORDER"),
                d.verification_max_failures_per_order,
            ),
            verification_max_failures_per_client=_int(
                "VERIFICATION_MAX_FAILURES_PER_CLIENT",
                env.get("VERIFICATION_MAX_FAILURES_PER_CLIENT"),
                d.verification_max_failures_per_client,
            ),
            verification_throttle_window_s=_int(
                "VERIFICATION_THROTTLE_WINDOW_S",
                env.get("VERIFICATION_THROTTLE_WINDOW_S"),
                d.verification_throttle_window_s,
            ),
            policy_kb_answers=env.get("POLICY_KB_ANSWERS", "1").strip().lower() not in _FALSE,
            fallback_offer_human_after=_int(
                "FALLBACK_OFFER_HUMAN_AFTER",
                env.get("FALLBACK_OFFER_HUMAN_AFTER"),
                d.fallback_offer_human_after,
            ),
            sentiment_dir=_path(env["SENTIMENT_DIR"]) if env.get("SENTIMENT_DIR") else d.sentiment_dir,
            mood=_mood(env, d.mood),
            sentiment_cache=_int("SENTIMENT_CACHE", env.get("SENTIMENT_CACHE"), d.sentiment_cache),
            threads=_int("ACTION_THREADS", env.get("ACTION_THREADS"), d.threads),
            catalog_encoder=(
                _path(env["SHOPDESK_CATALOG_ENCODER"].strip())
                if env.get("SHOPDESK_CATALOG_ENCODER", "").strip()
                else None
            ),
        )
        settings.validate()
        return dataclasses.replace(settings, ledger=_ledger(env))  # after ours: their errors come first

    def validate(self) -> None:
        if self.shop_backend not in BACKENDS:
            raise SettingsError(f"SHOP_BACKEND={self.shop_backend!r}: expected one of {', '.join(BACKENDS)}")
        if self.environment not in ENVIRONMENTS:
            raise SettingsError(
                f"SHOPDESK_ENV={self.environment!r}: expected one of {', '.join(ENVIRONMENTS)}"
            )
        parsed = urlparse(self.handoff_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise SettingsError(
                f"HANDOFF_URL={self.handoff_url!r}: expected an http(s) URL such as http://127.0.0.1:8080"
            )
        if self.responder_precision not in PRECISION_CHOICES:
            raise SettingsError(
                f"RESPONDER_PRECISION={self.responder_precision!r}: expected one of {', '.join(PRECISION_CHOICES)}"
            )
        if self.responder_top_k < 1 or self.responder_top_k > 200:
            raise SettingsError(f"RESPONDER_TOP_K={self.responder_top_k}: expected 1 to 200")
        if not self.action_server_host or any(c.isspace() for c in self.action_server_host):
            raise SettingsError(
                f"ACTION_SERVER_HOST={self.action_server_host!r}: expected an address such as 127.0.0.1"
            )
        if not 60 <= self.verification_ttl_s <= 86_400:
            raise SettingsError(f"VERIFICATION_TTL_S={self.verification_ttl_s}: expected 60 to 86400 seconds")
        for limit_name, limit in (
            ("VERIFICATION_MAX_FAILURES_PER_ORDER", self.verification_max_failures_per_order),
            ("VERIFICATION_MAX_FAILURES_PER_CLIENT", self.verification_max_failures_per_client),
        ):
            if not 1 <= limit <= 100_000:
                raise SettingsError(f"{limit_name}={limit}: expected 1 to 100000")
        if not 1 <= self.verification_throttle_window_s <= 7 * 86_400:
            raise SettingsError(
                f"VERIFICATION_THROTTLE_WINDOW_S={self.verification_throttle_window_s}: expected 1 to 604800"
            )
        if not 1 <= self.fallback_offer_human_after <= 10:
            raise SettingsError(
                f"FALLBACK_OFFER_HUMAN_AFTER={self.fallback_offer_human_after}: expected 1 to 10 misses"
            )
        if not 0 <= self.sentiment_cache <= 1_000_000:
            raise SettingsError(f"SENTIMENT_CACHE={self.sentiment_cache}: expected 0 (off) to 1000000 texts")
        if not 1 <= self.threads <= 64:
            raise SettingsError(f"ACTION_THREADS={self.threads}: expected 1 to 64 threads")
        if self.catalog_encoder is not None:
            _check_catalog_encoder(self.catalog_encoder)
        problems = self.mood.problems()
        if problems:
            raise SettingsError("; ".join(problems))
        if self.environment == "production":
            for name, value in (
                ("HANDOFF_TOKEN", self.handoff_token),
                ("ACTION_SERVER_TOKEN", self.action_server_token),
                ("VERIFICATION_KEY", self.verification_key),
            ):
                if value in _PLACEHOLDERS:
                    raise SettingsError(f"{name} is unset or a development placeholder; set a real secret")


def _check_catalog_encoder(path: Path) -> None:
    """SHOPDESK_CATALOG_ENCODER names a catalog-adapted model (``retrieval.catalog_encoder.catalog_serving``'s check)."""
    from retrieval.catalog_encoder import catalog_serving
    from retrieval.config import RetrievalConfig
    from retrieval.errors import ConfigError

    try:
        catalog_serving(RetrievalConfig(), path)
    except ConfigError as error:
        raise SettingsError(f"SHOPDESK_CATALOG_ENCODER={str(path)!r}: {error}") from None


def _ledger(env: Mapping[str, str]) -> LedgerSettings:
    """The ledger settings through ``ledger.settings`` (one dialect with the sender), as a ``SettingsError``."""
    try:
        return LedgerSettings.from_env(env)
    except LedgerConfigError as error:
        raise SettingsError(str(error)) from None


def _mood(env: Mapping[str, str], d: MoodConfig) -> MoodConfig:
    """The MOOD_* settings over their defaults (``validate`` checks the ranges)."""
    return MoodConfig(
        alpha=_float("MOOD_ALPHA", env.get("MOOD_ALPHA"), d.alpha),
        alert=_float("MOOD_ALERT", env.get("MOOD_ALERT"), d.alert),
        recover=_float("MOOD_RECOVER", env.get("MOOD_RECOVER"), d.recover),
        drop=_float("MOOD_DROP", env.get("MOOD_DROP"), d.drop),
        negative=_float("MOOD_NEGATIVE", env.get("MOOD_NEGATIVE"), d.negative),
        streak=_int("MOOD_STREAK", env.get("MOOD_STREAK"), d.streak),
        offers=env.get("MOOD_OFFERS", "1").strip().lower() not in _FALSE,
    )


def _float(name: str, value: str | None, default: float) -> float:
    if value is None or not value.strip():
        return default
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r}: expected a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise SettingsError(f"{name}={value!r}: expected a finite number")
    return number


def _int(name: str, value: str | None, default: int) -> int:
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r}: expected an integer") from None


def _thresholds(value: str) -> tuple[tuple[str, float], ...]:
    """``answer=0.5,clarify=0.1`` → ``(("answer", 0.5), ("clarify", 0.1))``; each a probability."""
    pairs = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, sep, number = (x.strip() for x in item.partition("="))
        if not sep or name not in THRESHOLD_PROBABILITIES:
            raise SettingsError(
                f"RESPONDER_THRESHOLDS: {item!r} is not <field>=<value> with a field among "
                f"{', '.join(THRESHOLD_PROBABILITIES)}"
            )
        try:
            probability = float(number)
        except ValueError:
            raise SettingsError(f"RESPONDER_THRESHOLDS: {name}={number!r} is not a number") from None
        if not 0.0 <= probability <= 1.0:
            raise SettingsError(f"RESPONDER_THRESHOLDS: {name}={probability} is not a probability in [0, 1]")
        pairs.append((name, probability))
    return tuple(pairs)


def _gate(value: str) -> Gate | None:
    """``on`` (the default gate), ``off`` / ``0`` (None: always re-rank), or ``margin=<m>,floor=<f>[,kinds=kb+product]``
    over the default gate's fields."""
    text = value.strip().lower()
    if text in ("", "on", "1", "true", "yes"):
        return Gate()
    if text in _FALSE:
        return None
    fields: dict[str, object] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, raw = (x.strip() for x in item.partition("="))
        if not sep or name not in ("margin", "floor", "kinds"):
            raise SettingsError(
                f"RESPONDER_GATE={value!r}: {item!r} is not on, off, or margin=<m>,floor=<f>,kinds=<kb+product>"
            )
        if name == "kinds":
            fields[name] = tuple(filter(None, (k.strip() for k in raw.split("+"))))
            continue
        try:
            fields[name] = float(raw)
        except ValueError:
            raise SettingsError(f"RESPONDER_GATE: {name}={raw!r} is not a number") from None
    try:
        return Gate(**fields)  # type: ignore[arg-type]
    except ResponderConfigError as error:
        raise SettingsError(f"RESPONDER_GATE={value!r}: {error}") from None
