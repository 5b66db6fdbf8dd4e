"""`python -m scripts.action_worker <actions.server arguments>`: the action server with a longer Sanic start-up
allowance, for the cluster's action workers.

Sanic's worker manager kills the server when a worker has not acknowledged its start within a fixed 30 s
(`WorkerManager.THRESHOLD`, no setting). A worker imports torch, Faiss and the responder before it acknowledges;
on a busy 2-core box (the cluster starts M workers and N Rasa instances, other stacks may run beside it) that
took longer and the worker was killed (SIGKILL, "Not all workers acknowledged a successful startup"). The
allowance is `ACTION_WORKER_START_S` (default 180 s). Better fixed in actions.server itself; until then this
wrapper runs it unchanged otherwise.
"""

from __future__ import annotations

import os
import runpy
import sys

DEFAULT_START_S = 180.0


def start_allowance_s(env: dict[str, str] | os._Environ[str]) -> float:
    raw = env.get("ACTION_WORKER_START_S", "").strip() or str(DEFAULT_START_S)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 30.0 <= value <= 3600.0:
        raise SystemExit(f"ACTION_WORKER_START_S={raw!r} is not valid: expected seconds from 30 to 3600")
    return value


def main() -> None:
    from sanic.worker.manager import WorkerManager
    from sanic.worker.process import WorkerProcess

    ticks = int(start_allowance_s(os.environ) * 10)  # Sanic counts tenths of a second
    WorkerManager.THRESHOLD = WorkerProcess.THRESHOLD = ticks
    sys.argv = ["actions.server", *sys.argv[1:]]
    runpy.run_module("actions.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
