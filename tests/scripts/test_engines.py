"""The engines' command lines and configs, checked without starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import engines
from scripts.engines import (
    EngineError,
    PostgresLayout,
    RabbitPorts,
    find_binary,
    initdb_argv,
    postgres_argv,
    postgres_url,
    prepare_rabbitmq_dir,
    rabbitmq_env,
    redis_argv,
    setup_sql,
)


def test_a_missing_binary_names_itself_and_the_make_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines.shutil, "which", lambda *_args, **_kwargs: None)
    with pytest.raises(EngineError, match=r"no-such-engine not found.*make cluster-deps"):
        find_binary("no-such-engine")


def test_redis_runs_in_the_foreground_on_loopback_with_its_files_in_the_data_dir(tmp_path: Path) -> None:
    argv = redis_argv("/usr/bin/redis-server", tmp_path, 6390)
    options = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert options["--port"] == "6390"
    assert options["--bind"] == "127.0.0.1"
    assert options["--dir"] == str(tmp_path)
    assert options["--daemonize"] == "no"
    assert options["--save"] == "", "a lock store needs no snapshots"


def test_nothing_answers_ping_on_a_closed_port() -> None:
    assert not engines.redis_pings("127.0.0.1", engines.free_port())


def test_each_rabbitmq_node_has_its_own_name_ports_and_files(tmp_path: Path) -> None:
    ports = RabbitPorts(amqp=5680, dist=25680, epmd=4370)
    env = rabbitmq_env(tmp_path, ports)
    assert env["RABBITMQ_NODENAME"] == "sd5680@localhost"
    assert env["RABBITMQ_NODE_PORT"] == "5680"
    assert env["RABBITMQ_DIST_PORT"] == "25680"
    assert env["ERL_EPMD_PORT"] == "4370"
    assert env["RABBITMQ_NODE_IP_ADDRESS"] == "127.0.0.1"
    for name in ("RABBITMQ_MNESIA_BASE", "RABBITMQ_LOG_BASE", "RABBITMQ_PID_FILE", "RABBITMQ_ENABLED_PLUGINS_FILE",
                 "RABBITMQ_CONFIG_FILE", "RABBITMQ_CONF_ENV_FILE", "HOME"):  # fmt: skip
        assert env[name].startswith(str(tmp_path)), name
    assert RabbitPorts.free().nodename != RabbitPorts.free().nodename


def test_a_rabbitmq_node_starts_without_plugins(tmp_path: Path) -> None:
    prepare_rabbitmq_dir(tmp_path)
    assert (tmp_path / "enabled_plugins").read_text().strip() == "[]."


def test_postgres_runs_as_its_os_user_on_loopback_with_its_socket_in_its_own_dir(tmp_path: Path) -> None:
    layout = PostgresLayout(tmp_path / "pgdata", tmp_path / "sock", "postgres")
    argv = postgres_argv("/usr/lib/postgresql/15/bin/postgres", layout, 5499)
    assert argv[:4] == ["runuser", "-u", "postgres", "--"]
    assert argv[argv.index("-p") + 1] == "5499"
    assert argv[argv.index("-k") + 1] == str(tmp_path / "sock")
    assert "listen_addresses=127.0.0.1" in argv
    assert PostgresLayout(tmp_path, tmp_path, "").as_user(["postgres"]) == ["postgres"]
    init = initdb_argv("initdb", layout)
    assert "--auth-host=scram-sha-256" in init, "TCP connections need the password"


def test_the_role_setup_is_idempotent_and_quotes_the_password() -> None:
    sql = setup_sql("rasa", "it's", "rasa")
    assert "WHERE NOT EXISTS" in sql
    assert "PASSWORD 'it''s'" in sql
    assert postgres_url(5432, "pw") == "postgresql://rasa:pw@127.0.0.1:5432/rasa"


def _postgres_user_or_skip() -> None:
    import os
    import pwd

    if os.geteuid() != 0:
        pytest.skip("the throw-away layout is for root only")
    try:
        pwd.getpwnam(engines.POSTGRES_OS_USER)
    except KeyError:
        pytest.skip("no postgres OS user (make cluster-deps installs it)")


def test_a_second_start_after_a_stop_gets_a_fresh_throwaway_data_dir(tmp_path: Path) -> None:
    _postgres_user_or_skip()
    data = tmp_path / "cluster"  # pytest's tmp dirs are 0700 root: the postgres user cannot write here
    first, cleanups = engines.postgres_layout(data)
    assert (data / "pgdata").is_symlink() and first.pgdata.is_dir()
    for cleanup in cleanups:
        cleanup()
    assert not first.pgdata.exists() and not (data / "pgdata").is_symlink(), "nothing left behind"
    (data / "pgdata").symlink_to(tmp_path / "gone")  # what an earlier version left: a dangling link
    second, cleanups = engines.postgres_layout(data)
    try:
        assert second.pgdata.is_dir() and second.pgdata != first.pgdata
    finally:
        for cleanup in cleanups:
            cleanup()
