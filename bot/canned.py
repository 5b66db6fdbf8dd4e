"""Canned replies: what one is, how its text is checked, how the seed file is read, how variables are filled.

Pure functions and value types (no I/O besides reading the seed file); the table is ``bot.canned_store``'s,
the HTTP API ``bot.canned_api``'s.

A reply has a ``shortcut`` (``[a-z0-9_-]{1,32}``, what the agent types after ``/``), a ``title`` and a text
in English (``en``) and/or Chinese (``zh``). A text may name variables in braces, ``{first_name}``; a literal
brace is written twice (``{{`` / ``}}``). Only the names in ``VARIABLES`` exist; anything else — an unknown
name, ``{}``, ``{0}``, ``{order_id:>10}``, a lone brace — is refused when the reply is saved
(``CannedTemplateError``). Rendering for a conversation fills every variable from its ``Values`` and raises
``MissingVariablesError`` naming the ones the conversation lacks. Values are plain text: nothing is HTML.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypedDict

from bot.errors import BotError

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "zh")
SHORTCUT = re.compile(r"[a-z0-9_-]{1,32}")
MAX_TITLE_CHARS = 80
MAX_TEXT_CHARS = 1800  # leaves room for the values within a reply's 2000 characters (MAX_MESSAGE_CHARS)
MAX_REPLIES = 500

# Every variable a text may use, and where its value comes from (docs/console/canned.md).
VARIABLES: dict[str, str] = {
    "first_name": "the verified customer's first name (context.customer.name)",
    "customer_name": "the verified customer's full name (context.customer.name)",
    "order_id": "the conversation's order: the newest in context.orders",
    "order_status": "that order's status now (the order store; else the context), in the reply's language",
    "order_total": "that order's total (context.orders)",
    "tracking_url": "that order's tracking link (the order store; only once shipped)",
    "tracking_number": "that order's tracking number (the order store; only once shipped)",
    "carrier": "that order's carrier (the order store; only once shipped)",
    "estimated_delivery": "that order's estimated delivery date (the order store)",
    "agent_name": "the agent's first name, as the shopper sees it",
    "shop_name": "the shop's name in the reply's language",
}
SHOP_VARIABLES = frozenset(
    {"order_status", "tracking_url", "tracking_number", "carrier", "estimated_delivery"}
)


class CannedError(BotError):
    """Base of the canned replies' errors."""


class CannedTemplateError(CannedError):
    """A reply's field is not acceptable (``field`` names it); the message says what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class MissingVariablesError(CannedError):
    def __init__(self, shortcut: str, missing: list[str], note: str = "") -> None:
        names = ", ".join("{" + name + "}" for name in missing)
        detail = f" ({note})" if note else ""
        super().__init__(f"the reply /{shortcut} needs {names}, which this conversation lacks{detail}")
        self.shortcut = shortcut
        self.missing = missing


class CannedFileError(CannedError):
    """The seed file cannot be used; ``where`` names the entry, the message says what is wrong."""

    def __init__(self, path: Path, where: str, problem: str) -> None:
        super().__init__(f"{path}: {where}: {problem}")
        self.path = path
        self.where = where
        self.problem = problem


class Draft(TypedDict):
    """A reply as written (seed file entry or admin form), validated."""

    shortcut: str
    title: str
    en: str
    zh: str


class CannedReply(Draft):
    id: int
    origin: str  # "file" (seeded from the file) | "admin" (created on the admin page)
    edited_by: str | None  # the admin who last changed it; None while it is as the file says
    updated_at: float


# --- templates -------------------------------------------------------------------------------------------


def variables_of(text: str, field: str = "text") -> list[str]:
    """The variables ``text`` uses, in order of first use; CannedTemplateError for anything else in braces."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as error:  # a lone "{" or "}"
        raise CannedTemplateError(
            field, f"{field}: malformed template ({error}; write a brace as {{{{ or }}}})"
        ) from None
    found: list[str] = []
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in VARIABLES:
            shown = "{" + name + "}"
            raise CannedTemplateError(
                field, f"{field}: unknown variable {shown}; known: {', '.join(sorted(VARIABLES))}"
            )
        if spec or conversion:
            raise CannedTemplateError(field, f"{field}: {{{name}}} takes no format or conversion")
        if name not in found:
            found.append(name)
    return found


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with its variables replaced by ``values`` (each variable must be there; checked before)."""
    out = []
    for literal, name, _spec, _conversion in string.Formatter().parse(text):
        out.append(literal)
        if name is not None:
            out.append(values[name])
    return "".join(out)


def _string(raw: Mapping[str, Any], field: str) -> str:
    value = raw.get(field, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise CannedTemplateError(field, f"{field}: must be a string, not {type(value).__name__}")
    return value.strip()


def check_draft(raw: Mapping[str, Any]) -> Draft:
    """A draft from untrusted fields (seed entry, admin JSON); CannedTemplateError names the first bad one."""
    shortcut = _string(raw, "shortcut").lstrip("/")
    if not SHORTCUT.fullmatch(shortcut):
        raise CannedTemplateError(
            "shortcut",
            f"shortcut {shortcut[:40]!r} must be 1-32 of a-z, 0-9, '_' and '-' (e.g. order-status)",
        )
    title = _string(raw, "title")
    if not title:
        raise CannedTemplateError("title", "title: must not be empty")
    if len(title) > MAX_TITLE_CHARS:
        raise CannedTemplateError("title", f"title: at most {MAX_TITLE_CHARS} characters (got {len(title)})")
    texts = {language: _string(raw, language) for language in LANGUAGES}
    if not any(texts.values()):
        raise CannedTemplateError("en", "a reply needs a text in English (en) or Chinese (zh), or both")
    for language, text in texts.items():
        if len(text) > MAX_TEXT_CHARS:
            raise CannedTemplateError(
                language, f"{language}: at most {MAX_TEXT_CHARS} characters (got {len(text)})"
            )
        variables_of(text, language)
    return Draft(shortcut=shortcut, title=title, en=texts["en"], zh=texts["zh"])


# --- the seed file ---------------------------------------------------------------------------------------


def load_seed(path: Path) -> list[Draft]:
    """The seed file's replies (a YAML list of {shortcut, title, en?, zh?}); CannedFileError names the entry."""
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CannedFileError(path, "file", f"cannot be read ({error.strerror or error})") from None
    except yaml.YAMLError as error:
        raise CannedFileError(path, "file", f"is not valid YAML ({error})") from None
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise CannedFileError(path, "file", "must be a YAML list of {shortcut, title, en, zh} entries")
    drafts: list[Draft] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(raw, start=1):
        label = f"entry {number}"
        if not isinstance(entry, dict):
            raise CannedFileError(path, label, "must be a mapping with shortcut, title, en and/or zh")
        if isinstance(entry.get("shortcut"), str):
            label += f" (/{entry['shortcut'].strip()[:32]})"
        unknown = sorted(str(key) for key in entry if key not in ("shortcut", "title", *LANGUAGES))
        if unknown:
            raise CannedFileError(
                path, label, f"unknown field {unknown[0]!r}; fields: shortcut, title, en, zh"
            )
        try:
            draft = check_draft(entry)
        except CannedTemplateError as error:
            raise CannedFileError(path, label, str(error)) from None
        if draft["shortcut"] in seen:
            raise CannedFileError(
                path,
                label,
                f"shortcut {draft['shortcut']!r} is already used by entry {seen[draft['shortcut']]}",
            )
        seen[draft["shortcut"]] = number
        drafts.append(draft)
    if len(drafts) > MAX_REPLIES:
        raise CannedFileError(path, "file", f"at most {MAX_REPLIES} replies (got {len(drafts)})")
    return drafts


# --- rendering -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    text: str
    language: Language  # the language of the text used
    fallback: bool  # True when the conversation's language had no text and the other one was used
    variables: dict[str, str]


def pick_language(reply: Draft, wanted: Language) -> tuple[Language, bool]:
    """The conversation's language when the reply has a text in it, else the other one (fallback=True)."""
    if reply[wanted]:
        return wanted, False
    return ("zh" if wanted == "en" else "en"), True


def render(reply: Draft, wanted: Language, values: Mapping[str, str | None], note: str = "") -> Rendered:
    """The reply's text in ``wanted`` (or its other language) with ``values`` filled in; MissingVariablesError
    lists every variable the text needs that ``values`` lacks (None or empty)."""
    language, fallback = pick_language(reply, wanted)
    text = reply[language]
    needed = variables_of(text, language)
    missing = [name for name in needed if not values.get(name)]
    if missing:
        raise MissingVariablesError(reply["shortcut"], missing, note)
    used = {name: str(values[name]) for name in needed}
    return Rendered(fill(text, used), language, fallback, used)


def newest_order(orders: Iterable[object]) -> dict[str, Any] | None:
    """The conversation's order: the newest (by ``created_at``) of the context's orders that have a number."""
    candidates = [
        o for o in orders if isinstance(o, dict) and isinstance(o.get("number"), str) and o["number"]
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda o: str(o.get("created_at") or ""))


def context_values(context: Mapping[str, Any]) -> dict[str, str | None]:
    """The variables the handoff's context gives (customer, the newest order); None where it has none."""
    customer = context.get("customer")
    name = customer.get("name") if isinstance(customer, dict) else None
    name = name.strip() if isinstance(name, str) else ""
    orders = context.get("orders")
    order = newest_order(orders if isinstance(orders, list) else [])

    def field(key: str) -> str | None:
        value = order.get(key) if order else None
        return str(value) if isinstance(value, str | int | float) and str(value) else None

    return {
        "first_name": name.split()[0] if name else None,
        "customer_name": name or None,
        "order_id": field("number"),
        "order_status": field("status"),
        "order_total": field("total"),
    }


def shop_values(order: Mapping[str, Any] | None) -> dict[str, str | None]:
    """The variables the order store gives for the conversation's order (``ShopReader.order``'s dict)."""
    if order is None:
        return {}

    def field(key: str) -> str | None:
        value = order.get(key)
        return str(value) if isinstance(value, str) and value else None

    return {
        "order_status": field("status"),
        "tracking_url": field("tracking_url"),
        "tracking_number": field("tracking_number"),
        "carrier": field("carrier"),
        "estimated_delivery": field("estimated_delivery"),
    }
