"""Facts about rasa_addons.speedups and the tracker store's SQLite mode, printed as JSON for test_speedups.py.

Run with Rasa's interpreter: `.venv/rasa/bin/python tests/rasa_addons/speedups_probe.py validator|wal|write|read
TMPDIR`. `write` stores a conversation and ends the process without closing anything (a crash); `read` opens the
file in a fresh process and reads it back.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402

GOOD = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "email", "value": "a@b.c"}], "responses": [{"text": "hi"}]},
    {"events": [{"event": "action", "name": "action_listen"}, {"event": "followup", "name": "x"}]},
    {},
]
BAD = [
    {"events": [{"event": "no_such_event"}]},
    {"events": "not a list"},
    {"responses": [1, 2]},
    {"events": [{"event": "slot", "value": 1}]},  # no name
    [],
]


def outcome(validate: Any, payload: Any) -> str:
    from jsonschema import ValidationError

    try:
        return "ok" if validate(payload) else "false"
    except ValidationError as error:
        return f"{type(error).__name__}: {error.message} @ {list(error.absolute_path)}"


def count_jsonschema_validate() -> dict[str, int]:
    """From now on, `jsonschema.validate` counts its calls in the returned dict (key "validate")."""
    import jsonschema

    calls = {"validate": 0}
    original = jsonschema.validate

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls["validate"] += 1
        return original(*args, **kwargs)

    jsonschema.validate = counting
    return calls


def validator_facts() -> dict[str, Any]:
    from rasa.core.actions.action import RemoteAction

    from rasa_addons import action_guard, speedups

    action_guard.install()  # as in a served Rasa: the fail-safe actions, the module's RemoteAction rebound
    actions = [RemoteAction("action_x", None), action_guard.FailSafeRemoteAction("action_x", None)]
    actions.append(action_guard.BoundedSlotMappingAction("action_x", None))
    action = actions[0]
    before = [outcome(action._validate_action_result, payload) for payload in GOOD + BAD]

    speedups.install_validator_cache()
    speedups.install_validator_cache()  # twice is once
    calls = count_jsonschema_validate()  # Rasa imports it inside the method, at every call
    after = [outcome(action._validate_action_result, payload) for payload in GOOD + BAD]
    for each in actions[1:]:
        for payload in GOOD + BAD:
            outcome(each._validate_action_result, payload)
    return {
        "before": before,
        "after": after,
        "cached": [bool(getattr(a._validate_action_result, "shopdesk_cached", False)) for a in actions],
        "jsonschema_validate_calls": calls["validate"],
        "good": len(GOOD),
    }


def store(tmp: Path, **kwargs: Any) -> Any:
    from rasa_addons.tracker_store import RedactingSQLTrackerStore

    domain = Domain.load(str(ROOT / "domain"))
    return RedactingSQLTrackerStore(
        domain=domain, dialect="sqlite", db=str(tmp / "tracker.db"), retention_days=0, **kwargs
    )


def wal_facts(tmp: Path) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for label, wal in (("on", None), ("off", False)):
        directory = tmp / label
        directory.mkdir()
        tracker_store = store(directory, sqlite_wal=wal)
        with tracker_store.session_scope() as session:
            facts[f"synchronous_{label}"] = session.execute(
                __import__("sqlalchemy").text("PRAGMA synchronous")
            ).scalar()
        with sqlite3.connect(directory / "tracker.db") as connection:
            facts[f"journal_{label}"] = connection.execute("PRAGMA journal_mode").fetchone()[0]
    return facts


def conversation() -> Any:
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load(str(ROOT / "domain"))
    tracker = DialogueStateTracker("crash-test", domain.slots)
    for i in range(5):
        tracker.update(UserUttered(f"message {i}", {"name": "greet", "confidence": 1.0}))
        tracker.update(ActionExecuted("utter_greet"))
        tracker.update(BotUttered(f"answer {i}"))
        tracker.update(ActionExecuted("action_listen"))
    tracker.update(SlotSet("order_id", "SD-100042"))
    return tracker


def write(tmp: Path) -> None:
    tracker_store = store(tmp)
    tracker = conversation()
    asyncio.run(tracker_store.save(tracker))
    print("PROBE " + json.dumps({"saved": len(tracker.events)}), flush=True)
    os._exit(0)  # no clean close, no checkpoint: as if the process died here


def read(tmp: Path) -> dict[str, Any]:
    wal_left = (tmp / "tracker.db-wal").exists() and (tmp / "tracker.db-wal").stat().st_size > 0
    tracker = asyncio.run(store(tmp).retrieve("crash-test"))
    return {
        "wal_left_by_crash": wal_left,
        "events": None if tracker is None else len(tracker.events),
        "texts": [] if tracker is None else [e.text for e in tracker.events if e.type_name == "user"],
        "order_id": None if tracker is None else tracker.get_slot("order_id"),
    }


def stream_facts(tmp: Path) -> dict[str, Any]:
    """The same conversation saved turn by turn with and without the single-pass save: what the event broker
    published and what the store holds must be the same; the single pass never reads the conversation back."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_addons.event_broker import RedactingSQLEventBroker

    domain = Domain.load(str(ROOT / "domain"))
    facts: dict[str, Any] = {}
    for label, single_pass in (("fast", True), ("rasa", False)):
        directory = tmp / label
        directory.mkdir()
        broker = RedactingSQLEventBroker(dialect="sqlite", db=str(directory / "events.db"))
        tracker_store = store(directory, single_pass=single_pass)
        tracker_store.event_broker = broker
        commits = {"count": 0}
        sa.event.listen(
            broker.engine, "commit", lambda _conn, commits=commits: commits.update(count=commits["count"] + 1)
        )
        reads = {"count": 0}
        original = tracker_store.retrieve

        async def counting(sender_id: str, original: Any = original, reads: Any = reads) -> Any:
            reads["count"] += 1
            return await original(sender_id)

        tracker_store.retrieve = counting
        tracker = DialogueStateTracker("stream-test", domain.slots)
        for turn in range(3):
            tracker.update(UserUttered(f"turn {turn} from anna.berg@example.com", {"name": "greet"}))
            tracker.update(SlotSet("email", "anna.berg@example.com" if turn < 2 else None))
            tracker.update(ActionExecuted("utter_greet"))
            tracker.update(BotUttered(f"answer {turn}"))
            tracker.update(ActionExecuted("action_listen"))
            asyncio.run(tracker_store.save(tracker))
        with sqlite3.connect(directory / "events.db") as connection:
            published = [
                json.loads(row[0]) for row in connection.execute("SELECT data FROM events ORDER BY id")
            ]
        with sqlite3.connect(directory / "tracker.db") as connection:
            stored = [json.loads(row[0]) for row in connection.execute("SELECT data FROM events ORDER BY id")]
        facts[label] = {
            "published": [{k: v for k, v in e.items() if k != "timestamp"} for e in published],
            "stored": [
                {
                    k: v
                    for k, v in e.items()
                    if k != "timestamp" and (k != "value" or e.get("event") != "slot")
                }
                for e in stored
            ],
            "reads_while_saving": reads["count"],
            "broker_commits": commits["count"],
        }
    return facts


EVENT_BODIES = [
    [{"event": "bot", "text": "agent reply", "metadata": {"agent": "alice"}}],
    {"event": "slot", "name": "handoff_status", "value": None},
    [{"event": "action", "name": "action_listen"}, {"event": "resume"}],
    [{"event": "no_such_event"}],
    [{"text": "no event key"}],
    "not events",
    [{"event": "slot", "value": 1}],
]


def events_facts() -> dict[str, Any]:
    """Rasa's HTTP API events validation before and after the cached validator, on good and bad bodies."""
    import rasa.server as rasa_server

    from rasa_addons import speedups

    class Request:
        def __init__(self, body: Any) -> None:
            self.json = body

    def outcome(body: Any) -> str:
        try:
            rasa_server.validate_events_in_request_body(Request(body))
            return "ok"
        except rasa_server.ErrorResponse as error:
            return f"{error.status} {error.error_info['message']}"

    before = [outcome(body) for body in EVENT_BODIES]
    speedups.install_events_validator_cache()
    speedups.install_events_validator_cache()  # twice is once
    calls = count_jsonschema_validate()
    after = [outcome(body) for body in EVENT_BODIES]
    return {"before": before, "after": after, "jsonschema_validate_calls": calls["validate"], "good": 3}


def main() -> None:
    kind, tmp = sys.argv[1], Path(sys.argv[2])
    if kind == "write":
        write(tmp)
    facts = {
        "validator": validator_facts,
        "events": events_facts,
        "wal": lambda: wal_facts(tmp),
        "read": lambda: read(tmp),
        "stream": lambda: stream_facts(tmp),
    }[kind]()
    print("PROBE " + json.dumps(facts))


if __name__ == "__main__":
    main()
