"""Server-issued widget session ids: ``<32 hex random><32 hex HMAC-SHA256 tag>`` (64 hex characters).

Standard library only and Python 3.10-compatible: both the bot service and the Rasa socket.io channel
(``bot/rasa_channel.py``, inside the Rasa process) import it. Whoever holds a validly signed id can read that
conversation and write to it, so ids are only ever minted by our servers (``WIDGET_SESSION_SECRET``); a
client-chosen or guessed id is refused. The same secret signs the client id the bot service's reverse proxy
forwards to Rasa (``X-ShopDesk-Client``), so the channel can key limits on the real browser's address.
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
SESSION_ID_RE = re.compile(r"[0-9a-f]{64}")
_CLIENT_RE = re.compile(r"([0-9a-f]{16})\.([0-9a-f]{32})")


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
