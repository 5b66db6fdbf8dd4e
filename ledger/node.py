"""Run the local chain node: anvil with a state file, plus a one-time contract deployment.

    python -m ledger.node            # start anvil on LEDGER_RPC_URL's port, deploy once, run until SIGTERM
    python -m ledger.node --deploy-only   # deploy to (or check) the configured endpoint, then exit

anvil keeps its state in ``var/chain/state.json`` (loaded at start, dumped every few seconds and on exit), so
records survive restarts. Any other JSON-RPC endpoint (geth, a testnet, a consortium chain) is configuration:
set LEDGER_RPC_URL, LEDGER_PRIVATE_KEY, LEDGER_CHAIN_ID and optionally LEDGER_CONTRACT_ADDRESS.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from ledger.errors import LedgerError, NodeProcessError

logger = logging.getLogger(__name__)

ANVIL_CHAIN_ID = 31337


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def resolve_anvil(binary: Path) -> Path:
    """npm's ``.bin/anvil`` is a Node wrapper that spawns the platform binary; run that binary directly so
    signals (and the state dump on SIGTERM) reach anvil itself."""
    target = binary.resolve() if binary.exists() else binary
    if target.suffix in (".mjs", ".js"):
        for candidate in sorted(target.parent.parent.glob("anvil-*/bin/anvil")):
            if os.access(candidate, os.X_OK):
                return candidate
    return binary


class AnvilNode:
    """An anvil child process; ``state_file`` None means an ephemeral chain."""

    def __init__(
        self,
        binary: Path,
        port: int,
        *,
        host: str = "127.0.0.1",
        state_file: Path | None = None,
        state_interval_s: int = 2,
        chain_id: int = ANVIL_CHAIN_ID,
        log_file: Path | None = None,
        own_session: bool = True,
    ) -> None:
        self.binary = binary
        self.own_session = own_session  # False: anvil shares its parent's process group and dies with it
        self.port = port
        self.host = host
        self.state_file = state_file
        self.state_interval_s = state_interval_s
        self.chain_id = chain_id
        self.log_file = log_file
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        cmd = [
            str(self.binary),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
        ]
        if self.state_file is not None:
            cmd += ["--state", str(self.state_file), "--state-interval", str(self.state_interval_s)]
        return cmd

    def start(self, timeout_s: float = 20.0) -> None:
        if not self.binary.exists():
            raise NodeProcessError(
                f"anvil not found at {self.binary}; run `npm ci` (package @foundry-rs/anvil) or set LEDGER_ANVIL_BIN"
            )
        if port_open(self.host, self.port):
            raise NodeProcessError(
                f"port {self.port} on {self.host} is already in use; stop the other node or change LEDGER_RPC_URL"
            )
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self._proc = subprocess.Popen(
            self.command(), stdout=out, stderr=subprocess.STDOUT, start_new_session=self.own_session
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise NodeProcessError(
                    f"anvil exited with code {self._proc.returncode}: {' '.join(self.command())}"
                )
            if port_open(self.host, self.port):
                logger.info("anvil listening on %s (state %s)", self.url, self.state_file or "ephemeral")
                return
            time.sleep(0.05)
        self.stop()
        raise NodeProcessError(f"anvil did not open port {self.port} within {timeout_s}s")

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM (anvil dumps its state), then SIGKILL if it does not exit."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        deadline = time.monotonic() + timeout_s
        while port_open(self.host, self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def terminate(self) -> None:
        """Ask anvil to exit (it dumps its state); returns at once."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()

    def kill(self) -> None:
        """Crash the node without a state dump (fault tests)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def wait(self) -> int:
        return 0 if self._proc is None else self._proc.wait()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None


def main(argv: list[str] | None = None) -> int:
    from ledger.deployment import ensure_deployed
    from ledger.settings import LedgerSettings

    parser = argparse.ArgumentParser(prog="python -m ledger.node", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--deploy-only", action="store_true", help="do not start anvil; deploy/check and exit"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = LedgerSettings.from_env()
    except LedgerError as exc:
        logger.error("%s", exc)
        return 2
    node: AnvilNode | None = None
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if node is not None:
            node.terminate()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if not args.deploy_only:
            if not settings.is_local_node:
                raise NodeProcessError(
                    f"LEDGER_RPC_URL={settings.rpc_url} is not local; use --deploy-only for a remote endpoint"
                )
            node = AnvilNode(
                resolve_anvil(settings.anvil_bin),
                settings.port,
                state_file=settings.state_dir / "state.json",
                chain_id=settings.chain_id or ANVIL_CHAIN_ID,
                log_file=settings.state_dir / "anvil.log",
                own_session=False,  # the supervisor kills this process group: no orphaned anvil
            )
            node.start()
        client = ensure_deployed(settings.chain_config(), settings.state_dir)
        logger.info(
            "ledger ready: contract %s, chain %s, owner %s", client.address, client.chain_id, client.account
        )
    except LedgerError as exc:
        logger.error("%s", exc)
        if node is not None:
            node.stop()
        return 2
    if node is None:
        return 0
    code = node.wait()
    logger.info("anvil exited (%s); state kept in %s", code, settings.state_dir)
    return 0 if stopping else code


if __name__ == "__main__":
    sys.exit(main())
