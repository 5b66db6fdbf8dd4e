"""``python -m analytics.broker_sink``: RabbitMQ's ``shopdesk.analytics`` queue -> the events table analytics reads.

In the production topology (issue 15, docs/deploy.md) Rasa publishes every tracker event, redacted, to the fanout
exchange ``shopdesk.events`` (``rasa_addons.event_broker.RedactingPikaEventBroker``) instead of writing Rasa's
SQL broker table itself. This sink consumes the durable queue ``shopdesk.analytics`` and writes each event as a
row of that same table (``events``: id, sender_id, data — Rasa's ``SQLEventBroker`` schema) in
``EVENT_BROKER_DB``, so ``python -m analytics.refresh`` works unchanged on either topology.

Delivery is at least once: a message is acknowledged after its row is committed; a crash between the two
writes the row again on redelivery (the refresh rebuilds whole conversations, and a duplicated event is
rare). A message that is not a JSON event with a ``sender_id`` is rejected (dropped, not requeued) and logged.

Settings (.env.example): ``ANALYTICS_BROKER_URL`` (amqp://user:password@host:port/vhost), ``ANALYTICS_BROKER_QUEUE``
(shopdesk.analytics), ``ANALYTICS_BROKER_EXCHANGE`` (shopdesk.events), ``EVENT_BROKER_DB``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sqlite3
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from analytics.errors import ConfigError
from analytics.settings import DEFAULT_EVENT_BROKER_DB, _path
from rasa_addons import broker_topology

logger = logging.getLogger(__name__)

PREFETCH = 200
# Rasa's SQLEventBroker table (rasa.core.brokers.sql.SQLEventBroker.SQLBrokerEvent), as SQLAlchemy creates it.
EVENTS_DDL = "CREATE TABLE IF NOT EXISTS events (id INTEGER NOT NULL, sender_id VARCHAR(255), data TEXT, PRIMARY KEY (id))"


@dataclass(frozen=True)
class SinkSettings:
    broker_url: str
    event_broker_db: Path
    queue: str = broker_topology.ANALYTICS_QUEUE
    exchange: str = broker_topology.EXCHANGE


def _shown(url: str) -> str:
    parts = urlsplit(url)
    return url.replace(f":{parts.password}@", ":***@", 1) if parts.password else url


def from_env(environ: Mapping[str, str] | None = None) -> SinkSettings:
    """The sink's settings; ConfigError naming a bad one (a URL's password is never shown)."""
    env = os.environ if environ is None else environ
    url = env.get("ANALYTICS_BROKER_URL", "").strip()
    parts = urlsplit(url)
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if parts.scheme not in ("amqp", "amqps") or not parts.hostname or not port_ok:
        raise ConfigError("ANALYTICS_BROKER_URL", _shown(url), "amqp://user:password@host:port/vhost")
    names = {}
    for name, default in (("ANALYTICS_BROKER_QUEUE", broker_topology.ANALYTICS_QUEUE),
                          ("ANALYTICS_BROKER_EXCHANGE", broker_topology.EXCHANGE)):  # fmt: skip
        value = env.get(name, "").strip() or default
        if len(value) > 255 or any(ch.isspace() for ch in value):
            raise ConfigError(name, value, "an AMQP name (no spaces, at most 255 characters)")
        names[name] = value
    return SinkSettings(
        broker_url=url,
        event_broker_db=_path(env, "EVENT_BROKER_DB", DEFAULT_EVENT_BROKER_DB),
        queue=names["ANALYTICS_BROKER_QUEUE"],
        exchange=names["ANALYTICS_BROKER_EXCHANGE"],
    )


class EventsTable:
    """The events table in a SQLite file, written by this sink only (WAL: the refresh reads beside it)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(path)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.execute(EVENTS_DDL)
        self.connection.commit()

    def append(self, sender_id: str, data: str) -> int:
        with self.connection:
            cursor = self.connection.execute(
                "INSERT INTO events (sender_id, data) VALUES (?, ?)", (sender_id, data)
            )
        return int(cursor.lastrowid or 0)

    def close(self) -> None:
        self.connection.close()


def event_row(body: bytes) -> tuple[str, str] | None:
    """(sender_id, the event's JSON) of a message, None when it is not a JSON event object with a sender_id."""
    try:
        event: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        return None
    sender = event.get("sender_id")
    if not isinstance(sender, str) or not sender or len(sender) > 255:
        return None
    return sender, json.dumps(event, ensure_ascii=False)


async def run(settings: SinkSettings, stop: asyncio.Event, ready_file: Path | None = None) -> int:
    """Consume until `stop` is set; the number of rows written. `ready_file` gets this process's pid once the
    queue is declared and consumed (the launcher's health check)."""
    import aio_pika

    table = EventsTable(settings.event_broker_db)
    written = 0
    connection = await aio_pika.connect_robust(settings.broker_url)
    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=PREFETCH)
        await broker_topology.declare(channel, settings.exchange, broker_topology.QUEUES)
        queue = await channel.get_queue(settings.queue)

        async def on_message(message: Any) -> None:
            nonlocal written
            row = event_row(message.body)
            if row is None:
                logger.warning("dropped a message that is not a tracker event (%d bytes)", len(message.body))
                await message.reject(requeue=False)
                return
            table.append(*row)
            written += 1
            await message.ack()

        tag = await queue.consume(on_message)
        if ready_file is not None:
            ready_file.parent.mkdir(parents=True, exist_ok=True)
            ready_file.write_text(str(os.getpid()))
        logger.info("consuming %s into %s", settings.queue, settings.event_broker_db)
        await stop.wait()
        await queue.cancel(tag)
    finally:
        await connection.close()
        table.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analytics.broker_sink", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--ready-file", type=Path, help="write this process's pid here once consuming")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = from_env()
    except ConfigError as error:
        print(f"analytics.broker_sink: {error}", file=sys.stderr)  # noqa: T201
        return 2

    async def serve() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        return await run(settings, stop, args.ready_file)

    written = asyncio.run(serve())
    logger.info("stopped after writing %d events", written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
