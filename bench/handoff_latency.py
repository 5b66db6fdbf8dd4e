"""Handoff latency: shopper message → agent console, and agent reply → shopper widget.

Starts the real stack (Rasa with ShopDesk's socket.io channel, the action server, the bot web service) on
free ports, logs the demo agent in, and hands conversations off through the real path: simulated shoppers
are socket.io clients (what the widget is), the agent is the console's HTTP API plus its live websocket (what
the console page is). Latencies are measured at those clients, i.e. when the message reaches the page, before
the browser paints it.

Two paths for the shoppers (``--path``, issue 15): ``proxy`` — production's, the widget's socket.io through
the bot service's reverse proxy (bot/proxy.py), whose edge feed (bot/edge_feed.py) shows a handed-off
shopper's line on the consoles as it relays it; ``direct`` — straight to Rasa's socket.io, the console then
learns of a line only from the tracker (poll or broker). ``both`` (the default) measures the production path
and, in the same run, the direct one as its baseline. Through the proxy each simulated shopper has its own
client address (X-Forwarded-For from a trusted proxy, BOT_TRUSTED_PROXIES=127.0.0.1), as real browsers do.

The console's feed is measured both ways in one run (issue 15): ``poll`` (the bot service reads every open
handoff's tracker every HANDOFF_POLL_INTERVAL_S) and ``broker`` (Rasa publishes through
RedactingPikaEventBroker to a real rabbitmq-server from scripts.engines and the bot service consumes it,
CONSOLE_FEED=broker; docs/handoff.md). One Rasa and one action server serve both (Rasa publishes to RabbitMQ
throughout); only the bot service is restarted with the other feed. For each feed: a baseline with 1
conversation handed off, then each of --conversations (default 10 and 50) at once. Without rabbitmq-server
(`make cluster-deps`) the default `--feed both` measures polling only and says so.

    .venv/app/bin/python -m bench.handoff_latency [--feed poll|broker|both] [--path proxy|direct|both]
        [--conversations 10 50] [--messages 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import string
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bot.widget_session import CLIENT_HEADER, client_id, signed_client
from scripts.engines import EngineError, rabbitmq_server
from scripts.feed_stack import FeedStack
from scripts.stack import ROOT, Stack, StackConfig, StackError

QUEUED = re.compile(r"connecting you with a person", re.IGNORECASE)
PASSWORD = "bench-agent-password"


@dataclass
class Samples:
    to_agent_ms: list[float] = field(default_factory=list)
    recorded_ms: list[float] = field(default_factory=list)  # until the console knows Rasa recorded the line
    to_shopper_ms: list[float] = field(default_factory=list)
    lost: int = 0

    @staticmethod
    def pct(values: list[float], q: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    def row(self, label: str) -> str:
        a, s, r = self.to_agent_ms, self.to_shopper_ms, self.recorded_ms
        return (
            f"{label:<24} shopper→agent p50 {self.pct(a, 50):7.0f} ms  p95 {self.pct(a, 95):7.0f} ms (n={len(a)})   "
            f"recorded p50 {self.pct(r, 50):7.0f} ms  p95 {self.pct(r, 95):7.0f} ms   "
            f"agent→shopper p50 {self.pct(s, 50):7.0f} ms  p95 {self.pct(s, 95):7.0f} ms (n={len(s)})   lost {self.lost}"
        )


class Shopper:
    """A widget stand-in: Rasa's socket.io channel with a persistent session."""

    def __init__(self, rasa_url: str, headers: dict[str, str] | None = None) -> None:
        import socketio

        self.rasa_url = rasa_url
        # Straight to Rasa: the signed header the bot service's proxy sends for each browser; through the proxy:
        # X-Forwarded-For and the page's Origin. Without them every simulated shopper is one client address
        # (127.0.0.1), whose shared budget (client_rate_limit, 30 messages / 10 s) the channel enforces by
        # answering "too fast" instead of passing the message on.
        self.headers = headers or {}
        self.session_id = uuid.uuid4().hex
        self.client = socketio.AsyncClient(reconnection=False)
        self.inbox: list[tuple[float, dict[str, Any]]] = []
        self.arrived = asyncio.Event()
        self.client.on("bot_uttered", self._on_bot)

    async def _on_bot(self, data: dict[str, Any]) -> None:
        self.inbox.append((time.perf_counter(), data))
        self.arrived.set()

    async def connect(self) -> None:
        confirmed = asyncio.Event()

        def on_confirm(session_id: object = None) -> None:
            if isinstance(session_id, str):  # the server signs the id; a client-chosen one joins nothing
                self.session_id = session_id
            confirmed.set()

        self.client.on("session_confirm", on_confirm)
        await self.client.connect(
            self.rasa_url,
            transports=["websocket"],
            socketio_path="/socket.io",
            headers=self.headers,
        )
        await self.client.emit("session_request", {"session_id": self.session_id})
        await asyncio.wait_for(confirmed.wait(), 30)

    async def say(self, text: str) -> None:
        await self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})

    async def wait_for(self, pattern: str | re.Pattern[str], timeout: float = 60.0) -> float:
        """perf_counter time at which a bot message matching ``pattern`` arrived."""
        deadline = time.perf_counter() + timeout
        while True:
            for arrived, data in self.inbox:
                if re.search(pattern, str(data.get("text") or "")):
                    return arrived
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"no bot message matching {pattern!r}")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except TimeoutError:
                pass


class Agent:
    """The console stand-in: login form, JSON API with the CSRF token, live websocket."""

    def __init__(self, bot_url: str) -> None:
        self.bot_url = bot_url
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""
        self.seen: dict[str, float] = {}  # message text → arrival on the websocket
        self.recorded: dict[str, float] = {}  # message text → when the console learnt Rasa recorded it
        self.ids: dict[int, str] = {}  # message id → text, for the edge feed's "confirmed" frames
        self.seen_event = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def login(self, email: str, password: str) -> None:
        async with self.http.get(f"{self.bot_url}/console/login") as page:
            token = re.search(r'name="csrf" value="([^"]+)"', await page.text()).group(1)  # type: ignore[union-attr]
        async with self.http.post(
            f"{self.bot_url}/console/login", data={"email": email, "password": password, "csrf": token}
        ) as console:
            self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', await console.text()).group(1)  # type: ignore[union-attr]
        socket = await self.http.ws_connect(
            f"{self.bot_url}/api/console/ws", headers={"Origin": self.bot_url}
        )
        self._reader = asyncio.create_task(self._read(socket))

    async def _read(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        async for frame in socket:
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            event = json.loads(frame.data)
            now = time.perf_counter()
            if event.get("type") == "message" and event["message"]["role"] == "shopper":
                text = event["message"]["text"]
                self.seen.setdefault(text, now)
                if event["message"]["meta"].get("unconfirmed"):  # the edge feed's: Rasa confirms it later
                    self.ids[event["message"]["id"]] = text
                else:
                    self.recorded.setdefault(text, now)
                self.seen_event.set()
            elif event.get("type") == "confirmed" and event.get("message_id") in self.ids:
                self.recorded.setdefault(self.ids.pop(event["message_id"]), now)
                self.seen_event.set()

    async def wait_seen(self, text: str, timeout: float = 60.0, recorded: bool = False) -> float:
        """When the line reached the console (``recorded``: when the console learnt Rasa recorded it)."""
        arrivals = self.recorded if recorded else self.seen
        deadline = time.perf_counter() + timeout
        while text not in arrivals:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"agent never saw {text!r}")
            self.seen_event.clear()
            try:
                await asyncio.wait_for(self.seen_event.wait(), remaining)
            except TimeoutError:
                pass
        return arrivals[text]

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        async with self.http.request(
            method, f"{self.bot_url}{path}", json=body, headers={"X-CSRF-Token": self.csrf}
        ) as response:
            data = await response.json()
            if response.status != 200:
                raise RuntimeError(f"{method} {path}: HTTP {response.status} {data}")
            return data

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
        await self.http.close()


async def hand_off(agents: list[Agent], shoppers: list[Shopper]) -> dict[str, str]:
    """All shoppers ask for a person at once; agent i claims conversation i. session → handoff id."""
    await asyncio.gather(*(s.say("I want to talk to a human") for s in shoppers))
    await asyncio.gather(*(s.wait_for(QUEUED, timeout=120) for s in shoppers))
    queue = await agents[0].call("GET", "/api/console/queue")
    ids = {item["conversation_id"]: item["id"] for item in queue["queued"]}
    missing = [s.session_id for s in shoppers if s.session_id not in ids]
    if missing:
        raise RuntimeError(f"{len(missing)} conversations were not queued")
    await asyncio.gather(
        *(
            a.call("POST", f"/api/console/conversations/{ids[s.session_id]}/claim")
            for a, s in zip(agents, shoppers, strict=False)
        )
    )
    await asyncio.gather(*(s.wait_for("has joined") for s in shoppers))
    return {s.session_id: ids[s.session_id] for s in shoppers}


WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def tag() -> str:
    """A random word of letters that marks one message. Not hex: a hex id that comes out all digits ("2 20481537")
    reads as a phone number to the tracker store's redaction, and the console then shows "[phone]" — an arrival
    the bench would miss."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))


async def exchange(agent: Agent, shopper: Shopper, handoff_id: str, messages: int, samples: Samples) -> None:
    for index in range(messages):
        text = f"shopper message {WORDS[index % len(WORDS)]} {tag()}"
        sent = time.perf_counter()
        await shopper.say(text)
        try:
            samples.to_agent_ms.append((await agent.wait_seen(text) - sent) * 1000)
            # a person reads and types for seconds: the reply follows once Rasa has recorded the line (an
            # instant reply would measure the wait for the conversation's lock the shopper's turn still holds)
            samples.recorded_ms.append((await agent.wait_seen(text, recorded=True) - sent) * 1000)
        except TimeoutError:
            samples.lost += 1
        reply = f"agent reply {WORDS[index % len(WORDS)]} {tag()}"
        sent = time.perf_counter()
        await agent.call("POST", f"/api/console/conversations/{handoff_id}/reply", {"text": reply})
        try:
            samples.to_shopper_ms.append((await shopper.wait_for(re.escape(reply)) - sent) * 1000)
        except TimeoutError:
            samples.lost += 1
        await asyncio.sleep(0.2)


def shopper_address(index: int) -> str:
    """The client address of simulated shopper ``index`` (one per shopper; TEST-NET-2 and -3)."""
    return f"198.51.{100 + index // 250 % 2}.{index % 250 + 1}"


def shopper(config: StackConfig, index: int, path: str) -> Shopper:
    """Simulated shopper ``index`` on ``path``: the bot service's proxy, or Rasa's own port."""
    if path == "proxy":
        headers = {"Origin": config.bot_url, "X-Forwarded-For": shopper_address(index)}
        return Shopper(config.bot_url, headers)
    secret = config.widget_session_secret
    signed = signed_client(secret, client_id(secret, shopper_address(index)))
    return Shopper(config.rasa_url, {CLIENT_HEADER: signed})


async def run(
    config: StackConfig, counts: list[int], messages: int, feed: str, path: str
) -> list[tuple[str, Samples]]:
    agents = [Agent(config.bot_url) for _ in range(max(counts))]
    await asyncio.gather(*(a.login(f"agent{i}@bench.test", PASSWORD) for i, a in enumerate(agents)))
    results = []
    try:
        for count in counts:
            label = f"{feed}/{path}: {count} conv{'s' if count > 1 else ''}"
            shoppers = [shopper(config, index, path) for index in range(count)]
            try:
                await asyncio.gather(*(s.connect() for s in shoppers))
                ids = await hand_off(agents, shoppers)
            except (TimeoutError, RuntimeError) as error:  # a loaded machine: report it, measure the rest
                print(f"{label:<24} not measured: the handoff failed ({error})", flush=True)
                await asyncio.gather(*(s.client.disconnect() for s in shoppers), return_exceptions=True)
                continue
            samples = Samples()
            await asyncio.gather(
                *(
                    exchange(a, s, ids[s.session_id], messages, samples)
                    for a, s in zip(agents, shoppers, strict=False)
                )
            )
            await asyncio.gather(
                *(
                    a.call("POST", f"/api/console/conversations/{ids[s.session_id]}/close")
                    for a, s in zip(agents, shoppers, strict=False)
                )
            )
            await asyncio.gather(*(s.client.disconnect() for s in shoppers))
            results.append((label, samples))
            print(samples.row(label), flush=True)
    finally:
        await asyncio.gather(*(a.close() for a in agents))
    return results


def use_feed(stack: Stack, feed: str) -> None:
    """Restart only the bot service, with CONSOLE_FEED=``feed`` (Rasa and the actions keep running)."""
    stack.stop_one("bot")
    stack.services["bot"].env["CONSOLE_FEED"] = feed
    stack.launch("bot")
    deadline = time.monotonic() + 120
    while not stack.is_ready("bot"):
        if time.monotonic() > deadline or not stack.alive().get("bot"):
            raise StackError(
                f"the bot service did not come back with CONSOLE_FEED={feed}:\n{stack.log_tail('bot')}"
            )
        time.sleep(0.25)


def write_agents(path: Path, count: int) -> None:
    """One console agent per conversation, as in a real team (and within the 20 replies / 10 s per agent)."""
    from bot.passwords import hash_password

    digest = hash_password(PASSWORD)
    rows = [
        {"email": f"agent{i}@bench.test", "name": f"Agent {i}", "password_hash": digest} for i in range(count)
    ]
    path.write_text(json.dumps(rows))


def plot(results: list[tuple[str, Samples]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    data, labels = [], []
    for label, samples in results:
        data += [samples.to_agent_ms, samples.to_shopper_ms]
        labels += [f"{label}\nshopper→agent", f"{label}\nagent→shopper"]
    ax.boxplot(data)
    ax.set_xticks(range(1, len(labels) + 1), labels, fontsize=7)
    ax.set_ylabel("latency (ms)")
    ax.set_title("ShopDesk handoff latency")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feed", choices=("poll", "broker", "both"), default="both")
    parser.add_argument(
        "--path",
        choices=("proxy", "direct", "both"),
        default="both",
        help="shoppers through the bot service's proxy (production, edge feed) or straight to Rasa (baseline)",
    )
    parser.add_argument("--conversations", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--messages", type=int, default=5, help="shopper/agent exchanges per conversation")
    parser.add_argument(
        "--poll-interval", type=float, default=0.25, help="HANDOFF_POLL_INTERVAL_S for the bot service"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "handoff_latency.png")
    args = parser.parse_args(argv)
    if any(count < 1 for count in args.conversations) or args.messages < 1:
        parser.error("--conversations and --messages must be 1 or more")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the stack and RabbitMQ on a kill too
    feeds = ["poll", "broker"] if args.feed == "both" else [args.feed]
    paths = ["proxy", "direct"] if args.path == "both" else [args.path]
    counts = [1, *sorted(set(args.conversations) - {1})]

    with tempfile.TemporaryDirectory(prefix="shopdesk-handoff-") as tmp, ExitStack() as engines:
        broker_url = None
        if "broker" in feeds:
            try:
                broker_url = engines.enter_context(rabbitmq_server(Path(tmp) / "rabbitmq")).url
            except EngineError as error:
                if args.feed == "broker":
                    raise
                print(f"no broker feed measured: {error}", flush=True)
                feeds = ["poll"]
        config = StackConfig.on_free_ports(Path(tmp) / "var", with_bot=True)
        config.extra_env["HANDOFF_POLL_INTERVAL_S"] = str(args.poll_interval)
        write_agents(Path(tmp) / "agents.json", max(counts))
        config.extra_env["AGENTS_FILE"] = str(Path(tmp) / "agents.json")
        config.extra_env["BOT_TRUSTED_PROXIES"] = "127.0.0.1"  # the shoppers' X-Forwarded-For (--path proxy)
        log_dir = ROOT / "artifacts" / "logs" / "bench-handoff"
        stack = (
            FeedStack(config, broker_url, {"CONSOLE_FEED": feeds[0]}, log_dir=log_dir)
            if broker_url
            else Stack(config, log_dir=log_dir)
        )
        print(f"starting the stack (Rasa, actions, bot service; feeds {', '.join(feeds)})…", flush=True)
        stack.start()
        results = []
        try:
            print(
                f"tracker polling every {args.poll_interval:.2f} s; {args.messages} exchanges per conversation; "
                f"shoppers {' then '.join(paths)}; "
                f"load average {os.getloadavg()[0]:.2f} (shared machine)",
                flush=True,
            )
            for index, feed in enumerate(feeds):
                if index:
                    use_feed(stack, feed)
                for path in paths:
                    results += asyncio.run(run(config, counts, args.messages, feed, path))
            print(f"load average at the end {os.getloadavg()[0]:.2f}; target p95 ≤ 300 ms", flush=True)
        finally:
            stack.stop()
    plot(results, args.out)
    print(f"plot: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
