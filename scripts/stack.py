"""Start and stop the ShopDesk processes: the one launcher behind `make run`, the live tests and the benchmarks.

Every process is a real server on 127.0.0.1: the Rasa server (Python 3.10 env), the rasa-sdk action server,
the bot web service, the chain node and the ledger sender (Python 3.11 env). Standard library only, so it runs
from either environment.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
RASA_BIN = ROOT / ".venv" / "rasa" / "bin" / "rasa"
APP_PYTHON = ROOT / ".venv" / "app" / "bin" / "python"


class StackError(RuntimeError):
    """A process of the stack did not start or did not become healthy."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def latest_model(models_dir: Path) -> Path:
    """The newest trained Rasa model in `models_dir`."""
    candidates = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise StackError(f"no trained Rasa model in {models_dir}: run `make model` first")
    return candidates[-1]


@dataclass
class StackConfig:
    """Where the stack keeps its state and which parts it starts."""

    var_dir: Path
    models_dir: Path = ROOT / "models"
    index_dir: Path = ROOT / "var" / "index"
    responder_dir: Path = ROOT / "var" / "responder"
    rasa_port: int = 5005
    action_port: int = 5055
    bot_port: int = 8080
    chain_port: int = 8545
    rasa_token: str = "dev-rasa-token"
    handoff_token: str = "dev-handoff-token"
    with_bot: bool = False
    with_chain: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def on_free_ports(cls, var_dir: Path, **overrides: object) -> StackConfig:
        """A config whose servers listen on ports nothing else uses (for tests and benchmarks)."""
        ports = {
            "rasa_port": free_port(),
            "action_port": free_port(),
            "bot_port": free_port(),
            "chain_port": free_port(),
        }
        ports.update(overrides)  # type: ignore[arg-type]
        return cls(var_dir=var_dir, **ports)  # type: ignore[arg-type]

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.action_port}"

    @property
    def bot_url(self) -> str:
        return f"http://127.0.0.1:{self.bot_port}"

    @property
    def chain_url(self) -> str:
        return f"http://127.0.0.1:{self.chain_port}"

    @property
    def shop_db(self) -> Path:
        return self.var_dir / "shop.db"

    @property
    def rest_url(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"

    def env(self) -> dict[str, str]:
        """The environment every process of this stack runs with (see .env.example)."""
        env = dict(os.environ)
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "RASA_TELEMETRY_ENABLED": "false",
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "TOKENIZERS_PARALLELISM": "false",
                "SHOP_DB_PATH": str(self.shop_db),
                "INDEX_DIR": str(self.index_dir),
                "RESPONDER_DIR": str(self.responder_dir),
                "ACTION_SERVER_PORT": str(self.action_port),
                "ACTION_SERVER_URL": f"{self.action_url}/webhook",
                "TRACKER_URL": f"sqlite:///{self.var_dir / 'tracker.db'}",
                "RASA_URL": self.rasa_url,
                "RASA_TOKEN": self.rasa_token,
                "HANDOFF_URL": self.bot_url,
                "HANDOFF_TOKEN": self.handoff_token,
                "BOT_HOST": "127.0.0.1",
                "BOT_PORT": str(self.bot_port),
                "HANDOFF_DB_PATH": str(self.var_dir / "handoff.db"),
                "LEDGER_RPC_URL": self.chain_url,
                "LEDGER_STATE_DIR": str(self.var_dir / "chain"),
            }
        )
        env.update(self.extra_env)
        return env


@dataclass
class Service:
    """One process of the stack and how to tell that it is ready."""

    name: str
    argv: list[str]
    ready: Callable[[], bool]
    timeout_s: float = 120.0


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """Whether `url` answers a GET with a 2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def rasa_ready(config: StackConfig) -> Callable[[], bool]:
    """Rasa is ready once /status reports a loaded model."""

    def check() -> bool:
        try:
            url = f"{config.rasa_url}/status?token={config.rasa_token}"
            with urllib.request.urlopen(url, timeout=2.0) as response:
                status = json.loads(response.read())
            return bool(status.get("model_id") or status.get("fingerprint"))
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, ValueError):
            return False

    return check


def services(config: StackConfig) -> list[Service]:
    """The processes of the stack, in start order."""
    model = latest_model(config.models_dir)
    app = str(APP_PYTHON)
    listed: list[Service] = []
    if config.with_chain:
        listed.append(
            Service("chain", [app, "-m", "ledger.node"], lambda: http_ok_rpc(config.chain_url), timeout_s=60)
        )
        listed.append(Service("ledger-sender", [app, "-m", "ledger.sender"], lambda: True))
    listed.append(
        Service(
            "actions",
            [app, "-m", "actions.server", "--actions", "actions", "-p", str(config.action_port)],
            lambda: http_ok(f"{config.action_url}/health"),
        )
    )
    listed.append(
        Service(
            "rasa",
            [
                str(RASA_BIN),
                "run",
                "--enable-api",
                "--auth-token",
                config.rasa_token,
                "--cors",
                "*",
                "-i",
                "127.0.0.1",
                "-p",
                str(config.rasa_port),
                "--endpoints",
                str(ROOT / "endpoints.yml"),
                "--credentials",
                str(ROOT / "credentials.yml"),
                "-m",
                str(model),
            ],
            rasa_ready(config),
            timeout_s=180,
        )
    )
    if config.with_bot:
        listed.append(
            Service("bot", [app, "-m", "bot"], lambda: http_ok(f"{config.bot_url}/healthz"), timeout_s=60)
        )
    return listed


def http_ok_rpc(url: str) -> bool:
    """Whether a JSON-RPC node answers eth_chainId."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=2.0) as response:
            return "result" in json.loads(response.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, ValueError):
        return False


class Stack:
    """The running processes; start() waits until every one is healthy, stop() ends them all."""

    def __init__(self, config: StackConfig, log_dir: Path | None = None) -> None:
        self.config = config
        self.log_dir = log_dir or config.var_dir / "logs"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.started_at: dict[str, float] = {}
        self.ready_after: dict[str, float] = {}

    def start(self, on_ready: Callable[[str, float], None] | None = None) -> None:
        self.config.var_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = self.config.env()
        try:
            for service in services(self.config):
                self._start_one(service, env)
                self._wait_ready(service)
                if on_ready is not None:
                    on_ready(service.name, self.ready_after[service.name])
        except BaseException:
            self.stop()
            raise

    def _start_one(self, service: Service, env: dict[str, str]) -> None:
        log = (self.log_dir / f"{service.name}.log").open("ab")
        logger.info("starting %s: %s", service.name, " ".join(service.argv))
        self.started_at[service.name] = time.monotonic()
        self.processes[service.name] = subprocess.Popen(
            service.argv,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _wait_ready(self, service: Service) -> None:
        process = self.processes[service.name]
        deadline = time.monotonic() + service.timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StackError(
                    f"{service.name} exited with code {process.returncode}:\n{self.log_tail(service.name)}"
                )
            if service.ready():
                self.ready_after[service.name] = time.monotonic() - self.started_at[service.name]
                logger.info("%s ready after %.1f s", service.name, self.ready_after[service.name])
                return
            time.sleep(0.25)
        raise StackError(
            f"{service.name} not ready after {service.timeout_s:.0f} s:\n{self.log_tail(service.name)}"
        )

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def alive(self) -> dict[str, bool]:
        return {name: process.poll() is None for name, process in self.processes.items()}

    def stop_one(self, name: str, timeout: float = 15.0) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop_one(name)


@contextmanager
def running_stack(config: StackConfig, log_dir: Path | None = None) -> Iterator[Stack]:
    """Start the stack, yield it, and stop it whatever happens."""
    stack = Stack(config, log_dir)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
