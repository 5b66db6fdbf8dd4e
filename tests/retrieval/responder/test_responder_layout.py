"""Serving and training are two packages: the action server's import of the responder loads neither torch nor
the offline training code (tests/test_architecture.py checks the same statically)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import json, sys
import retrieval.responder
from retrieval.responder import serving, decision, calibration, config, model
print(json.dumps(sorted(m for m in sys.modules if m == "torch" or m == "transformers"
                        or m.startswith("retrieval.responder.training"))))
"""


def loaded_after(code: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_serving_package_loads_no_torch_and_no_training_code() -> None:
    assert loaded_after(PROBE) == []


def test_the_probe_sees_training_modules_when_they_are_imported() -> None:
    probe = PROBE.replace("import retrieval.responder\n", "import retrieval.responder.training.tuning\n")
    assert loaded_after(probe) == ["retrieval.responder.training", "retrieval.responder.training.tuning"]
