"""Load and validate the held-out conversations (eval/conversations/dev.yml, test.yml).

One file per split: ``split`` and ``conversations``; each conversation has an ``id``, a ``group``, its
``turns`` (a string is typed; ``{click: "Yes"}`` presses the button whose title contains "Yes" in the last
replies, or types "Yes" when there is none; ``{pick: "Customs"}`` presses such a button when one is offered
and otherwise sends nothing; ``{say: "...", pad_to: 4999}`` repeats the text up to that many
characters), the expected outcome ``expect`` and the wrong actions ``must_not`` (see README.md there).
The Chinese halves (``zh_dev``, ``zh_test``) use the same format; ``expect.language`` (``zh`` or ``en``) asks
every bot text to be in that language, ``expect.final_language`` only the texts answering the last turn.
Errors name the file, the conversation and the bad field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
SPLITS = ("dev", "test", "zh_dev", "zh_test")
LANGUAGES = ("en", "zh")
GROUPS = (
    "one_shot",  # 1: a task with its order id and email in one message
    "order_ids",  # 2: order ids in the documented forms (#100042, sd100042, SD 100042, lowercase, spaces)
    "policy",  # 3: policy questions outside the intent set, in the shopper's words
    "products",  # 4: products by need, not by name
    "handoff",  # 5: angry / typo-ridden requests for a person
    "plain",  # 6: plain questions that used to fall back
    "digression",  # a question in the middle of a form, then the form goes on
    "correction",  # the shopper corrects an id, an email or changes their mind
    "bad_input",  # mixed language, emoji-only, one word, 4,999 chars, two ids, a wrong email
)
EXPECT_KEYS = frozenset(
    {
        "contains",
        "contains_any",
        "matches",
        "status",
        "returns_opened",
        "products_any",
        "handoff",
        "language",
        "final_language",
    }
)
MUST_NOT_KEYS = frozenset({"reveal"})
STATUSES = frozenset({"pending", "paid", "packed", "shipped", "delivered", "cancelled", "returned"})
ORDER_ID = re.compile(r"^SD-1\d{5}$")


class CaseError(ValueError):
    """A conversation file that does not follow the format; the message names the file, id and field."""


@dataclass(frozen=True)
class Turn:
    text: str
    click: bool = False  # press the button whose title contains `text`, else type it
    optional: bool = False  # with click: when no such button is offered, send nothing (a `pick`)

    def message(self, buttons: list[dict[str, Any]]) -> str | None:
        """What the shopper sends, given the buttons of the last replies (None: this turn is skipped)."""
        if self.click:
            wanted = self.text.casefold()
            for button in buttons:
                if wanted in str(button.get("title", "")).casefold() and button.get("payload"):
                    return str(button["payload"])
            if self.optional:
                return None
        return self.text


@dataclass(frozen=True)
class Expect:
    contains: tuple[str, ...] = ()
    contains_any: tuple[str, ...] = ()
    matches: str | None = None
    status: dict[str, str] = field(default_factory=dict)
    returns_opened: tuple[str, ...] = ()
    products_any: tuple[str, ...] = ()
    handoff: bool = False
    language: str | None = None  # every bot text in this language ("zh": has Han characters; "en": has none)
    final_language: str | None = None  # the bot texts answering the last turn in this language


@dataclass(frozen=True)
class Conversation:
    id: str
    group: str
    turns: tuple[Turn, ...]
    expect: Expect
    reveal_never: tuple[str, ...] = ()
    note: str = ""

    @property
    def changes_allowed(self) -> frozenset[str]:
        """The orders this conversation is meant to change (anything else changing is a wrong action)."""
        return frozenset(self.expect.status) | frozenset(self.expect.returns_opened)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise CaseError(f"{where}: expected a non-empty string or a list of them, got {value!r}")
    return tuple(value)


def _turn(raw: Any, where: str) -> Turn:
    if isinstance(raw, str) and raw:
        return Turn(raw)
    if isinstance(raw, dict) and set(raw) == {"click"} and isinstance(raw["click"], str):
        return Turn(raw["click"], click=True)
    if isinstance(raw, dict) and set(raw) == {"pick"} and isinstance(raw["pick"], str):
        return Turn(raw["pick"], click=True, optional=True)
    if isinstance(raw, dict) and set(raw) == {"say", "pad_to"} and isinstance(raw["say"], str):
        size = raw["pad_to"]
        if not isinstance(size, int) or not len(raw["say"]) <= size <= 5000:
            raise CaseError(f"{where}.pad_to: expected a length from len(say) to 5000, got {size!r}")
        padded = ((raw["say"] + " ") * (size // (len(raw["say"]) + 1) + 1))[:size]
        return Turn(padded[:-1] + "." if padded.endswith(" ") else padded)
    raise CaseError(
        f"{where}: expected a string, {{click: title}}, {{pick: title}} or {{say: text, pad_to: n}}, got {raw!r}"
    )


def _expect(raw: Any, where: str) -> Expect:
    if not isinstance(raw, dict) or not raw:
        raise CaseError(f"{where}: expected a mapping with at least one of {sorted(EXPECT_KEYS)}")
    unknown = set(raw) - EXPECT_KEYS
    if unknown:
        raise CaseError(f"{where}: unknown keys {sorted(unknown)}; valid: {sorted(EXPECT_KEYS)}")
    status = raw.get("status") or {}
    for number, value in status.items():
        if not ORDER_ID.match(str(number)) or value not in STATUSES:
            raise CaseError(
                f"{where}.status: {number!r}: {value!r}; expected SD-1xxxxx: one of {sorted(STATUSES)}"
            )
    opened = _strings(raw["returns_opened"], f"{where}.returns_opened") if "returns_opened" in raw else ()
    if "matches" in raw:
        try:
            re.compile(str(raw["matches"]))
        except re.error as error:
            raise CaseError(f"{where}.matches: {raw['matches']!r} is not a regex: {error}") from error
    for key in ("language", "final_language"):
        if key in raw and raw[key] not in LANGUAGES:
            raise CaseError(f"{where}.{key}: {raw[key]!r}; valid: {list(LANGUAGES)}")
    if not isinstance(raw.get("handoff", False), bool):
        raise CaseError(f"{where}.handoff: expected true or false, got {raw['handoff']!r}")
    return Expect(
        contains=_strings(raw["contains"], f"{where}.contains") if "contains" in raw else (),
        contains_any=_strings(raw["contains_any"], f"{where}.contains_any") if "contains_any" in raw else (),
        matches=str(raw["matches"]) if "matches" in raw else None,
        status={str(k): str(v) for k, v in status.items()},
        returns_opened=opened,
        products_any=_strings(raw["products_any"], f"{where}.products_any") if "products_any" in raw else (),
        handoff=bool(raw.get("handoff", False)),
        language=raw.get("language"),
        final_language=raw.get("final_language"),
    )


def parse(raw: Any, source: str) -> list[Conversation]:
    if not isinstance(raw, dict) or not isinstance(raw.get("conversations"), list):
        raise CaseError(f"{source}: expected a mapping with a `conversations` list")
    out: list[Conversation] = []
    seen: set[str] = set()
    for index, item in enumerate(raw["conversations"]):
        where = f"{source}: conversation {index}"
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise CaseError(f"{where}: expected a mapping with a string `id`")
        where = f"{source}: {item['id']}"
        if item["id"] in seen:
            raise CaseError(f"{where}: duplicate id")
        seen.add(item["id"])
        unknown = set(item) - {"id", "group", "turns", "expect", "must_not", "note"}
        if unknown:
            raise CaseError(f"{where}: unknown keys {sorted(unknown)}")
        if item.get("group") not in GROUPS:
            raise CaseError(f"{where}.group: {item.get('group')!r}; valid: {list(GROUPS)}")
        turns = item.get("turns")
        if not isinstance(turns, list) or not turns:
            raise CaseError(f"{where}.turns: expected a non-empty list")
        must_not = item.get("must_not") or {}
        if not isinstance(must_not, dict) or set(must_not) - MUST_NOT_KEYS:
            raise CaseError(f"{where}.must_not: expected a mapping with keys from {sorted(MUST_NOT_KEYS)}")
        out.append(
            Conversation(
                id=item["id"],
                group=item["group"],
                turns=tuple(_turn(t, f"{where}.turns[{i}]") for i, t in enumerate(turns)),
                expect=_expect(item.get("expect"), f"{where}.expect"),
                reveal_never=_strings(must_not["reveal"], f"{where}.must_not.reveal")
                if "reveal" in must_not
                else (),
                note=str(item.get("note") or ""),
            )
        )
    return out


def load(split: str, directory: Path = HERE) -> list[Conversation]:
    """The conversations of `split` ("dev", "test", or the Chinese halves "zh_dev", "zh_test")."""
    if split not in SPLITS:
        raise CaseError(f"unknown split {split!r}; valid: {list(SPLITS)}")
    path = directory / f"{split}.yml"
    with path.open(encoding="utf-8") as handle:
        return parse(yaml.safe_load(handle), str(path.name))
