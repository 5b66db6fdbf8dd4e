"""``shop.open_store`` and ``SHOP_BACKEND``: the backend is chosen by configuration and checked at start."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from actions.settings import Settings, SettingsError
from shop import BACKENDS, UnknownBackendError, check_backend, open_store
from shop.interface import OrderStore
from shop.sqlite import SqliteOrderStore
from tests.shop.conftest import NOW, FixedClock

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class StoreSettings:
    shop_db_path: Path
    shop_backend: str = "sqlite"
    seed_if_missing: bool = False


def test_open_store_builds_a_new_store_each_time(tmp_path: Path) -> None:
    settings = StoreSettings(tmp_path / "shop.db")
    first, second = open_store(settings), open_store(settings)
    assert isinstance(first, SqliteOrderStore) and isinstance(first, OrderStore)
    assert first is not second and first.path == settings.shop_db_path
    assert first.list_products() == []  # not seeded: seed_if_missing is off


def test_open_store_seeds_when_asked(tmp_path: Path) -> None:
    store = open_store(StoreSettings(tmp_path / "shop.db", seed_if_missing=True), clock=FixedClock(NOW))
    assert store.get_order("SD-100004").status == "delivered"


@pytest.mark.parametrize("name", ["postgres", "", "sqlite3", None])
def test_unknown_backends_are_refused_naming_the_value_and_the_valid_set(
    tmp_path: Path, name: object
) -> None:
    with pytest.raises(UnknownBackendError) as info:
        open_store(StoreSettings(tmp_path / "shop.db", shop_backend=name))  # type: ignore[arg-type]
    assert repr(name) in str(info.value) and "sqlite" in str(info.value)
    assert not (tmp_path / "shop.db").exists()


def test_backend_names_are_normalised() -> None:
    assert check_backend(" SQLite ") == "sqlite"
    assert BACKENDS == ("sqlite",)


def test_shop_backend_is_a_validated_setting() -> None:
    assert Settings.from_env({}).shop_backend == "sqlite"
    assert Settings.from_env({"SHOP_BACKEND": " SQLITE "}).shop_backend == "sqlite"
    with pytest.raises(SettingsError, match=r"SHOP_BACKEND='mongo': expected one of sqlite"):
        Settings.from_env({"SHOP_BACKEND": "mongo"})


def test_shop_backend_is_documented() -> None:
    assert "SHOP_BACKEND=sqlite" in (ROOT / ".env.example").read_text()


def test_action_server_start_up_leaves_the_demo_generator_unimported() -> None:
    """Importing every action module (what rasa-sdk does at start-up) loads neither the seed nor the generator."""
    code = (
        "import sys\n"
        "from rasa_sdk.executor import ActionExecutor\n"
        "ActionExecutor().register_package('actions')\n"
        "import shop, actions.services\n"
        "print(sorted(m for m in sys.modules if m.startswith('shop.demo')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_bot_checks_shop_backend_at_start_too() -> None:
    from bot.errors import ConfigError
    from bot.settings import from_env

    assert from_env({}).shop_backend == "sqlite"
    with pytest.raises(ConfigError, match=r"SHOP_BACKEND='mongo' is invalid: expected one of sqlite"):
        from_env({"SHOP_BACKEND": "mongo"})
