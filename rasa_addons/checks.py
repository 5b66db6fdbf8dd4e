"""The pure checks behind the Rasa add-ons: standard library only, so both environments can test them."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from typing import Any, Dict, Optional

from rasa_addons.payloads import SHOPPER_ENTITIES, SHOPPER_INTENTS, command_problem

SENDER_PATTERN = re.compile(r"^[\w.:@\-]{1,128}$")
MAX_METADATA_KEYS = 16
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 200
CLIENT_KEY = "shopdesk_client"
RESERVED_PREFIX = "shopdesk_"
_CLIENT_HEADER = re.compile(r"([0-9a-f]{16})\.([0-9a-f]{32})")


# A lone UTF-16 surrogate ("\\udfff" is valid JSON) is not valid Unicode: anything that encodes the text to UTF-8
# (the sentence encoder, SQLite, a log handler) raises on it, and the turn would go unanswered.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_unicode(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD (the rest untouched)."""
    return _LONE_SURROGATE.sub("\ufffd", text)


class InputProblem(Exception):
    """A request the REST channel refuses; carries the HTTP status and a message for the client."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message


def parse_request(body: bytes, max_chars: int, channel_name: str = "rest") -> Dict[str, Any]:
    """The request's JSON object with `metadata` cleaned, or InputProblem naming what is wrong.

    Refused besides malformed JSON and bad fields: an `input_channel` other than ours, metadata that is not a
    small object of scalars, and command payloads a shopper may not send (rasa_addons.payloads).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputProblem(
            400, "body", f"the request body is not valid UTF-8 (byte {error.start})"
        ) from error
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError) as error:
        reason = getattr(error, "msg", "nested too deeply")
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
    channel = payload.get("input_channel")
    if channel is not None and channel != channel_name:
        raise InputProblem(
            400, "input_channel", f"'input_channel' is set by the server ({channel_name!r}); leave it out"
        )
    problem = command_problem(message, SHOPPER_INTENTS, SHOPPER_ENTITIES)
    if problem is not None:
        raise InputProblem(400, "message", f"this message cannot be sent: {problem}")
    payload["metadata"] = clean_metadata(payload.get("metadata"))
    return payload


def clean_metadata(raw: Any) -> Dict[str, Any]:
    """Client metadata as a small JSON object of scalars, without `shopdesk_*` keys; InputProblem otherwise."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InputProblem(
            400,
            "metadata",
            f"'metadata' must be a JSON object of text, numbers or booleans, not {_json_kind(raw)}",
        )
    if len(raw) > MAX_METADATA_KEYS:
        raise InputProblem(
            400, "metadata", f"'metadata' has {len(raw)} keys; the limit is {MAX_METADATA_KEYS}"
        )
    metadata: Dict[str, Any] = {}
    for key, value in raw.items():
        if len(key) > MAX_METADATA_KEY_CHARS:
            raise InputProblem(
                400,
                "metadata",
                f"a 'metadata' key is {len(key)} characters long; the limit is {MAX_METADATA_KEY_CHARS}",
            )
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise InputProblem(
                400,
                "metadata",
                f"'metadata.{key[:40]}' must be text, a number or a boolean, not {_json_kind(value)}",
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise InputProblem(400, "metadata", f"'metadata.{key[:40]}' must be a finite number")
        if isinstance(value, str) and len(value) > MAX_METADATA_VALUE_CHARS:
            raise InputProblem(
                400,
                "metadata",
                f"'metadata.{key[:40]}' has {len(value)} characters; the limit is {MAX_METADATA_VALUE_CHARS}",
            )
        if key.startswith(RESERVED_PREFIX):
            continue  # set by the server only
        metadata[key] = value
    return metadata


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


# The client id: the same HMAC as bot/widget_session.py (client_id / verified_client), kept in step by a test,
# so a shopper gets one `shopdesk_client` whether they come over REST or socket.io.
def _tag(secret: str, purpose: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def client_id(secret: str, address: str) -> str:
    """A short non-reversible id of a client address (the `shopdesk_client` metadata value)."""
    return _tag(secret, "client", address)[:16]


def verified_client(secret: str, header: Optional[str]) -> Optional[str]:
    """The client id from a validly signed `X-ShopDesk-Client` header (the bot service's proxy), else None."""
    if not isinstance(header, str):
        return None
    match = _CLIENT_HEADER.fullmatch(header.strip())
    if match is None:
        return None
    client, tag = match.groups()
    return client if hmac.compare_digest(tag, _tag(secret, "forwarded-client", client)) else None
