"""Facts about the conversation lock store on a real redis-server, printed as JSON for test_lock_store.py.

Run with Rasa's interpreter: `.venv/rasa/bin/python tests/rasa_addons/lock_probe.py TMPDIR`. It starts its own
redis-server (scripts.engines) in TMPDIR, loads the store the way Rasa does (an endpoints file), and runs:
asyncio tasks and OS processes (each its own store: two "replicas") through one conversation, a holder that
dies inside its critical section, a Redis that is not there, and the stock RedisLockStore's steps interleaved
by hand (the race, made deterministic).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from rasa.core.lock_store import LockError, LockStore, RedisLockStore  # noqa: E402
from rasa.utils.endpoints import read_endpoint_config  # noqa: E402

from rasa_addons.lock_store import AtomicRedisLockStore, LockStoreUnavailable  # noqa: E402
from scripts.engines import redis_server  # noqa: E402
from scripts.stack import free_port  # noqa: E402

GUARD_S = 60.0  # a stuck lock fails the probe instead of hanging it


def endpoints_file(tmp: Path, name: str, body: str) -> Path:
    path = tmp / name
    path.write_text(f"lock_store:\n  type: rasa_addons.lock_store.AtomicRedisLockStore\n{body}")
    return path


def load(path: Path) -> LockStore:
    return LockStore.create(read_endpoint_config(str(path), "lock_store"))


async def section(store: LockStore, red: redis.Redis, conversation: str, tag: str, work_s: float) -> int:
    """One critical section: count who is inside, and read-modify-write a value as a tracker store would."""
    async with store.lock(conversation) as held:
        inside = red.incr(f"inside:{conversation}")
        value = int(red.get(f"value:{conversation}") or 0)
        await asyncio.sleep(work_s)
        red.set(f"value:{conversation}", value + 1)
        red.rpush(f"entered:{conversation}", json.dumps([tag, held.tickets[0].number, inside]))
        red.decr(f"inside:{conversation}")
        return int(inside)


def entered(red: redis.Redis, conversation: str) -> list[list[Any]]:
    return [json.loads(item) for item in red.lrange(f"entered:{conversation}", 0, -1)]


async def concurrent_tasks(store: LockStore, red: redis.Redis, tasks: int) -> dict[str, Any]:
    conversation = "tasks"

    async def one(index: int) -> int:
        return await section(store, red, conversation, str(index), 0.002)

    coros = []
    for index in range(tasks):
        coros.append(asyncio.create_task(one(index)))
        await asyncio.sleep(0)  # task `index` takes its ticket before task index + 1 starts
    insides = await asyncio.wait_for(asyncio.gather(*coros), GUARD_S)
    rows = entered(red, conversation)
    return {
        "max_inside": max(insides),
        "value": int(red.get(f"value:{conversation}") or 0),
        "order": [int(row[0]) for row in rows],
        "tickets_ascending": [row[1] for row in rows] == sorted(row[1] for row in rows),
        "keys_left": sorted(k.decode() for k in red.keys("*lock:{tasks}:[qe]")),
    }


def replica(endpoints: str, url: str, name: str, messages: int, start: Any) -> None:
    """One 'Rasa instance': its own store from the endpoints file, `messages` concurrent sections."""
    store = load(Path(endpoints))
    red = redis.Redis.from_url(url)
    start.wait()

    async def run() -> None:
        tasks = []
        for index in range(messages):
            tasks.append(asyncio.create_task(section(store, red, "replicas", f"{name}-{index}", 0.001)))
            await asyncio.sleep(0)
        await asyncio.wait_for(asyncio.gather(*tasks), GUARD_S)

    asyncio.run(run())


def processes(endpoints: Path, url: str, red: redis.Redis, count: int, messages: int) -> dict[str, Any]:
    context = multiprocessing.get_context("fork")
    start = context.Event()
    workers = [
        context.Process(target=replica, args=(str(endpoints), url, f"p{i}", messages, start))
        for i in range(count)
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(GUARD_S)
    rows = entered(red, "replicas")
    per_process: dict[str, list[int]] = {}
    for tag, _ticket, _inside in rows:
        name, index = tag.split("-")
        per_process.setdefault(name, []).append(int(index))
    return {
        "exit_codes": [worker.exitcode for worker in workers],
        "sections": len(rows),
        "max_inside": max(row[2] for row in rows),
        "value": int(red.get("value:replicas") or 0),
        "tickets_ascending": [row[1] for row in rows] == sorted(row[1] for row in rows),
        "tickets_unique": len({row[1] for row in rows}) == len(rows),
        "per_process_in_order": all(seq == sorted(seq) for seq in per_process.values()),
    }


def dies_holding(endpoints: str, url: str) -> None:
    """A replica that takes the lock (ticket lifetime 3 s), notes its ticket's expiry and dies inside."""
    store = load(Path(endpoints))

    async def run() -> None:
        async with store.lock("crashed", lock_lifetime=3.0) as held:
            redis.Redis.from_url(url).set("dead_expires", held.tickets[0].expires)
            os._exit(3)

    asyncio.run(run())


def redis_now(red: redis.Redis) -> float:
    seconds, micros = red.time()
    return seconds + micros / 1e6


async def dead_holder(endpoints: Path, url: str, store: AtomicRedisLockStore) -> dict[str, Any]:
    red = redis.Redis.from_url(url)
    worker = multiprocessing.get_context("fork").Process(target=dies_holding, args=(str(endpoints), url))
    worker.start()
    worker.join(GUARD_S)
    waiting = store.issue_ticket("crashed")
    ahead = store.turn("crashed", waiting)
    still_alive = redis_now(red) < float(red.get("dead_expires") or 0)
    store.cleanup("crashed", waiting)

    async def take() -> bool:
        async with store.lock("crashed", wait_time_in_seconds=0.05):
            return True

    acquired = await asyncio.wait_for(take(), GUARD_S)
    short = store.issue_ticket("short", lock_lifetime=0.05)
    time.sleep(0.2)  # Redis's clock passes the ticket's expiry
    expired_turn = store.turn("short", short)
    holder = store.issue_ticket("held", lock_lifetime=600)
    waiter_error = ""
    try:  # a message that waits longer than its ticket's lifetime is refused, never run unlocked
        async with store.lock("held", lock_lifetime=0.1, wait_time_in_seconds=0.01):
            waiter_error = "entered while the holder's ticket was live"
    except LockError as error:
        waiter_error = str(error)
    store.cleanup("held", holder)
    return {
        "exit_code": worker.exitcode,
        "blocked_while_alive": ahead == 1 or not still_alive,
        "acquired_after_expiry": acquired,
        "expired_ticket_turn": expired_turn,
        "expired_waiter_error": waiter_error,
        "held_lock_gone": store.get_lock("held") is None,
    }


def unavailable(tmp: Path) -> dict[str, Any]:
    port = free_port()
    facts: dict[str, Any] = {"port": port}
    try:
        load(endpoints_file(tmp, "down.yml", f"  url: 127.0.0.1\n  port: {port}\n  socket_timeout: 2\n"))
    except LockStoreUnavailable as error:
        facts["at_start"] = str(error)
    with redis_server(tmp / "redis-stops") as engine:
        store = load(endpoints_file(tmp, "stops.yml", f"  url: {engine.url}\n  socket_timeout: 2\n"))
        facts["url_port"] = store.config.port
    try:
        store.issue_ticket("c")
    except LockStoreUnavailable as error:
        facts["after_stop"] = str(error)
        facts["after_stop_is_lock_error"] = isinstance(error, LockError)
    return facts


def bad_value(tmp: Path) -> str:
    try:
        load(endpoints_file(tmp, "bad.yml", "  url: 127.0.0.1\n  port: 63a79\n"))
    except ValueError as error:
        return str(error)
    return ""


def stock_race(red_port: int) -> dict[str, Any]:
    """Rasa's RedisLockStore: two replicas' issue_ticket steps interleaved (both read, then both write)."""
    a = RedisLockStore(host="127.0.0.1", port=red_port, db=2)
    b = RedisLockStore(host="127.0.0.1", port=red_port, db=2)
    lock_a, lock_b = a.get_or_create_lock("race"), b.get_or_create_lock("race")
    ticket_a, ticket_b = lock_a.issue_ticket(60), lock_b.issue_ticket(60)
    a.save_lock(lock_a)
    b.save_lock(lock_b)
    stored = a.get_lock("race")
    both_hold = not stored.is_locked(ticket_a) and not stored.is_locked(ticket_b)
    # the lost ticket: A finishes from a lock read before B's ticket was saved
    a.delete_lock("race2")
    first = a.issue_ticket("race2")
    stale = a.get_lock("race2")
    second = b.issue_ticket("race2")
    stale.remove_ticket_for(first)
    a.save_lock(stale)
    after = b.get_lock("race2")
    return {
        "tickets": [ticket_a, ticket_b],
        "both_hold": both_hold,
        "second_ticket_kept": after is not None and any(t.number == second for t in after.tickets),
    }


def atomic_same_steps(store_a: AtomicRedisLockStore, store_b: AtomicRedisLockStore) -> dict[str, Any]:
    tickets = [store_a.issue_ticket("race"), store_b.issue_ticket("race")]
    turns = [store_a.turn("race", tickets[0]), store_b.turn("race", tickets[1])]
    store_a.cleanup("race", tickets[0])
    return {"tickets": tickets, "turns": turns, "second_turn_after_release": store_b.turn("race", tickets[1])}


async def main(tmp: Path) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    with redis_server(tmp / "redis") as engine:
        endpoints = endpoints_file(
            tmp,
            "endpoints.yml",
            f"  url: {engine.host}\n  port: {engine.port}\n  db: 0\n  key_prefix: probe\n",
        )
        store = load(endpoints)
        facts["loaded"] = {"class": type(store).__name__, "port": store.config.port, "db": store.config.db}
        red = redis.Redis(host=engine.host, port=engine.port, db=0)
        facts["tasks"] = await concurrent_tasks(store, red, 20)
        facts["processes"] = processes(endpoints, f"redis://{engine.host}:{engine.port}/0", red, 3, 15)
        url = f"redis://{engine.host}:{engine.port}/0"
        facts["dead_holder"] = await dead_holder(endpoints, url, store)
        facts["stock_race"] = stock_race(engine.port)
        other = load(endpoints)
        facts["atomic_race"] = atomic_same_steps(store, other)  # type: ignore[arg-type]
    facts["unavailable"] = unavailable(tmp)
    facts["bad_value"] = bad_value(tmp)
    return facts


if __name__ == "__main__":
    print("PROBE " + json.dumps(asyncio.run(main(Path(sys.argv[1])))))
