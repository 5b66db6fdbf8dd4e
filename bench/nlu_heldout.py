"""Read a held-out NLU file (Rasa NLU YAML, e.g. eval/nlu_zh/test.yml) into scoring examples, without Rasa.

Supports what our held-out files use: ``- intent: x`` items whose ``examples`` are ``- text`` lines with
``[value](entity)`` or ``[value]{"entity": "x", ...}`` annotations. The annotation markup is removed and each
entity keeps its character span in the plain text, as `nlu_bitext.Example` expects. Errors name the file, the
intent and the line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

try:
    from bench.nlu_bitext import Example
except ImportError:  # run as a script: bench/ is on sys.path
    from nlu_bitext import Example  # type: ignore[no-redef]

ANNOTATION = re.compile(r"\[(?P<value>[^\]]+)\](?:\((?P<name>\w+)\)|(?P<json>\{[^}]*\}))")


class HeldoutFormatError(ValueError):
    """A held-out NLU file that is not Rasa NLU YAML of intents with examples; names the file and the item."""


def parse_example(line: str) -> tuple[str, tuple[tuple[int, int, str], ...]]:
    """`line` without its annotations, and the (start, end, entity) spans of the annotated values."""
    text: list[str] = []
    spans: list[tuple[int, int, str]] = []
    at = 0
    length = 0
    for match in ANNOTATION.finditer(line):
        before = line[at : match.start()]
        text.append(before)
        length += len(before)
        if match.group("name"):
            entity = match.group("name")
        else:
            try:
                entity = str(json.loads(match.group("json"))["entity"])
            except (ValueError, KeyError) as error:
                raise HeldoutFormatError(f"bad entity annotation {match.group(0)!r}: {error}") from error
        value = match.group("value")
        spans.append((length, length + len(value), entity))
        text.append(value)
        length += len(value)
        at = match.end()
    text.append(line[at:])
    return "".join(text), tuple(spans)


def read_heldout(path: Path) -> list[Example]:
    """Every example of every ``intent`` item in `path`, in file order."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not isinstance(raw.get("nlu"), list):
        raise HeldoutFormatError(f"{path}: expected Rasa NLU YAML with an `nlu` list")
    examples: list[Example] = []
    for index, item in enumerate(raw["nlu"]):
        if not isinstance(item, dict) or "intent" not in item:
            raise HeldoutFormatError(f"{path}: nlu item {index} is not an intent (regex/lookup/synonym?)")
        intent, block = str(item["intent"]), item.get("examples")
        if not isinstance(block, str):
            raise HeldoutFormatError(f"{path}: intent {intent}: `examples` must be a `|` block of `- ` lines")
        for number, line in enumerate(block.splitlines(), 1):
            if not line.strip():
                continue
            if not line.startswith("- "):
                raise HeldoutFormatError(f"{path}: intent {intent}, line {number}: {line!r} is not `- text`")
            try:
                text, spans = parse_example(line[2:].strip())
            except HeldoutFormatError as error:
                raise HeldoutFormatError(f"{path}: intent {intent}, line {number}: {error}") from error
            examples.append(Example(text, intent, spans))
    return examples
