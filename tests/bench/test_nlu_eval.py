"""The parts of bench/nlu_eval.py that need no Rasa: the training-data snapshot, the held-out turns, --configs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _load():  # bench/ is scripts, not a package
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("nlu_eval", ROOT / "bench" / "nlu_eval.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["nlu_eval"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


ne = _load()


def test_every_config_trains_on_one_snapshot_taken_at_the_start(tmp_path: Path) -> None:
    live = tmp_path / "nlu"
    live.mkdir()
    (live / "a.yml").write_text("before")
    dirs = ne.prepare_nlu_dirs(live, tmp_path, tmp_path / "work", "ours")
    (live / "a.yml").write_text("edited while the benchmark runs")
    assert dirs["ours"] != live
    assert (dirs["ours"] / "a.yml").read_text() == "before"


def test_held_out_turns_are_the_user_texts_that_name_an_intent(tmp_path: Path) -> None:
    path = tmp_path / "dev.yml"
    path.write_text(
        "conversations:\n"
        "  - id: a\n"
        "    turns:\n"
        "      - user: 'cancel SD-100001 please'\n"
        "        intent: cancel_order\n"
        "      - 'no intent given'\n"
        "      - click: 'Yes'\n"
        "      - user: '  '\n"
        "        intent: greet\n"
    )
    turns = ne.read_conversation_turns(path)
    assert [(t.text, t.intent) for t in turns] == [("cancel SD-100001 please", "cancel_order")]


def test_a_missing_config_is_named_before_anything_trains(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert ne.main(["--configs", str(tmp_path / "nope.yml")]) == 2
    assert "nope.yml" in capsys.readouterr().err
