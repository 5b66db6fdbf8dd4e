"""Cold start of the whole stack: one process at a time (the old launcher) and in parallel (scripts.stack's
default), each with Rasa's own model load (`RASA_FAST_LOAD=0`) and with rasa_addons.model_load (the default);
optionally the training time of the assistant first.

    .venv/app/bin/python -m bench.startup                  # the trained model in models/, all four starts
    .venv/app/bin/python -m bench.startup --only parallel  # one start order, both loads
    .venv/app/bin/python -m bench.startup --train          # first train from scratch into a temporary directory

Each start runs on free ports with a fresh state directory, one stack at a time. Prints when each process
answered its health check (seconds after its own launch), the whole stack's cold start, and the first answer to a
shopper's message after the stack was ready (the action server loads its models in the background).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.cost_common import load_average, process_cpu_seconds
from scripts.stack import RASA_BIN, ROOT, Stack, StackConfig

DATA = ["training_data/nlu", "training_data/rules", "training_data/stories"]
FIRST_MESSAGE = "where is my order SD-100003?"


def timed(argv: list[str]) -> float:
    """Seconds `argv` took; Rasa's training cache is off, so every component trains from scratch."""
    env = {**os.environ, "RASA_MAX_CACHE_SIZE": "0", "RASA_TELEMETRY_ENABLED": "false"}
    began = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return time.perf_counter() - began


def train(out: Path) -> tuple[float, float]:
    print("training NLU only (baseline) ...", flush=True)
    nlu_argv = [str(RASA_BIN), "train", "nlu", "--nlu", "training_data/nlu", "--config", "config.yml"]
    nlu_s = timed([*nlu_argv, "--out", str(out / "nlu")])
    print("training the full assistant (NLU + dialogue) ...", flush=True)
    full_s = timed(
        [
            str(RASA_BIN),
            "train",
            "--domain",
            "domain",
            "--data",
            *DATA,
            "--config",
            "config.yml",
            "--out",
            str(out / "models"),
            "--force",
        ]
    )
    return nlu_s, full_s


def first_answer_s(config: StackConfig) -> float:
    body = json.dumps({"sender": "startup-bench", "message": FIRST_MESSAGE}).encode()
    request = urllib.request.Request(config.rest_url, data=body, headers={"Content-Type": "application/json"})
    began = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()
    return time.perf_counter() - began


LOADS = {"Rasa's load": {"RASA_FAST_LOAD": "0"}, "fast load": {}}


def cold_start(
    models_dir: Path, var_dir: Path, *, parallel: bool, env: dict[str, str]
) -> tuple[float, dict[str, float], dict[str, float], float, str]:
    config = StackConfig.on_free_ports(
        var_dir,
        models_dir=models_dir,
        with_bot=(ROOT / "bot" / "__main__.py").exists(),
        with_chain=(ROOT / "ledger" / "node.py").exists(),
        extra_env=env,
    )
    stack = Stack(config, parallel=parallel)
    cpu: dict[str, float] = {}  # CPU-seconds a process (and its children) spent until it was ready
    began = time.perf_counter()
    stack.start(on_ready=lambda name, _s: cpu.__setitem__(name, process_cpu_seconds(stack.pid(name))))
    try:
        cold_s = time.perf_counter() - began
        load = load_average()
        first_s = first_answer_s(config)
        return cold_s, dict(stack.ready_after), cpu, first_s, load
    finally:
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", action="store_true", help="train from scratch first and start that model")
    parser.add_argument("--only", choices=("sequential", "parallel"), help="measure one start order")
    args = parser.parse_args()
    orders = [args.only == "parallel"] if args.only else [False, True]

    with tempfile.TemporaryDirectory(prefix="shopdesk-startup-") as tmp:
        out = Path(tmp)
        trained = train(out) if args.train else None
        models_dir = out / "models" if trained else ROOT / "models"
        results = {}
        for parallel in orders:
            for load_name, env in LOADS.items():
                label = f"{'parallel' if parallel else 'one at a time'}, {load_name}"
                print(f"cold start: {label} ...", flush=True)
                results[label] = cold_start(
                    models_dir, out / f"var-{len(results)}", parallel=parallel, env=env
                )

    print(f"\n{'measure':<40} {'seconds':>8}  target")
    if trained:
        print(f"{'train NLU only (baseline)':<40} {trained[0]:>8.1f}")
        print(f"{'train full assistant':<40} {trained[1]:>8.1f}  <= 300")
    for label, (cold_s, ready, cpu, first_s, load) in results.items():
        print(f"{'cold start, ' + label:<40} {cold_s:>8.1f}  <= 30   (load avg {load})")
        for name, seconds in ready.items():
            print(f"{'  ' + name + ' ready after':<40} {seconds:>8.1f}  ({cpu.get(name, 0.0):.1f} CPU-s)")
        print(f"{'  then the first answer took':<40} {first_s:>8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
