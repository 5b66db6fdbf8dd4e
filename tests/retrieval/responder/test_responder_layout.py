"""Serving and training are two packages: the action server's import of the responder loads neither torch nor
the offline training code (tests/test_architecture.py checks the same statically)."""

from __future__ import annotations

import ast
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


def test_the_inputs_checksum_covers_every_module_a_training_run_computes_with() -> None:
    """Training is skipped when the inputs checksum is unchanged, so every module whose code shapes the
    checkpoint must be hashed: the modules ``train.py`` imports, and theirs, within the responder."""
    from retrieval.responder.training.checkpoint import CODE_FILES, NOT_CODE, RESPONDER_DIR

    def imports(relative: str) -> set[str]:
        tree = ast.parse((RESPONDER_DIR / relative).read_text(encoding="utf-8"))
        names = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("retrieval.responder.")
        }
        return {name.removeprefix("retrieval.responder.").replace(".", "/") + ".py" for name in names}

    reached, todo = set(), ["training/train.py"]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(imports(module))
    assert reached - set(NOT_CODE) <= set(CODE_FILES), sorted(reached - set(NOT_CODE) - set(CODE_FILES))
    assert all((RESPONDER_DIR / name).is_file() for name in CODE_FILES)
