"""``order_verification_form``: the shopper proves an order is theirs with its number and email.

Nothing about an order is said before the email matches. An unknown order, a malformed number or a wrong
email each count as a failed attempt; after ``policy.MAX_VERIFICATION_ATTEMPTS`` the form stops (its
required slots become empty) and ``action_order_task`` offers a person. Once an order is verified,
later order questions about it complete the form at once without asking again.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.common import (
    CUSTOMER_ID,
    CUSTOMER_NAME,
    EMAIL,
    ORDER_ID,
    VERIFICATION_ATTEMPTS,
    VERIFIED_ORDER_ID,
    attempts,
    store,
    verified_order_number,
)
from actions.store.errors import (
    EmailMismatchError,
    InvalidIdentifierError,
    InvalidInputError,
    OrderNotFoundError,
    StoreError,
)
from actions.store.ids import normalize_email, normalize_order_number
from actions.store.interface import Order
from actions.store.policy import MAX_VERIFICATION_ATTEMPTS

logger = logging.getLogger(__name__)


def _verified_slots(order: Order) -> dict[str, Any]:
    return {
        ORDER_ID: order.number,
        EMAIL: order.customer.email,
        VERIFIED_ORDER_ID: order.number,
        CUSTOMER_ID: order.customer.id,
        CUSTOMER_NAME: order.customer.name,
        VERIFICATION_ATTEMPTS: 0.0,
    }


def is_locked(tracker: Tracker) -> bool:
    return verified_order_number(tracker) is None and attempts(tracker) >= MAX_VERIFICATION_ATTEMPTS


class ValidateOrderVerificationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_order_verification_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        # Locked out: no slot left to ask for, so the form ends and action_order_task offers a person.
        return [] if is_locked(tracker) else domain_slots

    @staticmethod
    def _failed(tracker: Tracker, **slots: Any) -> dict[str, Any]:
        return {**slots, VERIFICATION_ATTEMPTS: float(attempts(tracker) + 1)}

    def validate_order_id(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        try:
            number = normalize_order_number(str(slot_value) if slot_value is not None else "")
        except InvalidIdentifierError:
            logger.info("verification: malformed order number in %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_order_id_invalid", order_id=str(slot_value)[:40])
            if tracker.get_slot("requested_slot") == ORDER_ID:  # an answer to our question: counts
                return self._failed(tracker, **{ORDER_ID: None})
            return {ORDER_ID: None}  # e.g. a stray number picked up elsewhere in the conversation
        try:
            order = store().get_order(number)
        except OrderNotFoundError:
            dispatcher.utter_message(response="utter_order_not_found", order_id=number)
            return self._failed(tracker, **{ORDER_ID: None})
        except StoreError:
            logger.exception("verification: order lookup failed")
            dispatcher.utter_message(response="utter_order_system_down")
            return {ORDER_ID: None}

        previously_verified = verified_order_number(tracker)
        if number == previously_verified:
            return {ORDER_ID: number}
        result: dict[str, Any] = {ORDER_ID: number, VERIFIED_ORDER_ID: None}
        email = tracker.get_slot(EMAIL)
        email_this_turn = EMAIL in tracker.slots_to_validate()
        if email and not email_this_turn:
            # An email from earlier in the conversation: check it against this order now.
            if str(email).strip().lower() == order.customer.email.lower():
                dispatcher.utter_message(
                    response="utter_order_verified", customer_name=order.customer.first_name, order_id=number
                )
                return _verified_slots(order)
            if previously_verified is None:
                dispatcher.utter_message(response="utter_email_mismatch")
                return self._failed(tracker, **result, **{EMAIL: None})
            # the email belonged to another verified order: just ask for this order's email
            result[EMAIL] = None
        return result

    def validate_email(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        try:
            email = normalize_email(slot_value)
        except InvalidInputError:
            dispatcher.utter_message(response="utter_email_invalid")
            return {EMAIL: None}
        raw_number = tracker.get_slot(ORDER_ID)
        try:
            number = normalize_order_number(raw_number) if raw_number else None
        except InvalidIdentifierError:
            number = None
        if number is None:
            return {EMAIL: email}  # verified once the order number arrives
        try:
            order = store().verify_order(number, email)
        except OrderNotFoundError:
            return {EMAIL: email}  # validate_order_id has already said so
        except EmailMismatchError:
            logger.info("verification: email mismatch for %s in %s", number, tracker.sender_id)
            dispatcher.utter_message(response="utter_email_mismatch")
            return self._failed(tracker, **{EMAIL: None, VERIFIED_ORDER_ID: None})
        except StoreError:
            logger.exception("verification: store error")
            dispatcher.utter_message(response="utter_order_system_down")
            return {EMAIL: None}
        if verified_order_number(tracker) != order.number:
            dispatcher.utter_message(
                response="utter_order_verified",
                customer_name=order.customer.first_name,
                order_id=order.number,
            )
        return _verified_slots(order)
