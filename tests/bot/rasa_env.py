"""Runs a script in Rasa's own environment (Python 3.10), where bot/rasa_channel.py is loaded."""

from __future__ import annotations

import subprocess
from pathlib import Path

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
