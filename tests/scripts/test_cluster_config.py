"""The cluster's settings: defaults, every address a setting, bad values named; nothing is started."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.cluster import with_option
from scripts.cluster_config import ClusterConfig, ClusterConfigError, from_env
from scripts.stack import StackConfig


@pytest.fixture
def stack(tmp_path: Path) -> StackConfig:
    return StackConfig(var_dir=tmp_path)


def test_defaults_put_nginx_on_the_single_box_ports_and_the_instances_beside_them(stack: StackConfig) -> None:
    cluster = from_env({}, stack)
    assert cluster.rasa_ports == (5006, 5007)
    assert cluster.action_ports == (5056, 5057)
    site = cluster.site()
    assert (site.rasa_port, site.action_port) == (5005, 5055), "clients of `make run` reach nginx unchanged"
    assert site.rasa_upstreams == ("127.0.0.1:5006", "127.0.0.1:5007")
    assert cluster.local_engines == ("redis", "postgres", "rabbitmq")
    assert cluster.data_dir == stack.var_dir / "cluster"


def test_the_endpoints_variables_come_from_the_engine_urls(stack: StackConfig) -> None:
    env = from_env(
        {
            "POSTGRES_URL": "postgresql://shop:p%40ss@127.0.0.1:6543/conversations",
            "REDIS_URL": "redis://127.0.0.1:6390/2",
            "RASA_INSTANCES": "3",
        },
        stack,
    ).env()
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DB"]) == (
        "127.0.0.1",
        "6543",
        "conversations",
    )
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("shop", "p@ss")
    assert (env["REDIS_HOST"], env["REDIS_PORT"], env["REDIS_DB"], env["REDIS_PASSWORD"]) == (
        "127.0.0.1",
        "6390",
        "2",
        "",
    )
    assert env["CONSOLE_FEED"] == "broker"
    assert env["SOCKETIO_MANAGER_URL"] == "redis://127.0.0.1:6390/2"
    assert env["CONSOLE_BROKER_URL"] == env["ANALYTICS_BROKER_URL"] == env["RABBITMQ_URL"]


def test_engines_on_other_machines_are_not_started_here(stack: StackConfig) -> None:
    cluster = from_env(
        {
            "CLUSTER_ENGINES": "redis",
            "POSTGRES_URL": "postgresql://rasa:pw@db.internal:5432/rasa",
            "RABBITMQ_URL": "amqp://shop:pw@mq.internal:5672/shop",
            "RASA_UPSTREAMS_EXTRA": "10.0.0.7:5005, 10.0.0.8:5005",
        },
        stack,
    )
    assert cluster.local_engines == ("redis",)
    assert cluster.site().rasa_upstreams[-2:] == ("10.0.0.7:5005", "10.0.0.8:5005")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RASA_INSTANCES": "0"}, "RASA_INSTANCES='0' is not valid: expected a whole number from 1 to 16"),
        ({"ACTION_WORKERS": "two"}, "ACTION_WORKERS='two'"),
        ({"RASA_BASE_PORT": "70000"}, "RASA_BASE_PORT='70000'"),
        ({"ACTION_BASE_PORT": "5007"}, "ACTION_BASE_PORT=5007"),
        ({"CLUSTER_ENGINES": "redis kafka"}, "CLUSTER_ENGINES='redis kafka'"),
        ({"REDIS_URL": "redis://127.0.0.1/0"}, "REDIS_URL='redis://127.0.0.1/0'"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/x"}, "a Redis db number"),
        (
            {"POSTGRES_URL": "postgresql://127.0.0.1:5432/rasa"},
            "postgresql://user:password@host:port/database",
        ),
        (
            {"POSTGRES_URL": "postgresql://rasa:pw@db.internal:5432/rasa"},
            "a loopback host while CLUSTER_ENGINES",
        ),
        ({"RABBITMQ_URL": "amqp://shop:secret@127.0.0.1:5672/"}, "user guest:guest for a local RabbitMQ"),
        ({"RASA_UPSTREAMS_EXTRA": "http://10.0.0.7:5005"}, "RASA_UPSTREAMS_EXTRA='http://10.0.0.7:5005'"),
        ({"SHOPDESK_ENV": "production"}, "POSTGRES_URL='<hidden>'"),
    ],
)
def test_a_bad_setting_is_refused_by_name(stack: StackConfig, env: dict[str, str], message: str) -> None:
    with pytest.raises(ClusterConfigError) as caught:
        from_env(env, stack)
    assert message in str(caught.value)
    assert "secret" not in str(caught.value), "passwords are never shown"


def test_test_clusters_get_free_ports_and_a_random_postgres_password(tmp_path: Path) -> None:
    one, two = ClusterConfig.on_free_ports(tmp_path), ClusterConfig.on_free_ports(tmp_path)
    assert one.engine("POSTGRES_URL").password != two.engine("POSTGRES_URL").password
    assert len(set(one.rasa_ports + one.action_ports + (one.stack.rasa_port, one.stack.action_port))) == 6


def test_with_option_replaces_only_the_value_after_the_option() -> None:
    assert with_option(["rasa", "-p", "5005", "-m", "m"], "-p", "5006") == ["rasa", "-p", "5006", "-m", "m"]
