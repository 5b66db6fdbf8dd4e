"""What the console's mood costs the tracker sync and the queue endpoint (no Rasa: trackers in memory).

The tracker sync reads every open handoff's tracker each poll (0.25 s); with mood it also reads the
``mood`` / ``mood_trace`` slot events and stores them with the handoff (``bot.mood``, ``HandoffStore.set_mood``).
This measures one sync pass over N open handoffs whose trackers are the recorded Rasa tracker of
tests/bot/data (45 events) plus a full 30-point trace, with the mood reading on and, as the baseline in the
same run, off; and ``queued_by_priority`` (the queue endpoint's order) against the arrival order.

    .venv/app/bin/python -m bench.console_mood [--handoffs 10 50] [--passes 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import bot.sync
from bot.hub import Hub
from bot.mood import read_mood
from bot.store import HandoffStore
from bot.sync import TrackerSync

RECORDED = Path(__file__).resolve().parents[1] / "tests" / "bot" / "data" / "mood_tracker_events.json"


class MemoryRasa:
    def __init__(self, trackers: dict[str, list[dict[str, Any]]]) -> None:
        self.trackers = trackers

    async def tracker_events(self, conversation_id: str) -> list[dict[str, Any]]:
        return list(self.trackers[conversation_id])

    async def append_events(self, conversation_id: str, events: list[dict[str, Any]]) -> None:
        raise NotImplementedError


def tracker(index: int) -> list[dict[str, Any]]:
    events = json.loads(RECORDED.read_text(encoding="utf-8"))["events"]
    trace = [{"ts": 1000.0 + i, "score": -0.5, "label": "negative", "mood": -0.01 * i} for i in range(30)]
    return [
        *events,
        {"event": "slot", "name": "mood", "value": -0.01 * index, "timestamp": 2000.0},
        {"event": "slot", "name": "mood_trace", "value": trace, "timestamp": 2000.0},
    ]


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def sync_passes(handoffs: int, passes: int, with_mood: bool, tmp: Path) -> list[float]:
    store = HandoffStore(tmp / f"sync-{handoffs}-{with_mood}.db")
    trackers = {}
    for i in range(handoffs):
        store.open_handoff(f"c{i}", "bench", [], {})
        trackers[f"c{i}"] = tracker(i)
    sync = TrackerSync(store, MemoryRasa(trackers), Hub())
    if not with_mood:  # the sync as it was before: no slot reading, no UPDATE
        bot.sync.read_mood = lambda events: (None, [])  # type: ignore[assignment]
        store.set_mood = lambda *args: False  # type: ignore[method-assign]
    await sync.sync_once()  # the first pass stores everything
    times = []
    for _ in range(passes):
        start = time.perf_counter()
        await sync.sync_once()
        times.append((time.perf_counter() - start) * 1000)
    store.shutdown()
    bot.sync.read_mood = read_mood
    return times


def queue_order(handoffs: int, passes: int, tmp: Path) -> tuple[list[float], list[float]]:
    store = HandoffStore(tmp / f"queue-{handoffs}.db")
    for i in range(handoffs):
        handoff, _ = store.open_handoff(f"q{i}", "bench", [], {})
        store.set_mood(handoff["id"], -((i * 7) % 10) / 10, [])
    by_priority, by_arrival = [], []
    for _ in range(passes):
        start = time.perf_counter()
        store.list_handoffs(("queued",))
        by_arrival.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        store.queued_by_priority()
        by_priority.append((time.perf_counter() - start) * 1000)
    store.shutdown()
    return by_priority, by_arrival


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handoffs", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--passes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print("| what | handoffs | baseline p50 / p95 ms | with mood p50 / p95 ms |")
        print("|---|---|---|---|")
        for n in args.handoffs:
            base = asyncio.run(sync_passes(n, args.passes, False, Path(tmp)))
            mood = asyncio.run(sync_passes(n, args.passes, True, Path(tmp)))
            print(
                f"| one sync pass | {n} | {statistics.median(base):.2f} / {p(base, 0.95):.2f}"
                f" | {statistics.median(mood):.2f} / {p(mood, 0.95):.2f} |"
            )
        for n in [*args.handoffs, 200]:
            by_priority, by_arrival = queue_order(n, args.passes, Path(tmp))
            print(
                f"| queue order (arrival → priority) | {n} | {statistics.median(by_arrival):.2f} /"
                f" {p(by_arrival, 0.95):.2f} | {statistics.median(by_priority):.2f} / {p(by_priority, 0.95):.2f} |"
            )


if __name__ == "__main__":
    main()
