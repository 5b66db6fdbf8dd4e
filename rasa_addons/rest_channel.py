"""Rasa's REST channel with input checks, loaded by the Rasa server from credentials.yml.

Runs inside Rasa's own environment (Python 3.10): it imports only Rasa and Sanic.

Every request to /webhooks/rest/webhook is checked before it reaches the dialogue:

- a body that is not UTF-8 or not a JSON object → 400, naming the problem;
- a missing or malformed `sender` (1–128 printable characters) → 400;
- a missing `message`, or one that is not a string → 400;
- a message over the size limit → 413, naming the size and the limit;
- a body over `RASA_MAX_BODY_BYTES` (64 KB) → 413: Sanic refuses it from Content-Length before buffering
  (serve.py sets REQUEST_MAX_SIZE); the check here is the second line for a server started otherwise;
- an `input_channel` other than "rest" → 400 (the channel name is the server's to set);
- `metadata` that is not a small JSON object of scalars (a list, nested objects, long strings) → 400;
- a command payload a shopper may not send (`/restart`, `/session_start`, an unknown intent, an entity named
  after an internal slot such as `verified_order_id`; rasa_addons.payloads) → 400, naming the problem;
- an empty or blank message → 200 with a clear reply, and nothing is written to the conversation;
- lone UTF-16 surrogates (valid JSON, invalid Unicode) become U+FFFD before the dialogue sees the text;
- a turn that fails (a conversation lock that timed out, a crash) is logged by its kind and conversation, not with
  the shopper's text as Rasa's webhook logs it, and answered as Rasa answers it (the replies so far).

Every accepted message carries `metadata.shopdesk_client`, set here: a keyed hash of the client's address (or
the client id the bot service's proxy vouches for with a signed `X-ShopDesk-Client` header); a client-sent
value, and any other `shopdesk_*` key, is dropped.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa_addons.checks import (
    CLIENT_KEY,
    InputProblem,
    client_id,
    parse_request,
    valid_unicode,
    verified_client,
)

logger = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGE_CHARS = 5000
DEFAULT_MAX_BODY_BYTES = 64 * 1024
CLIENT_HEADER = "X-ShopDesk-Client"
DEV_WIDGET_SECRET = "dev-widget-session-secret"
EMPTY_MESSAGE_REPLY = "It looks like that message was empty. What can I help you with?"


class GuardedRestInput(RestInput):
    """The REST channel at /webhooks/rest/webhook, refusing bad input with a clear answer."""

    def __init__(
        self,
        max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
        max_body_bytes: Optional[int] = None,
        client_secret: Optional[str] = None,
    ) -> None:
        self.max_message_chars = max_message_chars
        self.max_body_bytes = max_body_bytes or int(
            os.environ.get("SHOPDESK_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES
        )
        self.client_secret = client_secret or os.environ.get("WIDGET_SESSION_SECRET") or DEV_WIDGET_SECRET

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "GuardedRestInput":
        credentials = credentials or {}
        return cls(int(credentials.get("max_message_chars", DEFAULT_MAX_MESSAGE_CHARS)))

    def _extract_message(self, req: Request) -> Optional[Text]:
        text = super()._extract_message(req)
        return valid_unicode(text) if isinstance(text, str) else text  # the guard refused every non-string

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()  # never the client's choice (the guard refuses another value)

    def client_of(self, request: Request) -> str:
        """`shopdesk_client`: the proxy's signed client id, else a keyed hash of the peer's address."""
        forwarded = verified_client(self.client_secret, request.headers.get(CLIENT_HEADER))
        if forwarded is not None:
            return forwarded
        return client_id(self.client_secret, str(request.ip or "?"))

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        metadata = dict(getattr(request.ctx, "shopdesk_metadata", None) or {})
        metadata[CLIENT_KEY] = self.client_of(request)
        return metadata

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def handle(message: UserMessage) -> None:
            # Rasa's webhook logs a failed turn (a lock timeout, a crash) with the shopper's text at ERROR
            # (structlog "rest.message.received.failure"); this logs its kind and the conversation, the details at
            # DEBUG, and the answer is what Rasa's is: the replies so far.
            try:
                await on_new_message(message)
            except Exception as error:
                logger.error(
                    "a message of conversation %s was not handled: %s",
                    message.sender_id,
                    type(error).__name__,
                )
                logger.debug("the failed turn of %s", message.sender_id, exc_info=True)

        webhook = super().blueprint(handle)

        @webhook.middleware("request")
        async def guard(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST" or not request.path.rstrip("/").endswith("/webhook"):
                return None
            body = request.body or b""
            if len(body) > self.max_body_bytes:
                return response.json(
                    {
                        "error": f"the request body has {len(body)} bytes; the limit is {self.max_body_bytes}",
                        "field": "body",
                    },
                    status=413,
                )
            try:
                payload = parse_request(body, self.max_message_chars, self.name())
            except InputProblem as problem:
                return response.json(
                    {"error": problem.message, "field": problem.field}, status=problem.status
                )
            if not payload["message"].strip():
                return response.json([{"recipient_id": payload["sender"], "text": EMPTY_MESSAGE_REPLY}])
            request.ctx.shopdesk_metadata = payload["metadata"]
            return None

        return webhook
