"""The console fed by Rasa's event broker (``CONSOLE_FEED=broker``): RabbitMQ instead of tracker polling.

Rasa publishes every tracker event, redacted, to the fanout exchange ``shopdesk.events``
(``rasa_addons.event_broker.RedactingPikaEventBroker``); this feed consumes the durable queue
``shopdesk.console`` bound to it. An event whose ``sender_id`` has a queued or active handoff goes through
``TrackerSync.apply_events``, the poller's own handling: user and bot messages into the transcript once (the
store's key), mood and language from the same digest, each new line published to the consoles at once. Events
of other conversations, and kinds the console does not show, are acknowledged and dropped.

Delivery is at least once: a message is acknowledged after it was handled, so one handled just before a lost
connection comes again, and the store's key makes that harmless. A malformed message (not JSON, not an event)
or one whose handling fails is logged and acknowledged too: never requeued, never a crash of the consumer.

Nothing is lost while the broker, or this consumer, is away: the queue is durable and the messages persistent,
and on every (re)connect the feed first reads the tracker of every open handoff (``TrackerSync.sync_once``, the
poller's code) before it consumes. A connection that fails or drops is retried with exponential backoff
(0.2 s doubling up to ``reconnect_max_s``) for as long as the service runs. The slow safety pass
(``CONSOLE_BROKER_SAFETY_S``) is started by ``bot.app`` beside it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from typing import Any, Literal
from urllib.parse import urlsplit

from aiohttp import web

from bot.feed_settings import FeedSettings
from bot.periodic import run_every
from bot.store import HandoffStore
from bot.sync import TrackerSync
from rasa_addons.broker_topology import declare

logger = logging.getLogger(__name__)

Outcome = Literal["applied", "ignored", "malformed", "failed"]
SHOWN_KINDS = frozenset({"user", "bot", "slot", "restart"})  # what the transcript, mood and language read
FIRST_BACKOFF_S = 0.2


async def safety_pass(sync: TrackerSync, interval_s: float) -> None:
    """Every ``interval_s``, after a first wait, the poller's full pass: repairs whatever the broker lost."""
    logger.info("console feed: tracker safety pass every %.0f s", interval_s)
    await asyncio.sleep(interval_s)
    await run_every(interval_s, sync.sync_once, "tracker safety pass")


class BrokerFeed:
    def __init__(self, settings: FeedSettings, sync: TrackerSync, store: HandoffStore) -> None:
        self.settings = settings
        self.sync = sync
        self.store = store
        self.outcomes: Counter[str] = Counter()
        self.attempts = 0  # connection attempts so far
        self.connections = 0  # successful connections so far (the first one and every reconnect)
        self.consuming = asyncio.Event()  # set while the consumer is subscribed

    async def handle(self, body: bytes) -> Outcome:
        """One message from the queue; what became of it. Never raises (the consumer must keep going)."""
        outcome = await self._handle(body)
        self.outcomes[outcome] += 1
        return outcome

    async def _handle(self, body: bytes) -> Outcome:
        try:
            event = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            logger.warning("console feed: dropping a message that is not JSON (%s)", error)
            logger.debug("the message: %r", body[:500])
            return "malformed"
        sender = event.get("sender_id") if isinstance(event, dict) else None
        kind = event.get("event") if isinstance(event, dict) else None
        if not isinstance(sender, str) or not sender or not isinstance(kind, str):
            logger.warning("console feed: dropping a message that is not a Rasa event with a sender_id")
            logger.debug("the message: %r", body[:500])
            return "malformed"
        if kind not in SHOWN_KINDS:
            return "ignored"
        try:
            handoff = self.store.open_handoff_for(sender)
            if handoff is None:
                return "ignored"
            await self.sync.apply_events(handoff, [event])
        except Exception:  # a store or hub failure: log it, keep consuming (the next catch-up repairs)
            logger.exception("console feed: handling a %s event failed", kind)
            return "failed"
        return "applied"

    async def run(self) -> None:
        """Consume until cancelled, reconnecting with backoff; a catch-up pass after every connect."""
        import aio_pika

        delay = FIRST_BACKOFF_S
        logger.info("console feed: RabbitMQ %s, queue %s", self.settings.shown_url, self.settings.queue)
        while True:
            self.attempts += 1
            try:
                connection = await aio_pika.connect(self.settings.broker_url, timeout=10)
                async with connection:
                    await self._consume(connection)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # refused, dropped, closed by the broker: all retried the same way
                task = asyncio.current_task()
                if task is not None and task.cancelling():  # aio-pika's clean-up replaced our cancellation
                    raise asyncio.CancelledError from error
                if self.consuming.is_set():
                    delay = FIRST_BACKOFF_S  # it was up: the first attempt is quick again
                logger.warning(
                    "console feed: no connection to %s (%s: %s); retrying in %.1f s",
                    self.settings.shown_url,
                    type(error).__name__,
                    self._without_password(str(error)),
                    delay,
                )
            finally:
                self.consuming.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.settings.reconnect_max_s)

    def _without_password(self, text: str) -> str:
        password = urlsplit(self.settings.broker_url).password
        return text.replace(password, "***") if password else text

    async def _consume(self, connection: Any) -> None:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=self.settings.prefetch)
        await declare(channel, self.settings.exchange, (self.settings.queue,))
        queue = await channel.get_queue(self.settings.queue)
        self.connections += 1
        logger.info("console feed: connected (connection %d); catching up on open handoffs", self.connections)
        caught_up = await self.sync.sync_once()  # whatever happened while nobody consumed
        logger.info("console feed: caught up (%d new lines); consuming", caught_up)
        async with queue.iterator() as messages:
            self.consuming.set()
            async for message in messages:
                try:
                    await self.handle(message.body)
                finally:
                    await message.ack()
        raise ConnectionError("the consumer was closed")


FEED = web.AppKey("broker_feed", BrokerFeed)  # the app's feed, present with CONSOLE_FEED=broker
