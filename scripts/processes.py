"""What the launcher needs to know about OS processes: their descendants and how they ended (Linux /proc).

Standard library only, like scripts/stack.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (field 3 on, so index i is field i + 3), None when
    the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (field 22 of /proc/<pid>/stat), None when it is gone."""
    fields = stat_fields(pid)
    return None if fields is None or len(fields) < 20 else fields[19]


def descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, start time) of every live descendant of `pid`, from /proc (Linux; empty elsewhere)."""
    found: list[tuple[int, str]] = []
    queue = [pid]
    while queue:
        parent = queue.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = [int(child) for child in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
            for child in children:
                started = _start_time(child)
                if started is not None and all(child != known for known, _ in found):
                    found.append((child, started))
                    queue.append(child)
    return found


def exit_reason(returncode: int | None) -> str:
    """How a process ended, in words: `exited with code 1`, `was killed by SIGKILL`."""
    if returncode is None:
        return "is still running"
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def signal_group(pgid: int, signum: signal.Signals) -> None:
    """Send `signum` to process group `pgid`; a group that is gone (or not ours) is left alone."""
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def end_group(
    process: subprocess.Popen[bytes], signum: signal.Signals = signal.SIGTERM, timeout: float = 15.0
) -> None:
    """Ask `process`'s group to end with `signum`, SIGKILL the group if the process has not exited within
    `timeout` s, and wait for it."""
    signal_group(process.pid, signum)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        signal_group(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
