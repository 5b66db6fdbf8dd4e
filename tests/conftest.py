"""Fixtures shared by the whole suite: the live stacks for integration and browser tests.

`live_stack` (session) is the one the conversation, bot and browser tests share; `fault_stack` (module) is a
second stack under a supervisor for tests/e2e/test_faults.py, which kills its processes. Every stack started
here is listed in `STARTED_STACKS`, so tests/e2e/test_zz_no_pii.py can scan their logs, trackers and chains.
`model_probes` (session) loads a trained Rasa model once in Rasa's environment for the tests that probe it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.stack import APP_PYTHON, ROOT, Stack, StackConfig, StackError
from scripts.supervise import Backoff, Supervisor
from tests.bot.rasa_env import ModelProbes

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ARTIFACTS = ROOT / "artifacts"
LOG_DIR = ARTIFACTS / "logs"
FAULT_LOG_DIR = LOG_DIR / "faults"

STARTED_STACKS: list[Stack] = []


def _has_models() -> bool:
    return any((ROOT / "models").glob("*.tar.gz"))


def _start_seeded_stack(var_dir: Path, log_dir: Path) -> Stack:
    """A stack on free ports with random internal secrets and a freshly seeded demo shop; logs of an earlier
    run in `log_dir` are removed first, so what the PII scan reads was written by this run."""
    if not _has_models():
        if os.environ.get("CI"):
            pytest.fail("no trained Rasa model in models/: `make test` trains one before the live tests")
        pytest.skip("no trained Rasa model in models/: run `make model`")
    config = StackConfig.on_free_ports(
        var_dir,
        with_bot=(ROOT / "bot" / "__main__.py").exists(),
        with_chain=(ROOT / "ledger" / "node.py").exists(),
    )
    subprocess.run(  # the documented demo shop and its orders' ledger records, before any process opens it
        [str(APP_PYTHON), "-m", "actions.seed_shop", "--db", str(config.shop_db)],
        cwd=ROOT,
        env=config.env(),
        check=True,
    )
    log_dir.mkdir(parents=True, exist_ok=True)
    for stale in log_dir.glob("*.log"):
        stale.unlink()
    stack = Stack(config, log_dir=log_dir)
    try:
        stack.start()
    except StackError as error:
        pytest.fail(f"the live stack did not start: {error}")
    STARTED_STACKS.append(stack)
    return stack


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real Rasa server, action server and bot web service on free ports, with fresh stores.

    The order store is seeded anew in a temporary directory, so tests see the documented demo orders.
    """
    stack = _start_seeded_stack(tmp_path_factory.mktemp("stack"), LOG_DIR)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Supervisor]]:
    """A stack of its own under a supervisor (short backoff) for tests that kill its processes."""
    stack = _start_seeded_stack(tmp_path_factory.mktemp("fault-stack"), FAULT_LOG_DIR)
    supervisor = Supervisor(stack, Backoff(initial_s=0.5, cap_s=5.0))
    supervisor.start()
    try:
        yield stack, supervisor
    finally:
        supervisor.stop()
        stack.stop()


@pytest.fixture(scope="session")
def model_probes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelProbes]:
    """Probes of a trained Rasa model in one Rasa process per model, loaded once for the session's tests."""
    probes = ModelProbes(tmp_path_factory)
    try:
        yield probes
    finally:
        probes.stop()
