"""Load benchmark: N concurrent simulated shoppers running multi-turn flows over the REST channel.

Starts the real stack on free ports with a fresh order store, runs a one-shopper baseline and then the
concurrent run in the same process, and prints msg/s, latency percentiles and errors for both.

    .venv/app/bin/python -m bench.load_rest [--shoppers 10] [--rounds 3]
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

from scripts.stack import ROOT, Stack, StackConfig

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


def plot(runs: dict[str, Run], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, run in runs.items():
        ax.hist(run.latencies_ms, bins=40, alpha=0.6, label=f"{label} (p95 {run.percentile(95):.0f} ms)")
    ax.set_xlabel("latency per message (ms)")
    ax.set_ylabel("messages")
    ax.set_title("ShopDesk REST latency: one shopper vs concurrent shoppers")
    ax.legend()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shoppers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plot", type=Path, default=ROOT / "results" / "bench" / "load_latency.png")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="shopdesk-load-") as tmp:
        stack = Stack(StackConfig.on_free_ports(Path(tmp)))
        print("starting the stack ...", flush=True)
        stack.start()
        try:
            url = stack.config.rest_url
            asyncio.run(drive(url, 1, 1))  # warm-up: first requests load models
            baseline = asyncio.run(drive(url, 1, args.rounds))
            loaded = asyncio.run(drive(url, args.shoppers, args.rounds))
        finally:
            stack.stop()

    print(f"\n{'run':<22} {'msgs':>6} {'msg/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    print(baseline.line("1 shopper (baseline)"))
    print(loaded.line(f"{args.shoppers} shoppers"))
    print("\ntarget at 10 shoppers: >= 20 msg/s, p95 <= 300 ms, 0 errors")
    for error in (baseline.errors + loaded.errors)[:10]:
        print("  error:", error)
    plot({"1 shopper": baseline, f"{args.shoppers} shoppers": loaded}, args.plot)
    print(f"latency histogram: {args.plot.relative_to(ROOT)}")
    if loaded.latencies_ms:
        print(f"mean latency at {args.shoppers} shoppers: {statistics.mean(loaded.latencies_ms):.0f} ms")
    return 1 if loaded.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
