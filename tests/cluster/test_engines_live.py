"""Each engine starts on a free port with its data in a temporary dir, answers, and stops."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from scripts.engines import amqp_answers, rabbitmq_server, redis_pings, redis_server, tcp_answers

pytestmark = pytest.mark.cluster


def test_redis_starts_answers_and_stops(tmp_path: Path) -> None:
    with redis_server(tmp_path / "redis") as redis:
        assert redis.url == f"redis://127.0.0.1:{redis.port}/0"
        with socket.create_connection((redis.host, redis.port), timeout=2) as sock:
            sock.sendall(b"SET k v\r\nGET k\r\n")
            reply = b""
            while b"v\r\n" not in reply:
                reply += sock.recv(64)
        assert reply == b"+OK\r\n$1\r\nv\r\n"
        port = redis.port
    assert not redis_pings("127.0.0.1", port)
    assert not tcp_answers("127.0.0.1", port)


def test_rabbitmq_starts_answers_amqp_and_stops(tmp_path: Path) -> None:
    with rabbitmq_server(tmp_path / "rabbitmq") as rabbit:
        assert rabbit.url == f"amqp://guest:guest@127.0.0.1:{rabbit.port}/"
        assert amqp_answers(rabbit.host, rabbit.port)
        port = rabbit.port
    assert not tcp_answers("127.0.0.1", port)
