"""A plain loopback HTTP call for the rasa_addons tests: (status, JSON body or text)."""

from __future__ import annotations

import http.client
import json
from typing import Any


def loopback_request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 30,
) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        connection.request(
            method, path, body=body, headers={"Content-Type": "application/json", **(headers or {})}
        )
        reply = connection.getresponse()
        raw = reply.read()
        try:
            return reply.status, json.loads(raw)
        except ValueError:
            return reply.status, raw.decode(errors="replace")
    finally:
        connection.close()
