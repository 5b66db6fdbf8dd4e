"""The cluster's process list, built without starting anything (engines on other machines, nginx not run)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import cluster as cluster_module
from scripts import nginx
from scripts.cluster import ENDPOINTS, ClusterStack
from scripts.cluster_config import ClusterConfig


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ClusterStack]:
    models = tmp_path / "models"
    models.mkdir()
    (models / "shopdesk.tar.gz").write_bytes(b"")
    monkeypatch.setattr(nginx, "check_config", lambda *_args: None)
    monkeypatch.setattr(cluster_module.engines, "find_binary", lambda name, *_args: f"/usr/sbin/{name}")
    config = ClusterConfig.on_free_ports(tmp_path, rasa_instances=3, with_bot=True, models_dir=models)
    config.local_engines = ()  # engines elsewhere: nothing to initialise here
    stack = ClusterStack(config, log_dir=tmp_path / "logs")
    yield stack
    stack.stop()  # removes nginx's temp dir


def test_the_processes_in_start_order(stack: ClusterStack) -> None:
    names = [service.name for service in stack.service_list()]
    assert names == ["actions-1", "actions-2", "nginx", "rasa-1", "rasa-2", "rasa-3", "analytics-sink", "bot"]


def test_each_rasa_instance_has_its_port_and_the_cluster_endpoints(stack: ClusterStack) -> None:
    rasa = [service for service in stack.service_list() if service.name.startswith("rasa-")]
    ports = [service.argv[service.argv.index("-p") + 1] for service in rasa]
    assert ports == [str(port) for port in stack.cluster.rasa_ports]
    assert [service.env["RASA_PORT"] for service in rasa] == ports
    assert all(service.argv[service.argv.index("--endpoints") + 1] == str(ENDPOINTS) for service in rasa)
    assert all(service.needs == () for service in rasa), "engines on other machines are not waited for"


def test_everyone_reaches_rasa_and_the_actions_through_nginx(stack: ClusterStack) -> None:
    stack.service_list()
    env = stack.config.env()
    site = stack.cluster.site()
    assert env["RASA_URL"] == f"http://127.0.0.1:{site.rasa_port}"
    assert env["ACTION_SERVER_URL"] == f"http://127.0.0.1:{site.action_port}/webhook"
    conf = (stack.cluster.data_dir / "nginx" / "nginx.conf").read_text()
    for port in stack.cluster.rasa_ports + stack.cluster.action_ports:
        assert f"server 127.0.0.1:{port} " in conf


def test_the_bot_reads_the_console_feed_from_the_broker(stack: ClusterStack) -> None:
    [bot] = [service for service in stack.service_list() if service.name == "bot"]
    assert bot.env["CONSOLE_FEED"] == "broker"
    assert bot.env["CONSOLE_BROKER_URL"] == stack.cluster.engine_urls["RABBITMQ_URL"]


def test_no_secret_is_on_any_command_line(stack: ClusterStack) -> None:
    argv = " ".join(part for service in stack.service_list() for part in service.argv)
    assert stack.cluster.engine("POSTGRES_URL").password not in argv
    assert stack.config.rasa_token not in argv
    assert stack.config.action_token not in argv


def test_the_action_workers_are_the_action_server_on_their_own_ports(stack: ClusterStack) -> None:
    """Each worker is actions.server itself (which allows its Sanic worker a slow start) on its own port."""
    workers = [service for service in stack.service_list() if service.name.startswith("actions-")]
    assert [service.argv[1:3] for service in workers] == [["-m", "actions.server"]] * len(workers)
    assert [service.env["ACTION_SERVER_PORT"] for service in workers] == [
        str(port) for port in stack.cluster.action_ports
    ]
