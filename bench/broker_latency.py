"""What Rasa's SQL event broker costs a turn: REST round-trip latency with and without it, same run.

Starts two stacks (the action server and Rasa; no bot service, no chain) on free ports: a baseline whose Rasa
reads endpoints.yml without the event_broker block, and one with it (EVENT_BROKER_DB in its var dir). Shoppers
then talk to both in alternation (the same messages, one request at a time), so both see the same machine load.

    .venv/app/bin/python -m bench.broker_latency [--conversations 20]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import scripts.stack as stack_module
from scripts.stack import ROOT, Stack, StackConfig

MESSAGES = ("hi", "what is your return policy?", "how long does delivery take?", "thanks, bye")


def without_broker(path: Path) -> Path:
    text = (ROOT / "endpoints.yml").read_text()
    stripped = re.sub(r"\nevent_broker:\n(?:  .*\n?)+", "\n", text)
    assert "\nevent_broker:" not in stripped and "\nevent_broker:" in text
    path.write_text(stripped)
    return path


def start(var_dir: Path, endpoints: Path) -> Stack:
    """A stack whose Rasa reads ``endpoints``, given up to 10 minutes per process (a busy machine is slow)."""
    original = stack_module.services

    def services(config: StackConfig) -> list[stack_module.Service]:
        listed = original(config)
        for service in listed:
            service.timeout_s = max(service.timeout_s, 600.0)
            if service.name == "rasa":
                service.argv[service.argv.index("--endpoints") + 1] = str(endpoints)
        return listed

    stack_module.services = services
    try:
        stack = Stack(StackConfig.on_free_ports(var_dir), log_dir=var_dir / "logs")
        stack.start()
    finally:
        stack_module.services = original
    return stack


def say(url: str, sender: str, text: str) -> float:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()
    return (time.perf_counter() - started) * 1000.0


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="broker-bench-") as tmp:
        root = Path(tmp)
        (root / "a").mkdir()
        (root / "b").mkdir()
        stacks = {
            "no broker (baseline)": start(root / "a", without_broker(root / "endpoints-no-broker.yml")),
        }
        try:
            stacks["SQL broker (SQLite)"] = start(root / "b", ROOT / "endpoints.yml")
            samples: dict[str, list[float]] = {name: [] for name in stacks}
            for stack in stacks.values():  # warm-up: the first messages load lazy parts
                for text in MESSAGES:
                    say(stack.config.rest_url, f"warm-{uuid.uuid4().hex[:8]}", text)
            for n in range(args.conversations):
                senders = {name: f"bench-{n}-{uuid.uuid4().hex[:8]}" for name in stacks}
                order = list(stacks) if n % 2 == 0 else list(reversed(stacks))
                for text in MESSAGES:
                    for name in order:
                        samples[name].append(say(stacks[name].config.rest_url, senders[name], text))
            events = root / "b" / "events.db"
            print(f"messages per configuration: {len(MESSAGES) * args.conversations}")
            for name, values in samples.items():
                print(
                    f"{name:24s} p50 {statistics.median(values):7.1f} ms   p95 {p(values, 0.95):7.1f} ms   "
                    f"mean {statistics.fmean(values):7.1f} ms"
                )
            print(f"broker rows written: {events.stat().st_size and _rows(events)}")
        finally:
            for stack in stacks.values():
                stack.stop()


def _rows(path: Path) -> int:
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        return int(connection.execute("SELECT COUNT(*) FROM events").fetchone()[0])
    finally:
        connection.close()


if __name__ == "__main__":
    main()
