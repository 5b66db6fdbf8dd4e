"""The real nginx in front of two tiny HTTP servers: round-robin, sticky socket.io, failover."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scripts.nginx import NginxSite, nginx_server
from scripts.stack import free_port

pytestmark = pytest.mark.cluster


def backend(name: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = name.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def backends() -> Iterator[list[ThreadingHTTPServer]]:
    servers = [backend("one"), backend("two")]
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def get(url: str, headers: dict[str, str] | None = None) -> str:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode()


def test_nginx_balances_keeps_socket_io_sticky_and_fails_over(
    tmp_path: Path, backends: list[ThreadingHTTPServer]
) -> None:
    addresses = tuple(f"127.0.0.1:{server.server_address[1]}" for server in backends)
    site = NginxSite(free_port(), free_port(), addresses, addresses[:1])
    with nginx_server(site, tmp_path / "nginx") as nginx:
        assert {get(f"{nginx.url}/status") for _ in range(6)} == {"one", "two"}
        for client in ("a" * 16 + "." + "0" * 32, "b" * 16 + "." + "1" * 32, "c" * 16 + "." + "2" * 32):
            seen = {get(f"{nginx.url}/socket.io/?EIO=4", {"X-ShopDesk-Client": client}) for _ in range(6)}
            assert len(seen) == 1, f"client {client} reached {seen}"
        assert get(f"http://127.0.0.1:{site.action_port}/health") == "one"

        backends[1].shutdown()
        backends[1].server_close()
        assert {get(f"{nginx.url}/status") for _ in range(6)} == {"one"}, "a closed instance is skipped"
        port = nginx.port
    with pytest.raises(OSError):
        get(f"http://127.0.0.1:{port}/status")
