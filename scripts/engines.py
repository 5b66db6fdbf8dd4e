"""Real engines (Redis, RabbitMQ, Postgres, nginx) as child processes on free ports, their data in a given dir.

    with redis_server(tmp / "redis") as redis:      # waits until it answers PING
        client = Redis.from_url(redis.url)           # redis://127.0.0.1:P/0
    # stopped (SIGTERM, then SIGKILL), whatever happened

Each engine is the Debian binary `make cluster-deps` installs; a missing one raises `EngineError` naming the
binary and that target. The argv/config builders (`redis_argv`, `rabbitmq_env`, ...) start nothing, so the unit
tests check them without engines. `make run-cluster` (scripts/cluster.py) starts the same engines as
supervised `Service`s through `engine_services`. Standard library only, like scripts/stack.py.
"""

from __future__ import annotations

import logging
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from scripts.processes import end_group, signal_group
from scripts.stack import LOOPBACK, free_port

logger = logging.getLogger(__name__)

DEPS_HINT = (
    "install the engines with `make cluster-deps` (Debian: redis-server postgresql rabbitmq-server nginx)"
)


class EngineError(RuntimeError):
    """An engine is not installed, did not start, or did not answer in time."""


def find_binary(name: str, extra_dirs: tuple[str, ...] = ()) -> str:
    """The path of executable `name` (PATH, then `extra_dirs`); EngineError naming it when it is missing."""
    for directory in extra_dirs:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found is None:
        raise EngineError(f"{name} not found: {DEPS_HINT}")
    return found


@dataclass
class Engine:
    """A started engine: where it listens and how to stop it."""

    name: str
    host: str
    port: int
    url: str
    process: subprocess.Popen[bytes] | None = None
    data_dir: Path | None = None
    on_stop: list[Callable[[], None]] = field(default_factory=list)
    stop_signal: signal.Signals = (
        signal.SIGTERM
    )  # Postgres: SIGINT (fast shutdown; SIGTERM waits for clients)

    def stop(self, timeout: float = 20.0) -> None:
        """Signal the engine's process group, SIGKILL it after `timeout` s, then run the extra clean-ups."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            end_group(process, self.stop_signal, timeout)
        if process is not None:
            signal_group(process.pid, signal.SIGKILL)  # whatever is left of its group
        while self.on_stop:
            self.on_stop.pop()()


def tcp_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(
    check: Callable[[], bool],
    what: str,
    timeout_s: float,
    process: subprocess.Popen[bytes] | None,
    log: Path | None = None,
) -> None:
    """Poll `check` until it passes; EngineError (with the log's tail) when the process died or time ran out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise EngineError(f"{what} exited with code {process.returncode}:\n{_tail(log)}")
        if check():
            return
        time.sleep(0.2)
    raise EngineError(f"{what} did not answer within {timeout_s:.0f} s:\n{_tail(log)}")


def _tail(log: Path | None, lines: int = 30) -> str:
    if log is None or not log.exists():
        return "(no log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def spawn(
    argv: list[str],
    log: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start `argv` in a session of its own (so stop() ends its whole group), output appended to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as handle:
        return subprocess.Popen(
            argv,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )


# --- Redis ----------------------------------------------------------------------------------------------


def redis_argv(binary: str, data_dir: Path, port: int, host: str = LOOPBACK) -> list[str]:
    """redis-server in the foreground on host:port, its files in `data_dir`; no snapshots (a lock store)."""
    return [
        binary,
        "--bind", host,
        "--port", str(port),
        "--dir", str(data_dir),
        "--daemonize", "no",
        "--save", "",
        "--appendonly", "no",
        "--protected-mode", "no",
        "--pidfile", str(data_dir / "redis.pid"),
        "--logfile", "",  # stdout: the log file spawn() opened
    ]  # fmt: skip


def redis_pings(host: str, port: int) -> bool:
    """Whether a Redis server on host:port answers PING with PONG."""
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def redis_server(data_dir: Path, port: int | None = None, timeout_s: float = 30.0) -> Iterator[Engine]:
    """A Redis server on 127.0.0.1 (a free port unless given), its files in `data_dir`."""
    binary = find_binary("redis-server")
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = data_dir / "redis.log"
    process = spawn(redis_argv(binary, data_dir, port), log)
    engine = Engine("redis", LOOPBACK, port, f"redis://{LOOPBACK}:{port}/0", process, data_dir)
    try:
        wait_until(
            lambda: redis_pings(LOOPBACK, port), f"redis-server on port {port}", timeout_s, process, log
        )
        logger.info("redis ready on %s", engine.url)
        yield engine
    finally:
        engine.stop()


# --- RabbitMQ -------------------------------------------------------------------------------------------

RABBITMQ_SBIN = "/usr/lib/rabbitmq/bin"  # Debian's /usr/sbin wrapper `su`s to the rabbitmq user and cds away
AMQP_HEADER = b"AMQP\x00\x00\x09\x01"


@dataclass(frozen=True)
class RabbitPorts:
    """The three ports one RabbitMQ node needs: AMQP, Erlang distribution and its own epmd."""

    amqp: int
    dist: int
    epmd: int

    @classmethod
    def free(cls, amqp: int | None = None) -> RabbitPorts:
        return cls(amqp or free_port(), free_port(), free_port())

    @property
    def nodename(self) -> str:
        return f"sd{self.amqp}@localhost"


def rabbitmq_env(data_dir: Path, ports: RabbitPorts, host: str = LOOPBACK) -> dict[str, str]:
    """The environment of one RabbitMQ node: unique node name, every file in `data_dir`, no plugins, no
    configuration from /etc, its own epmd, the Erlang cookie in `data_dir` (HOME)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("RABBITMQ_", "ERL_"))}
    env.update(
        {
            "HOME": str(data_dir),
            "RABBITMQ_NODENAME": ports.nodename,
            "RABBITMQ_NODE_IP_ADDRESS": host,
            "RABBITMQ_NODE_PORT": str(ports.amqp),
            "RABBITMQ_DIST_PORT": str(ports.dist),
            "ERL_EPMD_PORT": str(ports.epmd),
            "ERL_EPMD_ADDRESS": LOOPBACK,
            "RABBITMQ_MNESIA_BASE": str(data_dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(data_dir / "log"),
            "RABBITMQ_LOGS": "-",  # stdout: the log file spawn() opened
            "RABBITMQ_PID_FILE": str(data_dir / "rabbitmq.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(data_dir / "enabled_plugins"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(data_dir / "plugins-expand"),
            "RABBITMQ_CONFIG_FILE": str(data_dir / "rabbitmq"),  # absent: the defaults
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(data_dir / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(data_dir / "rabbitmq-env.conf"),
        }
    )
    return env


def prepare_rabbitmq_dir(data_dir: Path) -> None:
    """The files a node reads at boot: an empty plugin list and an empty env file."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "enabled_plugins").write_text("[].\n")
    (data_dir / "rabbitmq-env.conf").write_text("")


def amqp_answers(host: str, port: int) -> bool:
    """Whether an AMQP 0-9-1 broker on host:port answers the protocol header with Connection.Start."""
    try:
        with socket.create_connection((host, port), timeout=2.0) as sock:
            sock.sendall(AMQP_HEADER)
            frame = sock.recv(7)
            return len(frame) == 7 and frame[0] == 1  # a METHOD frame (Connection.Start)
    except OSError:
        return False


@contextmanager
def rabbitmq_server(data_dir: Path, port: int | None = None, timeout_s: float = 90.0) -> Iterator[Engine]:
    """A RabbitMQ node on 127.0.0.1 (a free AMQP port unless given), user guest, its files in `data_dir`."""
    server = find_binary("rabbitmq-server", (RABBITMQ_SBIN,))
    epmd_binary = find_binary("epmd")
    prepare_rabbitmq_dir(data_dir)
    ports = RabbitPorts.free(port)
    env = rabbitmq_env(data_dir, ports)
    log = data_dir / "rabbitmq.log"
    epmd = spawn(epmd_argv(epmd_binary, ports.epmd), data_dir / "epmd.log", env)
    engine = Engine("rabbitmq", LOOPBACK, ports.amqp, amqp_url(ports.amqp), None, data_dir)
    engine.on_stop.append(lambda: end_group(epmd, timeout=5))
    try:
        wait_until(lambda: tcp_answers(LOOPBACK, ports.epmd), f"epmd on port {ports.epmd}", 10, epmd)
        engine.process = spawn([server], log, env, cwd=data_dir)
        wait_until(lambda: amqp_answers(LOOPBACK, ports.amqp), f"rabbitmq-server on port {ports.amqp}",
                   timeout_s, engine.process, log)  # fmt: skip
        logger.info("rabbitmq ready on port %d (node %s)", ports.amqp, ports.nodename)
        yield engine
    finally:
        engine.stop()


def epmd_argv(binary: str, port: int) -> list[str]:
    """epmd in the foreground on loopback: one per node, so nodes of parallel tests never share one."""
    return [binary, "-port", str(port), "-address", LOOPBACK]


def amqp_url(port: int, host: str = LOOPBACK) -> str:
    return f"amqp://guest:guest@{host}:{port}/"


# --- Postgres -------------------------------------------------------------------------------------------

POSTGRES_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")
POSTGRES_OS_USER = "postgres"  # postgres refuses to run as root
POSTGRES_DB = "rasa"
POSTGRES_ROLE = "rasa"


@dataclass(frozen=True)
class PostgresLayout:
    """Where one Postgres cluster keeps its files and socket, and which OS user runs it ('' = this one)."""

    pgdata: Path
    socket_dir: Path
    os_user: str

    def as_user(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", self.os_user, "--", *argv] if self.os_user else argv


def postgres_argv(binary: str, layout: PostgresLayout, port: int, host: str = LOOPBACK) -> list[str]:
    """postgres in the foreground on host:port, its Unix socket in the layout's socket dir."""
    return layout.as_user([
        binary, "-D", str(layout.pgdata), "-p", str(port), "-k", str(layout.socket_dir),
        "-c", f"listen_addresses={host}", "-c", "logging_collector=off",
    ])  # fmt: skip


def initdb_argv(binary: str, layout: PostgresLayout) -> list[str]:
    """A new cluster: local (socket) connections trusted, TCP ones need a password (scram-sha-256)."""
    return layout.as_user([
        binary, "-D", str(layout.pgdata), "-U", "postgres", "--auth-local=trust",
        "--auth-host=scram-sha-256", "--encoding=UTF8", "--no-instructions",
    ])  # fmt: skip


def setup_sql(role: str, password: str, db: str) -> str:
    """Create (or update the password of) the role, and its database; idempotent, run by psql."""
    quoted = password.replace("'", "''")
    return (
        f"SELECT 'CREATE ROLE {role} LOGIN' WHERE NOT EXISTS "
        f"(SELECT FROM pg_roles WHERE rolname = '{role}')\\gexec\n"
        f"ALTER ROLE {role} LOGIN PASSWORD '{quoted}';\n"
        f"SELECT 'CREATE DATABASE {db} OWNER {role}' WHERE NOT EXISTS "
        f"(SELECT FROM pg_database WHERE datname = '{db}')\\gexec\n"
    )


def postgres_url(port: int, password: str, host: str = LOOPBACK, role: str = POSTGRES_ROLE,
                 db: str = POSTGRES_DB) -> str:  # fmt: skip
    return f"postgresql://{role}:{password}@{host}:{port}/{db}"


def postgres_layout(data_dir: Path) -> tuple[PostgresLayout, list[Callable[[], None]]]:
    """The cluster's files in `data_dir`/pgdata and a short socket dir in /tmp (Unix socket paths are limited
    to 107 bytes). As root both belong to the `postgres` OS user; where that user cannot reach `data_dir`
    (pytest's tmp dirs are 0700 root), the files go to a throw-away dir in /tmp that `data_dir`/pgdata links
    to. Returns the clean-ups to run at stop."""
    data_dir.mkdir(parents=True, exist_ok=True)
    cleanups: list[Callable[[], None]] = []
    socket_dir = Path(tempfile.mkdtemp(prefix="sdpg-"))
    cleanups.append(lambda: shutil.rmtree(socket_dir, ignore_errors=True))
    pgdata = data_dir / "pgdata"
    if os.geteuid() != 0:
        pgdata.mkdir(mode=0o700, exist_ok=True)
        return PostgresLayout(pgdata, socket_dir, ""), cleanups
    try:
        user = pwd.getpwnam(POSTGRES_OS_USER)
    except KeyError:
        raise EngineError(f"no `{POSTGRES_OS_USER}` OS user to run Postgres as root: {DEPS_HINT}") from None
    reachable = subprocess.run(["runuser", "-u", POSTGRES_OS_USER, "--", "test", "-w", str(data_dir)],
                               check=False).returncode == 0  # fmt: skip
    if pgdata.is_symlink() and not pgdata.exists():  # an earlier run's throw-away dir, removed at its stop
        pgdata.unlink()
    if not reachable and not pgdata.is_symlink():
        throwaway = Path(tempfile.mkdtemp(prefix="shopdesk-pgdata-"))
        os.chown(throwaway, user.pw_uid, user.pw_gid)
        pgdata.symlink_to(throwaway)

        def remove_throwaway() -> None:
            shutil.rmtree(throwaway, ignore_errors=True)
            pgdata.unlink(missing_ok=True)

        cleanups.append(remove_throwaway)
    elif reachable:
        pgdata.mkdir(mode=0o700, exist_ok=True)
    for path in (pgdata.resolve(), socket_dir):
        os.chown(path, user.pw_uid, user.pw_gid)
        path.chmod(0o700)
    return PostgresLayout(pgdata.resolve(), socket_dir, POSTGRES_OS_USER), cleanups


@contextmanager
def postgres_server(data_dir: Path, port: int | None = None, password: str | None = None,
                    timeout_s: float = 60.0) -> Iterator[Engine]:  # fmt: skip
    """A Postgres server on 127.0.0.1 (a free port unless given) with role and database `rasa` (password
    `password`, random unless given), its cluster in `data_dir`/pgdata (created on first use)."""
    postgres = find_binary("postgres", POSTGRES_BIN_DIRS)
    initdb = find_binary("initdb", POSTGRES_BIN_DIRS)
    psql = find_binary("psql", POSTGRES_BIN_DIRS)
    port = port or free_port()
    password = password or secrets.token_urlsafe(16)
    layout, cleanups = postgres_layout(data_dir)
    log = data_dir / "postgres.log"
    engine = Engine("postgres", LOOPBACK, port, postgres_url(port, password), None, data_dir, cleanups,
                    signal.SIGINT)  # fmt: skip
    try:
        if not (layout.pgdata / "PG_VERSION").exists():
            run_checked(initdb_argv(initdb, layout), log, "initdb")
        engine.process = spawn(postgres_argv(postgres, layout, port), log)
        wait_until(
            lambda: tcp_answers(LOOPBACK, port), f"postgres on port {port}", timeout_s, engine.process, log
        )
        psql_argv = layout.as_user([psql, "-h", str(layout.socket_dir), "-p", str(port), "-U", "postgres",
                                    "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q"])  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while (
            True
        ):  # the port opens before the server accepts connections ("the database system is starting up")
            result = subprocess.run(psql_argv, input=setup_sql(POSTGRES_ROLE, password, POSTGRES_DB).encode(),
                                    capture_output=True, check=False)  # fmt: skip
            if result.returncode == 0:
                break
            if time.monotonic() > deadline or b"starting up" not in result.stderr:
                raise EngineError(f"creating role/database {POSTGRES_ROLE} failed: {result.stderr.decode()}")
            time.sleep(0.2)
        logger.info("postgres ready on port %d", port)
        yield engine
    finally:
        engine.stop()


def run_checked(argv: list[str], log: Path, what: str) -> None:
    """Run `argv` to completion, its output appended to `log`; EngineError with the log's tail when it fails."""
    with log.open("ab") as handle:
        returncode = subprocess.run(argv, stdout=handle, stderr=subprocess.STDOUT, check=False).returncode
    if returncode != 0:
        raise EngineError(f"{what} exited with code {returncode}:\n{_tail(log)}")
