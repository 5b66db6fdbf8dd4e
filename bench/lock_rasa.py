"""Two real Rasa instances, one conversation hammered by 10 clients alternating between them: which lock store
keeps every message exactly once and in order? Rasa's `type: redis` vs ours, one after the other, same run.

    .venv/app/bin/python -m bench.lock_rasa [--clients 10] [--messages 5] [--only atomic|redis]

Each run starts a redis-server (scripts.engines) and two `rasa_addons.serve run` processes on free ports that
share one tracker store (SQLite, like `make run`) and the Redis lock store named in a temporary endpoints file
(endpoints.yml + `lock_store:`). No action server runs (custom actions answer utter_technical_problem at once,
so a turn is Rasa's own work). Every client sends its messages one after the other, waiting for each answer,
to instance 1, 2, 1, ...  (client c starts on instance c % 2). Then the conversation's tracker is read and
every user message is checked: missing, duplicated, or out of its client's order. tests/cluster/test_lock_rasa.py
asserts the same for our store; for `type: redis` this only reports.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from scripts.engines import redis_server
from scripts.stack import ROOT, Service, Stack, StackConfig, free_port, latest_model, rasa_argv, rasa_ready

STORES = {
    "atomic": "rasa_addons.lock_store.AtomicRedisLockStore",
    "redis": "redis",  # Rasa's RedisLockStore
}
REQUEST_TIMEOUT_S = 180.0


def endpoints_with_lock(store: str, redis_port: int, out: Path) -> Path:
    """endpoints.yml as it is (its ${VAR}s unquoted, so Rasa expands them) plus a `lock_store:` entry."""
    text = (ROOT / "endpoints.yml").read_text()
    text += (
        "\n# added by bench/lock_rasa.py\nlock_store:\n"
        f"  type: {STORES[store]}\n  url: 127.0.0.1\n  port: {redis_port}\n  db: 1\n  key_prefix: {store}\n"
    )
    out.write_text(text)
    return out


class TwoRasa(Stack):
    """Two Rasa servers with the same model, tracker store and lock store, on two ports."""

    def __init__(self, config: StackConfig, endpoints: Path, log_dir: Path) -> None:
        super().__init__(config, log_dir)
        self.endpoints = endpoints
        self.instances = [config, replace(config, rasa_port=free_port())]

    def service_list(self) -> list[Service]:
        model = latest_model(self.config.models_dir)
        listed = []
        for number, config in enumerate(self.instances, start=1):
            argv = rasa_argv(config, model)
            argv[argv.index("--endpoints") + 1] = str(self.endpoints)
            listed.append(Service(f"rasa-{number}", argv, rasa_ready(config), timeout_s=600))
        return listed

    @property
    def urls(self) -> list[str]:
        return [config.rasa_url for config in self.instances]


@contextmanager
def two_rasa(store: str, work_dir: Path) -> Iterator[TwoRasa]:
    """Redis and two Rasa instances with lock store `store` ("atomic" or "redis"), stopped whatever happens."""
    with redis_server(work_dir / "redis") as engine:
        config = StackConfig.on_free_ports(work_dir / "var")
        endpoints = endpoints_with_lock(store, engine.port, work_dir / "endpoints.yml")
        stack = TwoRasa(config, endpoints, work_dir / "logs")
        stack.start()
        try:
            yield stack
        finally:
            stack.stop()


@dataclass
class Hammered:
    sent: list[str]
    statuses: Counter[int]
    texts: list[str]  # the user messages in the tracker, in order
    seconds: float

    @property
    def missing(self) -> list[str]:
        return sorted(set(self.sent) - set(self.texts))

    @property
    def duplicated(self) -> list[str]:
        return sorted(text for text, count in Counter(self.texts).items() if count > 1)

    @property
    def clients_out_of_order(self) -> list[str]:
        order: dict[str, list[int]] = {}
        for text in self.texts:
            if text in self.sent:
                client, _says, index = text.split()
                order.setdefault(client, []).append(int(index))
        return sorted(client for client, seen in order.items() if seen != sorted(seen))

    def line(self, store: str) -> str:
        return (
            f"{store:7s} sent {len(self.sent):3d}  answered 200: {self.statuses.get(200, 0):3d}  "
            f"in tracker {len(self.texts):3d}  missing {len(self.missing):3d}  duplicated {len(self.duplicated):3d}  "
            f"clients out of order {len(self.clients_out_of_order):2d}  {len(self.sent) / self.seconds:5.1f} msg/s"
        )


def post(url: str, body: dict[str, str]) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, TimeoutError, OSError):
        return 0


def user_texts(stack: TwoRasa, conversation: str) -> list[str]:
    query = urllib.parse.urlencode({"token": stack.config.rasa_token, "include_events": "ALL"})
    url = f"{stack.urls[0]}/conversations/{conversation}/tracker?{query}"
    with urllib.request.urlopen(url, timeout=60) as response:
        tracker = json.loads(response.read())
    return [event.get("text") or "" for event in tracker["events"] if event.get("event") == "user"]


def hammer(stack: TwoRasa, clients: int, messages: int, conversation: str = "lock-hammer") -> Hammered:
    """`clients` threads, each sending `messages` messages to ONE conversation, alternating instances."""

    def client(number: int) -> list[tuple[str, int]]:
        done = []
        for index in range(messages):
            url = f"{stack.urls[(number + index) % len(stack.urls)]}/webhooks/rest/webhook"
            text = f"c{number} says {index}"
            done.append((text, post(url, {"sender": conversation, "message": text})))
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = [pair for done in pool.map(client, range(clients)) for pair in done]
    seconds = time.perf_counter() - started
    return Hammered(
        sent=[text for text, _status in results],
        statuses=Counter(status for _text, status in results),
        texts=user_texts(stack, conversation),
        seconds=seconds,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--messages", type=int, default=5, help="per client, one after the other")
    parser.add_argument("--only", choices=sorted(STORES), help="run one store only")
    args = parser.parse_args()
    if not any((ROOT / "models").glob("*.tar.gz")):
        raise SystemExit("no trained Rasa model in models/: run `make model`")
    print(f"{args.clients} clients x {args.messages} messages, one conversation, two Rasa instances")
    for store in [args.only] if args.only else ["redis", "atomic"]:
        with (
            tempfile.TemporaryDirectory(prefix=f"lock-rasa-{store}-") as tmp,
            two_rasa(store, Path(tmp)) as stack,
        ):
            load = os.getloadavg()[0]
            result = hammer(stack, args.clients, args.messages)
            print(f"{result.line(store)}  (load average {load:.2f} before)")


if __name__ == "__main__":
    main()
