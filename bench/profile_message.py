"""Where a message's CPU goes: the real stack, sampled with py-spy while shoppers' conversations run through it.

    .venv/app/bin/python -m bench.profile_message [--messages 80] [--variant after|before] [--out results/profile]

Starts the stack on free ports (bench/cost_common.py's variant: `after` = the defaults, `before` = the cost cuts
switched off, `echo` = the no-op model), warms it up and waits until it is idle, then records Rasa and the action server (with their
worker processes) with `py-spy record --format speedscope` while one shopper at a time sends `--messages`
messages of bench/load_rest's conversations. Prints CPU-milliseconds per message of each process (from
/proc/<pid>/stat, before/after) and the top frames by self time and by inclusive time; the speedscope files
(open them at speedscope's site or its npm viewer) land in `--out`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp

from bench.cost_common import VARIANTS, CpuMeter, load_average, stack_for, stack_pids, train_echo
from bench.load_rest import FLOWS, Run, drive, shopper, wait_idle
from scripts.stack import ROOT

PY_SPY = ROOT / ".venv" / "app" / "bin" / "py-spy"
PROFILED = ("rasa", "actions")
# Leaves that are a process waiting, not working (uvloop's run_forever shows as Sanic's `serve` line; selectors,
# pipes and locks): py-spy counts a thread in native code as active.
WAITING = frozenset(
    {"serve", "select", "poll", "_recv", "_recv_bytes", "wait", "run_forever", "_run_once", "acquire"}
)
OURS = (
    "/rasa/core/",
    "/rasa/shared/",
    "/rasa/nlu/",
    "/rasa/engine/",
    "rasa_addons/",
    "/actions/",
    "/retrieval/",
)
OURS += ("/sentiment/", "/shop/", "/rasa_sdk/", "/ledger/")
ENTRY = ("rasa_addons/serve.py", "/rasa/core/run.py", "/actions/server.py")  # the whole process: no news


async def conversations(url: str, messages: int) -> Run:
    """One shopper at a time, flow after flow, until `messages` were sent."""
    run = Run()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        began = time.perf_counter()
        index = 0
        while run.messages < messages:
            await shopper(session, url, FLOWS[index % len(FLOWS)], run)
            index += 1
        run.wall_s = time.perf_counter() - began
    return run


def start_py_spy(pid: int, out: Path, rate: int) -> subprocess.Popen[bytes]:
    if not PY_SPY.exists():
        raise SystemExit(f"{PY_SPY} is missing: `make setup` installs py-spy (requirements/app.lock)")
    argv = [str(PY_SPY), "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--rate", str(rate)]
    argv += ["--format", "speedscope", "--output", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_py_spy(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


def frame_name(frame: dict[str, object]) -> str:
    file = str(frame.get("file") or "")
    for marker in ("site-packages/", "/work/wt/", str(ROOT) + "/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{frame.get('name')} ({file}:{frame.get('line')})"


def top_frames(
    speedscope: Path, count: int = 15
) -> tuple[int, list[tuple[str, float]], list[tuple[str, float]]]:
    """(samples, top by self time, top by inclusive time among our/Rasa's frames) as (frame, share of samples)."""
    data = json.loads(speedscope.read_text())
    frames = data["shared"]["frames"]
    own: Counter[int] = Counter()
    inclusive: Counter[int] = Counter()
    total = 0.0
    for profile in data["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            if not stack or frames[stack[-1]].get("name") in WAITING:
                continue
            total += weight
            own[stack[-1]] += weight
            for index in set(stack):
                inclusive[index] += weight
    share = max(1, total)
    self_top = [(frame_name(frames[i]), w / share) for i, w in own.most_common(count)]
    ours = [
        (frame_name(frames[i]), w / share)
        for i, w in inclusive.most_common()
        if any(marker in str(frames[i].get("file")) for marker in OURS)
        and not any(marker in str(frames[i].get("file")) for marker in ENTRY)
    ]
    return total, self_top, ours[:count]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=80)
    parser.add_argument("--variant", choices=VARIANTS, default="after")
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "profile")
    args = parser.parse_args()
    if args.messages < 1:
        parser.error(f"--messages {args.messages}: expected at least 1")
    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="shopdesk-profile-") as tmp:
        echo = train_echo(Path(tmp) / "echo") if args.variant == "echo" else None
        stack = stack_for(args.variant, Path(tmp) / "var", echo)
        print(f"[{args.variant}] starting the stack ...", flush=True)
        stack.start()
        try:
            url = stack.config.rest_url
            asyncio.run(drive(url, 4, 1))  # every flow once: models loaded, caches warm
            pids = stack_pids(stack, PROFILED)
            wait_idle(pids)
            outputs = {name: args.out / f"{name}-{args.variant}.speedscope.json" for name in PROFILED}
            spies = {name: start_py_spy(pid, outputs[name], args.rate) for name, pid in pids.items()}
            time.sleep(1.0)  # py-spy attached
            meter = CpuMeter(pids)
            meter.start()
            run = asyncio.run(conversations(url, args.messages))
            cpu_ms = meter.per_message_ms(run.messages)
            load = load_average()
            for spy in spies.values():
                stop_py_spy(spy)
        finally:
            stack.stop()

    print(
        f"\n{args.variant}: {run.messages} messages, one shopper at a time, {len(run.errors)} errors; load {load}"
    )
    print(f"latency p50 {run.percentile(50):.0f} ms, p95 {run.percentile(95):.0f} ms")
    print("CPU-ms per message: " + ", ".join(f"{name} {ms:.1f}" for name, ms in cpu_ms.items()))
    for name, path in outputs.items():
        if not path.exists():
            print(f"\n{name}: py-spy wrote no profile ({path})")
            continue
        samples, self_top, inclusive_top = top_frames(path)
        print(
            f"\n{name}: {samples} samples ({path.relative_to(ROOT) if path.is_relative_to(ROOT) else path})"
        )
        print("  top self time:")
        for frame, share in self_top:
            print(f"    {100 * share:5.1f}%  {frame}")
        print("  top inclusive time (Rasa's and ShopDesk's frames):")
        for frame, share in inclusive_top:
            print(f"    {100 * share:5.1f}%  {frame}")
    return 1 if run.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
