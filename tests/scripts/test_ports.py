"""scripts.ports: servers' ports come from below the kernel's ephemeral range, where outgoing connections
never take them."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from scripts import ports


def test_ports_are_free_and_below_the_ephemeral_range() -> None:
    low = ports.ephemeral_low()
    chosen = {ports.free_port() for _ in range(20)}
    assert all(max(1024, low - 12000) <= port < low for port in chosen)
    for port in chosen:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))  # still free: nothing was left bound


def test_the_range_is_read_from_the_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = tmp_path / "ip_local_port_range"
    table.write_text("40000\t60999\n")
    monkeypatch.setattr(ports, "EPHEMERAL_RANGE", table)
    assert ports.ephemeral_low() == 40000
    assert 28000 <= ports.free_port() < 40000
    monkeypatch.setattr(ports, "EPHEMERAL_RANGE", tmp_path / "missing")
    assert ports.ephemeral_low() == 32768


def test_a_port_taken_meanwhile_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        busy = taken.getsockname()[1]
        taken.listen()
        picks = iter([busy, busy, 20001])
        monkeypatch.setattr(ports.random, "randrange", lambda start, stop: next(picks))
        monkeypatch.setattr(ports, "ephemeral_low", lambda: 32768)
        assert ports.free_port() == 20001
