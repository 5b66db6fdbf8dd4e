"""The shopper's language, as the conversation tracks it (the `language` slot, domain/language.yml).

ShopDesk speaks English and Simplified Chinese. Rasa sets the slot from each message whose language is clear
(rasa_addons.language); actions read it here and nowhere else, so an unknown or missing value means English.
"""

from __future__ import annotations

from typing import Literal

from rasa_sdk import Tracker

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "zh")
DEFAULT_LANGUAGE: Language = "en"
LANGUAGE_SLOT = "language"


def language_of(tracker: Tracker) -> Language:
    """The conversation's language: "zh" when the slot says so, English otherwise."""
    return "zh" if tracker.get_slot(LANGUAGE_SLOT) == "zh" else DEFAULT_LANGUAGE
