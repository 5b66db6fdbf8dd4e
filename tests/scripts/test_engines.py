"""The engines' command lines and configs, checked without starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import engines
from scripts.engines import EngineError, find_binary, redis_argv


def test_a_missing_binary_names_itself_and_the_make_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines.shutil, "which", lambda *_args, **_kwargs: None)
    with pytest.raises(EngineError, match=r"no-such-engine not found.*make cluster-deps"):
        find_binary("no-such-engine")


def test_redis_runs_in_the_foreground_on_loopback_with_its_files_in_the_data_dir(tmp_path: Path) -> None:
    argv = redis_argv("/usr/bin/redis-server", tmp_path, 6390)
    options = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert options["--port"] == "6390"
    assert options["--bind"] == "127.0.0.1"
    assert options["--dir"] == str(tmp_path)
    assert options["--daemonize"] == "no"
    assert options["--save"] == "", "a lock store needs no snapshots"


def test_nothing_answers_ping_on_a_closed_port() -> None:
    assert not engines.redis_pings("127.0.0.1", engines.free_port())
