"""Fixtures shared by the whole suite: the live stack for integration and browser tests."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from scripts.stack import APP_PYTHON, ROOT, Stack, StackConfig, StackError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ARTIFACTS = ROOT / "artifacts"


def _has_models() -> bool:
    return any((ROOT / "models").glob("*.tar.gz"))


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real Rasa server, action server and bot web service on free ports, with fresh stores.

    The order store is seeded anew in a temporary directory, so tests see the documented demo orders.
    """
    if not _has_models():
        if os.environ.get("CI"):
            pytest.fail("no trained Rasa model in models/: `make test` trains one before the live tests")
        pytest.skip("no trained Rasa model in models/: run `make model`")
    var_dir = tmp_path_factory.mktemp("stack")
    config = StackConfig.on_free_ports(
        var_dir,
        with_bot=(ROOT / "bot" / "__main__.py").exists(),
        with_chain=(ROOT / "ledger" / "node.py").exists(),
    )
    subprocess.run(  # the documented demo shop, before any process or test opens the database
        [str(APP_PYTHON), "-m", "actions.store.seed", "--db", str(config.shop_db)], cwd=ROOT, check=True
    )
    log_dir = ARTIFACTS / "logs"
    stack = Stack(config, log_dir=log_dir)
    try:
        stack.start()
    except StackError as error:
        pytest.fail(f"the live stack did not start: {error}")
    try:
        yield stack
    finally:
        stack.stop()
