"""Which Rasa command payloads (`/intent{"entity": "value"}`) a shopper may send.

Rasa turns any message that starts with `/` into an intent and entities without running the NLU, so a shopper
could type `/restart` (which would un-pause a conversation an agent holds), `/session_start`, an intent the
dialogue never expects, or entities named after internal slots (`verified_order_id`). The buttons the assistant
shows use a few of these payloads on purpose (`/affirm`, `/deny`, `/contact_human_agent`,
`/inform{"line_item": "P-1", "line_quantity": "2"}`, `/product_question{"product": "P-1"}`), so the channels
keep those and refuse the rest.

Standard library only: the REST channel (Rasa's Python 3.10) and the socket.io channel both import it, and the
tests run it from either environment.
"""

from __future__ import annotations

import json
import math
import re

# Every intent a shopper's message can have: the domain's intents (domain/*.yml) less Rasa's own commands.
# The NLU predicts these anyway; a payload naming one only skips the classifier, as the buttons do.
SHOPPER_INTENTS: frozenset[str] = frozenset(
    {
        # Bitext taxonomy
        "cancel_order",
        "change_order",
        "change_shipping_address",
        "check_cancellation_fee",
        "check_invoice",
        "check_payment_methods",
        "check_refund_policy",
        "complaint",
        "contact_customer_service",
        "contact_human_agent",
        "create_account",
        "delete_account",
        "delivery_options",
        "delivery_period",
        "edit_account",
        "get_invoice",
        "get_refund",
        "newsletter_subscription",
        "payment_issue",
        "place_order",
        "recover_password",
        "registration_problems",
        "review",
        "set_up_shipping_address",
        "switch_account",
        "track_order",
        "track_refund",
        # conversational
        "greet",
        "goodbye",
        "affirm",
        "deny",
        "thank",
        "bot_challenge",
        "out_of_scope",
        "inform",
        "switch_language",
        "decline_human_offer",  # "No, carry on" under the mood's offer of a person (domain/mood.yml)
        # ordering
        "add_to_cart",
        "remove_from_cart",
        "view_cart",
        "checkout",
        "verify_order_record",
        # products
        "search_products",
        "product_question",
        "ask_question",
        "recommend_items",
    }
)

# Entities the NLU extracts from a shopper's own words (domain/*.yml `entities:`). Slots that only actions set
# (verified_order_id, customer_id, verification_attempts, handoff_status, …) are not entities and never listed.
SHOPPER_ENTITIES: frozenset[str] = frozenset(
    {
        "order_id",
        "email",
        "invoice_id",
        "refund_id",
        "return_id",
        "amount",
        "city",
        "country",
        "account_type",
        "quantity",
        "line_item",
        "line_quantity",
        "product",
        "kb_entry",
        "color",
        "brand",
        "category",
        "price",
        "language",  # the language buttons: /switch_language{"language": "zh"}
    }
)

# Rasa's command intents: never from a shopper, whatever an allow-list says.
RASA_COMMANDS: frozenset[str] = frozenset({"restart", "back", "session_start", "nlu_fallback", "stop"})

MAX_PAYLOAD_ENTITIES = 8
MAX_ENTITY_VALUE_CHARS = 200

_INTENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def command_problem(
    text: str, allowed_intents: frozenset[str], allowed_entities: frozenset[str]
) -> str | None:
    """Why a shopper may not send `text`, when it is a Rasa command payload they may not send; else None.

    Plain text (not starting with `/` once stripped, as Rasa strips it) is always fine.
    """
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None
    body = stripped[1:]
    brace = body.find("{")
    name, entities_text = (body, "") if brace < 0 else (body[:brace], body[brace:])
    if "@" in name:
        return "command payloads may not set a confidence ('@…')"
    if not _INTENT_NAME.match(name):
        return f"'/{name[:40]}' is not a command this assistant accepts; please write your message in words"
    if name in RASA_COMMANDS:
        return f"'/{name}' is a system command; shoppers cannot send it"
    if name not in allowed_intents:
        return f"'/{name}' is not a command this assistant accepts; please write your message in words"
    if not entities_text:
        return None
    try:
        entities = json.loads(entities_text)
    except (ValueError, RecursionError):
        return f"the data after '/{name}' must be a JSON object of text or numbers"
    if not isinstance(entities, dict):
        return f"the data after '/{name}' must be a JSON object of text or numbers"
    if len(entities) > MAX_PAYLOAD_ENTITIES:
        return f"the data after '/{name}' has {len(entities)} keys; the limit is {MAX_PAYLOAD_ENTITIES}"
    for key, value in entities.items():
        if key not in allowed_entities:
            return f"'{key[:40]}' cannot be set by a message"
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return f"the value of '{key}' must be text or a number"
        if isinstance(value, float) and not math.isfinite(value):
            return f"the value of '{key}' must be a finite number"
        if isinstance(value, str) and len(value) > MAX_ENTITY_VALUE_CHARS:
            return f"the value of '{key}' is longer than {MAX_ENTITY_VALUE_CHARS} characters"
    return None
