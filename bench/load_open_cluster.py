"""The open-loop benchmark against `make run-cluster` with 1, 2, 3 … Rasa instances, one cluster at a time.

    .venv/app/bin/python -m bench.load_open_cluster [--instances 1,2,3] [--rates 2,4,6,8,10,12,15] [--step-s 40]

For each instance count it starts `python -m scripts.cluster` (RASA_INSTANCES=N, the other settings as
`make run-cluster`'s defaults: nginx on RASA_PORT, ACTION_WORKERS action servers, Postgres, Redis, RabbitMQ), waits
until it reports that it is up, finds its processes, runs `bench.load_open --url <nginx>` with every part metered
(CPU-milliseconds per message of each Rasa instance, each action worker, nginx, Postgres, Redis, RabbitMQ, the
analytics sink and the bot: the figures that project the topology onto bigger machines), then stops it
(SIGINT, as Ctrl-C) before the next count. Output: each run's table as bench.load_open prints it, and a summary
of the highest rate that kept p95 within the limit per instance count.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from scripts.processes import descendants, stat_fields
from scripts.stack import APP_PYTHON, ROOT

UP_LINE = "The ShopDesk cluster is up"
# A process's metered name by what its command line holds (first match wins); numbered when there are several.
PARTS = (
    ("rasa", "rasa_addons.serve"),
    ("actions", "actions.server"),
    ("nginx", "nginx"),
    ("postgres", "bin/postgres"),
    ("redis", "redis-server"),
    ("rabbitmq", "rabbit"),
    ("sink", "analytics.broker_sink"),
    ("bot", "-m bot"),
)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def parts(root: int) -> dict[str, int]:
    """NAME=PID of the cluster's parts: the launcher's own children (a part's children are metered with it)."""
    found: dict[str, int] = {}
    for pid, _started in sorted(descendants(root)):
        fields = stat_fields(pid)
        if fields is None or fields[1] != str(root):  # not a direct child of the launcher
            continue
        line = cmdline(pid)
        name = next((name for name, marker in PARTS if marker in line), None)
        if name is not None:
            count = sum(1 for key in found if key.split("-")[0] == name)
            found[f"{name}-{count + 1}"] = pid
    return found


def start_cluster(instances: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RASA_INSTANCES": str(instances)}
    handle = log.open("wb")
    process = subprocess.Popen(
        [str(APP_PYTHON), "-m", "scripts.cluster"], cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if UP_LINE in log.read_text(errors="replace"):
            return process
        if process.poll() is not None:
            raise RuntimeError(f"the cluster with {instances} Rasa instances exited; see {log}")
        time.sleep(1)
    process.send_signal(signal.SIGINT)
    raise RuntimeError(f"the cluster with {instances} Rasa instances was not up within 600 s; see {log}")


def run(instances: int, rates: str, step_s: float, out_dir: Path) -> str:
    log = out_dir / f"cluster-{instances}.log"
    began = time.monotonic()
    cluster = start_cluster(instances, log)
    try:
        up_s = time.monotonic() - began
        url = "http://127.0.0.1:" + os.environ.get("RASA_PORT", "5005")
        metered = parts(cluster.pid)
        print(
            f"\n== {instances} Rasa instance(s): up after {up_s:.0f} s; metering {', '.join(metered)}",
            flush=True,
        )
        argv = [
            str(APP_PYTHON),
            "-m",
            "bench.load_open",
            "--url",
            url,
            "--rates",
            rates,
            "--step-s",
            str(step_s),
        ]
        for name, pid in metered.items():
            argv += ["--pid", f"{name}={pid}"]
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
        print(done.stdout, flush=True)
        if done.returncode:
            print(done.stderr[-3000:], file=sys.stderr, flush=True)
        found = re.search(r"highest rate with p95 <= \d+ ms and no errors: ([\d.]+) msg/s", done.stdout)
        return found.group(1) if found else "none"
    finally:
        cluster.send_signal(signal.SIGINT)
        try:
            cluster.wait(timeout=120)
        except subprocess.TimeoutExpired:
            cluster.kill()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", default="1,2,3", help="Rasa instance counts, one cluster each")
    parser.add_argument("--rates", default="2,4,6,8,10,12,15", help="bench.load_open's --rates")
    parser.add_argument("--step-s", type=float, default=40.0)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "cluster_open")
    args = parser.parse_args()
    try:
        counts = [int(part) for part in args.instances.split(",") if part.strip()]
    except ValueError:
        parser.error(f"--instances {args.instances!r}: expected counts like 1,2,3")
    if not counts or min(counts) < 1:
        parser.error(f"--instances {args.instances!r}: expected counts of at least 1")
    args.out.mkdir(parents=True, exist_ok=True)
    best = {count: run(count, args.rates, args.step_s, args.out) for count in counts}
    print("\nhighest rate with p95 <= 300 ms and no errors, by Rasa instances:")
    for count, rate in best.items():
        print(f"  {count}: {rate} msg/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
