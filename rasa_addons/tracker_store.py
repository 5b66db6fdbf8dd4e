"""Rasa's SQL tracker store, redacting shoppers' personal data and deleting old conversations.

Selected in endpoints.yml (`type: rasa_addons.tracker_store.RedactingSQLTrackerStore`, `url: ${TRACKER_URL}`).
What is kept and why: docs/security.md ("PII and retention").

Redaction (`REDACT_TRACKER=1`, the default) happens as events are written, so the running turn is untouched:

- user events: the text, parse_data's text, entity values and metadata: emails, phone numbers and street
  addresses become [email], [phone], [address];
- bot events: the text, the data (buttons, custom payloads) and the metadata (the values the response's
  template was filled with) likewise;
- personal slots (PERSONAL_SLOTS): the value the conversation holds now is stored sealed (Fernet, keyed with
  `TRACKER_SECRET`) and unsealed when Rasa reads the conversation back, so a checkout or an address change in
  progress still works; every earlier value — and all of them once the slot is cleared (verification clears
  `email` when it finishes) — is rewritten to [redacted], in rows already stored too.

Rasa rebuilds the tracker from these rows at every message; a conversation in progress keeps working because
live slot values come back exactly as they were and earlier texts are never read again by the dialogue.

On SQLite (the default) the store keeps one connection per thread in WAL mode with synchronous=NORMAL
(`TRACKER_SQLITE_WAL=1`, the default): Rasa reads and writes the tracker at every message on its event loop, and
with the rollback journal each commit waited for fsync and each session opened the file anew. A committed turn
survives a crash of the process (the WAL is replayed when the file is opened); a power cut may lose the last turn
but never corrupts the file.

Saving a turn counts the stored events of the session once and both publishes the new ones to the event broker
and writes them (`RASA_FAST_PATHS=1`, the default); Rasa's own `stream_events` read the whole conversation back
and rebuilt a tracker only to find the same slice of new events (a fifth of the Rasa CPU of a message).

Retention (`TRACKER_RETENTION_DAYS`, default 30; 0 keeps everything): at start and then at most every
`TRACKER_RETENTION_INTERVAL_S` (checked on save) the store deletes conversations whose last event is older than
the limit, and the events of earlier sessions older than the limit in conversations still in use.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import logging
import time
from typing import Any, Dict, List, Optional, Text

import sqlalchemy as sa
import sqlalchemy.orm
from cryptography.fernet import Fernet, InvalidToken
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from rasa_addons.redact import redact_text, redact_value
from rasa_addons.settings import load_settings

logger = logging.getLogger(__name__)

REDACTED = "[redacted]"
SEALED_PREFIX = "sealed:v1:"
# Slots holding what a shopper told about themselves or their address (domain/*.yml).
PERSONAL_SLOTS = frozenset(
    {
        "email",
        "customer_name",
        "ticket_email",
        "ticket_message",
        "new_street",
        "new_postcode",
        "new_city",
        "checkout_address",
        "cart_quote",  # holds the delivery address the shopper confirms
    }
)


class Sealer:
    """Reversible encryption of live slot values at rest (Fernet: AES-128-CBC + HMAC-SHA256)."""

    def __init__(self, secret: str) -> None:
        key = hashlib.sha256(f"shopdesk-tracker-store:{secret}".encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, value: Any) -> str:
        return SEALED_PREFIX + self._fernet.encrypt(json.dumps(value).encode()).decode()

    def unseal(self, value: Any) -> Any:
        """The original value of a sealed one; other values as they are; None for a token this key cannot read."""
        if not isinstance(value, str) or not value.startswith(SEALED_PREFIX):
            return value
        try:
            return json.loads(self._fernet.decrypt(value[len(SEALED_PREFIX) :].encode()))
        except (InvalidToken, ValueError):
            logger.warning("a sealed slot value could not be read (TRACKER_SECRET changed?); it is dropped")
            return None


def redact_event(data: Dict[str, Any], live_slots: Dict[str, Any], sealer: Sealer) -> Dict[str, Any]:
    """A redacted copy of one serialised event (`Event.as_dict()`); `live_slots`: the personal slots' values now.

    Accepts rows already stored (sealed or redacted slot values) as well as fresh events.
    """
    kind = data.get("event")
    if kind not in {"user", "bot", "slot"}:
        return data
    data = copy.deepcopy(data)
    if kind == "user":
        if isinstance(data.get("text"), str):
            data["text"] = redact_text(data["text"])
        parse = data.get("parse_data")
        if isinstance(parse, dict):
            if isinstance(parse.get("text"), str):
                parse["text"] = redact_text(parse["text"])
            for entity in parse.get("entities") or []:
                if isinstance(entity, dict) and "value" in entity:
                    entity["value"] = redact_value(entity["value"])
            if isinstance(parse.get("metadata"), dict):
                parse["metadata"] = redact_value(parse["metadata"])
        if isinstance(data.get("metadata"), dict):
            data["metadata"] = redact_value(data["metadata"])
    elif kind == "bot":
        if isinstance(data.get("text"), str):
            data["text"] = redact_text(data["text"])
        for key in ("data", "metadata"):  # buttons and custom payloads; the response's template fills
            if isinstance(data.get(key), dict):
                data[key] = redact_value(data[key])
    elif data.get("name") in PERSONAL_SLOTS:
        value = data.get("value")
        if value is None or value == REDACTED:
            return data
        plain = sealer.unseal(value)
        if plain is not None and plain == live_slots.get(data["name"]):
            data["value"] = value if value != plain else sealer.seal(plain)
        else:
            data["value"] = REDACTED
    return data


def sqlite_fast_commits(connection: Any, _record: Any) -> None:
    """WAL with synchronous=NORMAL on a new SQLite connection: a commit appends to the WAL without fsync."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class RedactingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore that redacts personal data on write and deletes conversations past retention."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[Text] = None,
        event_broker: Optional[EventBroker] = None,
        redact: Optional[bool] = None,
        retention_days: Optional[int] = None,
        retention_interval_s: Optional[float] = None,
        secret: Optional[str] = None,
        sqlite_wal: Optional[bool] = None,
        single_pass: Optional[bool] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain=domain, host=host, event_broker=event_broker, **kwargs)
        settings = load_settings()
        wal = settings.sqlite_wal if sqlite_wal is None else bool(sqlite_wal)
        # RASA_FAST_PATHS: the new events are counted once and both published and written (Rasa's stream_events
        # retrieves and rebuilds the whole tracker only to find the same events: the same count-based slice)
        self.single_pass = settings.fast_paths if single_pass is None else bool(single_pass)
        if (
            wal
            and self.engine.dialect.name == "sqlite"
            and self.engine.url.database not in (None, "", ":memory:")
        ):
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(url, poolclass=sa.pool.SingletonThreadPool)
            sa.event.listen(self.engine, "connect", sqlite_fast_commits)
            self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)
        self.redact = settings.redact_tracker if redact is None else bool(redact)
        self.retention_days = (
            settings.tracker_retention_days if retention_days is None else int(retention_days)
        )
        self.retention_interval_s = (
            settings.retention_interval_s if retention_interval_s is None else float(retention_interval_s)
        )
        self.sealer = Sealer(secret or settings.tracker_secret)
        self._last_purge = 0.0
        self.purge_expired()

    # ------------------------------------------------------------------------------------------ redaction
    @staticmethod
    def _live_slots(tracker: DialogueStateTracker) -> Dict[str, Any]:
        return {name: tracker.slots[name].value for name in PERSONAL_SLOTS if name in tracker.slots}

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the tracker's new events, redacted; rewrite earlier values of personal slots."""
        if not self.redact:
            await super().save(tracker)
            self._maybe_purge()
            return
        if not self.single_pass:
            await self.stream_events(tracker)  # Rasa's way: reads the whole conversation back to diff it
        live = self._live_slots(tracker)
        with self.session_scope() as session:
            new_events = list(self._additional_events(session, tracker))  # one COUNT query
            if self.single_pass and self.event_broker is not None:
                await self._publish(self.event_broker, new_events, tracker.sender_id)
            for event in new_events:
                data = redact_event(event.as_dict(), live, self.sealer)
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=(data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            self._redact_stored_slots(session, tracker.sender_id, live)
            session.commit()
        self._maybe_purge()

    async def _publish(self, event_broker: EventBroker, new_events: List[Event], sender_id: Text) -> None:
        """Rasa's `_stream_new_events`, in one batch when the broker takes one (RedactingSQLEventBroker)."""
        publish_many = getattr(event_broker, "publish_many", None)
        if publish_many is None:
            await self._stream_new_events(event_broker, new_events, sender_id)
            return
        publish_many([{"sender_id": sender_id, **event.as_dict()} for event in new_events])

    def _redact_stored_slots(self, session: Any, sender_id: Text, live: Dict[str, Any]) -> None:
        rows = (
            session.query(self.SQLEvent)
            .filter(
                self.SQLEvent.sender_id == sender_id,
                self.SQLEvent.type_name == "slot",
                self.SQLEvent.action_name.in_(sorted(PERSONAL_SLOTS)),
            )
            .all()
        )
        for row in rows:
            data = json.loads(row.data)
            redacted = redact_event(data, live, self.sealer)
            if redacted != data:
                row.data = json.dumps(redacted)

    async def _retrieve(
        self, sender_id: Text, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        """Rasa's retrieval, with sealed slot values opened again."""
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
            ).all()
            events = [json.loads(row.data) for row in rows]
        if not self.domain or not events:
            return None
        for event in events:
            if event.get("event") == "slot" and event.get("name") in PERSONAL_SLOTS:
                event["value"] = self.sealer.unseal(event.get("value"))
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    # ------------------------------------------------------------------------------------------ retention
    def _maybe_purge(self) -> None:
        if time.monotonic() - self._last_purge >= self.retention_interval_s:
            self.purge_expired()

    def purge_expired(self, now: Optional[float] = None) -> int:
        """Delete what is past retention; returns the number of events deleted (0 when retention is off)."""
        self._last_purge = time.monotonic()
        if self.retention_days <= 0:
            return 0
        cutoff = (time.time() if now is None else now) - self.retention_days * 86400
        events = self.SQLEvent.__table__
        inner = events.alias("inner_events")
        stale_senders = (
            sa.select(events.c.sender_id)
            .group_by(events.c.sender_id)
            .having(sa.func.max(events.c.timestamp) < cutoff)
        )
        latest_session = (
            sa.select(sa.func.max(inner.c.timestamp))
            .where(inner.c.sender_id == events.c.sender_id, inner.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        deleted = 0
        with self.engine.begin() as connection:
            deleted += (
                connection.execute(events.delete().where(events.c.sender_id.in_(stale_senders))).rowcount or 0
            )
            deleted += (
                connection.execute(
                    events.delete().where(events.c.timestamp < cutoff, events.c.timestamp < latest_session)
                ).rowcount
                or 0
            )
        if deleted:
            logger.info("tracker store: deleted %d events older than %d days", deleted, self.retention_days)
        return deleted
