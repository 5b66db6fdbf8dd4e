"""Open-loop load: shoppers arrive at random (Poisson) and think between messages; the arrival rate steps up until
p95 latency passes the limit. Reports, per step, the rate achieved, p50/p95/p99, errors and CPU-milliseconds per
message of each process, and at the end the highest rate whose p95 stayed within `--p95-ms` (300).

    .venv/app/bin/python -m bench.load_open                       # starts the stack (make run's processes)
    .venv/app/bin/python -m bench.load_open --url http://127.0.0.1:5005 --pid rasa=1234 --pid actions=1240
                                                                  # against a running `make run` / run-cluster

A shopper runs one of bench/load_rest's conversations: each message is sent when the answer to the previous
one came and an exponential think time (mean `--think-s`) passed. Shoppers start at rate / (messages per
conversation), so messages arrive at about `rate` per second whatever the latency (open loop: a slow server
does not slow the arrivals down, unlike bench/load_rest's closed loop). A message counts in the step it was
sent in; conversations carry on into the next step, as real ones would.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.cost_common import VARIANTS, CpuMeter, load_average, stack_for, stack_pids, train_echo
from bench.load_rest import FLOWS, drive, wait_idle

REST_PATH = "/webhooks/rest/webhook"
MEAN_FLOW = statistics.mean(len(flow) for flow in FLOWS)


@dataclass
class Step:
    rate: float
    began: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    cpu_ms: dict[str, float] = field(default_factory=dict)
    load: str = ""
    seconds: float = 0.0

    @property
    def sent(self) -> int:
        return len(self.latencies_ms) + self.errors

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    def line(self) -> str:
        """The step's row; one CPU-ms/message column per metered process, in the order of `header`."""
        achieved = self.sent / self.seconds if self.seconds else 0.0
        cpu = " ".join(f"{self.cpu_ms[name]:>{max(7, len(name))}.0f}" for name in self.cpu_ms)
        return (
            f"{self.rate:>6.1f} {achieved:>8.1f} {self.sent:>6} {self.percentile(50):>7.0f} "
            f"{self.percentile(95):>7.0f} {self.percentile(99):>7.0f} {self.errors:>6} {cpu}   {self.load}"
        )


def header(metered: Sequence[str]) -> str:
    """The table's header: one CPU-ms/message column per metered process (NAME of --pid NAME=PID)."""
    cpu = " ".join(f"{name:>{max(7, len(name))}}" for name in metered)
    return (
        f"{'target':>6} {'msg/s':>8} {'msgs':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6} "
        f"{cpu}   load avg 1/5/15 min"
    )


class Load:
    """The shoppers of one run; `steps[-1]` is where a message sent now counts."""

    def __init__(self, url: str, think_s: float, rng: random.Random) -> None:
        self.url = url
        self.think_s = think_s
        self.rng = rng
        self.steps: list[Step] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def shopper(self, session: aiohttp.ClientSession, flow: tuple[str, ...]) -> None:
        sender = f"open-{uuid.uuid4().hex[:12]}"
        for index, text in enumerate(flow):
            if index:
                await asyncio.sleep(self.rng.expovariate(1 / self.think_s))
            step = self.steps[-1]
            began = time.perf_counter()
            try:
                async with session.post(self.url, json={"sender": sender, "message": text}) as response:
                    body = await response.json()
                    ok = response.status == 200 and bool(body)
            except (aiohttp.ClientError, asyncio.TimeoutError):
                ok = False
            if ok:
                step.latencies_ms.append((time.perf_counter() - began) * 1000)
            else:
                step.errors += 1

    async def step(self, session: aiohttp.ClientSession, rate: float, seconds: float) -> Step:
        """Start shoppers at rate / MEAN_FLOW per second for `seconds`."""
        step = Step(rate, time.perf_counter())
        self.steps.append(step)
        end = step.began + seconds
        arrivals = rate / MEAN_FLOW
        while True:
            wait = self.rng.expovariate(arrivals)
            if time.perf_counter() + wait >= end:
                await asyncio.sleep(max(0.0, end - time.perf_counter()))
                break
            await asyncio.sleep(wait)
            task = asyncio.create_task(self.shopper(session, self.rng.choice(FLOWS)))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        step.seconds = time.perf_counter() - step.began
        return step


async def ramp(
    url: str,
    rates: list[float],
    step_s: float,
    think_s: float,
    p95_ms: float,
    pids: dict[str, int],
    seed: int,
) -> list[Step]:
    load = Load(url, think_s, random.Random(seed))
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60), connector=connector) as session:
        for rate in rates:
            meter = CpuMeter(pids)
            meter.start()
            step = await load.step(session, rate, step_s)
            step.cpu_ms = meter.per_message_ms(step.sent)
            step.load = load_average()
            print(step.line(), flush=True)
            if step.percentile(95) > 3 * p95_ms or step.errors > 0.05 * max(1, step.sent):
                break  # well past the limit: more steps only queue up
        load.steps.append(Step(0.0, time.perf_counter()))  # what is still in flight counts nowhere
        if load.tasks:
            await asyncio.wait(load.tasks, timeout=120)
    return load.steps[:-1]


def parse_rates(text: str) -> list[float]:
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--rates {text!r}: expected messages per second like 2,5,10"
        ) from None
    if not rates or any(rate <= 0 for rate in rates):
        raise argparse.ArgumentTypeError(f"--rates {text!r}: expected rates above 0")
    return rates


def parse_pid(text: str) -> tuple[str, int]:
    name, sep, number = text.partition("=")
    if not sep or not number.isdigit() or not Path(f"/proc/{number}").exists():
        raise argparse.ArgumentTypeError(
            f"--pid {text!r}: expected NAME=PID of a running process, e.g. rasa=1234"
        )
    return name, int(number)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="the Rasa (or nginx) base URL; without it the stack is started here")
    parser.add_argument(
        "--pid", type=parse_pid, action="append", default=[], help="NAME=PID to meter (with --url)"
    )
    parser.add_argument("--rates", type=parse_rates, default=[2, 4, 6, 8, 10, 12, 15, 20, 25, 30])
    parser.add_argument("--step-s", type=float, default=30.0)
    parser.add_argument("--think-s", type=float, default=3.0)
    parser.add_argument("--p95-ms", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--variant", choices=VARIANTS, default="after", help="the stack started here (no --url)"
    )
    args = parser.parse_args()

    def run(base_url: str, pids: dict[str, int]) -> list[Step]:
        url = base_url.rstrip("/") + REST_PATH
        asyncio.run(drive(url, len(FLOWS), 1))  # warm-up: every conversation once
        if pids:
            wait_idle(pids)
        print(header(list(pids)), flush=True)
        return asyncio.run(ramp(url, args.rates, args.step_s, args.think_s, args.p95_ms, pids, args.seed))

    if args.url and args.variant != "after":
        parser.error("--variant chooses the stack started here; with --url the stack is yours")
    print(f"open loop: Poisson arrivals, think time {args.think_s:g} s, {args.step_s:g} s a step", flush=True)
    if args.url:
        steps = run(args.url, dict(args.pid))
    else:
        with tempfile.TemporaryDirectory(prefix="shopdesk-open-") as tmp:
            echo = train_echo(Path(tmp) / "echo") if args.variant == "echo" else None
            stack = stack_for(args.variant, Path(tmp) / "var", echo, with_bot=True)
            print("starting the stack ...", flush=True)
            stack.start()
            try:
                steps = run(stack.config.rasa_url, stack_pids(stack))
            finally:
                stack.stop()

    within = [step for step in steps if step.sent and step.percentile(95) <= args.p95_ms and not step.errors]
    print(f"\n{header(list(steps[0].cpu_ms) if steps else [])}")
    for step in steps:
        print(step.line())
    if within:
        best = max(within, key=lambda step: step.sent / step.seconds)
        print(
            f"\nhighest rate with p95 <= {args.p95_ms:.0f} ms and no errors: {best.sent / best.seconds:.1f} msg/s "
            f"(target {best.rate:g}; p95 {best.percentile(95):.0f} ms)"
        )
    else:
        print(f"\nno step kept p95 <= {args.p95_ms:.0f} ms without errors")
    print("target on 2 cores: at 10 msg/s, p95 <= 250 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
