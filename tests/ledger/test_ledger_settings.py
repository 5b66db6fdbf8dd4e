from __future__ import annotations

import pytest

from ledger.errors import LedgerConfigError
from ledger.settings import DEV_HMAC_KEY, DEV_PRIVATE_KEY, LedgerSettings

REAL_KEY = "0x" + "ab" * 32
REAL_HMAC = "x" * 40


def test_defaults_need_no_configuration() -> None:
    settings = LedgerSettings.from_env({})
    assert settings.rpc_url == "http://127.0.0.1:8545"
    assert settings.private_key == DEV_PRIVATE_KEY
    assert settings.is_local_node and settings.port == 8545
    assert DEV_PRIVATE_KEY not in repr(settings)


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"LEDGER_HMAC_KEY": REAL_HMAC}, "LEDGER_PRIVATE_KEY"),
        ({"LEDGER_PRIVATE_KEY": REAL_KEY}, "LEDGER_HMAC_KEY"),
        ({"LEDGER_PRIVATE_KEY": REAL_KEY, "LEDGER_HMAC_KEY": "short-but-real"}, "LEDGER_HMAC_KEY"),
    ],
)
def test_production_refuses_placeholder_secrets(env: dict[str, str], name: str) -> None:
    with pytest.raises(LedgerConfigError) as info:
        LedgerSettings.from_env({"SHOPDESK_ENV": "production", **env})
    assert info.value.name == name


def test_production_accepts_real_secrets() -> None:
    settings = LedgerSettings.from_env(
        {"SHOPDESK_ENV": "production", "LEDGER_PRIVATE_KEY": REAL_KEY, "LEDGER_HMAC_KEY": REAL_HMAC}
    )
    assert settings.hmac_key != DEV_HMAC_KEY


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"LEDGER_RPC_URL": "ftp://node"}, "LEDGER_RPC_URL"),
        ({"LEDGER_PRIVATE_KEY": "0x1234"}, "LEDGER_PRIVATE_KEY"),
        ({"LEDGER_CHAIN_ID": "mainnet"}, "LEDGER_CHAIN_ID"),
        ({"SHOPDESK_ENV": "staging"}, "SHOPDESK_ENV"),
        ({"LEDGER_SENDER_TX_BATCH": "1000"}, "LEDGER_SENDER_TX_BATCH"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(LedgerConfigError) as info:
        LedgerSettings.from_env(env)
    assert info.value.name == name


def test_an_empty_secret_means_the_development_default_as_env_example_says() -> None:
    settings = LedgerSettings.from_env({"LEDGER_PRIVATE_KEY": "", "LEDGER_HMAC_KEY": ""})
    assert (settings.private_key, settings.hmac_key) == (DEV_PRIVATE_KEY, DEV_HMAC_KEY)
    with pytest.raises(LedgerConfigError) as info:
        LedgerSettings.from_env(
            {"SHOPDESK_ENV": "production", "LEDGER_PRIVATE_KEY": REAL_KEY, "LEDGER_HMAC_KEY": ""}
        )
    assert info.value.name == "LEDGER_HMAC_KEY"


def test_a_short_hmac_key_is_refused_in_development_too() -> None:
    with pytest.raises(LedgerConfigError, match="15 bytes is too short; use at least 16") as info:
        LedgerSettings.from_env({"LEDGER_HMAC_KEY": "k" * 15})
    assert info.value.name == "LEDGER_HMAC_KEY"
