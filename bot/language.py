"""Which language a conversation is in, read from Rasa's tracker events (standard library only).

Rasa's ``language`` slot (domain/language.yml, values ``en`` / ``zh``) is the conversation's language. The
bot service reads it from the tracker it already syncs; the socket.io channel (Rasa's Python 3.10) from the
tracker store. The newest of these signals wins:

- a ``slot`` event for ``language`` (what Rasa answers in);
- a ``language`` entity in a user message's parse data (the detector's verdict on that message: while a
  conversation is paused for a person, Rasa parses what the shopper writes but sets no slots, so this is
  how a switch is noticed then).

When the tracker has neither (nothing decided yet: the slot is still its initial value), the widget's page
language that the last message carried (``metadata.page_language``, sent by bot/static/widget.js) decides,
and without that ``en``. Scanning stops at a ``restart`` (a new conversation). Traditional Chinese page tags
(``zh-TW``, ``zh-Hant``) count as ``zh``: the assistant answers Chinese in Simplified.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from rasa_addons.language_rules import page_language

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "zh")
DEFAULT_LANGUAGE: Language = "en"
LANGUAGE_SLOT = "language"
PAGE_LANGUAGE_KEY = "page_language"  # user message metadata set by the widget


def normalize_language(tag: object) -> Language | None:
    """``en`` / ``zh`` for a language tag (``zh-CN``, ``zh_Hant``, ``EN-gb`` …); None for anything else."""
    return page_language(tag)  # type: ignore[return-value]  # the NLU's own reading of the widget's tag


def _entity_language(event: Mapping[str, Any]) -> Language | None:
    parse_data = event.get("parse_data")
    entities = parse_data.get("entities") if isinstance(parse_data, Mapping) else None
    if not isinstance(entities, list):
        return None
    found = None
    for entity in entities:
        if isinstance(entity, Mapping) and entity.get("entity") == LANGUAGE_SLOT:
            found = normalize_language(entity.get("value")) or found
    return found


def decided_language(
    events_newest_first: Iterable[Mapping[str, Any]],
) -> tuple[Language | None, Language | None]:
    """(the language the tracker decided, the newest page language) scanning from the newest event back."""
    page: Language | None = None
    for event in events_newest_first:
        if not isinstance(event, Mapping):
            continue
        kind = event.get("event")
        if kind == "restart":
            break
        if kind == "slot" and event.get("name") == LANGUAGE_SLOT:
            value = normalize_language(event.get("value"))
            if value is not None:
                return value, page
        elif kind == "user":
            value = _entity_language(event)
            if value is not None:
                return value, page
            metadata = event.get("metadata")
            if page is None and isinstance(metadata, Mapping):
                page = normalize_language(metadata.get(PAGE_LANGUAGE_KEY))
    return None, page


def conversation_language(
    events: Sequence[Mapping[str, Any]], current_page: Language | None = None
) -> Language:
    """The conversation's language from tracker events (oldest first, as Rasa's tracker JSON lists them).

    ``current_page``: the page language of a message newer than every event (one being answered now that
    never reaches the tracker, e.g. a refused one); it beats the page languages of older messages.
    """
    return language_newest_first(reversed(events), current_page)


def language_newest_first(
    events_newest_first: Iterable[Mapping[str, Any]], current_page: Language | None = None
) -> Language:
    decided, page = decided_language(events_newest_first)
    return decided or current_page or page or DEFAULT_LANGUAGE
