"""Load benchmark: closed loop, N concurrent simulated shoppers running multi-turn flows over the REST channel.

For each variant (bench/cost_common.py: `echo`, the no-op model, is the floor; `before` has the per-message cost
cuts switched off; `no-gate` is `after` with TED run for every prediction; `after` is the default stack) it
starts the real stack on free ports with a fresh order store (one stack at a time), waits until it is idle, and
drives 1/10/20/50 shoppers (no think time) for `--rounds` rounds of a flow each. Prints msg/s, p50/p95/p99,
errors and CPU-milliseconds per message of Rasa, the action server and the bot, with the load average next to
each row (the machine may be shared: compare rows of one run).

    .venv/app/bin/python -m bench.load_rest [--levels 1,10,20,50] [--variants echo,before,no-gate,after] [--rounds 3]
    .venv/app/bin/python -m bench.load_rest --shoppers 20 --variants after     (1 vs 20 shoppers, as before)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.cost_common import (
    CpuMeter,
    load_average,
    parse_variants,
    process_cpu_seconds,
    stack_for,
    stack_pids,
    train_echo,
)
from scripts.stack import ROOT

FLOWS: tuple[tuple[str, ...], ...] = (
    ("hi there", "where is my order SD-100003?", "ben.okafor@example.com", "thanks!", "bye"),
    ("hello", "what payment methods do you accept?", "how long does delivery take?", "thank you"),
    ("hey", "can I see the invoice for order SD-100008", "david.chen@example.com", "great, thanks"),
    ("good morning", "what is your refund policy?", "how do I reset my password?", "ok bye"),
)


@dataclass
class Run:
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def messages(self) -> int:
        return len(self.latencies_ms) + len(self.errors)

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    def line(self, label: str) -> str:
        rate = self.messages / self.wall_s if self.wall_s else 0.0
        return (
            f"{label:<22} {self.messages:>6} {rate:>8.1f} {self.percentile(50):>8.0f} "
            f"{self.percentile(95):>8.0f} {self.percentile(99):>8.0f} {len(self.errors):>7}"
        )


async def shopper(session: aiohttp.ClientSession, url: str, flow: tuple[str, ...], run: Run) -> None:
    sender = f"load-{uuid.uuid4().hex[:12]}"
    for text in flow:
        began = time.perf_counter()
        try:
            async with session.post(url, json={"sender": sender, "message": text}) as response:
                body = await response.json()
                if response.status != 200 or not body:
                    run.errors.append(f"{response.status} {text!r} -> {body!r:.80}")
                    continue
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            run.errors.append(f"{type(error).__name__} on {text!r}")
            continue
        run.latencies_ms.append((time.perf_counter() - began) * 1000)


async def drive(url: str, shoppers: int, rounds: int) -> Run:
    run = Run()
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=shoppers * 2)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        began = time.perf_counter()
        for round_ in range(rounds):
            await asyncio.gather(
                *(shopper(session, url, FLOWS[(i + round_) % len(FLOWS)], run) for i in range(shoppers))
            )
        run.wall_s = time.perf_counter() - began
    return run


def parse_levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--levels {text!r}: expected numbers of shoppers like 1,10,20,50"
        ) from None
    if not levels or any(level < 1 for level in levels):
        raise argparse.ArgumentTypeError(f"--levels {text!r}: expected numbers of shoppers of at least 1")
    return levels


def wait_idle(
    pids: dict[str, int], busy_cpu_s: float = 0.2, window_s: float = 2.0, limit_s: float = 180
) -> float:
    """Wait until the processes together use under `busy_cpu_s` CPU-seconds per second (background warm-ups
    such as the responder's compilation done); returns the seconds waited."""
    began = time.perf_counter()
    while time.perf_counter() - began < limit_s:
        before = sum(process_cpu_seconds(pid) for pid in pids.values())
        time.sleep(window_s)
        if sum(process_cpu_seconds(pid) for pid in pids.values()) - before < busy_cpu_s * window_s:
            break
    return time.perf_counter() - began


@dataclass
class Row:
    variant: str
    shoppers: int
    run: Run
    cpu_ms: dict[str, float]
    load: str

    def line(self) -> str:
        cpu = " ".join(f"{self.cpu_ms.get(name, float('nan')):>7.0f}" for name in ("rasa", "actions", "bot"))
        return f"{self.variant:<7} {self.run.line(f'{self.shoppers} shoppers')} {cpu}   {self.load}"


HEADER = (
    f"{'variant':<7} {'run':<22} {'msgs':>6} {'msg/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
    f"{'errors':>7} {'rasa':>7} {'actions':>7} {'bot':>7}   load avg 1/5/15 min"
)


def measure(variant: str, levels: list[int], rounds: int, tmp: Path, echo_models: Path | None) -> list[Row]:
    stack = stack_for(variant, tmp / f"var-{variant}", echo_models, with_bot=True)
    print(f"[{variant}] starting the stack ...", flush=True)
    stack.start()
    rows: list[Row] = []
    try:
        url = stack.config.rest_url
        asyncio.run(drive(url, 4, 1))  # warm-up: every flow once (first requests load models)
        pids = stack_pids(stack)
        print(f"[{variant}] idle after {wait_idle(pids):.0f} s more", flush=True)
        for shoppers in levels:
            meter = CpuMeter(pids)
            meter.start()
            run = asyncio.run(drive(url, shoppers, rounds))
            rows.append(Row(variant, shoppers, run, meter.per_message_ms(run.messages), load_average()))
            print(rows[-1].line(), flush=True)
    finally:
        stack.stop()
    return rows


def plot(rows: list[Row], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for variant in dict.fromkeys(row.variant for row in rows):
        mine = [row for row in rows if row.variant == variant]
        ax.plot([r.shoppers for r in mine], [r.run.percentile(95) for r in mine], marker="o", label=variant)
    ax.set_xlabel("concurrent shoppers (closed loop, no think time)")
    ax.set_ylabel("p95 latency per message (ms)")
    ax.set_title("ShopDesk REST p95: echo floor, before and after the cost cuts")
    ax.legend()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--levels", type=parse_levels, default=[1, 10, 20, 50])
    parser.add_argument("--shoppers", type=int, help="shorthand for --levels 1,N")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", type=parse_variants, default=["echo", "before", "after"])
    parser.add_argument("--plot", type=Path, default=ROOT / "results" / "bench" / "load_latency.png")
    args = parser.parse_args()
    levels = [1, args.shoppers] if args.shoppers else args.levels

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="shopdesk-load-") as tmp:
        echo_models = train_echo(Path(tmp) / "echo-models") if "echo" in args.variants else None
        for variant in args.variants:
            rows += measure(variant, levels, args.rounds, Path(tmp), echo_models)

    print(f"\nclosed loop, {args.rounds} rounds; CPU columns: CPU-ms per message of each process")
    print(HEADER)
    for row in rows:
        print(row.line())
    print("\ntarget on 2 cores (after): >= 30 msg/s at 20 shoppers with p95 <= 1000 ms, 0 errors")
    errors = [error for row in rows for error in row.run.errors]
    for error in errors[:10]:
        print("  error:", error)
    plot(rows, args.plot)
    print(f"p95 by shoppers: {args.plot}")
    after = [row for row in rows if row.variant == "after"]
    if after:
        print(
            f"mean latency at {after[-1].shoppers} shoppers (after): {statistics.mean(after[-1].run.latencies_ms or [0]):.0f} ms"
        )
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
