"""Each engine starts on a free port with its data in a temporary dir, answers, and stops."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from scripts.engines import (
    amqp_answers,
    postgres_server,
    rabbitmq_server,
    redis_pings,
    redis_server,
    tcp_answers,
)
from scripts.stack import RASA_PYTHON

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


def test_postgres_starts_with_a_password_protected_rasa_database_and_stops(tmp_path: Path) -> None:
    with postgres_server(tmp_path / "postgres", password="s3cret") as postgres:
        assert postgres.url == f"postgresql://rasa:s3cret@127.0.0.1:{postgres.port}/rasa"
        query = [
            RASA_PYTHON,
            "-c",
            "import sys, psycopg2; c = psycopg2.connect(sys.argv[1]); "
            "cur = c.cursor(); cur.execute('SELECT current_user, current_database()'); print(*cur.fetchone())",
        ]
        ok = subprocess.run([*query, postgres.url], capture_output=True, text=True, check=False)
        assert ok.stdout.split() == ["rasa", "rasa"], ok.stderr
        wrong = subprocess.run([*query, postgres.url.replace("s3cret", "wrong")], capture_output=True, text=True,
                               check=False)  # fmt: skip
        assert "password authentication failed" in wrong.stderr
        port = postgres.port
    assert not tcp_answers("127.0.0.1", port)
