"""Pipeline speed: the recorded event stream (tests/analytics/recorded.py) copied for N shoppers, refreshed once
in full, once with nothing new (only the open conversations are rebuilt), once after 5 senders got new events.

    .venv/app/bin/python -m bench.analytics_refresh [--copies 500]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from analytics.refresh import refresh
from analytics.settings import AnalyticsSettings
from tests.analytics.recorded import NOW, stream, write_broker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="analytics-bench-") as tmp:
        root = Path(tmp)
        rows = [(f"{sender}-{i}", event) for i in range(args.copies) for sender, event in stream()]
        write_broker(root / "events.db", rows, malformed=False)
        settings = AnalyticsSettings(event_broker_db=root / "events.db", analytics_db=root / "analytics.db")
        started = time.perf_counter()
        full = refresh(settings, now=NOW)
        full_s = time.perf_counter() - started
        started = time.perf_counter()
        idle = refresh(settings, now=NOW)
        idle_s = time.perf_counter() - started
        more = [(f"shopper-a-{i}", e) for i in range(5) for sender, e in stream() if sender == "shopper-a"]
        write_broker(root / "events.db", more, malformed=False)
        started = time.perf_counter()
        step = refresh(settings, now=NOW)
        step_s = time.perf_counter() - started
        print(f"{len(rows)} events, {full.conversations} conversations")
        print(f"full refresh        {full_s:6.2f} s  ({len(rows) / full_s:,.0f} events/s)")
        print(
            f"nothing new         {idle_s:6.2f} s  ({idle.senders} senders with open conversations rebuilt)"
        )
        print(f"5 senders with news {step_s:6.2f} s  ({step.senders} senders rebuilt)")


if __name__ == "__main__":
    main()
