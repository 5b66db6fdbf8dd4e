"""Training time of the full assistant and cold-start time of the stack, on this machine.

    .venv/app/bin/python -m bench.startup

Trains the Rasa model from scratch into a temporary directory (NLU-only training is timed first as the
baseline), then starts the whole stack on free ports and reports when each process answered.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from scripts.stack import RASA_BIN, ROOT, Stack, StackConfig

DATA = ["training_data/nlu", "training_data/rules", "training_data/stories"]


def timed(argv: list[str]) -> float:
    """Seconds `argv` took; Rasa's training cache is off, so every component trains from scratch."""
    env = {**os.environ, "RASA_MAX_CACHE_SIZE": "0", "RASA_TELEMETRY_ENABLED": "false"}
    began = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return time.perf_counter() - began


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="shopdesk-startup-") as tmp:
        out = Path(tmp)
        print("training NLU only (baseline) ...", flush=True)
        nlu_s = timed(
            [
                str(RASA_BIN),
                "train",
                "nlu",
                "--nlu",
                "training_data/nlu",
                "--config",
                "config.yml",
                "--out",
                str(out / "nlu"),
            ]
        )
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
        config = StackConfig.on_free_ports(
            out / "var",
            models_dir=out / "models",
            with_bot=(ROOT / "bot" / "__main__.py").exists(),
            with_chain=(ROOT / "ledger" / "node.py").exists(),
        )
        stack = Stack(config)
        began = time.perf_counter()
        stack.start()
        cold_s = time.perf_counter() - began
        ready = dict(stack.ready_after)
        stack.stop()

    print(f"\n{'measure':<38} {'seconds':>8}  target")
    print(f"{'train NLU only (baseline)':<38} {nlu_s:>8.1f}")
    print(f"{'train full assistant':<38} {full_s:>8.1f}  <= 300")
    print(f"{'cold start, whole stack':<38} {cold_s:>8.1f}  <= 45")
    for name, seconds in ready.items():
        print(f"{'  ' + name + ' ready after':<38} {seconds:>8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
