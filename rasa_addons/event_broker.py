"""Rasa's SQL event broker, redacting shoppers' personal data before an event is published.

Selected in endpoints.yml (`type: rasa_addons.event_broker.RedactingSQLEventBroker`, `dialect: sqlite`,
`db: ${EVENT_BROKER_DB}`); the same keys and table (`events`: id, sender_id, data) as Rasa's `type: SQL`.
Rasa streams every new tracker event to the broker *before* the tracker store redacts what it writes, so the
plain SQL broker would keep the emails, phone numbers and addresses the tracker store removes. This one applies
the tracker store's redaction (`rasa_addons.tracker_store.redact_event`) to each event: texts, entity values and
metadata are redacted (REDACT_TRACKER=1, the default), and every value of a personal slot (PERSONAL_SLOTS) is published as [redacted].
Analytics (`python -m analytics.refresh`) reads the table; docs/analytics.md.
"""

from __future__ import annotations

import secrets
from typing import Any, Dict, Text

import sqlalchemy as sa
import sqlalchemy.orm
from rasa.core.brokers.sql import SQLEventBroker

from rasa_addons.settings import load_settings
from rasa_addons.tracker_store import Sealer, redact_event


def _sqlite_fast_commits(connection: Any, _record: Any) -> None:
    """WAL with synchronous=NORMAL: a commit does not wait for fsync (Rasa publishes synchronously, on its
    event loop, ~7 events a turn; with fsync each took ~20 ms here). A power cut may lose the last events but
    never corrupts the file; analytics can live with that. docs/analytics.md has the measurement."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class RedactingSQLEventBroker(SQLEventBroker):
    """`SQLEventBroker` whose published events carry no personal data."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            # One open connection per thread (SQLAlchemy's NullPool for SQLite files opens one per event, and
            # closing the last connection checkpoints and fsyncs the WAL), in WAL mode with synchronous=NORMAL.
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(url, poolclass=sa.pool.SingletonThreadPool)
            sa.event.listen(self.engine, "connect", _sqlite_fast_commits)
            self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)
        # redact_event seals live personal slots; the broker keeps none live, so a throwaway key suffices
        self._sealer = Sealer(secrets.token_hex(16))
        self.redact = load_settings().redact_tracker  # REDACT_TRACKER, as for the tracker store

    def publish(self, event: Dict[Text, Any]) -> None:
        super().publish(redact_event(event, {}, self._sealer) if self.redact else event)
