"""`make test` as CI runs it (`.ci/run`: CI set): the responder preset CI trains, and the artifacts built by one
parallel make. Read with `make -n` (prints the commands, runs none but the recursive makes, also with -n)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def dry_run(target: str, *, ci: bool, every: bool = False, **variables: str) -> list[str]:
    """`make -n` of target; every: as if nothing were built yet (-B), as on a fresh clone."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "RESPONDER_CONFIG", "MAKEFLAGS", "MFLAGS")}
    if ci:
        env["CI"] = "true"
    done = subprocess.run(
        ["make", "-n", *(["-B"] if every else []), target, *(f"{k}={v}" for k, v in variables.items())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.splitlines()


def training_config(lines: list[str]) -> str:
    [train] = [line for line in lines if "-m retrieval.responder.training.train " in line]
    found = re.search(r"--config (\S+)", train)
    assert found, train
    return found.group(1)


def test_ci_trains_the_ci_preset_and_people_cpu_small() -> None:
    assert training_config(dry_run("responder", ci=True)) == "cpu_ci"
    assert training_config(dry_run("responder", ci=False)) == "cpu_small"
    assert training_config(dry_run("responder", ci=True, RESPONDER_CONFIG="gpu_full")) == "gpu_full"


def test_make_test_builds_the_models_side_by_side_before_pytest() -> None:
    lines = dry_run("test", ci=True)
    [parallel] = [line for line in lines if re.match(r"make -j\d+ ", line)]
    assert int(re.match(r"make -j(\d+) ", parallel).group(1)) >= 2  # type: ignore[union-attr]
    assert {"model", "responder", "test-conversations"} <= set(parallel.split())
    pytest_at = next(i for i, line in enumerate(lines) if line.endswith("-m pytest"))
    trained_at = max(
        i for i, line in enumerate(lines) if "rasa train" in line or "responder.training.train" in line
    )
    assert trained_at < pytest_at


def test_the_cluster_job_builds_what_the_cluster_serves_before_its_tests() -> None:
    job = (ROOT / ".ci" / "cluster").read_text()
    assert "make test-cluster" in job and "CI=true" in job
    lines = dry_run("test-cluster", ci=True, every=True)
    pytest_at = next(i for i, line in enumerate(lines) if line.endswith("-m pytest -m cluster"))
    for build in (
        "rasa train",
        "retrieval.build",
        "responder.training.train",
        "sentiment.train",
        "seed_shop",
    ):
        built_at = [i for i, line in enumerate(lines) if build in line]
        assert built_at and max(built_at) < pytest_at, f"{build} not run before the cluster tests"
