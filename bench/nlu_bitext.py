"""Convert the Bitext customer-service CSV into Rasa NLU YAML (at build time, never into the repo).

    python bench/nlu_bitext.py --out var/nlu_extra            # writes var/nlu_extra/bitext_train.yml
    python bench/nlu_bitext.py --split validation --out /tmp/x

Bitext entity types are mapped to ShopDesk's entity names where they correspond (order_id, invoice_id,
refund_amount -> amount, account_type, delivery_city -> city, delivery_country -> country); other spans
(person_name) are left unannotated. Runs with either virtualenv: standard library only.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"

ENTITY_MAP: dict[str, str] = {
    "order_id": "order_id",
    "invoice_id": "invoice_id",
    "refund_amount": "amount",
    "account_type": "account_type",
    "delivery_city": "city",
    "delivery_country": "country",
}

_MARKUP = re.compile(r"[\[\]{}]")


class BitextError(Exception):
    """Base error for reading the Bitext data."""


class BitextMissingError(BitextError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"Bitext file not found: {path} (pass --data-dir pointing at the folder that holds bitext/, "
            "or set DATA_DIR)"
        )
        self.path = path


class UnknownSplitError(BitextError):
    def __init__(self, split: str) -> None:
        super().__init__(f"unknown Bitext split {split!r}; valid: train, validation")
        self.split = split


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: tuple[tuple[int, int, str], ...] = field(default=())  # (start, end, our entity name)


def default_data_dir() -> Path:
    return Path(os.environ.get("DATA_DIR", str(DEFAULT_DATA_DIR)))


def split_path(data_dir: Path, split: str) -> Path:
    if split not in ("train", "validation"):
        raise UnknownSplitError(split)
    return data_dir / "bitext" / f"{split}.csv"


def read_split(data_dir: Path, split: str) -> list[Example]:
    """Read one split; rows sharing an utterance are merged (several entity rows, one example)."""
    path = split_path(data_dir, split)
    if not path.is_file():
        raise BitextMissingError(path)
    intents: dict[str, str] = {}
    spans: dict[str, set[tuple[int, int, str]]] = defaultdict(set)
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = row["utterance"]
            intents.setdefault(text, row["intent"])
            ours = ENTITY_MAP.get(row.get("entity_type") or "")
            if ours and row.get("start_offset") and row.get("end_offset"):
                start, end = int(float(row["start_offset"])), int(float(row["end_offset"]))
                if 0 <= start < end <= len(text) and text[start:end].strip():
                    spans[text].add((start, end, ours))
    return [Example(text, intent, tuple(sorted(spans.get(text, ())))) for text, intent in intents.items()]


def _annotate(example: Example) -> str:
    """Rasa markup for one example; stray brackets in the text are replaced so they cannot be misparsed."""
    text = example.text
    out: list[str] = []
    cursor = 0
    for start, end, name in example.entities:
        if start < cursor:  # overlapping spans: keep the first
            continue
        out.append(_MARKUP.sub(" ", text[cursor:start]))
        value = _MARKUP.sub(" ", text[start:end])
        out.append(f"[{value}]({name})")
        cursor = end
    out.append(_MARKUP.sub(" ", text[cursor:]))
    line = " ".join("".join(out).split())
    return line


def to_rasa_yaml(examples: Iterable[Example], source: str) -> str:
    by_intent: dict[str, list[str]] = defaultdict(list)
    seen: set[str] = set()
    for ex in examples:
        line = _annotate(ex)
        if not line or line.lower() in seen:
            continue
        seen.add(line.lower())
        by_intent[ex.intent].append(line)
    lines = [
        f"# Converted at build time from {source}. Not part of the repository.",
        'version: "3.1"',
        "",
        "nlu:",
    ]
    for intent in sorted(by_intent):
        lines.append(f"  - intent: {intent}")
        lines.append("    examples: |")
        lines.extend(f"      - {ex}" for ex in by_intent[intent])
    return "\n".join(lines) + "\n"


def write_yaml(data_dir: Path, split: str, out_dir: Path) -> Path:
    examples = read_split(data_dir, split)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"bitext_{split}.yml"
    target.write_text(to_rasa_yaml(examples, f"bitext/{split}.csv"), encoding="utf-8")
    logger.info("wrote %s examples to %s", len(examples), target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="folder holding bitext/ (default ../shared/data)"
    )
    parser.add_argument("--split", default="train", choices=["train", "validation"])
    parser.add_argument(
        "--out", type=Path, required=True, help="output folder (keep it git-ignored, e.g. var/)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        path = write_yaml(args.data_dir or default_data_dir(), args.split, args.out)
    except BitextError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
