"""Stack.start on real (tiny) processes: independent services start side by side, `needs` is honoured, a
failure names the service and stops the others, and a crashed process of a parallel start is still restarted
by the supervisor."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from scripts.stack import Service, Stack, StackConfig, StackError, check_needs, services
from scripts.supervise import Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def touch_then_sleep(marker: Path) -> list[str]:
    return [
        sys.executable,
        "-c",
        f"import pathlib, time; pathlib.Path({str(marker)!r}).touch(); time.sleep(120)",
    ]


class ListStack(Stack):
    """A stack whose processes are given (the `service_list()` hook a topology overrides)."""

    def __init__(self, tmp_path: Path, listed: list[Service], *, parallel: bool = True) -> None:
        super().__init__(StackConfig(var_dir=tmp_path / "var"), log_dir=tmp_path / "logs", parallel=parallel)
        self.listed = listed

    def service_list(self) -> list[Service]:
        return self.listed


def test_independent_services_start_side_by_side(tmp_path: Path) -> None:
    """`first` only becomes healthy once `second` runs: a one-at-a-time start could never finish."""
    marker = tmp_path / "second-runs"
    listed = [
        Service("first", SLEEPER, marker.exists, timeout_s=30),
        Service("second", touch_then_sleep(marker), lambda: True, timeout_s=30),
    ]
    ready: list[str] = []
    stack = ListStack(tmp_path, listed)
    stack.start(on_ready=lambda name, _seconds: ready.append(name))
    try:
        assert sorted(ready) == ["first", "second"]
        assert all(stack.alive().values())
    finally:
        stack.stop()


def test_one_at_a_time_start_is_still_available_as_the_baseline(tmp_path: Path) -> None:
    marker = tmp_path / "second-runs"
    listed = [
        Service("first", SLEEPER, marker.exists, timeout_s=1.5),
        Service("second", touch_then_sleep(marker), lambda: True, timeout_s=30),
    ]
    stack = ListStack(tmp_path, listed, parallel=False)
    with pytest.raises(StackError, match="first not ready after 2 s"):
        stack.start()
    assert "second" not in stack.started_at, "sequential: second waits for first"
    assert stack.processes == {}, "what was started is stopped"


def test_a_service_is_launched_only_once_what_it_needs_is_healthy(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    healthy_at: dict[str, float] = {}

    def base_ready() -> bool:
        if gate.exists():
            healthy_at.setdefault("base", time.monotonic())
            return True
        return False

    listed = [
        Service("base", SLEEPER, base_ready, timeout_s=30),
        Service("opener", touch_then_sleep(gate), lambda: True, timeout_s=30),
        Service("dependent", SLEEPER, lambda: True, timeout_s=30, needs=("base",)),
    ]
    stack = ListStack(tmp_path, listed)
    stack.start()
    try:
        assert stack.started_at["dependent"] >= healthy_at["base"]
        assert stack.started_at["opener"] < healthy_at["base"], "opener did not wait for base"
    finally:
        stack.stop()


def test_a_process_that_dies_while_starting_is_named_and_the_rest_is_stopped(tmp_path: Path) -> None:
    listed = [
        Service("steady", SLEEPER, lambda: False, timeout_s=30),
        Service("broken", [sys.executable, "-c", "raise SystemExit(3)"], lambda: False, timeout_s=30),
    ]
    stack = ListStack(tmp_path, listed)
    with pytest.raises(StackError, match="broken exited with code 3"):
        stack.start()
    assert stack.processes == {}


def test_needs_must_name_a_service_listed_before() -> None:
    with pytest.raises(StackError, match=r"'sender' needs 'chian'.*services: chain, sender"):
        check_needs([Service("chain", SLEEPER, bool), Service("sender", SLEEPER, bool, needs=("chian",))])
    check_needs([Service("chain", SLEEPER, bool), Service("sender", SLEEPER, bool, needs=("chain",))])


def test_rasa_is_launched_first_and_only_the_sender_waits(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "m.tar.gz").write_bytes(b"")
    config = StackConfig.on_free_ports(tmp_path, models_dir=models, with_bot=True, with_chain=True)
    listed = services(config)
    assert [s.name for s in listed] == ["rasa", "actions", "bot", "chain", "ledger-sender"]
    assert {s.name: s.needs for s in listed if s.needs} == {"ledger-sender": ("chain",)}


def test_a_crashed_process_of_a_parallel_start_is_restarted(tmp_path: Path) -> None:
    listed = [Service("a", SLEEPER, lambda: True, timeout_s=30), Service("b", SLEEPER, lambda: True)]
    stack = ListStack(tmp_path, listed)
    stack.start()
    try:
        with Supervisor(stack) as supervisor:
            first = stack.pid("b")
            stack.processes["b"].kill()
            supervisor.wait_restarted("b", 1, timeout=30)
            assert stack.pid("b") != first and stack.alive()["b"]
    finally:
        stack.stop()
