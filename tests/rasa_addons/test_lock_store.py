"""The conversation lock store (rasa_addons.lock_store) on a real redis-server, run in Rasa's environment
(lock_probe.py starts its own redis-server through scripts.engines), and its endpoints keys (rasa_addons.lock_config).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from rasa_addons.lock_config import LockStoreConfigError, parse_lock_config
from tests.bot.rasa_env import probe_facts


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("lock")
    return probe_facts(Path(__file__).with_name("lock_probe.py"), str(tmp))


# --- the store on a real Redis ---------------------------------------------------------------------------------


def test_rasa_loads_the_store_from_an_endpoints_file(facts: dict[str, Any]) -> None:
    assert facts["loaded"]["class"] == "AtomicRedisLockStore"
    assert facts["loaded"]["db"] == 0


def test_concurrent_tasks_enter_one_at_a_time_in_arrival_order(facts: dict[str, Any]) -> None:
    tasks = facts["tasks"]
    assert tasks["max_inside"] == 1
    assert tasks["value"] == 20  # no read-modify-write inside the lock lost an update
    assert tasks["order"] == list(range(20))
    assert tasks["tickets_ascending"]
    assert tasks["keys_left"] == []  # the last release deleted the queue


def test_replicas_in_separate_processes_never_overlap_and_keep_fifo(facts: dict[str, Any]) -> None:
    replicas = facts["processes"]
    assert replicas["exit_codes"] == [0, 0, 0]
    assert replicas["sections"] == 45
    assert replicas["max_inside"] == 1
    assert replicas["value"] == 45
    assert replicas["tickets_unique"]
    assert replicas["tickets_ascending"]
    assert replicas["per_process_in_order"]


def test_a_dead_holder_blocks_only_until_its_ticket_expires(facts: dict[str, Any]) -> None:
    dead = facts["dead_holder"]
    assert dead["exit_code"] == 3  # it died inside its critical section, never releasing
    assert dead["blocked_while_alive"]
    assert dead["acquired_after_expiry"]
    assert dead["expired_ticket_turn"] == -1


def test_a_waiter_whose_ticket_expires_is_refused_not_run_unlocked(facts: dict[str, Any]) -> None:
    dead = facts["dead_holder"]
    assert "ticket 2 expired" in dead["expired_waiter_error"]
    assert dead["held_lock_gone"]


def test_redis_down_is_a_lock_error_naming_host_and_port(facts: dict[str, Any]) -> None:
    down = facts["unavailable"]
    assert f"127.0.0.1:{down['port']}" in down["at_start"]
    assert f"127.0.0.1:{down['url_port']}" in down["after_stop"]
    assert down["after_stop_is_lock_error"]


def test_a_bad_endpoints_value_stops_rasa_naming_it(facts: dict[str, Any]) -> None:
    assert facts["bad_value"] == "lock_store port='63a79' is not valid: expected an integer in 1..65535"


def test_stock_redis_lock_store_lets_two_replicas_hold_the_lock(facts: dict[str, Any]) -> None:
    """Rasa's RedisLockStore with its steps interleaved by hand (both replicas read, then both write)."""
    race = facts["stock_race"]
    assert race["tickets"] == [0, 0]
    assert race["both_hold"]
    assert not race["second_ticket_kept"]  # a save from a stale read drops the other replica's ticket


def test_the_atomic_store_gives_the_same_steps_distinct_tickets_and_one_turn(facts: dict[str, Any]) -> None:
    race = facts["atomic_race"]
    assert race["tickets"][1] == race["tickets"][0] + 1
    assert race["turns"] == [0, 1]
    assert race["second_turn_after_release"] == 0


# --- endpoints keys (pure) -------------------------------------------------------------------------------------


def test_the_redis_lock_store_keys_are_read_like_rasas() -> None:
    config = parse_lock_config(
        {
            "url": "redis.internal",
            "port": "6380",
            "db": "2",
            "password": "",
            "key_prefix": "shop",
            "use_ssl": "false",
        }
    )
    assert (config.host, config.port, config.db, config.password, config.use_ssl) == (
        "redis.internal",
        6380,
        2,
        None,
        False,
    )
    assert config.key("c-1", "q") == "shop:lock:{c-1}:q"
    assert config.address == "redis.internal:6380 (db 2)"


def test_a_redis_url_gives_the_defaults_and_explicit_keys_win() -> None:
    config = parse_lock_config({"url": "rediss://:s3cret@10.0.0.5:7000/3", "db": 4})
    assert (config.host, config.port, config.db, config.password, config.use_ssl) == (
        "10.0.0.5",
        7000,
        4,
        "s3cret",
        True,
    )
    assert "s3cret" not in config.address


def test_defaults_when_nothing_is_given() -> None:
    config = parse_lock_config({})
    assert (config.host, config.port, config.db, config.key_prefix) == ("localhost", 6379, 1, "")
    assert config.key("c", "n") == "lock:{c}:n"


@pytest.mark.parametrize(
    ("values", "key", "shown"),
    [
        ({"port": "63a79"}, "port", "'63a79'"),
        ({"port": 0}, "port", "0"),
        ({"db": -1}, "db", "-1"),
        ({"db": True}, "db", "True"),
        ({"use_ssl": "maybe"}, "use_ssl", "'maybe'"),
        ({"key_prefix": "shop-desk"}, "key_prefix", "'shop-desk'"),
        ({"socket_timeout": "0"}, "socket_timeout", "'0'"),
        ({"poll_interval_s": "fast"}, "poll_interval_s", "'fast'"),
        ({"counter_ttl_s": -5}, "counter_ttl_s", "-5"),
        ({"url": "http://redis:6379"}, "url", "'http://redis:6379'"),
        ({"url": "redis://h:99999/0"}, "url", "'redis://h:99999/0'"),
        ({"url": "a host"}, "url", "'a host'"),
        ({"url": "h", "host": "h2"}, "host", "'h2'"),
        ({"lock_lifetime": 5}, "lock_lifetime", "5"),
    ],
)
def test_bad_values_are_refused_naming_the_key_and_value(
    values: dict[str, Any], key: str, shown: str
) -> None:
    with pytest.raises(LockStoreConfigError) as problem:
        parse_lock_config(values)
    assert problem.value.key == key
    assert f"{key}={shown}" in str(problem.value)


def test_the_cluster_endpoints_lock_keys_are_accepted_as_they_are() -> None:
    """endpoints.cluster.yml names our lock store, and its lock_store entry (Rasa's `type: redis` keys) loads into
    it with its ${VAR}s set and with the optional ones left empty."""
    path = Path(__file__).resolve().parents[2] / "endpoints.cluster.yml"
    entry = dict(yaml.safe_load(path.read_text())["lock_store"])
    assert entry.pop("type") == "rasa_addons.lock_store.AtomicRedisLockStore"
    values = {"REDIS_HOST": "10.0.0.7", "REDIS_PORT": "6380", "REDIS_DB": "", "REDIS_PASSWORD": ""}
    filled = {
        key: re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), ""), str(v)) for key, v in entry.items()
    }
    config = parse_lock_config(filled)
    assert (config.host, config.port, config.db, config.password) == ("10.0.0.7", 6380, 1, None)
