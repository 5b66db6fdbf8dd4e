"""Rasa's custom-action calls with rasa_addons.action_domain, against a real rasa-sdk action server.

Run with Rasa's interpreter from the repository root: `.venv/rasa/bin/python tests/rasa_addons/action_domain_probe.py`.
Starts rasa-sdk 3.21 (the app environment's, the one the action server runs) serving digest_actions.py, calls
its action through Rasa's `RemoteAction` five times — restarting the server between the third and the fourth
call and changing the domain before the fifth — and prints, for each call, what the action saw and whether the
domain travelled; then a call to an action the server does not know.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
APP_PYTHON = ROOT / ".venv" / "app" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [str(APP_PYTHON), "-m", "rasa_sdk", "--actions", "tests.rasa_addons.digest_actions", "-p", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError("rasa-sdk did not start")


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(timeout=30)


def facts() -> dict[str, Any]:
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.exceptions import RasaException
    from rasa.utils.endpoints import EndpointConfig

    from rasa_addons import action_domain

    action_domain.install_domain_digest()
    action_domain.install_domain_digest()  # idempotent
    domain = Domain.load(str(ROOT / "domain"))
    more = Domain.from_dict(
        {**domain.as_dict(), "responses": {**domain.responses, "utter_probe_extra": [{"text": "x"}]}}
    )
    tracker = DialogueStateTracker.from_events(
        "probe", [ActionExecuted("action_listen"), UserUttered("hi")], domain.slots
    )
    port = free_port()
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    out: dict[str, Any] = {"responses": len(domain.responses), "calls": []}

    def call(name: str, with_domain: Domain) -> str:
        before = dict(action_domain.SENT)
        events = asyncio.run(RemoteAction(name, endpoint).run(None, None, tracker, with_domain))  # type: ignore[arg-type]
        texts = [e.text for e in events if isinstance(e, BotUttered)]
        delta = {k: action_domain.SENT[k] - before[k] for k in before}
        out["calls"].append({"saw": texts, "sent": delta})
        return texts[0] if texts else ""

    server = start_server(port)
    try:
        for _ in range(3):
            call("action_digest_probe", domain)
        stop(server)
        server = start_server(port)  # a fresh action server: no domain held
        call("action_digest_probe", domain)
        call("action_digest_probe", more)
        before = dict(action_domain.SENT)
        try:
            asyncio.run(RemoteAction("action_nobody_serves", endpoint).run(None, None, tracker, domain))  # type: ignore[arg-type]
            out["unknown"] = "no error"
        except RasaException as error:
            out["unknown"] = type(error).__name__
        out["unknown_resent"] = action_domain.SENT["resent"] - before["resent"]
    finally:
        stop(server)
    return out


if __name__ == "__main__":
    print("PROBE " + json.dumps(facts()))
