"""Small helpers shared by the order actions: the verified order in a tracker, money and date wording."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import authority, messages
from actions.services import services
from shop.errors import StoreError
from shop.interface import OrderStore
from shop.model import Order
from shop.policy import format_money

logger = logging.getLogger(__name__)

# Slot names (declared in domain/orders.yml).
ORDER_ID = "order_id"
EMAIL = "email"
VERIFIED_ORDER_ID = "verified_order_id"
CUSTOMER_ID = "customer_id"
CUSTOMER_NAME = "customer_name"
VERIFICATION_ATTEMPTS = "verification_attempts"
VERIFICATION_PROOF = authority.PROOF_SLOT
ORDER_TASK = "order_task"
ORDER_STEP = "order_step"

# order_step values (featurized; the rules in training_data/rules/orders.yml act on them)
STEP_CONFIRM_CANCEL = "confirm_cancel"
STEP_CHOOSE_CHANGE = "choose_change"
STEP_COLLECT_ADDRESS = "collect_address"
STEP_OFFER_HUMAN = "offer_human"


def store() -> OrderStore:
    """The process's order store (``actions.services``)."""
    return services().store


def verified_order_number(tracker: Tracker) -> str | None:
    """The order verified in *this* conversation: the slot only counts with a valid, fresh proof
    (``actions.authority``); a forged or expired ``verified_order_id`` reads as "not verified"."""
    return authority.verified_order_number(tracker)


def verified_customer_id(tracker: Tracker) -> str | None:
    """The customer whose order email matched in this conversation, if any (handoff, ordering)."""
    if verified_order_number(tracker) is None:
        return None
    value = tracker.get_slot(CUSTOMER_ID)
    return value if isinstance(value, str) and value else None


def ask_to_verify(dispatcher: CollectingDispatcher) -> list[EventType]:
    """No valid verification in this conversation (never done, expired, or a forged slot): say so and
    drop whatever verification slots were there."""
    dispatcher.utter_message(response="utter_verify_first")
    return [
        SlotSet(slot, None) for slot in (VERIFIED_ORDER_ID, VERIFICATION_PROOF, CUSTOMER_ID, CUSTOMER_NAME)
    ]


def verified_order(tracker: Tracker) -> Order | None:
    """The verified order, freshly loaded; None when nothing is verified (or it vanished)."""
    number = verified_order_number(tracker)
    if number is None:
        return None
    try:
        return store().get_order(number)
    except StoreError:
        logger.exception("verified order %s could not be loaded", number)
        return None


def attempts(tracker: Tracker) -> int:
    value = tracker.get_slot(VERIFICATION_ATTEMPTS)
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def money(amount_minor: int, currency: str) -> str:
    return format_money(amount_minor, currency)


def day(value: date | datetime) -> str:
    """``Tuesday 24 November`` in English (tests, logs); actions say ``words.day(value)``."""
    return messages.EN.day(value)


def short_day(value: date | datetime) -> str:
    """``24 Nov 2025`` in English (tests, logs); actions say ``words.short_day(value)``."""
    return messages.EN.short_day(value)


def items_text(
    words: messages.Catalog, order: Order, product_ids: tuple[str, ...] | list[str] | None = None
) -> str:
    """``2 × Merino T-Shirt and Packable Rain Jacket`` (``words``: the conversation's catalog)."""
    lines = [line for line in order.lines if product_ids is None or line.product_id in product_ids]
    return words.items((line.quantity, line.title) for line in lines)


def button(title: str, payload: str) -> dict[str, Any]:
    return {"title": title, "payload": payload}
