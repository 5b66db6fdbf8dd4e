"""The RabbitMQ topology of ShopDesk's event stream (standard library only; aio-pika imported when declaring).

Rasa (``rasa_addons.event_broker.RedactingPikaEventBroker``) publishes every tracker event, redacted, as
Rasa's event JSON with ``sender_id``, to one fanout exchange; each consumer has its own durable queue bound to
it, so each gets every event:

    Rasa ──▶ exchange shopdesk.events (fanout, durable)
               ├──▶ queue shopdesk.console    the bot service's console feed (bot/broker_feed.py)
               └──▶ queue shopdesk.analytics  the analytics sink (the events table analytics/ reads)

Everyone who declares them (Rasa, the bot service, the analytics sink) must declare them alike: RabbitMQ
refuses a second declaration with other properties (PRECONDITION_FAILED, channel closed). ``declare`` is the
one way to do it; it works with aio-pika 8 (Rasa's environment) and 10 (the application's).
"""

from __future__ import annotations

from typing import Any, Iterable

EXCHANGE = "shopdesk.events"
CONSOLE_QUEUE = "shopdesk.console"
ANALYTICS_QUEUE = "shopdesk.analytics"
QUEUES = (CONSOLE_QUEUE, ANALYTICS_QUEUE)
# Durable exchange and queues, persistent messages: a broker restart keeps the bindings and what was queued.
# (Rasa's own PikaEventBroker declares a transient exchange; our broker class declares it durable.)
EXCHANGE_DURABLE = True
QUEUE_DURABLE = True


async def declare(channel: Any, exchange_name: str = EXCHANGE, queues: Iterable[str] = QUEUES) -> Any:
    """Declares the fanout exchange and binds each durable queue to it on an aio-pika channel; the exchange."""
    import aio_pika

    exchange = await channel.declare_exchange(
        exchange_name, type=aio_pika.ExchangeType.FANOUT, durable=EXCHANGE_DURABLE
    )
    for name in queues:
        queue = await channel.declare_queue(name, durable=QUEUE_DURABLE)
        await queue.bind(exchange, "")
    return exchange
