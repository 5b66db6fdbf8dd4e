"""Runs a script in Rasa's own environment (Python 3.10), where bot/rasa_channel.py is loaded."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"


def assert_script_passes_in_rasa_env(script: str) -> None:
    """Runs `script` with .venv/rasa's Python from the repository root; it must exit 0 and print "ok" last."""
    if not RASA_PYTHON.exists():
        pytest.skip("Rasa's environment .venv/rasa is not installed (make setup)")
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


def probe_facts(script: Path, *args: str, timeout_s: float = 300) -> dict[str, Any]:
    """Runs a probe script with .venv/rasa's Python from the repository root; it must exit 0 and print a last line
    ``PROBE <json>``, whose object is returned. Skips when Rasa's environment is not installed."""
    if not RASA_PYTHON.exists():
        pytest.skip("Rasa's environment .venv/rasa is not installed (make setup)")
    done = subprocess.run(
        [str(RASA_PYTHON), str(script), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout_s
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    facts: dict[str, Any] = json.loads(lines[-1][len("PROBE ") :])
    return facts
