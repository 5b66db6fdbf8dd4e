"""Restart time per process under the supervisor, and what a shopper is told while a process is down.

    .venv/app/bin/python -m bench.restart [--kills 5] [--only actions,rasa]

Starts the whole stack on free ports with a fresh demo shop under `scripts.supervise.Supervisor` (backoff
from 0.5 s), verifies one REST conversation (SD-100003 + ben.okafor@example.com), then for each process kills
it with SIGKILL `--kills` times (the chain node: anvil itself). While it is down, a second thread keeps asking
"where is my order SD-100003?" every `--interval` seconds until the supervisor reports it up (health check
passed). Each reply is classified:

    right      the tracking number                     technical  utter_technical_problem
    refused    connection refused (Rasa itself down)    lost       no reply at all, an HTTP error or a timeout
    wrong      any other answer

Restart time = from the kill to the passing health check. Prints a table (p50 and max over the kills) and
writes results/restart.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from scripts.stack import APP_PYTHON, ROOT, Stack, StackConfig, descendants
from scripts.supervise import Backoff, Supervisor
from shop.sqlite import SqliteOrderStore

ORDER, EMAIL = "SD-100003", "ben.okafor@example.com"
KINDS = ("right", "technical", "refused", "lost", "wrong")


def technical_texts() -> set[str]:
    texts: set[str] = set()
    for path in (ROOT / "domain").glob("*.yml"):
        responses = (yaml.safe_load(path.read_text()) or {}).get("responses") or {}
        texts.update(str(v.get("text", "")) for v in responses.get("utter_technical_problem") or [])
    return texts - {""}


def say(url: str, sender: str, text: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        replies: list[dict[str, Any]] = json.loads(response.read())
    return replies


def classify(url: str, sender: str, tracking: str, technical: set[str]) -> str:
    try:
        replies = say(url, sender, f"where is my order {ORDER}?")
    except urllib.error.HTTPError:
        return "lost"
    except (urllib.error.URLError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        return "refused" if isinstance(reason, ConnectionRefusedError | ConnectionResetError) else "lost"
    except (TimeoutError, OSError, ValueError):
        return "lost"
    texts = [str(r.get("text") or "") for r in replies]
    if not replies:
        return "lost"
    if any(tracking in text for text in texts):
        return "right"
    if all(text in technical for text in texts if text) and any(texts):
        return "technical"
    return "wrong"


def kill_target(stack: Stack, name: str) -> None:
    """SIGKILL the process group of `name` (Sanic's manager and worker together); for the chain, anvil."""
    pid = stack.pid(name)
    if name == "chain":
        anvil = [p for p, _ in descendants(pid) if "anvil" in Path(f"/proc/{p}/comm").read_text()]
        os.kill(anvil[0] if anvil else pid, signal.SIGKILL)
    else:
        os.killpg(pid, signal.SIGKILL)


def measure(
    stack: Stack, supervisor: Supervisor, name: str, kills: int, interval: float, tracking: str, sender: str
) -> dict[str, Any]:
    technical = technical_texts()
    seconds: list[float] = []
    replies: Counter[str] = Counter()
    for _ in range(kills):
        crashes = len(supervisor.restarts(name))
        done = threading.Event()

        def ask(done: threading.Event) -> None:
            while not done.is_set():
                replies[classify(stack.config.rest_url, sender, tracking, technical)] += 1
                done.wait(interval)

        kill_target(stack, name)
        asker = threading.Thread(target=ask, args=(done,), daemon=True)
        asker.start()
        restart = supervisor.wait_restarted(name, crashes + 1, timeout=300)
        done.set()
        asker.join(90)
        seconds.append(restart.downtime_s or 0.0)
        time.sleep(1.0)  # let the next kill find a settled process
    return {
        "process": name,
        "kills": kills,
        "restart_s": seconds,
        "p50_s": statistics.median(seconds),
        "max_s": max(seconds),
        "replies": {kind: replies[kind] for kind in KINDS},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.restart", description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between gap messages")
    parser.add_argument("--only", default="", help="comma-separated processes (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "restart.json")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="shopdesk-restart-") as tmp:
        config = StackConfig.on_free_ports(
            Path(tmp) / "var",
            with_bot=(ROOT / "bot" / "__main__.py").exists(),
            with_chain=(ROOT / "ledger" / "node.py").exists(),
        )
        subprocess.run(  # the demo shop with its orders' ledger records queued
            [str(APP_PYTHON), "-m", "actions.seed_shop", "--db", str(config.shop_db)],
            cwd=ROOT,
            env=config.env(),
            check=True,
        )
        stack = Stack(config)
        print("starting the stack ...", flush=True)
        stack.start()
        supervisor = Supervisor(stack, Backoff(initial_s=0.5, cap_s=30.0, healthy_reset_s=0.0))
        supervisor.start()
        results: list[dict[str, Any]] = []
        try:
            sender = f"bench-restart-{uuid.uuid4().hex[:8]}"
            tracking = SqliteOrderStore(config.shop_db).get_order(ORDER).tracking_number or ""
            say(config.rest_url, sender, f"where is my order {ORDER}?")
            told = " ".join(str(r.get("text") or "") for r in say(config.rest_url, sender, EMAIL))
            if not tracking or tracking not in told:
                raise SystemExit(f"the conversation did not verify {ORDER}: {told!r}")
            names = [n for n in stack.services if not args.only or n in args.only.split(",")]
            for name in names:
                print(f"killing {name} {args.kills} times ...", flush=True)
                results.append(measure(stack, supervisor, name, args.kills, args.interval, tracking, sender))
        finally:
            supervisor.stop()
            stack.stop()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"\n{'process':<14} {'p50 s':>6} {'max s':>6}  " + "  ".join(f"{k:>9}" for k in KINDS))
    for row in results:
        counts = "  ".join(f"{row['replies'][k]:>9}" for k in KINDS)
        print(f"{row['process']:<14} {row['p50_s']:>6.1f} {row['max_s']:>6.1f}  {counts}")
    print(f"\n(written to {args.out})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
