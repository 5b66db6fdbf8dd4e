"""A node that answers with errors or garbage: clear ledger errors, nothing half-made."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ledger.client import ChainConfig, LedgerClient
from ledger.errors import ChainError, NodeRPCError


def serve(reply: bytes, status: int = 200) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            request = json.loads(self.rfile.read(length) or b"{}")
            body = reply.replace(b'"ID"', json.dumps(request.get("id", 1)).encode())
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def erroring_node() -> Iterator[str]:
    yield from serve(
        b'{"jsonrpc": "2.0", "id": "ID", "error": {"code": -32000, "message": "node is syncing"}}'
    )


@pytest.fixture
def broken_node() -> Iterator[str]:
    yield from serve(b"<html>502 Bad Gateway</html>", status=502)


def test_a_json_rpc_error_is_translated(erroring_node: str) -> None:
    with pytest.raises(NodeRPCError, match="node is syncing") as info:
        LedgerClient.connect(ChainConfig(rpc_url=erroring_node, request_timeout_s=2))
    assert info.value.transient


def test_a_gateway_error_page_is_a_chain_error(broken_node: str) -> None:
    with pytest.raises(ChainError):
        LedgerClient.connect(ChainConfig(rpc_url=broken_node, request_timeout_s=2))
