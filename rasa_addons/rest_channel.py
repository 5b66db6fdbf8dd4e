"""Rasa's REST channel with input checks, loaded by the Rasa server from credentials.yml.

Runs inside Rasa's own environment (Python 3.10): it imports only Rasa and Sanic.

Every request to /webhooks/rest/webhook is checked before it reaches the dialogue:

- a body that is not UTF-8 or not a JSON object → 400, naming the problem;
- a missing or malformed `sender` (1–128 printable characters) → 400;
- a missing `message`, or one that is not a string → 400;
- a message over the size limit → 413, naming the size and the limit;
- an empty or blank message → 200 with a clear reply, and nothing is written to the conversation.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa_addons.checks import InputProblem, parse_request

DEFAULT_MAX_MESSAGE_CHARS = 5000
EMPTY_MESSAGE_REPLY = "It looks like that message was empty. What can I help you with?"


class GuardedRestInput(RestInput):
    """The REST channel at /webhooks/rest/webhook, refusing bad input with a clear answer."""

    def __init__(self, max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS) -> None:
        self.max_message_chars = max_message_chars

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "GuardedRestInput":
        credentials = credentials or {}
        return cls(int(credentials.get("max_message_chars", DEFAULT_MAX_MESSAGE_CHARS)))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)

        @webhook.middleware("request")
        async def guard(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST" or not request.path.rstrip("/").endswith("/webhook"):
                return None
            try:
                payload = parse_request(request.body or b"", self.max_message_chars)
            except InputProblem as problem:
                return response.json(
                    {"error": problem.message, "field": problem.field}, status=problem.status
                )
            if not payload["message"].strip():
                return response.json([{"recipient_id": payload["sender"], "text": EMPTY_MESSAGE_REPLY}])
            return None

        return webhook
