"""``order_verification_form``: the shopper proves an order is theirs with its number and email.

Nothing about an order is said before the email matches, and the bot never tells whether an order number
exists: an unknown order and a wrong email get the same reply (``utter_verification_failed``), only once both
the number and an email are known. A malformed number may be told it is malformed. Each failure counts in the
conversation (after ``policy.MAX_VERIFICATION_ATTEMPTS`` the form stops and ``action_order_task`` offers a
person) and in the order store, per order number and per client (``actions.authority.client_key``), so that a
``/restart`` or a new sender id does not reset it; over ``VERIFICATION_MAX_FAILURES_PER_ORDER`` /
``_PER_CLIENT`` failures within ``VERIFICATION_THROTTLE_WINDOW_S`` no attempt is even checked.

On success the form sets ``verified_order_id`` with its proof (``actions.authority``) and keeps neither the
email nor the customer's name in the tracker. Later questions about the same order, while the proof is fresh, complete the form at once.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.authority import client_key, proof_for
from actions.common import (
    CUSTOMER_ID,
    CUSTOMER_NAME,
    EMAIL,
    ORDER_ID,
    VERIFICATION_ATTEMPTS,
    VERIFICATION_PROOF,
    VERIFIED_ORDER_ID,
    attempts,
    store,
    verified_order_number,
)
from actions.settings import get_settings
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


# what "not verified" looks like in the slots
UNVERIFIED: dict[str, Any] = {
    VERIFIED_ORDER_ID: None,
    VERIFICATION_PROOF: None,
    CUSTOMER_ID: None,
    CUSTOMER_NAME: None,
}


def _verified_slots(tracker: Tracker, order: Order) -> dict[str, Any]:
    return {
        ORDER_ID: order.number,
        EMAIL: None,  # the email has done its job: it does not stay in the tracker
        VERIFIED_ORDER_ID: order.number,
        VERIFICATION_PROOF: proof_for(tracker, order.number, order.customer.id),
        CUSTOMER_ID: order.customer.id,
        CUSTOMER_NAME: None,  # nothing reads it; the greeting gets the first name directly
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
        if is_locked(tracker):
            return []
        # Already verified (fresh proof) for the order asked about: nothing to ask, the form ends at once.
        verified = verified_order_number(tracker)
        if (
            verified is not None
            and tracker.get_slot(ORDER_ID) == verified
            and tracker.get_slot(EMAIL) is None
        ):
            return [ORDER_ID]
        return domain_slots

    @staticmethod
    def _failed(tracker: Tracker, **slots: Any) -> dict[str, Any]:
        return {**slots, VERIFICATION_ATTEMPTS: float(attempts(tracker) + 1)}

    def _attempt(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, number: str, email: str
    ) -> dict[str, Any]:
        """Check ``number`` + ``email`` (unless throttled); one reply for every kind of failure."""
        settings = get_settings()
        client = client_key(tracker)
        shop = store()
        try:
            order_failures, client_failures = shop.verification_failures(
                number, client, settings.verification_throttle_window_s
            )
            if (
                order_failures >= settings.verification_max_failures_per_order
                or client_failures >= settings.verification_max_failures_per_client
            ):
                logger.warning("verification throttled in %s", tracker.sender_id)
                dispatcher.utter_message(response="utter_verification_throttled")
                return self._failed(tracker, **{EMAIL: None}, **UNVERIFIED)
            try:
                order = shop.verify_order(number, email)
            except (OrderNotFoundError, EmailMismatchError):
                logger.info("verification failed in %s", tracker.sender_id)
                shop.record_verification_failure(number, client, settings.verification_throttle_window_s)
                dispatcher.utter_message(response="utter_verification_failed")
                return self._failed(tracker, **{EMAIL: None}, **UNVERIFIED)
        except StoreError:
            logger.exception("verification: order store error")
            dispatcher.utter_message(response="utter_order_system_down")
            return {EMAIL: None, **UNVERIFIED}
        if verified_order_number(tracker) != order.number:
            dispatcher.utter_message(
                response="utter_order_verified",
                customer_name=order.customer.first_name,
                order_id=order.number,
            )
        return _verified_slots(tracker, order)

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
        if number == verified_order_number(tracker):
            return {ORDER_ID: number}
        result: dict[str, Any] = {ORDER_ID: number, **UNVERIFIED}
        email = tracker.get_slot(EMAIL)
        if email and EMAIL not in tracker.slots_to_validate():
            # An email given before the number: check the two together now.
            try:
                given = normalize_email(email)
            except InvalidInputError:
                return {**result, EMAIL: None}
            return {**result, **self._attempt(dispatcher, tracker, number, given)}
        return result  # validate_email checks the pair when the email arrives (or arrived with it)

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
            return {EMAIL: email}  # checked once the order number arrives
        if number == verified_order_number(tracker):
            return {EMAIL: None}  # already verified in this conversation; nothing to keep
        return self._attempt(dispatcher, tracker, number, email)
