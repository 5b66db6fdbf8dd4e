"""What the per-message cost benchmarks share: the stack variants they compare, the echo model they use as the
floor, CPU-seconds of each process from /proc, and the machine's load.

Variants (one stack at a time, same code, switched by settings):
- `after`: the defaults (the cuts on: rasa_addons.speedups and .model_load, the SQLite tracker store in WAL, 1 thread
  a process);
- `before`: the cuts off (RASA_FAST_PATHS=0, RASA_FAST_LOAD=0, RASA_POLICY_GATE=0, TRACKER_SQLITE_WAL=0,
  RESPONDER_GATE=off, SENTIMENT_CACHE=0, RASA_THREADS / ACTION_THREADS = every core, which is what TensorFlow
  and torch take on their own);
- `no-gate`: `after` with TEDPolicy run for every prediction (RASA_POLICY_GATE=0): the policy gate's own share;
- `no-cache`: `after` without the sentiment model's cache (SENTIMENT_CACHE=0): the load flows repeat the same
  few texts, so the cache answers every one of them there, far more than in real traffic;
- `echo`: the `after` stack serving the no-op model of configs/echo (one rule, no action call): the floor.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from scripts.processes import descendants, stat_fields
from scripts.stack import RASA_BIN, ROOT, Stack, StackConfig

ECHO_DIR = ROOT / "configs" / "echo"
VARIANTS = ("echo", "before", "no-gate", "no-cache", "after")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def variant_env(variant: str) -> dict[str, str]:
    """The settings that make `variant` (see the module's docstring)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant {variant!r}: expected one of {', '.join(VARIANTS)}")
    if variant == "no-gate":
        return {"RASA_POLICY_GATE": "0"}
    if variant == "no-cache":
        return {"SENTIMENT_CACHE": "0"}
    if variant != "before":
        return {}
    cores = str(os.cpu_count() or 1)
    return {
        "RASA_FAST_PATHS": "0",
        "RASA_FAST_LOAD": "0",
        "RASA_POLICY_GATE": "0",
        "RESPONDER_GATE": "off",
        "SENTIMENT_CACHE": "0",
        "TRACKER_SQLITE_WAL": "0",
        "RASA_THREADS": cores,
        "ACTION_THREADS": cores,
    }


def parse_variants(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        variant_env(name)  # ValueError naming it
    return names


def train_echo(out_dir: Path) -> Path:
    """Train the echo model into `out_dir` (seconds: no NLU model, one rule) and return the directory."""
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            str(RASA_BIN),
            "train",
            "--domain",
            str(ECHO_DIR / "domain.yml"),
            "--data",
            str(ECHO_DIR / "data"),
            "--config",
            str(ECHO_DIR / "config.yml"),
            "--out",
            str(out_dir),
            "--fixed-model-name",
            "echo",
        ],
        cwd=ROOT,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    return out_dir


def stack_for(variant: str, var_dir: Path, echo_models: Path | None = None, **overrides: object) -> Stack:
    """A stack on free ports for `variant` (the echo variant needs the directory train_echo filled)."""
    if variant == "echo":
        if echo_models is None:
            raise ValueError("the echo variant needs the echo model: train_echo(dir) first")
        overrides.setdefault("models_dir", echo_models)
    config = StackConfig.on_free_ports(var_dir, extra_env=variant_env(variant), **overrides)
    return Stack(config)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and its live descendants (Sanic workers, anvil); 0 when gone."""
    total = 0.0
    for each in [pid, *(child for child, _ in descendants(pid))]:
        fields = stat_fields(each)
        if fields is not None:
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    return total


@dataclass
class CpuMeter:
    """CPU-seconds per process between two readings: `start()`, then `per_message(messages)`."""

    pids: dict[str, int]
    _began: dict[str, float] | None = None

    def start(self) -> None:
        self._began = {name: process_cpu_seconds(pid) for name, pid in self.pids.items()}

    def seconds(self) -> dict[str, float]:
        if self._began is None:
            raise RuntimeError("CpuMeter.start() first")
        return {name: process_cpu_seconds(pid) - self._began[name] for name, pid in self.pids.items()}

    def per_message_ms(self, messages: int) -> dict[str, float]:
        return {name: 1000 * spent / max(1, messages) for name, spent in self.seconds().items()}


def stack_pids(stack: Stack, names: tuple[str, ...] = ("rasa", "actions", "bot")) -> dict[str, int]:
    return {name: stack.pid(name) for name in names if name in stack.processes}


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"
