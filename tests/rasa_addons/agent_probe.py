"""Facts about action-server failures in a real Rasa Agent, printed as JSON for test_action_guard.py.

Run with Rasa's interpreter: `.venv/rasa/bin/python tests/rasa_addons/agent_probe.py MODEL TMPDIR`. The Agent
loads the trained model, stores conversations in the redacting SQL tracker store and calls an action endpoint
that is (a) a closed port, (b) a server answering 401, (c) a server that accepts and never answers.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rasa.core.agent import Agent  # noqa: E402
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage  # noqa: E402
from rasa.core.utils import read_endpoints_from_path  # noqa: E402
from rasa.shared.core.events import UserUttered  # noqa: E402
from rasa.utils.endpoints import EndpointConfig  # noqa: E402

from rasa_addons import action_guard, model_load  # noqa: E402
from rasa_addons.tracker_store import RedactingSQLTrackerStore  # noqa: E402


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SEEN_AUTHORIZATION: list[str] = []


async def answer_401(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    SEEN_AUTHORIZATION.extend(
        line.split(":", 1)[1].strip()
        for line in head.split("\r\n")
        if line.lower().startswith("authorization:")
    )
    writer.write(
        b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    )
    await writer.drain()
    writer.close()


async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(60)


async def say(agent: Agent, sender: str, text: str) -> list[str]:
    output = CollectingOutputChannel()
    await agent.handle_message(UserMessage(text, output, sender))
    return [m.get("text") or "" for m in output.messages]


async def case(
    agent: Agent, store: RedactingSQLTrackerStore, sender: str, endpoint: EndpointConfig
) -> dict[str, Any]:
    agent.action_endpoint = endpoint
    agent.processor.action_endpoint = endpoint  # type: ignore[union-attr]
    responses = agent.domain.responses.get("utter_technical_problem") or []  # type: ignore[union-attr]
    greet = [r.get("text") for r in agent.domain.responses.get("utter_greet", [])]  # type: ignore[union-attr]
    first = await say(agent, sender, "/review")
    tracker = await store.retrieve(sender)
    applied_intents = [e.intent_name for e in tracker.applied_events() if isinstance(e, UserUttered)]
    second = await say(agent, sender, "/greet")
    return {
        "domain_text": [r.get("text") for r in responses],
        "first": first,
        "applied_intents_after_failure": applied_intents,
        "latest_action": tracker.latest_action_name,
        "second": second,
        "greet": greet,
    }


def tracker_store(tmp: Path) -> RedactingSQLTrackerStore:
    return RedactingSQLTrackerStore(host=f"sqlite:///{tmp / 'tracker.db'}", redact=True, retention_days=30)


async def main() -> None:
    model, tmp = sys.argv[1], Path(sys.argv[2])
    store = tracker_store(tmp)
    model_load.install_fast_model_load()  # the served Rasa's load (rasa_addons.serve), in a third of the time
    print("PROBE " + json.dumps(await failures(Agent.load(model, tracker_store=store), store, tmp)))


async def failures(agent: Agent, store: RedactingSQLTrackerStore, tmp: Path) -> dict[str, Any]:
    """The cases on a loaded `agent` (conversations in `store`) that has no action guard installed yet;
    installs it. model_probe_server.py calls it on the agent it loaded once."""
    closed = EndpointConfig(url=f"http://127.0.0.1:{closed_port()}/webhook")
    facts: dict[str, Any] = {}
    # Rasa as it is: the failure becomes silence (this is what the guard fixes)
    facts["unguarded"] = await case(agent, store, "unguarded", closed)
    action_guard.install(timeout_s=3)
    facts["closed"] = await case(agent, store, "closed", closed)
    server = await asyncio.start_server(answer_401, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    # the action endpoint exactly as endpoints.yml configures it
    os.environ.update(ACTION_SERVER_URL=f"http://127.0.0.1:{port}/webhook", ACTION_SERVER_TOKEN="probe-token")
    os.environ.setdefault("TRACKER_URL", f"sqlite:///{tmp / 'unused.db'}")
    os.environ.setdefault("EVENT_BROKER_DB", str(tmp / "events.db"))  # endpoints.yml's event broker
    from_file = read_endpoints_from_path(str(ROOT / "endpoints.yml")).action
    facts["unauthorized"] = await case(agent, store, "unauthorized", from_file)
    facts["authorization_seen"] = sorted(set(SEEN_AUTHORIZATION))
    server.close()
    hang = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = hang.sockets[0].getsockname()[1]
    hanging = EndpointConfig(url=f"http://127.0.0.1:{port}/webhook")
    facts["timeout"] = await case(agent, store, "timeout", hanging)
    hang.close()
    return facts


if __name__ == "__main__":
    asyncio.run(main())
