"""The supervisor on real (tiny) processes, driven one round at a time with a fake clock."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from scripts.stack import Service, Stack, StackConfig
from scripts.supervise import Backoff, State, Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_stack(tmp_path: Path, *services: Service) -> Stack:
    stack = Stack(StackConfig(var_dir=tmp_path), log_dir=tmp_path / "logs")
    stack.log_dir.mkdir(parents=True)
    for service in services:
        stack.services[service.name] = service
        stack.launch(service.name)
    return stack


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def kill(stack: Stack, name: str) -> None:
    process = stack.processes[name]
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def test_backoff_doubles_from_half_a_second_to_thirty() -> None:
    backoff = Backoff()
    assert [backoff.delay(n) for n in range(1, 10)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]


def test_a_killed_process_is_restarted_after_its_delay(tmp_path: Path, clock: FakeClock, caplog) -> None:
    stack = make_stack(tmp_path, Service("worker", SLEEPER, lambda: True))
    try:
        supervisor = Supervisor(stack, Backoff(initial_s=2.0), clock=clock)
        first_pid = stack.pid("worker")
        (stack.log_dir / "worker.log").write_text("booting\nsomething went wrong here\n")
        kill(stack, "worker")

        with caplog.at_level(logging.WARNING, logger="scripts.supervise"):
            supervisor.step()
        assert supervisor.state("worker") is State.WAITING
        [restart] = supervisor.restarts("worker")
        assert restart.reason == "was killed by SIGKILL"
        assert restart.delay_s == 2.0
        assert "worker was killed by SIGKILL" in caplog.text
        assert "something went wrong here" in caplog.text, "the tail of its log says why it died"

        clock.now += 1.9
        supervisor.step()
        assert supervisor.state("worker") is State.WAITING, "restarted before its backoff delay"
        assert stack.processes["worker"].poll() is not None

        clock.now += 0.2
        supervisor.step()  # launches it
        supervisor.step()  # its health check passes
        assert supervisor.state("worker") is State.UP
        assert stack.alive()["worker"]
        assert stack.pid("worker") != first_pid
        assert supervisor.restarts("worker")[0].downtime_s == pytest.approx(2.1)
    finally:
        stack.stop()


def test_the_delay_doubles_while_it_keeps_crashing_and_resets_once_healthy(
    tmp_path: Path, clock: FakeClock
) -> None:
    stack = make_stack(tmp_path, Service("worker", SLEEPER, lambda: True))
    backoff = Backoff(initial_s=1.0, factor=2.0, cap_s=4.0, healthy_reset_s=60.0)
    supervisor = Supervisor(stack, backoff, clock=clock)
    try:
        delays = []
        for _ in range(4):
            kill(stack, "worker")
            supervisor.step()
            delays.append(supervisor.restarts("worker")[-1].delay_s)
            clock.now += delays[-1]
            supervisor.step()
            supervisor.step()
            assert supervisor.state("worker") is State.UP
        assert delays == [1.0, 2.0, 4.0, 4.0]

        clock.now += 60.0
        supervisor.step()  # stayed healthy a minute: the next crash starts from the initial delay again
        kill(stack, "worker")
        supervisor.step()
        assert supervisor.restarts("worker")[-1].delay_s == 1.0
    finally:
        stack.stop()


def test_a_restarted_process_counts_as_up_only_once_healthy(tmp_path: Path, clock: FakeClock) -> None:
    healthy = {"ok": True}
    stack = make_stack(tmp_path, Service("worker", SLEEPER, lambda: healthy["ok"], timeout_s=30.0))
    supervisor = Supervisor(stack, Backoff(initial_s=1.0), clock=clock)
    try:
        kill(stack, "worker")
        healthy["ok"] = False
        supervisor.step()
        clock.now += 1.0
        supervisor.step()
        assert supervisor.state("worker") is State.STARTING
        clock.now += 10.0
        supervisor.step()
        assert supervisor.state("worker") is State.STARTING

        clock.now += 25.0  # past its 30 s start timeout: killed, another failure, a longer delay
        hung_pid = stack.pid("worker")
        supervisor.step()
        assert supervisor.state("worker") is State.WAITING
        last = supervisor.restarts("worker")[-1]
        assert last.reason == "was not healthy within 30 s"
        assert last.delay_s == 2.0
        stack.processes["worker"].wait(timeout=10)  # reaped: its process group was killed
        assert stack.processes["worker"].pid == hung_pid

        healthy["ok"] = True
        clock.now += 2.0
        supervisor.step()
        supervisor.step()
        assert supervisor.state("worker") is State.UP
    finally:
        stack.stop()


def test_a_sender_waits_while_the_chain_is_down(tmp_path: Path, clock: FakeClock) -> None:
    chain_ok = {"ok": False}
    stack = make_stack(
        tmp_path,
        Service("chain", SLEEPER, lambda: chain_ok["ok"], timeout_s=600.0),
        Service("sender", SLEEPER, lambda: True, needs=("chain",)),
    )
    supervisor = Supervisor(stack, Backoff(initial_s=1.0), clock=clock)
    try:
        kill(stack, "chain")
        kill(stack, "sender")
        supervisor.step()
        for _ in range(5):
            clock.now += 5.0
            supervisor.step()
            assert supervisor.state("sender") is State.WAITING, "started before the chain was healthy"
        chain_ok["ok"] = True
        supervisor.step()
        supervisor.step()
        supervisor.step()
        assert supervisor.state("chain") is State.UP
        assert supervisor.state("sender") is State.UP
    finally:
        stack.stop()


def test_the_thread_brings_a_killed_process_back(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, Service("worker", SLEEPER, lambda: True))
    try:
        with Supervisor(stack, Backoff(initial_s=0.1), poll_s=0.05) as supervisor:
            kill(stack, "worker")
            restart = supervisor.wait_restarted("worker", 1, timeout=30)
            assert restart.reason == "was killed by SIGKILL"
            assert stack.alive()["worker"]
    finally:
        stack.stop()


def test_reap_kills_what_is_left_of_the_process_group(tmp_path: Path) -> None:
    spawner = [
        sys.executable,
        "-c",
        "import subprocess, sys, time; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
        "print(child.pid, flush=True); time.sleep(120)",
    ]
    stack = make_stack(tmp_path, Service("parent", spawner, lambda: True))
    try:
        log = stack.log_dir / "parent.log"
        deadline = time.monotonic() + 30
        while not log.read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.05)
        child_pid = int(log.read_text().split()[0])
        kill(stack, "parent")
        assert Path(f"/proc/{child_pid}").exists(), "the orphan outlives its parent's kill -9"
        stack.reap("parent")
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child_pid}").exists() and time.monotonic() < deadline:
            try:
                os.waitpid(child_pid, os.WNOHANG)  # not our child: only init reaps it
            except ChildProcessError:
                pass
            if _is_zombie(child_pid):
                break
            time.sleep(0.05)
        assert not Path(f"/proc/{child_pid}").exists() or _is_zombie(child_pid)
    finally:
        stack.stop()


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (FileNotFoundError, IndexError):
        return True


def test_a_child_in_a_session_of_its_own_dies_with_its_parent(tmp_path: Path, clock: FakeClock) -> None:
    """The chain launcher starts anvil with start_new_session: a kill -9 of the launcher must not leave anvil
    holding the port the restarted launcher needs."""
    spawner = [
        sys.executable,
        "-c",
        "import subprocess, sys, time; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], "
        "start_new_session=True); print(child.pid, flush=True); time.sleep(120)",
    ]
    stack = make_stack(tmp_path, Service("launcher", spawner, lambda: True))
    supervisor = Supervisor(stack, Backoff(initial_s=1.0), clock=clock)
    try:
        log = stack.log_dir / "launcher.log"
        deadline = time.monotonic() + 30
        while not log.read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.05)
        child_pid = int(log.read_text().split()[0])
        supervisor.step()  # up: its descendants are noted
        kill(stack, "launcher")
        supervisor.step()  # died: reaped, the orphan in its own session too
        deadline = time.monotonic() + 10
        while not _is_zombie(child_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _is_zombie(child_pid), "the orphaned child still runs"
    finally:
        stack.stop()
