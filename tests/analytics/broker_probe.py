"""Facts about the event broker endpoints.yml configures, printed as JSON for test_broker_config.py.

Run with Rasa's interpreter: `.venv/rasa/bin/python tests/analytics/broker_probe.py TMPDIR`. Reads endpoints.yml
as Rasa does (EVENT_BROKER_DB pointing into TMPDIR), creates the broker through Rasa's factory, saves a tracker
through a tracker store wired to it, and reports what the broker's table holds. No model is needed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

EMAIL = "probe.person@example.com"


async def main(tmp: Path) -> dict[str, object]:
    os.environ["EVENT_BROKER_DB"] = str(tmp / "events.db")
    os.environ.setdefault("ACTION_SERVER_URL", "http://127.0.0.1:5055/webhook")
    os.environ.setdefault("ACTION_SERVER_TOKEN", "probe-token")
    os.environ.setdefault("TRACKER_URL", f"sqlite:///{tmp / 'tracker.db'}")
    from rasa.core.brokers.broker import EventBroker
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.core.utils import AvailableEndpoints
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    broker = await EventBroker.create(endpoints.event_broker)
    domain = Domain.load(str(ROOT / "domain"))
    store = InMemoryTrackerStore(domain, event_broker=broker)
    tracker = DialogueStateTracker.from_events(
        "probe",
        [
            ActionExecuted("action_session_start"),
            SessionStarted(),
            ActionExecuted("action_listen"),
            UserUttered(f"my email is {EMAIL}", {"name": "inform", "confidence": 0.9}),
            SlotSet("email", EMAIL),
            BotUttered(f"Thanks, I will write to {EMAIL}"),
        ],
        slots=domain.slots,
    )
    await store.save(tracker)
    connection = sqlite3.connect(tmp / "events.db")
    rows = [json.loads(r[0]) for r in connection.execute("SELECT data FROM events ORDER BY id")]
    columns = [r[1] for r in connection.execute("PRAGMA table_info(events)")]
    connection.close()
    return {
        "broker": type(broker).__name__,
        "columns": columns,
        "events": [row["event"] for row in rows],
        "senders": sorted({row.get("sender_id") for row in rows}),
        "email_anywhere": any(EMAIL in json.dumps(row) for row in rows),
        "user_text": next(row["text"] for row in rows if row["event"] == "user"),
        "email_slot": next(row["value"] for row in rows if row["event"] == "slot"),
    }


if __name__ == "__main__":
    print("PROBE " + json.dumps(asyncio.run(main(Path(sys.argv[1])))))
