"""Typing-indicator delay, shopper → agent and agent → shopper, with N conversations at once (default 10).

Starts the real bot web service (``create_app``, its tracker sync on, a Rasa stand-in that answers at once: no
model is involved in typing) in a process of its own on a free port, logs N agents in, hands N conversations off
(server-signed widget sessions, ``POST /api/handoff``) and has agent i claim conversation i. Every shopper holds a
real ``/widget/ws`` socket and every agent a real console socket (``/api/console/ws``); all N conversations run at
once, each a round every ``--interval`` seconds (within the widget socket's frame budget): the shopper's typing
frame until the agent's console receives it, the agent's until the shopper's widget socket receives it, and — the
baseline, on the same sockets in the same run — a plain ``ping`` → ``pong`` round trip on each socket. Both
figures cross the service once (client → service → client), so the difference is what relaying a typing frame
adds (the owner check, the store lookup, the fan-out). Delays are measured at the receiving client, before a
browser would paint.

    .venv/app/bin/python -m bench.typing_latency [--conversations 10] [--rounds 24] [--interval 1.25]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-agent-password"
HANDOFF_TOKEN = "dev-handoff-token"


class InstantRasa:
    """Rasa's tracker API, answering at once (the claim notice, the tracker sync's reads)."""

    async def tracker_events(self, conversation_id: str) -> list[dict[str, Any]]:
        return []

    async def append_events(self, conversation_id: str, events: list[dict[str, Any]]) -> None:
        return None


def serve(port: int, directory: Path, agents: int) -> None:
    """The service process: ``create_app`` with N bench agents on ``port``."""
    from aiohttp import web

    from bot.app import create_app
    from bot.passwords import hash_password
    from bot.settings import Agent, Settings

    password_hash = hash_password(PASSWORD)
    settings = Settings(
        port=port,
        db_path=directory / "handoff.db",
        shop_db_path=directory / "shop.db",
        agents=tuple(Agent(f"agent{i}@bench.test", f"Agent{i} Bench", password_hash) for i in range(agents)),
    )
    web.run_app(create_app(settings, rasa=InstantRasa()), host="127.0.0.1", port=port, print=None)


@dataclass
class Samples:
    values_ms: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, ms: float) -> None:
        self.values_ms.setdefault(name, []).append(ms)

    @staticmethod
    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return (
            ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")
        )

    def row(self, name: str, label: str) -> str:
        v = self.values_ms.get(name, [])
        return f"{label:<44} p50 {self.pct(v, 50):6.1f} ms  p95 {self.pct(v, 95):6.1f} ms  max {max(v, default=0):6.1f} ms  (n={len(v)})"


class Inbox:
    """A socket's frames by type, each with the time it arrived."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.queues: dict[str, asyncio.Queue[tuple[float, dict[str, Any]]]] = {}
        self.task = asyncio.create_task(self._read())

    def queue(self, kind: str) -> asyncio.Queue[tuple[float, dict[str, Any]]]:
        return self.queues.setdefault(kind, asyncio.Queue())

    async def _read(self) -> None:
        async for message in self.socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            arrived = time.perf_counter()
            frame = json.loads(message.data)
            self.queue(frame.get("type", "?")).put_nowait((arrived, frame))

    async def next(self, kind: str, timeout: float = 10.0) -> tuple[float, dict[str, Any]]:
        return await asyncio.wait_for(self.queue(kind).get(), timeout)


async def login(session: aiohttp.ClientSession, base: str, email: str) -> str:
    page = await (await session.get(f"{base}/console/login")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    form = {"email": email, "password": PASSWORD, "csrf": csrf}
    console = await (await session.post(f"{base}/console/login", data=form)).text()
    return re.search(r'name="csrf-token" content="([^"]+)"', console).group(1)  # type: ignore[union-attr]


@dataclass
class Conversation:
    handoff_id: str
    widget: Inbox
    console: Inbox
    agent_http: aiohttp.ClientSession


async def setup_conversation(base: str, i: int, http: aiohttp.ClientSession) -> Conversation:
    origin = {"Origin": base}
    agent_http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    csrf = await login(agent_http, base, f"agent{i}@bench.test")
    console_ws = await agent_http.ws_connect(f"{base}/api/console/ws", headers=origin)
    console = Inbox(console_ws)
    await console.next("hello")
    session_id = (await (await http.post(f"{base}/api/widget/session")).json())["session_id"]
    body = {"conversation_id": session_id, "reason": "contact_human_agent", "transcript": [], "context": {}}
    queued = await http.post(
        f"{base}/api/handoff", json=body, headers={"Authorization": f"Bearer {HANDOFF_TOKEN}"}
    )
    handoff_id = (await queued.json())["handoff_id"]
    claimed = await agent_http.post(
        f"{base}/api/console/conversations/{handoff_id}/claim", headers={"X-CSRF-Token": csrf}
    )
    assert claimed.status == 200, await claimed.text()
    widget_ws = await http.ws_connect(f"{base}/widget/ws", headers=origin)
    await widget_ws.send_json({"type": "hello", "session_id": session_id})
    widget = Inbox(widget_ws)
    await widget.next("ready")
    return Conversation(handoff_id, widget, console, agent_http)


async def run_conversation(c: Conversation, rounds: int, interval_s: float, samples: Samples) -> None:
    await asyncio.sleep(random.uniform(0, interval_s))  # the conversations interleave
    for n in range(rounds):
        started = time.perf_counter()
        typing = n % 2 == 0
        sent = time.perf_counter()
        await c.widget.socket.send_json({"type": "typing", "typing": typing})
        arrived, frame = await c.console.next("typing")
        assert frame == {"type": "typing", "handoff_id": c.handoff_id, "typing": typing}, frame
        samples.add("to_agent", (arrived - sent) * 1000)

        sent = time.perf_counter()
        await c.console.socket.send_json({"type": "typing", "handoff_id": c.handoff_id, "typing": typing})
        arrived, frame = await c.widget.next("typing")
        assert frame["typing"] is typing, frame
        samples.add("to_shopper", (arrived - sent) * 1000)

        for name, inbox in (("ping_widget", c.widget), ("ping_console", c.console)):
            sent = time.perf_counter()
            await inbox.socket.send_str("ping")
            arrived, _ = await inbox.next("pong")
            samples.add(name, (arrived - sent) * 1000)
        await asyncio.sleep(max(0.0, interval_s - (time.perf_counter() - started)))


async def measure(base: str, conversations: int, rounds: int, interval_s: float) -> Samples:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
    convs = [await setup_conversation(base, i, http) for i in range(conversations)]
    samples = Samples()
    await asyncio.gather(*(run_conversation(c, rounds, interval_s, samples) for c in convs))
    for c in convs:
        await c.widget.socket.close()
        await c.console.socket.close()
        await c.agent_http.close()
    await http.close()
    return samples


async def wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if process.poll() is not None:
                raise SystemExit(f"the service exited with {process.returncode}")
            try:
                if (await http.get(f"{base}/healthz")).status == 200:
                    return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the service did not start")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=24, help="rounds per conversation")
    parser.add_argument(
        "--interval", type=float, default=1.25, help="seconds between a conversation's rounds"
    )
    parser.add_argument(
        "--serve", type=int, default=0, help=argparse.SUPPRESS
    )  # the service process: its port
    parser.add_argument("--dir", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.dir, args.conversations)
        return

    from scripts.stack import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="typing-bench-") as tmp:
        command = [sys.executable, "-m", "bench.typing_latency", "--serve", str(port), "--dir", tmp]
        command += ["--conversations", str(args.conversations)]
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            asyncio.run(wait_healthy(base, process))
            load = os.getloadavg()[0]
            samples = asyncio.run(measure(base, args.conversations, args.rounds, args.interval))
        finally:
            process.terminate()
            process.wait(30)
    print(
        f"{args.conversations} conversations at once, {args.rounds} rounds each, one every {args.interval:g} s "
        f"(load average at start {load:.1f})"
    )
    for name, label in (
        ("to_agent", "typing shopper → agent (widget ws → console)"),
        ("to_shopper", "typing agent → shopper (console → widget ws)"),
        ("ping_widget", "baseline: ping → pong, widget ws"),
        ("ping_console", "baseline: ping → pong, console ws"),
    ):
        print(samples.row(name, label))


if __name__ == "__main__":
    main()
