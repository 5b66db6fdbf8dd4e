"""The launcher's configuration: secrets stay off command lines and out of INFO logs; listeners bind to
loopback unless a setting says otherwise."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from scripts import run
from scripts.stack import Service, Stack, StackConfig, exit_reason, services


@pytest.fixture
def models(tmp_path: Path) -> Path:
    directory = tmp_path / "models"
    directory.mkdir()
    (directory / "shopdesk.tar.gz").write_bytes(b"")
    return directory


def every_argv(config: StackConfig) -> list[str]:
    return [part for service in services(config) for part in service.argv]


def test_no_secret_is_on_any_command_line(tmp_path: Path, models: Path) -> None:
    config = StackConfig.on_free_ports(tmp_path, models_dir=models, with_bot=True, with_chain=True)
    argv = every_argv(config)
    for secret in (
        config.rasa_token,
        config.handoff_token,
        config.action_token,
        config.widget_session_secret,
        config.verification_key,
    ):
        assert secret not in argv
    assert "--auth-token" not in argv
    [rasa] = [service for service in services(config) if service.name == "rasa"]
    assert rasa.argv[1:3] == ["-m", "rasa_addons.serve"], "the entry point that reads RASA_TOKEN itself"


def test_the_processes_get_their_secrets_and_loopback_hosts_from_the_environment(tmp_path: Path) -> None:
    config = StackConfig.on_free_ports(tmp_path)
    env = config.env()
    assert env["RASA_TOKEN"] == config.rasa_token
    assert env["ACTION_SERVER_TOKEN"] == config.action_token
    assert env["WIDGET_SESSION_SECRET"] == config.widget_session_secret
    assert env["VERIFICATION_KEY"] == config.verification_key
    assert (
        env["ACTION_SERVER_HOST"] == env["SANIC_HOST"] == env["BOT_HOST"] == env["RASA_HOST"] == "127.0.0.1"
    )


def test_test_stacks_use_random_internal_secrets(tmp_path: Path) -> None:
    one, two = StackConfig.on_free_ports(tmp_path), StackConfig.on_free_ports(tmp_path)
    assert one.action_token != two.action_token
    assert one.action_token != StackConfig(var_dir=tmp_path).action_token == "dev-action-token"


def test_rasa_binds_loopback_unless_rasa_host_is_set(
    tmp_path: Path, models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("RASA_HOST", "ACTION_SERVER_HOST", "BOT_HOST"):
        monkeypatch.delenv(name, raising=False)
    config = run.config_from_env()
    config.models_dir = models
    [rasa] = [service for service in services(config) if service.name == "rasa"]
    assert rasa.argv[rasa.argv.index("-i") + 1] == "127.0.0.1"

    monkeypatch.setenv("RASA_HOST", "0.0.0.0")
    monkeypatch.setenv("ACTION_SERVER_HOST", "10.0.0.5")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "deploy-token")
    config = run.config_from_env()
    config.models_dir = models
    [rasa] = [service for service in services(config) if service.name == "rasa"]
    assert rasa.argv[rasa.argv.index("-i") + 1] == "0.0.0.0"
    assert config.rasa_url.startswith("http://127.0.0.1:"), "health checks reach a wildcard bind on loopback"
    assert config.env()["ACTION_SERVER_HOST"] == "10.0.0.5"
    assert config.action_url.startswith("http://10.0.0.5:")
    assert config.env()["ACTION_SERVER_TOKEN"] == "deploy-token"


def test_starting_a_process_logs_no_secret_at_info(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = StackConfig.on_free_ports(tmp_path)
    stack = Stack(config, log_dir=tmp_path / "logs")
    stack.log_dir.mkdir()
    argv = [sys.executable, "-c", "pass", "--auth-token", config.rasa_token]
    stack.services["echo"] = Service("echo", argv, lambda: True)
    with caplog.at_level(logging.INFO):
        stack.launch("echo")
    stack.processes["echo"].wait(timeout=30)
    assert "starting echo" in caplog.text
    assert config.rasa_token not in caplog.text, "a command line is logged at DEBUG only"


def test_exit_reasons_name_the_signal_or_the_code() -> None:
    assert exit_reason(-9) == "was killed by SIGKILL"
    assert exit_reason(-15) == "was killed by SIGTERM"
    assert exit_reason(3) == "exited with code 3"


def test_the_action_server_gets_the_sentiment_model_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SENTIMENT_DIR", raising=False)
    assert run.config_from_env().env()["SENTIMENT_DIR"].endswith("/var/sentiment")  # the embedded default
    monkeypatch.setenv("SENTIMENT_DIR", str(tmp_path / "model"))
    assert run.config_from_env().env()["SENTIMENT_DIR"] == str(tmp_path / "model")
    config = StackConfig.on_free_ports(tmp_path, sentiment_dir=tmp_path / "other")
    assert config.env()["SENTIMENT_DIR"] == str(tmp_path / "other")  # the stack's own choice wins
