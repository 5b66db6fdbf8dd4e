"""Redaction of shoppers' personal data (emails, phone numbers, street addresses) in text and log records.

Standard library only. The patterns are deliberately broad for emails and street addresses and careful for
phone numbers, so order, refund and product ids (SD-100042, RF-300001), amounts, dates and times survive.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Callable, Optional

EMAIL_MARK = "[email]"
PHONE_MARK = "[phone]"
ADDRESS_MARK = "[address]"

EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)

# A run of digits with spaces, dashes, dots or brackets between them; _phone() decides whether it is a phone.
_PHONE_CANDIDATE = re.compile(r"(?<![\w.+-])\+?\(?\d[\d ()./-]{5,22}\d(?![\w-]|\.\d)")
_DATE_OR_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}|^\d{1,2}[./]\d{1,2}[./]\d{2,4}$")

# Street addresses as shoppers and the demo shop write them: "Lindenstraße 12", "Keizersgracht 221",
# "Sendlinger Str. 5", "Market Street 40", "12 Rue Oberkampf", "221B Baker Street", "Via Roma 3".
# Words that are also ordinary English ("way", "place", "court", "via", "drive") count only when capitalised,
# so "2 items on the way" or "during 2 days" stay as they are.
_COMPOUND = r"(?:stra(?:ß|ss)e|str\.|gasse|allee|platz|weg|damm|gracht|kade|laan|gade|vej)"
_STREET_AFTER = (
    r"(?:stra(?:ß|ss)e|str\.|street|st\.|road|rd\.|avenue|ave\.|lane|boulevard|blvd\.|allee|gasse|platz"
    r"|(?-i:Drive|Court|Square|Place|Way|Close|Crescent|Terrace|Ring|Weg|Gracht|Kade))"
)
_STREET_BEFORE = r"(?:rue|calle|avenida|viale|piazza|rua|carrer|plaza|(?-i:Via|Avenue|Boulevard))"
_NAME = r"[^\W\d_][\w'.-]*"
_NAMES = r"(?:(?:(?-i:[A-ZÀ-ÞĀ-Ž])[\w'.-]*\s+){1,3}|[^\W\d_][\w'.-]*\s+)"  # up to 3 capitalised words, or one
_HOUSE = r"\d{1,4}[a-zA-Z]?\b"
ADDRESS = re.compile(
    rf"\b[^\W\d_]+{_COMPOUND}\s+{_HOUSE}"  # Lindenstraße 12
    rf"|\b{_NAMES}{_STREET_AFTER}\s+{_HOUSE}"  # Market Street 40, Sendlinger Str. 5
    rf"|\b{_STREET_BEFORE}\s+(?:{_NAME}\s+){{0,3}}{_NAME},?\s+{_HOUSE}"  # Via Roma 3, Rue de la Paix 3
    rf"|\b{_HOUSE},?\s+(?:{_STREET_BEFORE}\s+{_NAME}|{_NAMES}{_STREET_AFTER})",  # 12 Rue Oberkampf
    re.IGNORECASE | re.UNICODE,
)


def _phone(match: "re.Match[str]") -> str:
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    if not 7 <= digits <= 15 or _DATE_OR_TIME.match(text):
        return text
    if text.count(".") == 1 or ":" in text:  # a decimal number, not a phone
        return text
    if not text.startswith(("+", "(")) and not re.search(r"[ ()-]", text) and digits < 10:
        return text  # a bare short number (a quantity, a postcode, an amount in cents)
    return PHONE_MARK


def redact_text(text: str) -> str:
    """`text` with emails, phone numbers and street addresses replaced by [email], [phone], [address]."""
    if not text:
        return text
    text = EMAIL.sub(EMAIL_MARK, text)
    text = ADDRESS.sub(ADDRESS_MARK, text)
    return _PHONE_CANDIDATE.sub(_phone, text)


def redact_value(value: Any) -> Any:
    """Strings redacted, lists and dicts redacted item by item, everything else as it is."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, list):
        return [redact_value(item) for item in value]
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    return value


class _RedactingFactory:
    """A log record factory that redacts the message of every record above `below_level`."""

    def __init__(self, inner: Callable[..., logging.LogRecord], below_level: int) -> None:
        self.inner = inner
        self.below_level = below_level

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        if record.levelno > self.below_level:
            try:
                message = record.getMessage()
            except Exception:  # a malformed record: leave it to logging's own error handling
                return record
            redacted = redact_text(message)
            if redacted != message:
                record.msg, record.args = redacted, ()
        return record


def install_log_redaction(below_level: int = logging.DEBUG) -> Optional[_RedactingFactory]:
    """Redact emails, phones and addresses in every log record above DEBUG, whichever handler writes it.

    A record factory, not a handler filter: Rasa configures its handlers after we start, and structlog hands
    its rendered lines to the standard library too, so this catches both. Idempotent.
    """
    current = logging.getLogRecordFactory()
    if isinstance(current, _RedactingFactory):
        return None
    factory = _RedactingFactory(current, below_level)
    logging.setLogRecordFactory(factory)
    return factory
