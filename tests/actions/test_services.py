"""The composition root (``actions.services``): every setting checked before the first request, one way in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from actions.services import Services, TimedCache, configure, services
from actions.settings import REPO_ROOT, Settings, SettingsError
from ledger.errors import LedgerConfigError
from ledger.settings import MIN_PRODUCTION_KEY_BYTES, LedgerSettings


def start_server(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m actions.server`` with ``env`` on top of a development environment (a fresh shop db)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "HANDOFF_", "VERIFICATION_"))}
    return subprocess.run(
        [sys.executable, "-m", "actions.server", "--actions", "actions", "-p", "0"],
        cwd=REPO_ROOT,
        env={**base, "SHOPDESK_ENV": "development", "SHOP_DB_PATH": str(tmp_path / "shop.db"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LEDGER_HMAC_KEY", "too-short", "LEDGER_HMAC_KEY: 9 bytes is too short"),
        ("HANDOFF_URL", "bot.internal:8080", "HANDOFF_URL='bot.internal:8080': expected an http(s) URL"),
        ("VERIFICATION_TTL_S", "half an hour", "VERIFICATION_TTL_S='half an hour': expected an integer"),
        ("LEDGER_RECEIPT_TIMEOUT_S", "soon", "LEDGER_RECEIPT_TIMEOUT_S: 'soon' is not a number"),
    ],
)
def test_a_bad_setting_stops_the_start_naming_the_variable(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    started = start_server(tmp_path, **{name: value})
    assert started.returncode == 2, started.stderr[-2000:]
    assert message in started.stderr
    assert not (tmp_path / "shop.db").exists()  # refused before anything was opened


def test_the_sender_and_the_action_server_agree_on_the_hmac_key() -> None:
    cases = {
        "development, 15 bytes": {"LEDGER_HMAC_KEY": "k" * 15},
        "development, 16 bytes": {"LEDGER_HMAC_KEY": "k" * 16},
        "production, 31 bytes": {"LEDGER_HMAC_KEY": "k" * (MIN_PRODUCTION_KEY_BYTES - 1)},
        "production, 32 bytes": {"LEDGER_HMAC_KEY": "k" * MIN_PRODUCTION_KEY_BYTES},
    }
    production = {
        "SHOPDESK_ENV": "production",
        "LEDGER_PRIVATE_KEY": "0x" + "ab" * 32,
        "HANDOFF_TOKEN": "a-real-handoff-token",
        "ACTION_SERVER_TOKEN": "a-real-action-token",
        "VERIFICATION_KEY": "a-real-verification-key",
    }
    verdicts = {}
    for case, env in cases.items():
        env = {**production, **env} if case.startswith("production") else env
        try:
            LedgerSettings.from_env(env)
            sender = "ok"
        except LedgerConfigError as error:
            sender = error.name
        try:
            Settings.from_env(env)
            action_server = "ok"
        except SettingsError as error:
            action_server = str(error).partition(":")[0]
        assert sender == action_server, case
        verdicts[case] = sender
    assert verdicts == {
        "development, 15 bytes": "LEDGER_HMAC_KEY",
        "development, 16 bytes": "ok",
        "production, 31 bytes": "LEDGER_HMAC_KEY",
        "production, 32 bytes": "ok",
    }


def test_services_from_hand_built_settings_still_check_the_key(tmp_path: Path) -> None:
    settings = Settings(shop_db_path=tmp_path / "shop.db", ledger=LedgerSettings(hmac_key="short"))
    with pytest.raises(SettingsError, match="LEDGER_HMAC_KEY"):
        Services.from_settings(settings)
    assert not (tmp_path / "shop.db").exists()


def test_services_before_configure_say_how_to_start() -> None:
    configure(None)
    with pytest.raises(RuntimeError, match=r"python -m actions.server"):
        services()


def test_the_recommender_cache_rebuilds_only_when_old() -> None:
    now = [0.0]
    cache: TimedCache[int] = TimedCache(300.0, clock=lambda: now[0])
    builds = iter(range(10))
    assert cache.get(lambda: next(builds)) == 0
    now[0] = 300.0
    assert cache.get(lambda: next(builds)) == 0  # not older than max_age_s yet
    now[0] = 300.5
    assert cache.get(lambda: next(builds)) == 1


def test_swapping_a_part_drops_the_cached_recommender(services: Services) -> None:
    services.recommender.get(lambda: "built from the old store")  # type: ignore[arg-type,return-value]
    swapped = services.replace(store=object())
    assert swapped.recommender.get(lambda: "rebuilt") == "rebuilt"  # type: ignore[arg-type,return-value]


def test_an_order_store_that_cannot_open_stops_the_start(tmp_path: Path) -> None:
    (tmp_path / "shop.db").mkdir()  # a directory where the database file should be
    with pytest.raises(SettingsError, match=r"SHOP_DB_PATH=.*shop.db: cannot open the order store"):
        Services.from_settings(Settings.from_env({"SHOP_DB_PATH": str(tmp_path / "shop.db")}))


def test_the_recommender_cache_rebuilds_for_another_key() -> None:
    cache: TimedCache[int] = TimedCache(300.0, clock=lambda: 0.0)
    builds = iter(range(10))
    assert cache.get(lambda: next(builds), key="catalog.1") == 0
    assert cache.get(lambda: next(builds), key="catalog.1") == 0
    assert cache.get(lambda: next(builds), key="catalog.2") == 1  # a new catalog version: rebuilt at once
