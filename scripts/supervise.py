"""Keep a stack's processes running: restart a crashed one with exponential backoff and say why it died.

    supervisor = Supervisor(stack)       # a started `scripts.stack.Stack`
    supervisor.start()                   # a daemon thread polls the processes
    ...
    supervisor.stop(); stack.stop()

A process that exits (crash, kill -9, an unhandled error) is logged with its exit code or signal and the tail
of its log, what is left of its process group is killed, and it is started again after a delay that doubles
from `Backoff.initial_s` to `Backoff.cap_s`; the delay starts again from the beginning once the process stayed
up for `Backoff.healthy_reset_s`. Descendants in a session of their own (anvil under the chain launcher) are
noted while the process runs and killed with it. A restarted process counts as up only once its health check passes; one
whose health check does not pass within its `Service.timeout_s` is killed and counts as another failure. A
service restarts only while the services it `needs` are up (the ledger sender waits for the chain node).
The supervisor never gives up: only `stop()` (Ctrl-C / SIGTERM in `make run`) ends it.

Standard library only, like scripts/stack.py, so it runs from either environment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from scripts.stack import Stack, exit_reason

logger = logging.getLogger(__name__)

LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class Backoff:
    """Delay before the n-th restart in a row: initial_s * factor ** (n - 1), at most cap_s."""

    initial_s: float = 0.5
    factor: float = 2.0
    cap_s: float = 30.0
    healthy_reset_s: float = 60.0

    def delay(self, failures: int) -> float:
        return min(self.cap_s, self.initial_s * self.factor ** max(0, failures - 1))


class State(Enum):
    UP = "up"
    WAITING = "waiting"  # dead, waiting out its backoff delay (or for the services it needs)
    STARTING = "starting"  # restarted, its health check has not passed yet


@dataclass
class Restart:
    """One crash and what the supervisor did about it."""

    name: str
    reason: str
    died_at: float
    delay_s: float
    up_at: float | None = None

    @property
    def downtime_s(self) -> float | None:
        return None if self.up_at is None else self.up_at - self.died_at


@dataclass
class _Watch:
    state: State = State.UP
    failures: int = 0
    up_since: float = 0.0
    restart_at: float = 0.0
    starting_since: float = 0.0
    restarts: list[Restart] = field(default_factory=list)


class Supervisor:
    """Polls every process of `stack`; `step()` is one round (the thread calls it every `poll_s`)."""

    def __init__(
        self,
        stack: Stack,
        backoff: Backoff | None = None,
        *,
        poll_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stack = stack
        self.backoff = backoff or Backoff()
        self.poll_s = poll_s
        self.clock = clock
        now = clock()
        self._watches = {name: _Watch(up_since=now) for name in stack.services}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------------------------------- control
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="shopdesk-supervisor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> Supervisor:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.step()
            except Exception:  # a supervisor that dies supervises nothing: log and keep going
                logger.exception("supervisor round failed")
            self._stopping.wait(self.poll_s)

    # ---------------------------------------------------------------------------------------- one round
    def step(self) -> None:
        with self._lock:
            for name, watch in self._watches.items():
                if self._stopping.is_set():
                    return
                self._step_one(name, watch, self.clock())
            self._changed.notify_all()

    def _step_one(self, name: str, watch: _Watch, now: float) -> None:
        process = self.stack.processes.get(name)
        if watch.state is State.UP:
            if process is not None and process.poll() is None:
                self.stack.remember_descendants(name)
                if watch.failures and now - watch.up_since >= self.backoff.healthy_reset_s:
                    watch.failures = 0
                return
            self._died(name, watch, now, exit_reason(None if process is None else process.returncode))
        elif watch.state is State.WAITING:
            if now < watch.restart_at:
                return
            waiting_for = [
                needed
                for needed in self.stack.services[name].needs
                if needed in self._watches and self._watches[needed].state is not State.UP
            ]
            if waiting_for:
                return
            logger.info("restarting %s (restart %d in a row)", name, watch.failures)
            self.stack.launch(name)
            watch.state = State.STARTING
            watch.starting_since = now
        elif watch.state is State.STARTING:
            if process is None or process.poll() is not None:
                self._died(name, watch, now, exit_reason(None if process is None else process.returncode))
                return
            self.stack.remember_descendants(name)
            if self.stack.is_ready(name):
                watch.state = State.UP
                watch.up_since = self.clock()
                if watch.restarts:
                    watch.restarts[-1].up_at = watch.up_since
                    logger.info("%s is up again after %.1f s", name, watch.restarts[-1].downtime_s or 0.0)
                return
            timeout = self.stack.services[name].timeout_s
            if now - watch.starting_since > timeout:
                self.stack.reap(name)
                self._died(name, watch, now, f"was not healthy within {timeout:.0f} s")

    def _died(self, name: str, watch: _Watch, now: float, reason: str) -> None:
        self.stack.reap(name)
        watch.failures += 1
        delay = self.backoff.delay(watch.failures)
        watch.state = State.WAITING
        watch.restart_at = now + delay
        watch.restarts.append(Restart(name, reason, now, delay))
        logger.warning(
            "%s %s; restarting in %.1f s. Last lines of its log:\n%s",
            name,
            reason,
            delay,
            self.stack.log_tail(name, LOG_TAIL_LINES),
        )

    # ------------------------------------------------------------------------------------------ queries
    def state(self, name: str) -> State:
        with self._lock:
            return self._watches[name].state

    def restarts(self, name: str) -> list[Restart]:
        with self._lock:
            return list(self._watches[name].restarts)

    def wait_restarted(self, name: str, count: int, timeout: float) -> Restart:
        """Block until `name` is up again after at least `count` crashes in all; the last Restart, or
        TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                restarts = self._watches[name].restarts
                if len(restarts) >= count and self._watches[name].state is State.UP:
                    return restarts[-1]
                left = deadline - time.monotonic()
                if left <= 0:
                    state = self._watches[name].state.value
                    raise TimeoutError(f"{name} not back up within {timeout:.0f} s (now {state})")
                self._changed.wait(min(left, 1.0))


def supervise_until_interrupted(stack: Stack, what: str) -> int:
    """`make run` / `make run-cluster`: restart what crashes until Ctrl-C, then stop the supervisor and every
    process of `stack`. Returns the exit status."""
    supervisor = Supervisor(stack)
    supervisor.start()
    try:
        while True:
            time.sleep(1.0)
    except KeyboardInterrupt:
        print(f"\nStopping {what} ...", flush=True)
        return 0
    finally:
        supervisor.stop()
        stack.stop()
