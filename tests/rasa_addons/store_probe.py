"""Facts about the redacting tracker store and the log redaction, printed as JSON for test_tracker_store.py.

Run with Rasa's interpreter: `.venv/rasa/bin/python tests/rasa_addons/store_probe.py TMPDIR`. It uses the real
domain (domain/), a real SQLite file and Rasa's own trackers and events; no model is needed.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import (  # noqa: E402
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402

from rasa_addons.redact import install_log_redaction  # noqa: E402
from rasa_addons.tracker_store import RedactingSQLTrackerStore  # noqa: E402

EMAIL = "anna.berg@example.com"
STREET = "Lindenstraße 12"
PHONE = "+49 30 1234 5678"
DAY = 86400.0


def rows(db: Path, sender: str) -> list[str]:
    with sqlite3.connect(db) as connection:
        found = connection.execute("SELECT data FROM events WHERE sender_id = ? ORDER BY id", (sender,))
        return [json.dumps(json.loads(r[0]), ensure_ascii=False) for r in found]


def user(text: str, entities: list[dict[str, Any]] | None = None, **kwargs: Any) -> UserUttered:
    parse = {"text": text, "intent": {"name": "inform", "confidence": 1.0}, "entities": entities or []}
    return UserUttered(text, parse["intent"], entities or [], parse_data=parse, **kwargs)


async def conversation(store: RedactingSQLTrackerStore, domain: Domain, db: Path) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    tracker = DialogueStateTracker.from_events("s1", [ActionExecuted("action_listen")], slots=domain.slots)
    for event in [
        user(
            f"my email is {EMAIL}",
            [{"entity": "email", "value": EMAIL, "start": 12, "end": 33}],
            metadata={"note": f"call {PHONE}"},
        ),
        SlotSet("email", EMAIL),
        ActionExecuted("action_listen"),
        user(f"please send it to {STREET}, 10969 Berlin"),
        SlotSet("new_street", STREET),
        BotUttered(f"I have {STREET} and {EMAIL} on file.", metadata={"address": f"{STREET}, 10969 Berlin"}),
        ActionExecuted("action_listen"),
    ]:
        tracker.update(event)
    await store.save(tracker)
    first = rows(db, "s1")
    reloaded = await store.retrieve("s1")
    facts["live_email_kept"] = reloaded.get_slot("email") == EMAIL
    facts["live_street_kept"] = reloaded.get_slot("new_street") == STREET
    facts["texts_redacted"] = not any(EMAIL in row or STREET in row or "1234 5678" in row for row in first)
    facts["live_values_sealed"] = sum('"value": "sealed:v1:' in row for row in first)
    facts["marks_present"] = all(
        any(mark in row for row in first) for mark in ("[email]", "[address]", "[phone]")
    )
    facts["latest_message_redacted"] = reloaded.latest_message.text.startswith("please send it to [address]")
    # verification finishes: the email slot is cleared -> no email left anywhere, the conversation still loads
    reloaded.update(SlotSet("email", None))
    reloaded.update(SlotSet("new_street", "Hauptstraße 7"))
    reloaded.update(ActionExecuted("action_listen"))
    await store.save(reloaded)
    after = rows(db, "s1")
    facts["no_email_after_clear"] = not any(EMAIL in row for row in after)
    facts["old_street_gone"] = not any(STREET in row for row in after)
    quote = {"total_minor": 5990, "address": {"street": STREET, "postcode": "10969", "city": "Berlin"}}
    reloaded.update(SlotSet("cart_quote", quote))
    reloaded.update(ActionExecuted("action_listen"))
    await store.save(reloaded)
    after = rows(db, "s1")
    facts["quote_kept"] = (await store.retrieve("s1")).get_slot("cart_quote") == quote
    facts["street_nowhere_at_rest"] = not any(STREET in row for row in after)
    other_key = RedactingSQLTrackerStore(domain=domain, host=f"sqlite:///{db}", secret="another-secret-value")
    facts["other_key_reads_nothing"] = (await other_key.retrieve("s1")).get_slot("cart_quote") is None
    again = await store.retrieve("s1")
    facts["state_after_clear"] = [again.get_slot("email"), again.get_slot("new_street")]
    facts["events_stored"] = len(after)
    facts["events_in_tracker"] = len(again.events)
    return facts


async def retention(store: RedactingSQLTrackerStore, domain: Domain, db: Path) -> dict[str, Any]:
    now = time.time()
    old = DialogueStateTracker.from_events(
        "old",
        [ActionExecuted("action_listen", timestamp=now - 40 * DAY), user("hi", timestamp=now - 40 * DAY)],
        slots=domain.slots,
    )
    both = DialogueStateTracker.from_events(
        "both",
        [
            SessionStarted(timestamp=now - 40 * DAY),
            user("old session", timestamp=now - 40 * DAY),
            SessionStarted(timestamp=now - DAY),
            ActionExecuted("action_listen", timestamp=now - DAY),
            user("new session", timestamp=now - DAY),
        ],
        slots=domain.slots,
    )
    fresh = DialogueStateTracker.from_events("fresh", [user("hello", timestamp=now)], slots=domain.slots)
    for tracker in (old, both, fresh):
        await store.save(tracker)
    deleted = store.purge_expired()
    kept_both = [json.loads(r).get("text") for r in rows(db, "both")]
    return {
        "deleted": deleted,
        "old_rows": len(rows(db, "old")),
        "both_texts": [t for t in kept_both if t],
        "fresh_rows": len(rows(db, "fresh")),
        "both_loads": (await store.retrieve("both")).latest_message.text,
    }


def logs() -> dict[str, Any]:
    install_log_redaction()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("probe")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.info("shopper %s at %s, phone %s", EMAIL, STREET, PHONE)
    logger.debug("debug keeps %s", EMAIL)
    lines = stream.getvalue().splitlines()
    return {"info": lines[0], "debug": lines[1]}


async def main() -> None:
    tmp = Path(sys.argv[1])
    domain = Domain.load(str(ROOT / "domain"))
    db = tmp / "tracker.db"
    store = RedactingSQLTrackerStore(domain=domain, host=f"sqlite:///{db}", redact=True, retention_days=30)
    facts = {"conversation": await conversation(store, domain, db)}
    db2 = tmp / "retention.db"
    store2 = RedactingSQLTrackerStore(domain=domain, host=f"sqlite:///{db2}", redact=True, retention_days=30)
    facts["retention"] = await retention(store2, domain, db2)
    facts["logs"] = logs()
    print("PROBE " + json.dumps(facts))


if __name__ == "__main__":
    asyncio.run(main())
