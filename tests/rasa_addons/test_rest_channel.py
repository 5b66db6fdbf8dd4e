"""The REST channel inside Rasa's own Sanic app, over real HTTP: every rejection and what an accepted message carries.

The server (rest_probe_server.py) runs in Rasa's environment with the app built by rasa.core.run.configure_app
and the environment serve.py exports; its agent echoes what reached the dialogue.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rasa_addons.checks import client_id
from tests.rasa_addons.loopback import loopback_request

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"
WEBHOOK = "/webhooks/rest/webhook"

pytestmark = pytest.mark.skipif(
    not RASA_PYTHON.exists(), reason="Rasa's environment (.venv/rasa) is not set up"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SERVER_LOG: dict[
    str, Path
] = {}  # the probe server's output (stdout and stderr), written by the `port` fixture


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANIC_")}
    env.pop("RASA_MAX_BODY_BYTES", None)
    log = SERVER_LOG["path"] = tmp_path_factory.mktemp("rest-probe") / "server.log"
    handle = log.open("wb")
    process = subprocess.Popen(
        [str(RASA_PYTHON), str(Path(__file__).with_name("rest_probe_server.py")), str(port)],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(600):  # bounded: 120 s
            if process.poll() is not None:
                pytest.fail(f"the probe server exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                status, _ = _request(port, "GET", "/webhooks/rest/", b"")
                if status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the probe server did not start in 120 s")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        handle.close()


def _request(
    port: int, method: str, path: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    return loopback_request(port, method, path, body, headers)


def _post(port: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
    return _request(port, "POST", WEBHOOK, json.dumps(payload).encode(), headers)


def _echo(reply: Any) -> dict[str, Any]:
    assert isinstance(reply, list) and reply, reply
    return json.loads(reply[0]["text"])


def test_a_body_over_64_kb_is_refused_from_its_content_length_before_it_is_read(port: int) -> None:
    # Announce 10 MB and send almost nothing: Sanic's old 100 MB default would wait for the body.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            (
                f"POST {WEBHOOK} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {10 * 1024 * 1024}\r\n\r\n{{"
            ).encode()
        )
        head = b""
        while b"}" not in head:  # bounded by the socket timeout
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    text = head.decode(errors="replace")
    assert text.startswith("HTTP/1.1 413"), text
    assert "over the limit of 65536 bytes" in text, text


def test_a_complete_body_over_64_kb_is_refused(port: int) -> None:
    status, _ = _post(
        port, {"sender": "big", "message": "hi", "metadata": {"pad": "x" * 100}, "x": "y" * 70_000}
    )
    assert status == 413


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({"sender": "m1", "message": "hi", "metadata": [1, 2]}, "metadata", "not a list"),
        ({"sender": "m2", "message": "hi", "metadata": {"a": {"b": 1}}}, "metadata", "metadata.a"),
        ({"sender": "m3", "message": "hi", "metadata": "oops"}, "metadata", "JSON object"),
        ({"sender": "m4", "message": "hi", "metadata": {"a": "x" * 201}}, "metadata", "limit is 200"),
        (
            {"sender": "c1", "message": "hi", "input_channel": "socketio"},
            "input_channel",
            "set by the server",
        ),
        ({"sender": "p1", "message": "/restart"}, "message", "system command"),
        ({"sender": "p2", "message": "  /session_start"}, "message", "system command"),
        ({"sender": "p3", "message": "/drop_tables"}, "message", "not a command"),
        (
            {"sender": "p4", "message": '/inform{"verified_order_id":"SD-100002"}'},
            "message",
            "verified_order_id",
        ),
        ({"sender": "p5", "message": '/inform{"order_id":["SD-1","SD-2"]}'}, "message", "text or a number"),
        ({"sender": "p6", "message": "/affirm@0.3"}, "message", "confidence"),
    ],
)
def test_bad_requests_are_refused_with_a_clear_400(
    port: int, payload: dict[str, Any], field: str, words: str
) -> None:
    status, reply = _post(port, payload)
    assert status == 400, reply
    assert reply["field"] == field
    assert words in reply["error"]


@pytest.mark.parametrize(
    "message",
    [
        "/affirm",
        "/deny",
        "/contact_human_agent",
        '/inform{"order_id":"SD-100042"}',
        '/inform{"line_item": "P-0001", "line_quantity": "2"}',
        '/product_question{"product":"P-0001"}',
        "where is my order SD-100042?",
        "a/b test",
    ],
)
def test_button_payloads_and_plain_text_reach_the_dialogue(port: int, message: str) -> None:
    status, reply = _post(port, {"sender": "ok-1", "message": message})
    assert status == 200, reply
    assert _echo(reply)["text"] == message


def test_the_server_sets_input_channel_and_shopdesk_client(port: int) -> None:
    status, reply = _post(
        port,
        {
            "sender": "meta-1",
            "message": "hello",
            "input_channel": "rest",
            "metadata": {"page": "/shop", "shopdesk_client": "forged", "shopdesk_role": "agent", "n": 3},
        },
    )
    assert status == 200, reply
    seen = _echo(reply)
    assert seen["input_channel"] == "rest"
    assert seen["metadata"] == {
        "page": "/shop",
        "n": 3,
        "shopdesk_client": client_id("dev-widget-session-secret", "127.0.0.1"),
    }


def test_a_failed_turn_is_logged_without_the_shoppers_text(port: int) -> None:
    text = "busy: my address is 12 Quiet Lane and my card ends 4242"
    status, reply = _post(port, {"sender": "busy-1", "message": text})
    assert (status, reply) == (200, []), "answered as Rasa does: the replies so far (none)"
    deadline = time.monotonic() + 10
    log = ""
    while "was not handled" not in log and time.monotonic() < deadline:
        time.sleep(0.1)
        log = SERVER_LOG["path"].read_text(errors="replace")
    assert "a message of conversation busy-1 was not handled: LockError" in log
    assert "Quiet Lane" not in log and "4242" not in log and "rest.message.received.failure" not in log
