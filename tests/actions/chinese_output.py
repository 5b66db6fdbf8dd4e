"""A checker for Chinese conversations: the English words in what an action emits itself.

What the actions build and send — message texts, button titles, the card payload's heading and reasons, and
every value they fill into a domain response — may carry Latin script only for data that stays as it is:
product titles and brands (passed in as ``names``), carriers and payment brands, ids, money, URLs and emails.
The responses themselves are rendered by Rasa from the domain (their Chinese variations are checked there).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rasa_sdk.executor import CollectingDispatcher

# Names the shop's data uses that are brands, not English words.
KNOWN_NAMES = ("DHL", "DPD", "UPS", "GLS", "Visa", "Mastercard", "PayPal", "Klarna")
# Keys of a CollectingDispatcher message that are not response variables.
SDK_KEYS = {"text", "buttons", "elements", "custom", "template", "response", "image", "attachment"}

_URL = re.compile(r"(?:https?://|/)[\w./%#?=&:-]*\w")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_WITH_DIGIT = re.compile(r"[A-Za-z0-9-]*\d[A-Za-z0-9-]*")  # ids, postcodes, "20L"
_WORD = re.compile(r"[A-Za-z]{2,}")


def english_words(text: str, names: Iterable[str] = ()) -> list[str]:
    """The Latin-script words of ``text`` once ``names``, known brands, URLs, emails and ids are taken out."""
    for name in sorted({*names, *KNOWN_NAMES}, key=len, reverse=True):
        if name:
            text = text.replace(name, " ")
    for pattern in (_URL, _EMAIL, _WITH_DIGIT):
        text = pattern.sub(" ", text)
    return _WORD.findall(text)


def emitted(dispatcher: CollectingDispatcher) -> list[str]:
    """Everything the actions wrote into their messages: texts, button titles, card headings and reasons,
    and the string values given to responses."""
    found: list[str] = []
    for message in dispatcher.messages:
        found += [str(message["text"])] if message.get("text") else []
        found += [str(b.get("title", "")) for b in message.get("buttons") or []]
        custom: dict[str, Any] = message.get("custom") or {}
        found += [str(custom["text"])] if custom.get("text") else []
        found += [str(c["reason"]) for c in custom.get("cards", []) if c.get("reason")]
        found += [v for k, v in message.items() if k not in SDK_KEYS and isinstance(v, str)]
    return found


def leaks(dispatcher: CollectingDispatcher, names: Iterable[str] = ()) -> dict[str, list[str]]:
    """``{emitted text: its English words}`` for each emitted text that has any."""
    names = list(names)
    return {text: words for text in emitted(dispatcher) if (words := english_words(text, names))}
