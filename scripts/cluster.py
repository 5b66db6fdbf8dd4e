"""`make run-cluster`: the production topology on one box, started and supervised like `make run`.

    redis ─ postgres ─ epmd ─ rabbitmq ─ chain ─ ledger-sender ─ actions-1..M ─ nginx ─ rasa-1..N
          ─ analytics-sink ─ bot

nginx is the one address of Rasa (RASA_PORT, the port `make run`'s Rasa has) and of the action server
(ACTION_SERVER_PORT): the bot service, Rasa's action calls and every client go through it. The Rasa instances
share the Postgres tracker store, the Redis lock store and the RabbitMQ event stream (endpoints.cluster.yml); the
bot service's console reads the stream (CONSOLE_FEED=broker) and the analytics sink writes it to the events
table. A process that dies is restarted by `scripts.supervise.Supervisor`, engines included. docs/deploy.md.
Standard library only, like scripts/stack.py.
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path

from scripts import cluster_config, engines, nginx
from scripts.cluster_config import ClusterConfig, ClusterConfigError
from scripts.stack import (
    APP_PYTHON,
    ROOT,
    Service,
    Stack,
    StackError,
    http_ok,
    latest_model,
    rasa_argv,
    services,
)
from scripts.supervise import supervise_until_interrupted

logger = logging.getLogger("shopdesk.cluster")

ENDPOINTS = ROOT / "endpoints.cluster.yml"
SINK = "analytics-sink"


def rasa_status_ok(url: str, token: str) -> bool:
    """A Rasa instance is ready once /status reports a loaded model."""
    try:
        query = urllib.parse.urlencode({"token": token})
        with urllib.request.urlopen(f"{url}/status?{query}", timeout=2.0) as response:
            status = json.loads(response.read())
        return bool(status.get("model_id") or status.get("fingerprint"))
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, ValueError):
        return False


def with_option(argv: list[str], option: str, value: str) -> list[str]:
    """`argv` with the value after `option` replaced."""
    changed = list(argv)
    changed[changed.index(option) + 1] = value
    return changed


class ClusterStack(Stack):
    """The stack of the production topology: `service_list()` is the cluster's, `stop()` also removes the
    engines' throw-away dirs (sockets, nginx temp files)."""

    def __init__(self, cluster: ClusterConfig, log_dir: Path | None = None) -> None:
        super().__init__(cluster.stack, log_dir)
        self.cluster = cluster
        self.cluster.stack.extra_env = {**self.cluster.stack.extra_env, **cluster.env()}
        self._cleanups: list[Callable[[], None]] = []

    # --- the engines ----------------------------------------------------------------------------------

    def _redis(self) -> Service:
        data = self.cluster.data_dir / "redis"
        data.mkdir(parents=True, exist_ok=True)
        port = self.cluster.engine("REDIS_URL").port
        argv = engines.redis_argv(engines.find_binary("redis-server"), data, port)
        return Service("redis", argv, lambda: engines.redis_pings("127.0.0.1", port), timeout_s=30)

    def _postgres(self) -> Service:
        url = self.cluster.engine("POSTGRES_URL")
        binaries = {
            n: engines.find_binary(n, engines.POSTGRES_BIN_DIRS) for n in ("postgres", "initdb", "psql")
        }
        data = self.cluster.data_dir / "postgres"
        layout, cleanups = engines.postgres_layout(data)
        self._cleanups.extend(cleanups)
        if not (layout.pgdata / "PG_VERSION").exists():
            engines.run_checked(
                engines.initdb_argv(binaries["initdb"], layout), data / "initdb.log", "initdb"
            )
        psql = layout.as_user(
            [
                binaries["psql"],
                "-h",
                str(layout.socket_dir),
                "-p",
                str(url.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
            ]
        )
        sql = engines.setup_sql(url.user, url.password, url.path).encode()

        def ready() -> bool:  # the role and database exist (created, password set: idempotent)
            if not engines.tcp_answers("127.0.0.1", url.port):
                return False
            return subprocess.run(psql, input=sql, capture_output=True, check=False).returncode == 0

        return Service("postgres", engines.postgres_argv(binaries["postgres"], layout, url.port), ready, 60)

    def _rabbitmq(self) -> list[Service]:
        ports = self.cluster.rabbit_ports
        data = self.cluster.data_dir / "rabbitmq"
        engines.prepare_rabbitmq_dir(data)
        env = {
            k: v
            for k, v in engines.rabbitmq_env(data, ports).items()
            if k.startswith(("RABBITMQ_", "ERL_", "HOME"))
        }
        epmd = engines.epmd_argv(engines.find_binary("epmd"), ports.epmd)
        server = engines.find_binary("rabbitmq-server", (engines.RABBITMQ_SBIN,))
        return [
            Service("epmd", epmd, lambda: engines.tcp_answers("127.0.0.1", ports.epmd), timeout_s=10),
            Service(
                "rabbitmq",
                [server],
                lambda: engines.amqp_answers("127.0.0.1", ports.amqp),
                120,
                needs=("epmd",),
                env=env,
            ),
        ]

    def _nginx(self) -> Service:
        prefix = self.cluster.data_dir / "nginx"
        temp = nginx.temp_dir_for_workers()
        self._cleanups.append(lambda: shutil.rmtree(temp, ignore_errors=True))
        nginx.write_config(self.cluster.site(), prefix, temp)
        binary = engines.find_binary("nginx")
        nginx.check_config(binary, prefix)
        port = self.cluster.stack.rasa_port
        return Service("nginx", nginx.nginx_argv(binary, prefix), lambda: nginx.health_ok(port), timeout_s=20)

    # --- the application ------------------------------------------------------------------------------

    def _actions(self) -> list[Service]:
        app = str(APP_PYTHON)
        listed = []
        for index, port in enumerate(self.cluster.action_ports, start=1):
            argv = [app, "-m", "actions.server", "--actions", "actions", "-p", str(port)]
            url = f"http://127.0.0.1:{port}/health"
            listed.append(
                Service(  # actions.server allows its Sanic worker 180 s to start (actions.server.allow_slow_worker_start)
                    f"actions-{index}",
                    argv,
                    partial(http_ok, url),
                    timeout_s=240,
                    env={"ACTION_SERVER_PORT": str(port)},
                )
            )
        return listed

    def _rasa(self) -> list[Service]:
        config = self.cluster.stack
        base = with_option(rasa_argv(config, latest_model(config.models_dir)), "--endpoints", str(ENDPOINTS))
        listed = []
        for index, port in enumerate(self.cluster.rasa_ports, start=1):
            url = f"http://127.0.0.1:{port}"
            listed.append(
                Service(
                    f"rasa-{index}",
                    with_option(base, "-p", str(port)),
                    partial(rasa_status_ok, url, config.rasa_token),
                    timeout_s=300,
                    needs=("redis", "postgres", "rabbitmq"),
                    env={"RASA_PORT": str(port)},
                )
            )
        return listed

    def _sink(self) -> Service:
        ready_file = self.cluster.data_dir / "analytics-sink.ready"
        argv = [str(APP_PYTHON), "-m", "analytics.broker_sink", "--ready-file", str(ready_file)]

        def ready() -> bool:
            process = self.processes.get(SINK)
            try:
                return process is not None and ready_file.read_text().strip() == str(process.pid)
            except OSError:
                return False

        return Service(SINK, argv, ready, timeout_s=60, needs=("rabbitmq",))

    def _bot(self) -> Service:
        env = {k: v for k, v in self.cluster.env().items() if k.startswith("CONSOLE_")}
        url = f"{self.cluster.stack.bot_url}/healthz"
        return Service(
            "bot",
            [str(APP_PYTHON), "-m", "bot"],
            lambda: http_ok(url),
            timeout_s=60,
            needs=("rabbitmq",),
            env=env,
        )

    def service_list(self) -> list[Service]:
        local = self.cluster.local_engines
        listed: list[Service] = []
        if "redis" in local:
            listed.append(self._redis())
        if "postgres" in local:
            listed.append(self._postgres())
        if "rabbitmq" in local:
            listed.extend(self._rabbitmq())
        if self.cluster.stack.with_chain:  # the single-box stack's chain node and ledger sender
            listed.extend(s for s in services(self.cluster.stack) if s.name in ("chain", "ledger-sender"))
        listed.extend(self._actions())
        listed.append(self._nginx())
        listed.extend(self._rasa())
        listed.append(self._sink())
        if self.cluster.stack.with_bot:
            listed.append(self._bot())
        present = {service.name for service in listed}
        for service in listed:  # an engine on another machine is not ours to wait for
            service.needs = tuple(name for name in service.needs if name in present)
        return listed

    def stop(self) -> None:
        super().stop()
        while self._cleanups:
            self._cleanups.pop()()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    import os

    from scripts.run import config_from_env

    try:
        cluster = cluster_config.from_env(os.environ, config_from_env())
        stack = ClusterStack(cluster)
    except (ClusterConfigError, engines.EngineError) as error:
        print(f"run-cluster: {error}", file=sys.stderr)
        return 2
    began = time.monotonic()

    def report(name: str, seconds: float) -> None:
        print(
            f"  ✔ {name:<15} ready ({seconds:.1f} s, {time.monotonic() - began:.1f} s since start)",
            flush=True,
        )

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(
        f"Starting the ShopDesk cluster: {len(cluster.rasa_ports)} Rasa, {len(cluster.action_ports)} action "
        f"workers (logs in {stack.log_dir}/) ...",
        flush=True,
    )
    try:
        stack.start(on_ready=report)
    except (StackError, engines.EngineError) as error:
        print(f"The cluster did not start: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        stack.stop()
        return 130
    config = cluster.stack
    print(
        f"""
The ShopDesk cluster is up after {time.monotonic() - began:.1f} s.

  Rasa through nginx:      {config.rasa_url}  (REST: POST {config.rest_url})
  Actions through nginx:   {config.action_url}/health
  Shop / agent console:    {config.bot_url}/  {config.bot_url}/console
  Engines:                 {", ".join(cluster_config.shown(u) for u in cluster.engine_urls.values())}

Press Ctrl-C to stop everything. A process that crashes is restarted.""",
        flush=True,
    )
    return supervise_until_interrupted(stack, "the cluster")


if __name__ == "__main__":
    sys.exit(main())
