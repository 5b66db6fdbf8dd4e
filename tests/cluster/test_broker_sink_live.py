"""The analytics sink on a real RabbitMQ: what is published to shopdesk.events lands in the events table."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from analytics import broker
from analytics.broker_sink import SinkSettings, run
from rasa_addons import broker_topology
from scripts.engines import rabbitmq_server

pytestmark = pytest.mark.cluster


async def publish(url: str, bodies: list[bytes]) -> None:
    import aio_pika

    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        exchange = await broker_topology.declare(channel)
        for body in bodies:
            await exchange.publish(aio_pika.Message(body), routing_key="")


async def wait_rows(path: Path, count: int) -> set[str]:
    for _ in range(100):
        senders, top = broker.new_senders(path, 0)
        if top >= count:
            return senders
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {count} rows in {path}")


async def test_published_events_reach_the_events_table(tmp_path: Path) -> None:
    with rabbitmq_server(tmp_path / "rabbitmq") as rabbit:
        settings = SinkSettings(rabbit.url, tmp_path / "events.db")
        stop = asyncio.Event()
        ready = tmp_path / "sink.ready"
        sink = asyncio.create_task(run(settings, stop, ready))
        while not ready.exists():
            assert not sink.done(), sink
            await asyncio.sleep(0.05)
        events = [
            {"event": "user", "timestamp": float(i), "text": f"m{i}", "sender_id": f"s{i % 3}"}
            for i in range(9)
        ]
        await publish(rabbit.url, [b"garbage", *(json.dumps(e).encode() for e in events)])
        assert await wait_rows(settings.event_broker_db, 9) == {"s0", "s1", "s2"}
        stop.set()
        assert await sink == 9, "the malformed message is dropped, not written"
        rows = list(broker.events_of(settings.event_broker_db, {"s0"}, 9))
        assert [json.loads(row.data)["text"] for row in rows] == ["m0", "m3", "m6"]
