"""Rasa's event brokers (SQL, RabbitMQ), redacting shoppers' personal data before an event is published.

Selected in endpoints.yml (`type: rasa_addons.event_broker.RedactingSQLEventBroker`, `dialect: sqlite`,
`db: ${EVENT_BROKER_DB}`); the same keys and table (`events`: id, sender_id, data) as Rasa's `type: SQL`.
Rasa streams every new tracker event to the broker *before* the tracker store redacts what it writes, so the
plain SQL broker would keep the emails, phone numbers and addresses the tracker store removes. This one applies
the tracker store's redaction (`rasa_addons.tracker_store.redact_event`) to each event: texts, entity values and
metadata are redacted (REDACT_TRACKER=1, the default), and every value of a personal slot (PERSONAL_SLOTS) is published as [redacted].
Analytics (`python -m analytics.refresh`) reads the table; docs/analytics.md.

`RedactingPikaEventBroker` is Rasa's RabbitMQ broker (`PikaEventBroker`) with the same redaction, for the
production topology (issue 15): every event goes to the fanout exchange `shopdesk.events`, bound to the durable
queues `shopdesk.console` (the console feed, bot/broker_feed.py) and `shopdesk.analytics`
(rasa_addons/broker_topology.py, docs/handoff.md). In an endpoints file:

    event_broker:
      type: rasa_addons.event_broker.RedactingPikaEventBroker
      url: ${RABBITMQ_URL}            # amqp://user:password@host:port/vhost; user, password, port come from it
      exchange_name: shopdesk.events
      queues: [shopdesk.console, shopdesk.analytics]
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any, Dict, List, Optional, Text, Tuple, Union
from urllib.parse import quote, unquote, urlsplit

import sqlalchemy as sa
import sqlalchemy.orm
from rasa.core.brokers.pika import PikaEventBroker
from rasa.core.brokers.sql import SQLEventBroker
from rasa.shared.exceptions import RasaException

from rasa_addons import broker_topology
from rasa_addons.settings import load_settings
from rasa_addons.tracker_store import Sealer, redact_event

logger = logging.getLogger(__name__)


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

    def publish_many(self, events: List[Dict[Text, Any]]) -> None:
        """`publish` for a turn's new events with one transaction (Rasa's publishes commit each event alone: a
        tenth of the Rasa process's CPU a message went to the broker's ~7 commits a turn). The same rows, in order."""
        if not events:
            return
        with self.session_scope() as session:
            for event in events:
                data = redact_event(event, {}, self._sealer) if self.redact else event
                session.add(self.SQLBrokerEvent(sender_id=data.get("sender_id"), data=json.dumps(data)))
            session.commit()


def shown_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for error messages and logs)."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


def amqp_parts(url: str) -> Tuple[str, str, Optional[int]]:
    """(user, password, port) written in an ``amqp://`` / ``amqps://`` URL; RasaException naming a bad URL."""
    parts = urlsplit(url)
    expected = "expected amqp://user:password@host:port/vhost (or amqps://)"
    if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
        raise RasaException(f"event broker url {shown_url(url)!r}: {expected}")
    try:
        port = parts.port
    except ValueError:
        raise RasaException(
            f"event broker url {shown_url(url)!r}: the port is not a number; {expected}"
        ) from None
    return unquote(parts.username or ""), unquote(parts.password or ""), port


class RedactingPikaEventBroker(PikaEventBroker):
    """`PikaEventBroker` whose published events carry no personal data, on a durable fanout exchange.

    Differences from Rasa's class: ``username``, ``password`` and ``port`` default to what the ``url`` says (Rasa
    needs all three spelled out, and appends its default port 5672 to a URL that names another one); the
    exchange is ``shopdesk.events`` and durable, the queues ``shopdesk.console`` and ``shopdesk.analytics``,
    declared by ``broker_topology.declare`` like every other client of the topology does.
    """

    def __init__(
        self,
        host: Text,
        username: Optional[Text] = None,
        password: Optional[Text] = None,
        port: Union[int, Text, None] = None,
        queues: Union[List[Text], Tuple[Text, ...], Text, None] = None,
        exchange_name: Text = broker_topology.EXCHANGE,
        **kwargs: Any,
    ) -> None:
        user_in_url, password_in_url, port_in_url = amqp_parts(host)
        super().__init__(
            host,
            username=username if username is not None else (user_in_url or "guest"),
            password=password if password is not None else (password_in_url or "guest"),
            port=port if port is not None else (port_in_url or (5671 if host.startswith("amqps") else 5672)),
            queues=list(queues) if queues else list(broker_topology.QUEUES),
            exchange_name=exchange_name,
            **kwargs,
        )
        self._sealer = Sealer(secrets.token_hex(16))  # as for the SQL broker: no personal slot stays live
        self._failed = 0
        self.redact = load_settings().redact_tracker

    def _configure_url(self) -> Optional[Text]:
        """The URL as written, with the username and password given separately when it has none."""
        parts = urlsplit(self.host)
        netloc = parts.netloc.rpartition("@")[2]
        if parts.port is None:
            netloc = f"{netloc}:{self.port}"
        credentials = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}@"
        return parts._replace(netloc=credentials + netloc).geturl()

    async def _set_up_exchange(self, channel: Any) -> Any:
        return await broker_topology.declare(channel, self.exchange_name, self.queues)

    def publish(self, event: Dict[Text, Any], headers: Optional[Dict[Text, Text]] = None) -> None:
        super().publish(redact_event(event, {}, self._sealer) if self.redact else event, headers)

    async def _publish(self, event: Dict[Text, Any], headers: Optional[Dict[Text, Text]] = None) -> None:
        """Rasa's `_publish` without its logging: Rasa logs a failed event at ERROR with its text and the
        broker URL with the password; this logs the event's kind only (the event is kept for resending)."""
        if self._exchange is None:
            return
        try:
            await self._exchange.publish(self._message(event, headers), "")
        except Exception as error:
            self._failed += 1
            if self._failed in (1, 10) or self._failed % 1000 == 0:
                logger.warning(
                    "RabbitMQ: cannot publish a %s event (%s); %d failed so far, %s",
                    event.get("event"),
                    type(error).__name__,
                    self._failed,
                    "kept to resend on reconnect" if self.should_keep_unpublished_messages else "dropped",
                )
            if self.should_keep_unpublished_messages:
                self._unpublished_events.append(event)
            if self.raise_on_failure:
                await self.close()
                raise
