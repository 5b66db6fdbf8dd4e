"""Order authority: which order this conversation may see or change, decided inside the action server.

A slot is a claim, not a proof: anyone who can reach the action server (or forge a tracker) can write
``verified_order_id``. So ``validate_order_verification_form``, once the email matches, also sets
``verification_proof``::

    v1.<issued_at>.<hex HMAC-SHA256(VERIFICATION_KEY, "v1|<sender_id>|<order>|<customer_id>|<issued_at>")>

and every order action asks ``verified_order_number(tracker)``, which returns the order only when the proof
matches *this* conversation (sender id), *this* order and customer, and is younger than ``VERIFICATION_TTL_S``.
Without the key a caller cannot mint a proof; a proof copied from another conversation names another sender.

``client_key`` names who is trying (for the verification throttle in the order store): the ``shopdesk_client``
metadata the Rasa input channels set server-side on every user message, else the sender id.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from rasa_sdk import Tracker

from actions.services import services
from actions.settings import Settings

PROOF_SLOT = "verification_proof"
PROOF_VERSION = "v1"
CLIENT_METADATA_KEY = "shopdesk_client"
MAX_CLOCK_SKEW_S = 60  # a proof "issued" further in the future than this is refused
_MAX_CLIENT_CHARS = 128


def _signature(key: str, sender_id: str, order_number: str, customer_id: str, issued_at: int) -> str:
    message = "|".join((PROOF_VERSION, sender_id, order_number, customer_id, str(issued_at)))
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def issue_proof(sender_id: str, order_number: str, customer_id: str, *, key: str, now: float) -> str:
    """The proof that ``sender_id`` verified ``order_number`` (of ``customer_id``) at ``now``."""
    issued_at = int(now)
    return f"{PROOF_VERSION}.{issued_at}.{_signature(key, sender_id, order_number, customer_id, issued_at)}"


def proof_is_valid(
    proof: Any,
    *,
    sender_id: str,
    order_number: str,
    customer_id: str,
    key: str,
    ttl_s: int,
    now: float,
) -> bool:
    """True when ``proof`` was issued with ``key`` for this sender, order and customer, less than ``ttl_s`` ago."""
    if not isinstance(proof, str) or len(proof) > 200:
        return False
    version, _, rest = proof.partition(".")
    issued_text, _, signature = rest.partition(".")
    if version != PROOF_VERSION or not issued_text.isdigit() or len(issued_text) > 12:
        return False
    issued_at = int(issued_text)
    if not (now - ttl_s < issued_at <= now + MAX_CLOCK_SKEW_S):
        return False
    expected = _signature(key, sender_id, order_number, customer_id, issued_at)
    return hmac.compare_digest(expected.encode(), signature.encode())


def proof_for(tracker: Tracker, order_number: str, customer_id: str, settings: Settings | None = None) -> str:
    """A fresh proof for this conversation (called by the verification form only)."""
    settings = settings or services().settings
    return issue_proof(
        tracker.sender_id, order_number, customer_id, key=settings.verification_key, now=time.time()
    )


def verified_order_number(
    tracker: Tracker, settings: Settings | None = None, *, now: float | None = None
) -> str | None:
    """The order verified in this conversation, or None when the slots carry no valid, fresh proof."""
    number = tracker.get_slot("verified_order_id")
    customer_id = tracker.get_slot("customer_id")
    if not (isinstance(number, str) and number and isinstance(customer_id, str) and customer_id):
        return None
    settings = settings or services().settings
    valid = proof_is_valid(
        tracker.get_slot(PROOF_SLOT),
        sender_id=str(tracker.sender_id),
        order_number=number,
        customer_id=customer_id,
        key=settings.verification_key,
        ttl_s=settings.verification_ttl_s,
        now=time.time() if now is None else now,
    )
    return number if valid else None


def client_key(tracker: Tracker) -> str:
    """Who is verifying: the input channel's ``shopdesk_client`` of the latest user message, else the sender."""
    metadata = (tracker.latest_message or {}).get("metadata")
    if not isinstance(metadata, dict):
        metadata = next(
            (e.get("metadata") for e in reversed(tracker.events or []) if e.get("event") == "user"), None
        )
    client = metadata.get(CLIENT_METADATA_KEY) if isinstance(metadata, dict) else None
    if isinstance(client, str) and client.strip():
        return f"client:{client.strip()[:_MAX_CLIENT_CHARS]}"
    return f"sender:{str(tracker.sender_id)[:_MAX_CLIENT_CHARS]}"
