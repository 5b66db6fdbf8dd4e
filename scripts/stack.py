"""Start and stop the ShopDesk processes: the one launcher behind `make run`, the live tests and the benchmarks.

Every process is a real server on 127.0.0.1: the Rasa server (Python 3.10 env), the rasa-sdk action server,
the bot web service, the chain node and the ledger sender (Python 3.11 env). Standard library only, so it runs
from either environment.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from scripts.ports import free_port
from scripts.processes import _start_time, descendants, end_group, exit_reason, signal_group

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
RASA_BIN = ROOT / ".venv" / "rasa" / "bin" / "rasa"
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"
APP_PYTHON = ROOT / ".venv" / "app" / "bin" / "python"
LOOPBACK = "127.0.0.1"

# The development defaults of the secrets the launcher hands to the processes (see .env.example); every
# process refuses them when SHOPDESK_ENV=production.
DEV_RASA_TOKEN = "dev-rasa-token"
DEV_HANDOFF_TOKEN = "dev-handoff-token"
DEV_ACTION_SERVER_TOKEN = "dev-action-token"
DEV_WIDGET_SESSION_SECRET = "dev-widget-session-secret"
DEV_VERIFICATION_KEY = "dev-verification-key"


class StackError(RuntimeError):
    """A process of the stack did not start or did not become healthy."""


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
    sentiment_dir: Path = (
        ROOT / "var" / "sentiment"
    )  # the action server's mood scorer (none there: the lexicon)
    rasa_port: int = 5005
    action_port: int = 5055
    bot_port: int = 8080
    chain_port: int = 8545
    rasa_token: str = DEV_RASA_TOKEN
    handoff_token: str = DEV_HANDOFF_TOKEN
    action_token: str = DEV_ACTION_SERVER_TOKEN
    widget_session_secret: str = DEV_WIDGET_SESSION_SECRET
    verification_key: str = DEV_VERIFICATION_KEY
    # Where each listener binds: loopback unless a deployment says otherwise (RASA_HOST, ACTION_SERVER_HOST,
    # BOT_HOST). The chain node always binds 127.0.0.1 (ledger/node.py).
    rasa_host: str = LOOPBACK
    action_host: str = LOOPBACK
    bot_host: str = LOOPBACK
    with_bot: bool = False
    with_chain: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def on_free_ports(cls, var_dir: Path, **overrides: object) -> StackConfig:
        """A config whose servers listen on ports nothing else uses, with random internal secrets (for tests
        and benchmarks: nothing may depend on the development defaults)."""
        values: dict[str, object] = {
            "rasa_port": free_port(),
            "action_port": free_port(),
            "bot_port": free_port(),
            "chain_port": free_port(),
            "action_token": secrets.token_urlsafe(24),
            "widget_session_secret": secrets.token_urlsafe(24),
            "verification_key": secrets.token_urlsafe(32),
        }
        values.update(overrides)
        return cls(var_dir=var_dir, **values)  # type: ignore[arg-type]

    @property
    def rasa_url(self) -> str:
        return f"http://{connect_host(self.rasa_host)}:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://{connect_host(self.action_host)}:{self.action_port}"

    @property
    def bot_url(self) -> str:
        return f"http://{connect_host(self.bot_host)}:{self.bot_port}"

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
                "SENTIMENT_DIR": str(self.sentiment_dir),
                "ACTION_SERVER_PORT": str(self.action_port),
                "ACTION_SERVER_HOST": self.action_host,
                "SANIC_HOST": self.action_host,  # rasa-sdk's own name for it
                "ACTION_SERVER_URL": f"{self.action_url}/webhook",
                "ACTION_SERVER_TOKEN": self.action_token,
                "TRACKER_URL": f"sqlite:///{self.var_dir / 'tracker.db'}",
                "EVENT_BROKER_DB": str(self.var_dir / "events.db"),
                "ANALYTICS_DB": str(self.var_dir / "analytics.db"),
                "RASA_URL": self.rasa_url,
                "RASA_HOST": self.rasa_host,
                "RASA_PORT": str(self.rasa_port),
                "RASA_TOKEN": self.rasa_token,
                "WIDGET_SESSION_SECRET": self.widget_session_secret,
                "VERIFICATION_KEY": self.verification_key,
                "HANDOFF_URL": self.bot_url,
                "HANDOFF_TOKEN": self.handoff_token,
                "BOT_HOST": self.bot_host,
                "BOT_PORT": str(self.bot_port),
                "HANDOFF_DB_PATH": str(self.var_dir / "handoff.db"),
                "LEDGER_RPC_URL": self.chain_url,
                "LEDGER_STATE_DIR": str(self.var_dir / "chain"),
            }
        )
        env.update(self.extra_env)
        return env


def connect_host(bind_host: str) -> str:
    """The address to reach a listener bound to `bind_host` from this machine: loopback for an empty or an
    unspecified (all-interfaces) address, the address itself otherwise."""
    host = bind_host.strip("[]")
    if not host:
        return LOOPBACK
    try:
        return LOOPBACK if ipaddress.ip_address(host).is_unspecified else bind_host
    except ValueError:  # a host name
        return bind_host


@dataclass
class Service:
    """One process of the stack, how to tell that it is ready, and which services it needs up first."""

    name: str
    argv: list[str]
    ready: Callable[[], bool]
    timeout_s: float = 120.0
    needs: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)  # on top of the stack's environment, this process only


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
            url = f"{config.rasa_url}/status?{urllib.parse.urlencode({'token': config.rasa_token})}"
            with urllib.request.urlopen(url, timeout=2.0) as response:
                status = json.loads(response.read())
            return bool(status.get("model_id") or status.get("fingerprint"))
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, ValueError):
            return False

    return check


def services(config: StackConfig) -> list[Service]:
    """The processes of the stack, in launch order: Rasa first (its model load is the long pole of a cold
    start), the others beside it; `needs` names what must be healthy before a process is launched."""
    model = latest_model(config.models_dir)
    app = str(APP_PYTHON)
    listed: list[Service] = [Service("rasa", rasa_argv(config, model), rasa_ready(config), timeout_s=300)]
    listed.append(
        Service(
            "actions",
            [app, "-m", "actions.server", "--actions", "actions", "-p", str(config.action_port)],
            lambda: http_ok(f"{config.action_url}/health"),
            timeout_s=300,  # its worker builds Services first (Sanic allows it 180 s: actions/server.py)
        )
    )
    if config.with_bot:
        listed.append(
            Service("bot", [app, "-m", "bot"], lambda: http_ok(f"{config.bot_url}/healthz"), timeout_s=180)
        )
    if config.with_chain:
        listed.append(
            Service("chain", [app, "-m", "ledger.node"], lambda: http_ok_rpc(config.chain_url), timeout_s=60)
        )
        listed.append(Service("ledger-sender", [app, "-m", "ledger.sender"], lambda: True, needs=("chain",)))
    return listed


def check_needs(listed: list[Service]) -> None:
    """StackError unless every service `needs` only services listed before it (no cycles, no typos)."""
    seen: set[str] = set()
    for service in listed:
        missing = [name for name in service.needs if name not in seen]
        if missing:
            known = ", ".join(s.name for s in listed)
            raise StackError(
                f"service {service.name!r} needs {', '.join(map(repr, missing))}, which is not listed before "
                f"it (services: {known})"
            )
        seen.add(service.name)


def rasa_argv(config: StackConfig, model: Path) -> list[str]:
    """`rasa run` through rasa_addons.serve, which reads RASA_TOKEN from the environment: no secret on the
    command line (where `ps` shows it to every user of the machine)."""
    return [
        str(RASA_PYTHON),
        "-m",
        "rasa_addons.serve",
        "run",
        "--enable-api",
        "--cors",
        "*",
        "-i",
        config.rasa_host,
        "-p",
        str(config.rasa_port),
        "--endpoints",
        str(ROOT / "endpoints.yml"),
        "--credentials",
        str(ROOT / "credentials.yml"),
        "-m",
        str(model),
    ]


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
    """The running processes; start() waits until every one is healthy, stop() ends them all.

    A crashed process is restarted by a `scripts.supervise.Supervisor` through `launch` and `is_ready`.
    """

    poll_s = 0.1  # how often start() checks the processes it waits for

    def __init__(self, config: StackConfig, log_dir: Path | None = None, *, parallel: bool = True) -> None:
        self.config = config
        self.parallel = parallel
        self.log_dir = log_dir or config.var_dir / "logs"
        self.services: dict[str, Service] = {}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.started_at: dict[str, float] = {}
        self.ready_after: dict[str, float] = {}
        self._env: dict[str, str] | None = None
        self._descendants: dict[str, list[tuple[int, str]]] = {}

    def start(self, on_ready: Callable[[str, float], None] | None = None) -> None:
        """Launch every service and wait until all are healthy; `on_ready(name, seconds)` as each one is.

        In parallel (the default) a service is launched as soon as the services it `needs` are healthy, so
        independent processes start side by side; `parallel=False` launches them one at a time in list order
        (the baseline bench/startup.py measures against). Any failure stops what was started and raises.
        """
        self.config.var_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._env = self.config.env()
        try:
            listed = self.service_list()
            check_needs(listed)
            for service in listed:
                self.services[service.name] = service
            if self.parallel:
                self._start_parallel(listed, on_ready)
            else:
                for service in listed:
                    self.launch(service.name)
                    self._wait_ready(service)
                    if on_ready is not None:
                        on_ready(service.name, self.ready_after[service.name])
        except BaseException:
            self.stop()
            raise

    def _start_parallel(self, listed: list[Service], on_ready: Callable[[str, float], None] | None) -> None:
        waiting = list(listed)  # not launched yet
        starting: list[Service] = []  # launched, not healthy yet
        while waiting or starting:
            for service in [s for s in waiting if all(n in self.ready_after for n in s.needs)]:
                waiting.remove(service)
                self.launch(service.name)
                starting.append(service)
            for service in list(starting):
                if self._check_started(service):
                    starting.remove(service)
                    if on_ready is not None:
                        on_ready(service.name, self.ready_after[service.name])
            if starting:
                time.sleep(self.poll_s)

    def _check_started(self, service: Service) -> bool:
        """Whether `service` just became healthy; StackError when it died or ran out of time."""
        process = self.processes[service.name]
        if process.poll() is not None:
            raise StackError(
                f"{service.name} {exit_reason(process.returncode)}:\n{self.log_tail(service.name)}"
            )
        if service.ready():
            self.ready_after[service.name] = time.monotonic() - self.started_at[service.name]
            logger.info("%s ready after %.1f s", service.name, self.ready_after[service.name])
            return True
        if time.monotonic() - self.started_at[service.name] > service.timeout_s:
            raise StackError(
                f"{service.name} not ready after {service.timeout_s:.0f} s:\n{self.log_tail(service.name)}"
            )
        return False

    def service_list(self) -> list[Service]:
        """The processes this stack starts, in start order (a topology with other processes overrides it)."""
        return services(self.config)

    def launch(self, name: str) -> subprocess.Popen[bytes]:
        """Start the process of service `name` (again) without waiting for it to be ready."""
        service = self.services[name]
        if self._env is None:
            self._env = self.config.env()
        log = (self.log_dir / f"{service.name}.log").open("ab")
        logger.info("starting %s (log: %s)", service.name, log.name)
        logger.debug("%s argv: %s", service.name, " ".join(service.argv))  # argv holds no secret
        self.started_at[service.name] = time.monotonic()
        try:
            process = subprocess.Popen(
                service.argv,
                cwd=ROOT,
                env={**self._env, **service.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()  # the child holds its own descriptor
        self.processes[service.name] = process
        return process

    def is_ready(self, name: str) -> bool:
        return self.services[name].ready()

    def _wait_ready(self, service: Service) -> None:
        while not self._check_started(service):
            time.sleep(self.poll_s)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def alive(self) -> dict[str, bool]:
        return {name: process.poll() is None for name, process in self.processes.items()}

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def remember_descendants(self, name: str) -> None:
        """Note the live descendants of `name`'s process, so `reap` finds them after it died, also those in
        a session of their own (the chain launcher starts anvil with one)."""
        process = self.processes.get(name)
        if process is not None and process.poll() is None:
            self._descendants[name] = descendants(process.pid)

    def reap(self, name: str, process: subprocess.Popen[bytes] | None = None) -> None:
        """After the main process of `name` died: kill what is left of its process group (Sanic workers,
        multiprocessing children) and its remembered descendants, so the restarted process finds its port
        free."""
        process = process or self.processes.get(name)
        if process is None:
            return
        signal_group(process.pid, signal.SIGKILL)
        for pid, started in self._descendants.pop(name, []):
            if _start_time(pid) == started:  # still the same process, not a reused pid
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def stop_one(self, name: str, timeout: float = 15.0) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        if process.poll() is not None:
            self.reap(name, process)
            return
        end_group(process, timeout=timeout)
        self.reap(name, process)

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
