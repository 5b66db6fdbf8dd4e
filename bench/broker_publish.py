"""Cost of one published event: Rasa's SQLEventBroker (`type: SQL`) vs ours (rasa_addons.event_broker), same run.

Run with Rasa's interpreter (the broker lives in Rasa's process):

    .venv/rasa/bin/python -m bench.broker_publish [--events 300]

Rasa publishes synchronously on its event loop, about 7 events per turn, so this is added to every turn.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from rasa.core.brokers.sql import SQLEventBroker

from rasa_addons.event_broker import RedactingSQLEventBroker

EVENT = {
    "sender_id": "bench",
    "event": "user",
    "timestamp": 1.0,
    "text": "my email is jane@example.com, where is SD-100042?",
    "parse_data": {"intent": {"name": "track_order", "confidence": 0.9}, "entities": [], "text": "…"},
    "metadata": {},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="broker-publish-") as tmp:
        for round_no in range(2):  # twice each, alternating, so both see the same machine load
            for cls in (SQLEventBroker, RedactingSQLEventBroker):
                broker = cls(dialect="sqlite", db=f"{tmp}/{cls.__name__}-{round_no}.db")
                times = []
                for _ in range(args.events):
                    started = time.perf_counter()
                    broker.publish(EVENT)
                    times.append((time.perf_counter() - started) * 1000.0)
                times.sort()
                print(
                    f"{cls.__name__:26s} round {round_no + 1}: per event p50 {statistics.median(times):6.2f} ms"
                    f"   p95 {times[int(0.95 * len(times))]:6.2f} ms"
                )


if __name__ == "__main__":
    main()
