"""Facts about RedactingPikaEventBroker without a running RabbitMQ, printed as JSON for test_pika_broker.py.

Run with Rasa's interpreter: `.venv/rasa/bin/python tests/rasa_addons/pika_broker_probe.py`. The broker is
Rasa's real class with its real publishing task; only the aio-pika exchange and channel it would have after
connecting are stand-ins that record what they are given (the live test, tests/cluster/test_console_feed.py,
uses a real rabbitmq-server).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rasa.shared.exceptions import RasaException  # noqa: E402

from rasa_addons import broker_topology  # noqa: E402
from rasa_addons.event_broker import RedactingPikaEventBroker  # noqa: E402


class RecordingExchange:
    def __init__(self) -> None:
        self.published: list[tuple[Any, str]] = []

    async def publish(self, message: Any, routing_key: str) -> None:
        self.published.append((message, routing_key))


class RecordingChannel:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def declare_exchange(self, name: str, type: Any, durable: bool) -> str:
        self.calls.append(("exchange", name, str(type.value), durable))
        return name

    async def declare_queue(self, name: str, durable: bool) -> Any:
        self.calls.append(("queue", name, durable))
        channel = self

        class Queue:
            async def bind(self, exchange: str, routing_key: str) -> None:
                channel.calls.append(("bind", name, exchange, routing_key))

        return Queue()


def error_of(url: str) -> str:
    try:
        RedactingPikaEventBroker(url)
    except RasaException as error:
        return str(error)
    return ""


async def main() -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    full = RedactingPikaEventBroker("amqp://shop%40desk:p%40ss@127.0.0.1:41234/vh", event_loop=loop)
    bare = RedactingPikaEventBroker("amqp://127.0.0.1", event_loop=loop)
    given = RedactingPikaEventBroker("amqp://127.0.0.1:5999/", username="u", password="pw", event_loop=loop)

    broker = RedactingPikaEventBroker("amqp://guest:guest@127.0.0.1:5672/", event_loop=loop)
    exchange = RecordingExchange()
    broker._exchange = exchange  # what connect() sets
    event = {
        "sender_id": "c-1",
        "event": "user",
        "timestamp": 1700000000.123456,
        "text": "I am jane@example.com, call +49 170 1234567, Lindenstraße 12; order SD-100042",
        "parse_data": {
            "text": "jane@example.com",
            "entities": [{"entity": "email", "value": "jane@example.com"}],
        },
        "metadata": {"page_language": "en"},
    }
    broker.publish(event)
    broker.publish({"sender_id": "c-1", "event": "slot", "name": "email", "value": "jane@example.com"})
    broker.publish({"sender_id": "c-1", "event": "action", "name": "action_listen", "timestamp": 2.0})
    await asyncio.gather(*list(broker._background_tasks))
    bodies = [json.loads(message.body) for message, _ in exchange.published]

    class FailingExchange:
        async def publish(self, message: Any, routing_key: str) -> None:
            raise ConnectionResetError("broker gone")

    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("rasa_addons.event_broker").addHandler(handler)
    broker._exchange = FailingExchange()
    broker.publish({"sender_id": "c-1", "event": "user", "text": "secret words", "timestamp": 3.0})
    await asyncio.gather(*list(broker._background_tasks))

    channel = RecordingChannel()
    await broker._set_up_exchange(channel)
    return {
        "full": [full.username, full.password, full.port, full._configure_url()],
        "bare": [bare.username, bare.password, bare.port, bare._configure_url()],
        "given": [given.username, given.password, given.port, given._configure_url()],
        "queues": list(broker.queues),
        "exchange_name": broker.exchange_name,
        "bodies": bodies,
        "routing_keys": [key for _, key in exchange.published],
        "delivery_modes": [int(message.delivery_mode) for message, _ in exchange.published],
        "caller_event_untouched": event["text"].startswith("I am jane@example.com"),
        "declared": channel.calls,
        "topology": [broker_topology.EXCHANGE, list(broker_topology.QUEUES)],
        "failed_logs": records,
        "kept_to_resend": [e.get("text") for e in broker._unpublished_events],
        "error_http": error_of("http://user:s3cret-pw@127.0.0.1:5672/"),
        "error_port": error_of("amqp://user:s3cret-pw@127.0.0.1:notaport/"),
    }


if __name__ == "__main__":
    facts = asyncio.run(main())
    print("PROBE " + json.dumps(facts))
