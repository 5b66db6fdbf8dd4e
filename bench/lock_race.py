"""One conversation hammered by K replicas: Rasa's RedisLockStore (`type: redis`) vs ours, same Redis, same run.

Run with Rasa's interpreter (`make bench-lock`):

    .venv/rasa/bin/python -m bench.lock_race [--replicas 4] [--messages 25] [--work-ms 5] [--rounds 2]

Each replica is an OS process with its own store instance (as each Rasa instance has); it receives `messages`
messages of ONE conversation at once (asyncio tasks, in order) and handles each as Rasa does a turn, inside
`store.lock(conversation)`: read the tracker (a JSON list in Redis), think `work-ms`, write it back with the
message appended. Counted per store:

- refused: `lock()` raised LockError (Rasa answers the shopper with an error: the message is dropped);
- stuck: the turn did not end within the guard time (GUARD_S) and was abandoned;
- overlapped: a turn that started while another turn of the conversation was running (the lock failed);
- lost: a turn that ran but whose message is missing from the final tracker (an overlapping write won);
- duplicated: a message in the final tracker more than once;
- reordered: a turn that ran after a later message of the same replica (FIFO broken).

The two stores alternate, `rounds` times each, so both see the same machine load. Nothing here asserts a number.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from rasa.core.lock_store import LockError, LockStore, RedisLockStore

from rasa_addons.lock_store import AtomicRedisLockStore
from scripts.engines import redis_server

CONVERSATION = "hammered"
GUARD_S = 30.0  # a message not handled by then counts as dropped
LOCK_LIFETIME_S = 20.0
POLL_S = 0.02  # both stores ask "my turn?" this often (Rasa's default is 1 s)


@dataclass
class Round:
    store: str
    sent: int
    refused: int
    stuck: int
    overlapped: int
    lost: int
    duplicated: int
    reordered: int
    seconds: float

    def line(self) -> str:
        return (
            f"{self.store:22s} sent {self.sent:4d}  refused {self.refused:3d}  stuck {self.stuck:3d}  overlapped {self.overlapped:3d}  "
            f"lost {self.lost:3d}  duplicated {self.duplicated:3d}  reordered {self.reordered:3d}  "
            f"{self.sent / self.seconds:7.1f} msg/s"
        )


def make_store(kind: str, port: int) -> LockStore:
    if kind == "RedisLockStore":
        return RedisLockStore(host="127.0.0.1", port=port, db=1, key_prefix="stock")
    return AtomicRedisLockStore(url="127.0.0.1", port=port, db=1, key_prefix="atomic", poll_interval_s=POLL_S)


async def turn(store: LockStore, red: redis.Redis, message: str, work_s: float) -> None:
    async with store.lock(CONVERSATION, lock_lifetime=LOCK_LIFETIME_S, wait_time_in_seconds=POLL_S):
        if red.incr("inside") > 1:
            red.incr("overlapped")
        red.rpush("entered", message)
        tracker = json.loads(red.get("tracker") or "[]")
        await asyncio.sleep(work_s)
        red.set("tracker", json.dumps([*tracker, message]))
        red.decr("inside")


def replica(kind: str, port: int, name: str, messages: int, work_s: float, start: Any) -> None:
    store = make_store(kind, port)
    red = redis.Redis(host="127.0.0.1", port=port, db=0)
    start.wait()

    async def one(index: int) -> None:
        try:
            await asyncio.wait_for(turn(store, red, f"{name}:{index}", work_s), GUARD_S)
        except LockError:
            red.incr("refused")
        except asyncio.TimeoutError:
            red.incr("stuck")

    async def run() -> None:
        tasks = []
        for index in range(messages):
            tasks.append(asyncio.create_task(one(index)))
            await asyncio.sleep(0)  # message `index` asks for its ticket before `index + 1`
        await asyncio.gather(*tasks)

    asyncio.run(run())


def reordered(entered: list[str]) -> int:
    """Turns that ran after a later message of the same replica had run."""
    latest: dict[str, int] = {}
    count = 0
    for message in entered:
        name, index = message.split(":")
        if int(index) < latest.get(name, -1):
            count += 1
        latest[name] = max(latest.get(name, -1), int(index))
    return count


def one_round(kind: str, port: int, replicas: int, messages: int, work_s: float) -> Round:
    red = redis.Redis(host="127.0.0.1", port=port, db=0)
    redis.Redis(host="127.0.0.1", port=port, db=1).flushdb()
    red.flushdb()
    context = multiprocessing.get_context("fork")
    start = context.Event()
    workers = [
        context.Process(target=replica, args=(kind, port, f"r{i}", messages, work_s, start))
        for i in range(replicas)
    ]
    for worker in workers:
        worker.start()
    time.sleep(0.5)  # every replica connected and waiting
    started = time.perf_counter()
    start.set()
    for worker in workers:
        worker.join(GUARD_S * 2)
    seconds = time.perf_counter() - started
    entered = [item.decode() for item in red.lrange("entered", 0, -1)]
    tracker = json.loads(red.get("tracker") or "[]")
    return Round(
        store=kind,
        sent=replicas * messages,
        refused=int(red.get("refused") or 0),
        stuck=int(red.get("stuck") or 0),
        overlapped=int(red.get("overlapped") or 0),
        lost=len(set(entered) - set(tracker)),
        duplicated=len(tracker) - len(set(tracker)),
        reordered=reordered(entered),
        seconds=seconds,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--replicas", type=int, default=4)
    parser.add_argument("--messages", type=int, default=25, help="messages per replica, all at once")
    parser.add_argument("--work-ms", type=float, default=5.0, help="time a turn takes inside the lock")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(
        f"one conversation, {args.replicas} replicas x {args.messages} messages, {args.work_ms:g} ms a turn, "
        f"poll {POLL_S * 1000:g} ms, load average {os.getloadavg()[0]:.2f}"
    )
    totals: dict[str, list[Round]] = {}
    with tempfile.TemporaryDirectory(prefix="lock-race-") as tmp, redis_server(Path(tmp) / "redis") as engine:
        for round_no in range(args.rounds):
            for kind in ("RedisLockStore", "AtomicRedisLockStore"):
                result = one_round(kind, engine.port, args.replicas, args.messages, args.work_ms / 1000)
                totals.setdefault(kind, []).append(result)
                print(f"round {round_no + 1}  {result.line()}")
    for kind, rounds in totals.items():
        sent = sum(r.sent for r in rounds)
        bad = sum(r.refused + r.stuck + r.lost + r.duplicated + r.reordered for r in rounds)
        print(
            f"{kind:22s} {bad} problems (refused + stuck + lost + duplicated + reordered) in {sent} messages"
        )


if __name__ == "__main__":
    main()
