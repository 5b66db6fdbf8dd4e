"""The pure checks behind the Rasa add-ons: standard library only, so both environments can test them."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Dict

SENDER_PATTERN = re.compile(r"^[\w.:@\-]{1,128}$")


class InputProblem(Exception):
    """A request the REST channel refuses; carries the HTTP status and a message for the client."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message


def parse_request(body: bytes, max_chars: int) -> Dict[str, Any]:
    """The request's JSON object, or InputProblem naming what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputProblem(
            400, "body", f"the request body is not valid UTF-8 (byte {error.start})"
        ) from error
    try:
        payload = json.loads(text)
    except ValueError as error:
        reason = getattr(error, "msg", str(error))
        raise InputProblem(400, "body", f"the request body is not valid JSON: {reason}") from error
    if not isinstance(payload, dict):
        raise InputProblem(400, "body", "the request body must be a JSON object with 'sender' and 'message'")
    sender = payload.get("sender")
    if not isinstance(sender, str) or not SENDER_PATTERN.match(sender):
        raise InputProblem(
            400, "sender", "'sender' must be 1-128 characters of letters, digits and . _ - : @"
        )
    message = payload.get("message")
    if not isinstance(message, str):
        raise InputProblem(400, "message", "'message' must be a string")
    if len(message) > max_chars:
        raise InputProblem(
            413, "message", f"the message has {len(message)} characters; the limit is {max_chars}"
        )
    return payload


def latin_share(text: str) -> tuple[float, int]:
    """The share of letters in `text` that are Latin, and how many letters there are."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 1.0, 0
    latin = sum(1 for ch in letters if "LATIN" in unicodedata.name(ch, ""))
    return latin / len(letters), len(letters)


def is_foreign_script(text: str, min_latin_share: float = 0.5, min_letters: int = 2) -> bool:
    """Whether `text` is written mostly outside the Latin script (messages without letters are not)."""
    share, letters = latin_share(text)
    return letters >= min_letters and share < min_latin_share
