"""The real Rasa server started through rasa_addons.serve, as the launcher starts it (no action server running).

Checks what only the running process shows: the token is not on its command line yet guards the API, the body
cap applies to Rasa's whole app, a custom action whose server is unreachable answers the technical-problem
text, and the tracker store from endpoints.yml stores redacted texts.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.rasa_addons.loopback import loopback_request

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"
TOKEN = "live-test-token-0123456789"

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _model() -> Path | None:
    chosen = os.environ.get("SHOPDESK_TEST_MODEL")
    if chosen:
        return Path(chosen)
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def _request(port: int, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    return loopback_request(port, method, path, data, timeout_s=120)


@pytest.fixture(scope="module")
def rasa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    model = _model()
    if not RASA_PYTHON.exists() or model is None:
        pytest.skip("no trained Rasa model in models/ (or .venv/rasa): run `make model`")
    tmp = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANIC_")}
    env.update(
        RASA_TOKEN=TOKEN,
        ACTION_SERVER_URL=f"http://127.0.0.1:{_free_port()}/webhook",  # nothing listens there
        ACTION_SERVER_TIMEOUT_S="5",
        TRACKER_URL=f"sqlite:///{tmp / 'tracker.db'}",
        EVENT_BROKER_DB=str(tmp / "events.db"),
        SHOPDESK_ENV="development",
    )
    env.pop("RASA_MAX_BODY_BYTES", None)
    env.pop("RASA_HOST", None)
    log = (tmp / "rasa.log").open("w")
    process = subprocess.Popen(
        [
            str(RASA_PYTHON),
            "-m",
            "rasa_addons.serve",
            "run",
            "--enable-api",
            "-p",
            str(port),
            "--endpoints",
            "endpoints.yml",
            "--credentials",
            "credentials.yml",
            "-m",
            str(model),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(900):  # bounded: 180 s
            if process.poll() is not None:
                pytest.fail(f"Rasa exited: {(tmp / 'rasa.log').read_text()[-3000:]}")
            try:
                if _request(port, "GET", f"/status?token={TOKEN}")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("Rasa did not start in 180 s")
        yield {"port": port, "pid": process.pid, "db": tmp / "tracker.db", "log": tmp / "rasa.log"}
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def test_the_token_guards_the_api_but_is_not_on_the_command_line(rasa: dict[str, Any]) -> None:
    cmdline = Path(f"/proc/{rasa['pid']}/cmdline").read_bytes().decode()
    assert "rasa_addons.serve" in cmdline
    assert TOKEN not in cmdline and "--auth-token" not in cmdline
    assert _request(rasa["port"], "GET", "/status")[0] == 401
    assert _request(rasa["port"], "GET", f"/status?token={TOKEN}")[0] == 200


def test_rasa_listens_on_loopback_only(rasa: dict[str, Any]) -> None:
    addresses = {a for *_, (a, *_) in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    for address in addresses - {"127.0.0.1"}:
        with socket.socket() as sock:
            sock.settimeout(2)
            assert sock.connect_ex((address, rasa["port"])) != 0, address


def test_the_body_cap_applies_to_rasas_whole_api(rasa: dict[str, Any]) -> None:
    events = [{"event": "slot", "name": "order_id", "value": "x" * 100}] * 1000  # ~100 KB
    status, _ = _request(rasa["port"], "POST", f"/conversations/cap/tracker/events?token={TOKEN}", events)
    assert status == 413


def test_an_unreachable_action_server_gives_the_technical_problem_reply(rasa: dict[str, Any]) -> None:
    status, reply = _request(
        rasa["port"], "POST", "/webhooks/rest/webhook", {"sender": "live-1", "message": "/review"}
    )
    assert status == 200
    texts = [m.get("text", "") for m in reply]
    assert texts and "technical problem" in texts[0] and "技术问题" in texts[0]
    status, reply = _request(
        rasa["port"], "POST", "/webhooks/rest/webhook", {"sender": "live-1", "message": "/greet"}
    )
    assert status == 200 and reply and "technical problem" not in reply[0].get("text", "")


def test_stored_texts_and_logs_are_redacted(rasa: dict[str, Any]) -> None:
    email = "chloe.martin@example.com"
    _request(
        rasa["port"], "POST", "/webhooks/rest/webhook", {"sender": "live-2", "message": f"hi, I am {email}"}
    )
    with sqlite3.connect(rasa["db"]) as connection:
        rows = [r[0] for r in connection.execute("SELECT data FROM events WHERE sender_id = 'live-2'")]
    assert rows and any("[email]" in r for r in rows)
    assert not any(email in r for r in rows if '"event": "slot"' not in r)
    assert email not in Path(rasa["log"]).read_text()
