"""Action-server settings, validated at start, and the services built from them (``actions.services``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa_sdk.executor import ActionExecutor

from actions.services import Services
from actions.settings import REPO_ROOT, Settings, SettingsError
from shop.sqlite import SqliteOrderStore


def test_defaults_need_no_configuration() -> None:
    settings = Settings.from_env({})
    assert settings.shop_db_path == REPO_ROOT / "var" / "shop.db"
    assert settings.environment == "development" and settings.seed_if_missing


def test_relative_paths_are_resolved_from_the_repo_root() -> None:
    assert Settings.from_env({"SHOP_DB_PATH": "var/other.db"}).shop_db_path == REPO_ROOT / "var" / "other.db"


def test_production_refuses_placeholder_secrets() -> None:
    with pytest.raises(SettingsError, match="HANDOFF_TOKEN"):
        Settings.from_env({"SHOPDESK_ENV": "production"})
    ok = Settings.from_env(
        {
            "SHOPDESK_ENV": "production",
            "HANDOFF_TOKEN": "s3cret-token",
            "LEDGER_PRIVATE_KEY": "0x" + "1" * 64,
            "LEDGER_HMAC_KEY": "another-secret-of-at-least-32-bytes",
            "ACTION_SERVER_TOKEN": "a-real-action-token",
            "VERIFICATION_KEY": "a-real-verification-key",
        }
    )
    assert ok.environment == "production"


def test_unknown_environment_names_the_valid_ones() -> None:
    with pytest.raises(SettingsError, match="development, test, production"):
        Settings.from_env({"SHOPDESK_ENV": "prod"})


def test_services_open_and_seed_the_configured_db(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    built = Services.from_settings(Settings.from_env({"SHOP_DB_PATH": str(db)}))
    assert isinstance(built.store, SqliteOrderStore) and built.store.path == db
    assert built.store.get_order("SD-100004").status == "delivered"
    assert built.ledger.outbox_path == db  # the outbox lives beside the orders


def test_domain_and_action_server_agree() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    domain = yaml.safe_load((REPO_ROOT / "domain" / "orders.yml").read_text())
    declared = {a for a in domain["actions"]}
    assert declared <= set(executor.actions), declared - set(executor.actions)


def test_responder_serving_settings() -> None:
    defaults = Settings.from_env({})
    assert (defaults.responder_top_k, defaults.responder_precision, defaults.responder_compile) == (
        20,
        "auto",
        True,
    )
    assert defaults.responder_thresholds == ()
    custom = Settings.from_env(
        {
            "RESPONDER_TOP_K": "10",
            "RESPONDER_PRECISION": "INT8",
            "RESPONDER_COMPILE": "off",
            "RESPONDER_THRESHOLDS": "answer=0.5, clarify=0.1",
        }
    )
    assert (custom.responder_top_k, custom.responder_precision, custom.responder_compile) == (
        10,
        "int8",
        False,
    )
    assert custom.responder_thresholds == (("answer", 0.5), ("clarify", 0.1))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("RESPONDER_TOP_K", "twenty", r"RESPONDER_TOP_K='twenty': expected an integer"),
        ("RESPONDER_TOP_K", "0", r"RESPONDER_TOP_K=0: expected 1 to 200"),
        (
            "RESPONDER_PRECISION",
            "fp16",
            r"RESPONDER_PRECISION='fp16': expected one of auto, fp32, bf16, int8",
        ),
        ("RESPONDER_THRESHOLDS", "answer", r"'answer' is not <field>=<value>"),
        ("RESPONDER_THRESHOLDS", "confidence=0.5", r"'confidence=0.5' is not <field>=<value>"),
        ("RESPONDER_THRESHOLDS", "answer=high", r"answer='high' is not a number"),
        ("RESPONDER_THRESHOLDS", "answer=1.5", r"answer=1.5 is not a probability"),
    ],
)
def test_bad_responder_settings_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({name: value})


def test_action_threads_default_to_one_and_bad_values_name_the_variable() -> None:
    assert Settings.from_env({}).threads == 1
    assert Settings.from_env({"ACTION_THREADS": "2"}).threads == 2
    for bad, message in (("0", "ACTION_THREADS=0: expected 1 to 64"), ("two", "ACTION_THREADS='two'")):
        with pytest.raises(SettingsError, match=message):
            Settings.from_env({"ACTION_THREADS": bad})


def test_the_action_server_caps_torch_and_faiss_threads() -> None:
    import faiss
    import torch

    from actions.server import limit_threads

    before = torch.get_num_threads(), faiss.omp_get_max_threads()
    try:
        limit_threads(1)
        assert (torch.get_num_threads(), faiss.omp_get_max_threads()) == (1, 1)
        limit_threads(3)
        assert (torch.get_num_threads(), faiss.omp_get_max_threads()) == (3, 3)
    finally:
        torch.set_num_threads(before[0])
        faiss.omp_set_num_threads(before[1])


def test_a_worker_may_take_minutes_to_start_on_a_busy_box() -> None:
    from sanic.worker.manager import WorkerManager
    from sanic.worker.process import WorkerProcess

    from actions.server import WORKER_START_TENTHS, allow_slow_worker_start

    before = WorkerManager.THRESHOLD, WorkerProcess.THRESHOLD
    try:
        allow_slow_worker_start()
        assert WorkerManager.THRESHOLD == WorkerProcess.THRESHOLD == WORKER_START_TENTHS >= 1200
    finally:
        WorkerManager.THRESHOLD, WorkerProcess.THRESHOLD = before
