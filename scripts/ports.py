"""Free TCP ports for the servers a launcher starts (tests and benchmarks start many stacks side by side)."""

from __future__ import annotations

import random
import socket
from pathlib import Path

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


class NoFreePort(RuntimeError):
    """No port could be bound."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, below the kernel's ephemeral range: a port the
    kernel hands out for bind(0) is one its outgoing connections may take before the server binds it (a cluster
    start opens hundreds of connections; a Rasa instance once found its port taken)."""
    low = ephemeral_low()
    for _ in range(100):
        port = random.randrange(max(1024, low - 12000), low) if low > 2048 else 0
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise NoFreePort(f"no free TCP port on 127.0.0.1 below {low} after 100 tries")


def ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (Linux; 32768, the common default, elsewhere)."""
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768
