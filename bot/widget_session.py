"""Server-issued widget session ids: ``<32 hex random><32 hex HMAC-SHA256 tag>`` (64 hex characters).

Standard library only and Python 3.10-compatible: both the bot service and the Rasa socket.io channel
(``bot/rasa_channel.py``, inside the Rasa process) import it. Whoever holds a validly signed id can read that
conversation and write to it, so ids are only ever minted by our servers (``WIDGET_SESSION_SECRET``); a
client-chosen or guessed id is refused. The same secret signs the client id the bot service's reverse proxy
forwards to Rasa (``X-ShopDesk-Client``), so the channel can key limits on the real browser's address, and the
relay id the proxy stamps into a handed-off shopper's message (``shopdesk_relay``, the console's edge feed:
``bot.edge_feed``): bound to the session and the text, so it cannot be moved onto another line.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets

SECRET_ENV = "WIDGET_SESSION_SECRET"
DEV_SECRET = "dev-widget-session-secret"
CLIENT_HEADER = "X-ShopDesk-Client"
RELAY_KEY = "shopdesk_relay"  # message metadata: the proxy's relay id, kept by the channel only when valid
SESSION_ID_RE = re.compile(r"[0-9a-f]{64}")
_CLIENT_RE = re.compile(r"([0-9a-f]{16})\.([0-9a-f]{32})")
# letters only (hex digits moved to a-p): the tracker store's redaction reads digit runs as phone numbers
RELAY_RE = re.compile(r"[a-p]{48}")
_HEX_TO_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


class WidgetSecretError(ValueError):
    """``WIDGET_SESSION_SECRET`` is the development default (or too short) in production."""

    def __init__(self) -> None:
        super().__init__(
            f"setting {SECRET_ENV}=<hidden> is invalid: expected a real secret of 16+ characters in production"
        )


def secret_from_env(environ: dict[str, str] | None = None) -> str:
    """The signing secret; raises WidgetSecretError for the dev default with ``SHOPDESK_ENV=production``."""
    env = os.environ if environ is None else environ
    secret = env.get(SECRET_ENV, DEV_SECRET)
    if env.get("SHOPDESK_ENV", "development") == "production" and (secret == DEV_SECRET or len(secret) < 16):
        raise WidgetSecretError()
    return secret or DEV_SECRET


def _tag(secret: str, purpose: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def new_session_id(secret: str) -> str:
    random_part = secrets.token_hex(16)
    return random_part + _tag(secret, "widget-session", random_part)


def valid_session_id(secret: str, session_id: object) -> bool:
    """True only for an id this secret minted (constant-time tag comparison)."""
    if not isinstance(session_id, str) or not SESSION_ID_RE.fullmatch(session_id):
        return False
    return hmac.compare_digest(session_id[32:], _tag(secret, "widget-session", session_id[:32]))


def client_id(secret: str, address: str) -> str:
    """A short non-reversible id of a client address (the ``shopdesk_client`` metadata value)."""
    return _tag(secret, "client", address)[:16]


def signed_client(secret: str, client: str) -> str:
    """The ``X-ShopDesk-Client`` header value the proxy sends: ``<client id>.<tag>``."""
    return f"{client}.{_tag(secret, 'forwarded-client', client)}"


def verified_client(secret: str, header: object) -> str | None:
    """The client id from a validly signed ``X-ShopDesk-Client`` header, else None."""
    if not isinstance(header, str):
        return None
    match = _CLIENT_RE.fullmatch(header.strip())
    if match is None:
        return None
    client, tag = match.groups()
    return client if hmac.compare_digest(tag, _tag(secret, "forwarded-client", client)) else None


def _relay_tag(secret: str, session_id: str, nonce: str, text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return _tag(secret, "relay", f"{session_id}:{nonce}:{digest}").translate(_HEX_TO_LETTERS)


def new_relay_id(secret: str, session_id: str, text: str) -> str:
    """A relay id for one message ``text`` of ``session_id``: 16 random letters and a 32-letter tag."""
    nonce = secrets.token_hex(8).translate(_HEX_TO_LETTERS)
    return nonce + _relay_tag(secret, session_id, nonce, text)


def valid_relay_id(secret: str, session_id: str, text: object, relay: object) -> bool:
    """True only for a relay id this secret made for exactly this session and this message text."""
    if not isinstance(relay, str) or not isinstance(text, str) or not RELAY_RE.fullmatch(relay):
        return False
    return hmac.compare_digest(relay[16:], _relay_tag(secret, session_id, relay[:16], text))
