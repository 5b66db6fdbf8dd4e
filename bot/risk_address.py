"""When two postal addresses are the same one, for the "address used by several customers" risk signal.

Two addresses match when their **postcodes** match (upper case, without spaces and hyphens: ``sw1a 1aa`` =
``SW1A1AA``, ``10115`` = ``10-115``) and their **streets with house number** match after normalising:
full-width forms folded (NFKC), case folded (``ß`` → ``ss``), punctuation dropped, spaces collapsed and the common
street words shortened (``Straße`` / ``strasse`` / ``Str.`` → ``str``, ``Street`` → ``st``, ``Avenue`` → ``ave``,
``Road`` → ``rd``, …). City and country are not compared (``München`` / ``Munich``, ``DE`` / ``Germany``): the
postcode already places the street. Flat or floor numbers written into the street keep two flats apart.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# word (or word ending) → its short form; a German compound "Hauptstraße" ends in "straße"
_WORDS = {
    "strasse": "str",
    "str": "str",
    "street": "st",
    "st": "st",
    "avenue": "ave",
    "ave": "ave",
    "road": "rd",
    "rd": "rd",
    "boulevard": "blvd",
    "blvd": "blvd",
    "platz": "pl",
    "place": "pl",
    "pl": "pl",
    "weg": "weg",
    "lane": "ln",
    "ln": "ln",
    "drive": "dr",
    "dr": "dr",
}
_SUFFIXES = ("strasse", "str")  # "hauptstrasse" / "hauptstr" → "hauptstr"
_PUNCTUATION = re.compile(r"[^\w\s]", re.UNICODE)
_SPACES = re.compile(r"\s+")


def postcode_key(postcode: str) -> str:
    """``sw1a 1aa`` → ``SW1A1AA`` (as ``shop.sqlite.reader`` compares postcodes in SQL)."""
    return unicodedata.normalize("NFKC", postcode).upper().replace(" ", "").replace("-", "")


def _word(word: str) -> str:
    if word in _WORDS:
        return _WORDS[word]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix):
            return word[: -len(suffix)] + "str"
    return word


@lru_cache(maxsize=65_536)  # the same streets come back on every call for a postcode
def street_key(street: str) -> str:
    """``Hauptstraße 5`` → ``hauptstr 5``; ``5 Main Street.`` → ``5 main st``."""
    text = unicodedata.normalize("NFKC", street).casefold()
    text = _PUNCTUATION.sub(" ", text)
    # a house number glued to the street word ("Hauptstr.5" → "hauptstr 5"); "5a" stays one token
    text = re.sub(r"(?<=[^\W\d_])(?=\d)", " ", text)
    return " ".join(_word(word) for word in _SPACES.split(text.strip()) if word)


def address_key(street: str, postcode: str) -> tuple[str, str]:
    """What two addresses must share to be the same address."""
    return postcode_key(postcode), street_key(street)
