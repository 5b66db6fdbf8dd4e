from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from sentiment import predict
from sentiment.predict import MAX_TEXT_CHARS, InputError, main, read_texts, sentiment_dir_from_env
from sentiment.types import Prediction

ROOT = Path(__file__).resolve().parents[2]


class Echo:
    """A stand-in scorer: positive when the text says so, and it records what it was asked."""

    name = "echo"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        self.seen.extend(texts)
        return [Prediction("positive", 0.9) if "good" in t else Prediction("negative", -0.8) for t in texts]


@pytest.fixture
def echo(monkeypatch: pytest.MonkeyPatch) -> Echo:
    scorer = Echo()
    monkeypatch.setattr("sentiment.loading.load_scorer", lambda model_dir: scorer)
    return scorer


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_same_order_one_line_each_and_unjudged_texts_are_neutral_zero(tmp_path: Path, echo: Echo) -> None:
    texts = ["good dress", "", "👍🎉", "bad parcel", "12345", "   ", "good 好"]
    inp = _write(tmp_path / "in.jsonl", [json.dumps({"text": t, "id": i}) for i, t in enumerate(texts)])
    assert main(["--in", str(inp), "--out", str(tmp_path / "out.jsonl"), "--model-dir", str(tmp_path)]) == 0
    rows = _rows(tmp_path / "out.jsonl")
    assert rows == [
        {"label": "positive", "score": 0.9},
        {"label": "neutral", "score": 0.0},
        {"label": "neutral", "score": 0.0},
        {"label": "negative", "score": -0.8},
        {"label": "neutral", "score": 0.0},
        {"label": "neutral", "score": 0.0},
        {"label": "positive", "score": 0.9},
    ]
    assert echo.seen == ["good dress", "bad parcel", "good 好"]  # nothing to judge never reaches the model


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("not json", "not a JSON line"),
        ('{"txt": "hello"}', 'string "text"'),
        ('{"text": 42}', 'string "text"'),
        ('["hello"]', 'string "text"'),
        ("", "not a JSON line"),  # a blank line in the middle is not a text
    ],
)
def test_a_bad_line_exits_2_with_its_number_and_writes_nothing(
    tmp_path: Path, echo: Echo, capsys: pytest.CaptureFixture[str], line: str, why: str
) -> None:
    inp = _write(tmp_path / "in.jsonl", ['{"text": "good"}', '{"text": "fine"}', line, '{"text": "bad"}'])
    out = tmp_path / "out.jsonl"
    out.write_text("earlier output\n", encoding="utf-8")
    assert main(["--in", str(inp), "--out", str(out), "--model-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "in.jsonl:3: " in err and why in err
    assert out.read_text(encoding="utf-8") == "earlier output\n"  # untouched, not half-written
    assert echo.seen == []  # checked before anything is scored
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_not_utf8_and_missing_file_exit_2(
    tmp_path: Path, echo: Echo, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "in.jsonl"
    bad.write_bytes(b'{"text": "ok"}\n{"text": "\xff\xfe"}\n')
    assert main(["--in", str(bad), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "not UTF-8" in capsys.readouterr().err
    assert main(["--in", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def test_empty_file_gives_an_empty_output(tmp_path: Path, echo: Echo) -> None:
    inp = tmp_path / "in.jsonl"
    inp.write_text("", encoding="utf-8")
    assert main(["--in", str(inp), "--out", str(tmp_path / "out.jsonl"), "--model-dir", str(tmp_path)]) == 0
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8") == ""


def test_huge_text_is_scored_on_its_beginning(tmp_path: Path, echo: Echo) -> None:
    huge = "good " + "x" * 2_000_000
    inp = _write(tmp_path / "in.jsonl", [json.dumps({"text": huge}), json.dumps({"text": "bad"})])
    assert main(["--in", str(inp), "--out", str(tmp_path / "out.jsonl"), "--model-dir", str(tmp_path)]) == 0
    assert [r["label"] for r in _rows(tmp_path / "out.jsonl")] == ["positive", "negative"]
    assert len(echo.seen[0]) == MAX_TEXT_CHARS


def test_read_texts_keeps_unicode_and_order(tmp_path: Path) -> None:
    inp = _write(
        tmp_path / "in.jsonl", [json.dumps({"text": "快递太慢了"}, ensure_ascii=False), '{"text": "a"}']
    )
    assert read_texts(inp) == ["快递太慢了", "a"]


def test_sentiment_dir_from_env(tmp_path: Path) -> None:
    assert sentiment_dir_from_env({}) == Path("var/sentiment")
    assert sentiment_dir_from_env({"SENTIMENT_DIR": str(tmp_path)}) == tmp_path
    a_file = tmp_path / "f"
    a_file.write_text("x")
    with pytest.raises(InputError, match=f"SENTIMENT_DIR={a_file}"):
        sentiment_dir_from_env({"SENTIMENT_DIR": str(a_file)})


def test_scorer_returning_too_few_predictions_is_an_error() -> None:
    class Short:
        name = "short"

        def predict(self, texts: Sequence[str]) -> list[Prediction]:
            return []

    with pytest.raises(RuntimeError, match="0 predictions for 1 texts"):
        predict.score(Short(), ["hello"])


def test_the_command_with_the_lexicon_when_no_model_is_trained(tmp_path: Path) -> None:
    """The real entry point (`make sentiment-predict` runs it): no model in --model-dir -> the lexicon."""
    texts = [
        "I love this dress, it is wonderful",
        "this is the worst service, I hate it",
        "🙂",
        "太差了，很失望",
    ]
    inp = _write(tmp_path / "in.jsonl", [json.dumps({"text": t}, ensure_ascii=False) for t in texts])
    out = tmp_path / "out.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sentiment.predict",
            "--in",
            str(inp),
            "--out",
            str(out),
            "--model-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rows = _rows(out)
    assert [r["label"] for r in rows] == ["positive", "negative", "neutral", "negative"]
    assert all(set(r) == {"label", "score"} and -1 <= r["score"] <= 1 for r in rows)
    bad = _write(tmp_path / "bad.jsonl", ['{"text": "fine"}', "{oops"])
    proc = subprocess.run(
        [sys.executable, "-m", "sentiment.predict", "--in", str(bad), "--out", str(tmp_path / "b.jsonl")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "bad.jsonl:2" in proc.stderr
    assert not (tmp_path / "b.jsonl").exists()
