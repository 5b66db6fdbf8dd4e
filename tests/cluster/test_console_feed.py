"""The console fed by RabbitMQ, live: a real rabbitmq-server (scripts.engines), the real Rasa publishing through
RedactingPikaEventBroker, the bot service consuming (CONSOLE_FEED=broker), a shopper on socket.io and an agent on
the console's websocket (the bench's clients).

The bot service's tracker poll is set to once an hour and its safety pass off, so what reaches the console
came through the broker (or the feed's catch-up on a (re)connect, which the restart test relies on).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from bench.handoff_latency import PASSWORD, Agent, Shopper, hand_off, write_agents
from scripts.engines import Engine, rabbitmq_server
from scripts.feed_stack import FeedStack
from scripts.stack import ROOT, StackConfig, StackError

pytestmark = pytest.mark.cluster

NO_POLL = {"HANDOFF_POLL_INTERVAL_S": "3600", "CONSOLE_BROKER_SAFETY_S": "0"}


class Cluster:
    """The stack and its RabbitMQ node, which a test may restart on the same port and data."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.engines = ExitStack()
        self.rabbit: Engine = self.engines.enter_context(rabbitmq_server(root / "rabbitmq"))
        config = StackConfig.on_free_ports(root / "var", with_bot=True)
        write_agents(root / "agents.json", 1)
        config.extra_env["AGENTS_FILE"] = str(root / "agents.json")
        self.stack = FeedStack(config, self.rabbit.url, NO_POLL, log_dir=ROOT / "artifacts" / "logs" / "feed")

    def restart_rabbit(self, while_down: Any = None) -> None:
        port = self.rabbit.port
        self.rabbit.stop()
        if while_down is not None:
            while_down()
        self.rabbit = self.engines.enter_context(rabbitmq_server(self.root / "rabbitmq", port=port))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not any((ROOT / "models").glob("*.tar.gz")):
        pytest.skip("no trained Rasa model in models/: run `make model`")
    cluster = Cluster(tmp_path_factory.mktemp("feed"))
    try:
        cluster.stack.start()
    except StackError as error:
        cluster.engines.close()
        pytest.fail(f"the stack did not start: {error}")
    try:
        yield cluster
    finally:
        cluster.stack.stop()
        cluster.engines.close()


async def handed_off(cluster: Cluster) -> tuple[Shopper, Agent, str]:
    config = cluster.stack.config
    agent = Agent(config.bot_url)
    await agent.login("agent0@bench.test", PASSWORD)
    shopper = Shopper(config.rasa_url)
    await shopper.connect()
    ids = await hand_off([agent], [shopper])
    return shopper, agent, ids[shopper.session_id]


async def transcript(agent: Agent, handoff_id: str) -> list[str]:
    conversation = await agent.call("GET", f"/api/console/conversations/{handoff_id}")
    return [m["text"] for m in conversation["messages"] if m["role"] == "shopper"]


async def test_the_console_gets_the_shoppers_next_message_through_the_broker(cluster: Cluster) -> None:
    shopper, agent, handoff_id = await handed_off(cluster)
    try:
        text = f"where is my parcel {uuid.uuid4().hex[:8]}"
        await shopper.say(text)
        await agent.wait_seen(text, timeout=60)  # polling is off: only the broker can bring it this soon
        reply = f"agent reply {uuid.uuid4().hex[:8]}"
        await agent.call("POST", f"/api/console/conversations/{handoff_id}/reply", {"text": reply})
        await shopper.wait_for(reply)
        assert (await transcript(agent, handoff_id)).count(text) == 1
    finally:
        await agent.call("POST", f"/api/console/conversations/{handoff_id}/close")
        await shopper.client.disconnect()
        await agent.close()


async def test_a_broker_restart_mid_conversation_loses_nothing(cluster: Cluster) -> None:
    shopper, agent, handoff_id = await handed_off(cluster)
    try:
        before, during, after = (f"{label} {uuid.uuid4().hex[:8]}" for label in ("before", "during", "after"))
        await shopper.say(before)
        await agent.wait_seen(before, timeout=60)

        loop = asyncio.get_running_loop()
        said: list[str] = []

        def while_down() -> None:  # Rasa stores the message; neither Rasa nor the feed can reach RabbitMQ
            future = asyncio.run_coroutine_threadsafe(shopper.say(during), loop)
            future.result(timeout=30)
            said.append(during)

        await asyncio.to_thread(cluster.restart_rabbit, while_down)
        assert said == [during]
        await agent.wait_seen(during, timeout=120)  # the feed's catch-up on reconnect (or Rasa's resend)
        await shopper.say(after)
        await agent.wait_seen(after, timeout=120)  # the broker path is back
        lines = await transcript(agent, handoff_id)
        assert [lines.count(text) for text in (before, during, after)] == [1, 1, 1]
        assert lines.index(before) < lines.index(during) < lines.index(after)
    finally:
        await agent.call("POST", f"/api/console/conversations/{handoff_id}/close")
        await shopper.client.disconnect()
        await agent.close()
