"""Ledger settings, one dialect for every process: ``python -m ledger.node`` / ``ledger.sender`` and the action
server (``actions.settings.Settings.ledger`` is a ``LedgerSettings`` read by this same code), so they agree on every
rule: ``LEDGER_HMAC_KEY`` at least ``MIN_KEY_BYTES`` (16) bytes everywhere and ``MIN_PRODUCTION_KEY_BYTES`` (32) in
production. The only reader of ``os.environ`` in this package, and the one place the development keys are defined.
Everything has a development default, so ``make run`` needs no configuration; with ``SHOPDESK_ENV=production`` the
development key and HMAC key are refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from ledger.canonical import MIN_KEY_BYTES
from ledger.client import ChainConfig
from ledger.errors import LedgerConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
# anvil's well-known development account 0 — public knowledge, valid only on a local dev chain.
DEV_PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_HMAC_KEY = "dev-ledger-hmac-key"
MIN_PRODUCTION_KEY_BYTES = 32
PLACEHOLDERS = frozenset({DEV_PRIVATE_KEY, DEV_HMAC_KEY, "", "changeme"})
ENVIRONMENTS = ("development", "test", "production")


def _path(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def _int(name: str, value: str | None, default: int | None) -> int | None:
    if value is None or value.strip() == "":
        return default
    try:
        return int(value, 0)
    except ValueError:
        raise LedgerConfigError(name, f"{value!r} is not an integer") from None


def _float(name: str, value: str | None, default: float) -> float:
    if value is None or value.strip() == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise LedgerConfigError(name, f"{value!r} is not a number") from None


@dataclass(frozen=True)
class LedgerSettings:
    environment: str = "development"
    rpc_url: str = "http://127.0.0.1:8545"
    private_key: str = DEV_PRIVATE_KEY
    contract_address: str = ""
    hmac_key: str = DEV_HMAC_KEY
    chain_id: int | None = None  # None: 31337 for the local anvil, otherwise accept the node's
    shop_db_path: Path = REPO_ROOT / "var" / "shop.db"
    state_dir: Path = REPO_ROOT / "var" / "chain"
    anvil_bin: Path = REPO_ROOT / "node_modules" / ".bin" / "anvil"
    sender_batch: int = 64  # rows per delivery round
    sender_tx_batch: int = 16  # records per recordBatch transaction (1 = one transaction per record)
    sender_poll_s: float = 1.0
    sender_backoff_cap_s: float = 30.0
    sender_lease_s: float = 60.0  # how long a claimed outbox row stays this sender's; then others may take it
    # LEDGER_RECEIPT_TIMEOUT_S: how long the action server's instant receipt waits for the node
    receipt_timeout_s: float = 3.0

    def __repr__(self) -> str:
        return (
            f"LedgerSettings(environment={self.environment!r}, rpc_url={self.rpc_url!r}, "
            f"contract_address={self.contract_address!r}, chain_id={self.chain_id!r}, db={self.shop_db_path})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LedgerSettings:
        env = os.environ if env is None else env
        d = cls()
        settings = cls(
            environment=env.get("SHOPDESK_ENV", d.environment),
            rpc_url=env.get("LEDGER_RPC_URL", d.rpc_url) or d.rpc_url,
            private_key=env.get("LEDGER_PRIVATE_KEY") or d.private_key,  # empty: the default (.env.example)
            contract_address=env.get("LEDGER_CONTRACT_ADDRESS", d.contract_address).strip(),
            hmac_key=env.get("LEDGER_HMAC_KEY") or d.hmac_key,
            chain_id=_int("LEDGER_CHAIN_ID", env.get("LEDGER_CHAIN_ID"), d.chain_id),
            shop_db_path=_path(env["SHOP_DB_PATH"]) if env.get("SHOP_DB_PATH") else d.shop_db_path,
            state_dir=_path(env["LEDGER_STATE_DIR"]) if env.get("LEDGER_STATE_DIR") else d.state_dir,
            anvil_bin=_path(env["LEDGER_ANVIL_BIN"]) if env.get("LEDGER_ANVIL_BIN") else d.anvil_bin,
            sender_batch=_int("LEDGER_SENDER_BATCH", env.get("LEDGER_SENDER_BATCH"), d.sender_batch) or 1,
            sender_tx_batch=_int(
                "LEDGER_SENDER_TX_BATCH", env.get("LEDGER_SENDER_TX_BATCH"), d.sender_tx_batch
            )
            or 1,
            sender_lease_s=_float(
                "LEDGER_SENDER_LEASE_S", env.get("LEDGER_SENDER_LEASE_S"), d.sender_lease_s
            ),
            receipt_timeout_s=_float(
                "LEDGER_RECEIPT_TIMEOUT_S", env.get("LEDGER_RECEIPT_TIMEOUT_S"), d.receipt_timeout_s
            ),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.environment not in ENVIRONMENTS:
            raise LedgerConfigError(
                "SHOPDESK_ENV", f"{self.environment!r}; expected one of {list(ENVIRONMENTS)}"
            )
        parsed = urlparse(self.rpc_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise LedgerConfigError("LEDGER_RPC_URL", f"{self.rpc_url!r} must be an http(s) URL")
        key = self.private_key.removeprefix("0x")
        if len(key) != 64 or any(c not in "0123456789abcdefABCDEF" for c in key):
            raise LedgerConfigError("LEDGER_PRIVATE_KEY", "must be 32 bytes of hex (the value is not shown)")
        if not 1 <= self.sender_tx_batch <= 256:
            raise LedgerConfigError("LEDGER_SENDER_TX_BATCH", f"{self.sender_tx_batch} must be 1..256")
        if not 1.0 <= self.sender_lease_s <= 3600.0:
            raise LedgerConfigError("LEDGER_SENDER_LEASE_S", f"{self.sender_lease_s} must be 1..3600 seconds")
        if not 0.1 <= self.receipt_timeout_s <= 600.0:
            raise LedgerConfigError(
                "LEDGER_RECEIPT_TIMEOUT_S", f"{self.receipt_timeout_s} must be 0.1..600 seconds"
            )
        if self.environment == "production":
            for name, value in (("LEDGER_PRIVATE_KEY", self.private_key), ("LEDGER_HMAC_KEY", self.hmac_key)):
                if value in PLACEHOLDERS:
                    raise LedgerConfigError(name, "unset or a development placeholder; set a real secret")
        check_hmac_key(self.hmac_key, self.environment)

    @property
    def is_local_node(self) -> bool:
        return urlparse(self.rpc_url).hostname in ("127.0.0.1", "localhost", "::1")

    @property
    def port(self) -> int:
        parsed = urlparse(self.rpc_url)
        return parsed.port or (443 if parsed.scheme == "https" else 8545)

    def chain_config(
        self, contract_address: str | None = None, *, timeout_s: float | None = None, read_only: bool = False
    ) -> ChainConfig:
        """``timeout_s``: request and receipt timeout (the action server's short wait); ``read_only``: no key."""
        timeouts = (
            {} if timeout_s is None else {"request_timeout_s": timeout_s, "receipt_timeout_s": timeout_s}
        )
        return ChainConfig(
            rpc_url=self.rpc_url,
            private_key=None if read_only else self.private_key,
            contract_address=contract_address or self.contract_address or None,
            chain_id=self.chain_id,
            **timeouts,  # type: ignore[arg-type]
        )


def check_hmac_key(key: str, environment: str) -> None:
    """The one rule for ``LEDGER_HMAC_KEY``: ``MIN_KEY_BYTES`` everywhere, ``MIN_PRODUCTION_KEY_BYTES`` in production."""
    size = len(key.encode("utf-8"))
    minimum = MIN_PRODUCTION_KEY_BYTES if environment == "production" else MIN_KEY_BYTES
    if size < minimum:
        raise LedgerConfigError(
            "LEDGER_HMAC_KEY",
            f"{size} bytes is too short; use at least {minimum} random bytes"
            + (" in production" if environment == "production" else ""),
        )
