"""Score texts from a JSON-lines file (``make sentiment-predict IN=texts.jsonl OUT=preds.jsonl``).

    python -m sentiment.predict --in texts.jsonl --out preds.jsonl [--model-dir var/sentiment]

Each input line is a JSON object with a string ``text``; each output line is ``{"label": "negative" | "neutral"
| "positive", "score": <float in [-1, 1]>}``, in the same order, one per input line. The whole input is checked
before anything is scored: a line that is not JSON, not an object, or has no string ``text`` exits 2 naming its
line number, and the output file is not written (it is written to a temporary file and renamed at the end).
An empty input file gives an empty output file. Empty, emoji-only or digits-only text is ``neutral`` 0.0.
Texts longer than ``MAX_TEXT_CHARS`` are scored on their beginning (models read 256 tokens at most anyway).

The model: ``--model-dir``, else ``SENTIMENT_DIR`` (default ``var/sentiment``); the lexicon baseline when no
model is trained there (``sentiment.loading.load_scorer``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sentiment.text import has_words
from sentiment.types import NOT_JUDGED, Prediction, PredictionJSON, Scorer

DEFAULT_SENTIMENT_DIR = "var/sentiment"
MAX_TEXT_CHARS = 4000
BATCH = 64


class InputError(ValueError):
    """A line of the input file is not ``{"text": "..."}``: the message names the file and the line."""


def sentiment_dir_from_env(environ: dict[str, str] | None = None) -> Path:
    """``SENTIMENT_DIR`` (default ``var/sentiment``); a path that exists but is not a folder is an error."""
    env = os.environ if environ is None else environ
    path = Path(env.get("SENTIMENT_DIR") or DEFAULT_SENTIMENT_DIR)
    if path.exists() and not path.is_dir():
        raise InputError(f"SENTIMENT_DIR={path} is not a folder")
    return path


def read_texts(path: Path) -> list[str]:
    """The ``text`` of every line, in order; InputError on the first bad line."""
    texts: list[str] = []
    try:
        f = path.open(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with f:
        try:
            for number, line in enumerate(f, start=1):
                try:
                    row = json.loads(line)
                except ValueError as exc:  # JSONDecodeError, or an integer too long to convert
                    why = exc.msg if isinstance(exc, json.JSONDecodeError) else exc
                    raise InputError(f"{path}:{number}: not a JSON line ({why})") from exc
                if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                    raise InputError(
                        f'{path}:{number}: expected an object with a string "text", got {line.strip()[:80]!r}'
                    )
                texts.append(row["text"])
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}:{len(texts) + 1}: not UTF-8 ({exc.reason})") from exc
    return texts


def score(scorer: Scorer, texts: Sequence[str], batch: int = BATCH) -> list[Prediction]:
    """Predictions in input order; texts with nothing to judge never reach the scorer."""
    out: list[Prediction] = [NOT_JUDGED] * len(texts)
    todo = [i for i, text in enumerate(texts) if has_words(text)]
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        preds = scorer.predict([texts[i][:MAX_TEXT_CHARS] for i in chunk])
        if len(preds) != len(chunk):
            raise RuntimeError(
                f"scorer {scorer.name} returned {len(preds)} predictions for {len(chunk)} texts"
            )
        for i, pred in zip(chunk, preds, strict=True):
            out[i] = pred
    return out


def write_predictions(path: Path, predictions: Sequence[Prediction]) -> None:
    """Write all lines to a temporary file beside ``path``, then rename: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for pred in predictions:
                line: PredictionJSON = pred.to_json()
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentiment.predict", description=__doc__.split("\n\n")[0])
    parser.add_argument("--in", dest="inp", type=Path, required=True, help='JSON lines, each {"text": ...}')
    parser.add_argument(
        "--out", type=Path, required=True, help='JSON lines, each {"label": ..., "score": ...}'
    )
    parser.add_argument(
        "--model-dir", type=Path, default=None, help="default: SENTIMENT_DIR or var/sentiment"
    )
    args = parser.parse_args(argv)
    try:
        model_dir = args.model_dir or sentiment_dir_from_env()
        texts = read_texts(args.inp)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    from sentiment.loading import load_scorer

    scorer = load_scorer(model_dir) if any(has_words(t) for t in texts) else None
    predictions = score(scorer, texts) if scorer is not None else [NOT_JUDGED] * len(texts)
    write_predictions(args.out, predictions)
    print(  # noqa: T201
        f"{len(predictions)} predictions ({scorer.name if scorer else 'nothing to judge'}) -> {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
