"""Fixtures for the live cluster tests (marker `cluster`, `make test-cluster`): one ClusterStack per module.

Each module's cluster is the production topology on free ports (2 Rasa instances, 2 action workers, nginx,
Postgres, Redis, RabbitMQ, the analytics sink, the bot service on the broker feed, the chain), with random
internal secrets and a freshly seeded demo shop in a temporary directory.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from scripts.cluster import ClusterStack
from scripts.cluster_config import ClusterConfig
from scripts.engines import EngineError
from scripts.stack import APP_PYTHON, RASA_PYTHON, ROOT, StackError
from tests.conftest import LOG_DIR

CLUSTER_LOG_DIR = LOG_DIR / "cluster"


def start_cluster(var_dir: Path, name: str, rasa_instances: int = 2) -> ClusterStack:
    if not any((ROOT / "models").glob("*.tar.gz")):
        pytest.fail("no trained Rasa model in models/: `make test-cluster` trains one first")
    config = ClusterConfig.on_free_ports(
        var_dir,
        rasa_instances=rasa_instances,
        with_bot=(ROOT / "bot" / "__main__.py").exists(),
        with_chain=(ROOT / "ledger" / "node.py").exists(),
    )
    subprocess.run(
        [str(APP_PYTHON), "-m", "actions.seed_shop", "--db", str(config.stack.shop_db)],
        cwd=ROOT,
        env=config.stack.env(),
        check=True,
        capture_output=True,
    )
    log_dir = CLUSTER_LOG_DIR / name
    log_dir.mkdir(parents=True, exist_ok=True)
    for stale in log_dir.glob("*.log"):
        stale.unlink()
    try:
        stack = ClusterStack(config, log_dir=log_dir)
        began = time.monotonic()
        with (log_dir / "ready.txt").open("w") as ready:  # each step's start-up seconds (docs/deploy.md)

            def note(service: str, seconds: float) -> None:
                ready.write(f"{service} {seconds:.1f} s (at {time.monotonic() - began:.1f} s)\n")
                ready.flush()

            stack.start(on_ready=note)
    except (StackError, EngineError) as error:
        pytest.fail(f"the cluster did not start: {error}")
    return stack


@pytest.fixture(scope="module")
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ClusterStack]:
    name = request.module.__name__.rsplit(".", 1)[-1]
    stack = start_cluster(tmp_path_factory.mktemp(name), name)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        yield session


def tracker_events(stack: ClusterStack, sender: str) -> list[dict[str, Any]]:
    """The conversation's events as Rasa (any instance, through nginx) reads them from Postgres."""
    config = stack.config
    query = urllib.parse.urlencode({"token": config.rasa_token, "include_events": "ALL"})
    url = f"{config.rasa_url}/conversations/{urllib.parse.quote(sender, safe='')}/tracker?{query}"
    with urllib.request.urlopen(url, timeout=30) as response:
        events: list[dict[str, Any]] = json.loads(response.read())["events"]
    return events


def user_texts(events: list[dict[str, Any]]) -> list[str]:
    return [str(event.get("text")) for event in events if event.get("event") == "user"]


def postgres_user_texts(stack: ClusterStack, sender: str) -> list[str]:
    """The user messages of `sender` straight from the Postgres tracker store (Rasa's `events` table)."""
    script = (
        "import json, sys, psycopg2\n"
        "c = psycopg2.connect(sys.argv[1]); cur = c.cursor()\n"
        "cur.execute(\"SELECT data FROM events WHERE sender_id = %s AND type_name = 'user' ORDER BY id\", (sys.argv[2],))\n"
        "print(json.dumps([json.loads(row[0]).get('text') for row in cur.fetchall()]))\n"
    )
    url = stack.cluster.engine_urls["POSTGRES_URL"]
    done = subprocess.run(
        [str(RASA_PYTHON), "-c", script, url, sender], capture_output=True, text=True, check=True
    )
    texts: list[str] = json.loads(done.stdout)
    return texts
