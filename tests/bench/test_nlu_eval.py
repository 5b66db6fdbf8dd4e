"""The parts of bench/nlu_eval.py that need no Rasa: the training-data snapshot, the held-out turns, --configs."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

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


HELDOUT_YAML = (
    'version: "3.1"\n'
    "nlu:\n"
    "  - intent: track_order\n"
    "    examples: |\n"
    '      - 订单[SD-100042](order_id)到哪了，邮箱[a@b.cn]{"entity": "email"}\n'
    "      - 我的包裹呢\n"
    "  - intent: greet\n"
    "    examples: |\n"
    "      - 你好呀\n"
)


def test_a_heldout_file_becomes_examples_with_entity_spans_in_the_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "nlu_zh" / "test.yml"
    path.parent.mkdir()
    path.write_text(HELDOUT_YAML, encoding="utf-8")
    splits = ne.heldout_splits([path])
    assert list(splits) == ["heldout:nlu_zh-test"]
    first, second, third = splits["heldout:nlu_zh-test"]
    assert first.text == "订单SD-100042到哪了，邮箱a@b.cn"
    assert [(first.text[s:e], name) for s, e, name in first.entities] == [
        ("SD-100042", "order_id"),
        ("a@b.cn", "email"),
    ]
    assert (second.intent, second.entities, third.intent) == ("track_order", (), "greet")


def test_a_heldout_file_that_is_not_intents_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("nlu:\n  - regex: order_id\n    examples: |\n      - \\d+\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.yml"):
        ne.heldout_splits([path])


def test_model_without_heldout_and_a_missing_heldout_file_stop_before_loading(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    model = tmp_path / "m.tar.gz"
    model.write_bytes(b"")
    assert ne.main(["--model", str(model)]) == 2
    assert "--heldout" in capsys.readouterr().err
    assert ne.main(["--model", str(model), "--heldout", str(tmp_path / "zh.yml")]) == 2
    assert "zh.yml" in capsys.readouterr().err


def test_a_model_is_scored_on_the_heldout_file_with_a_confusion_matrix(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "nlu_zh" / "test.yml"
    path.parent.mkdir()
    path.write_text(HELDOUT_YAML, encoding="utf-8")
    model = tmp_path / "zh.tar.gz"
    model.write_bytes(b"")

    async def fake_parse(_model, examples, _name):  # type: ignore[no-untyped-def]
        # the second utterance is misread as a greeting
        tops = ["track_order", "greet", "greet"]
        return [ne.Prediction(e.text, e.intent, t, t, 0.9) for e, t in zip(examples, tops, strict=True)]

    monkeypatch.setattr(ne, "_parse_all", fake_parse)
    out = tmp_path / "out"
    assert ne.main(["--model", str(model), "--heldout", str(path), "--out", str(out)]) == 0
    (summary,) = json.loads((out / "summary.json").read_text())
    assert summary["name"] == "zh@heldout:nlu_zh-test"
    assert summary["n_eval"] == 3
    assert abs(summary["accuracy"] - 2 / 3) < 1e-3
    assert (out / "confusion_zh_heldout_nlu_zh-test.png").is_file()
    errors = json.loads((out / "errors_zh_heldout_nlu_zh-test.json").read_text(encoding="utf-8"))
    assert [e["text"] for e in errors] == ["我的包裹呢"]
