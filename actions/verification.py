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

Ids are read from the shopper's own words too (``order_numbers_in``, ``emails_in``), not only from the NLU's
entities: every documented form of an order number (``SD-100042``, ``sd100042``, ``SD 100042``, ``#100042``,
a bare ``100042`` after "order"/"number" or alone) maps to the canonical ``SD-100042``. A message naming two
different orders is never resolved by picking one: the form asks which one (``order_id_choices``).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import messages
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
from actions.services import services
from shop.errors import (
    EmailMismatchError,
    InvalidIdentifierError,
    InvalidInputError,
    OrderNotFoundError,
    StoreError,
)
from shop.ids import EMAIL_PATTERN, fold_width, normalize_email, normalize_order_number
from shop.model import Order
from shop.policy import MAX_VERIFICATION_ATTEMPTS

logger = logging.getLogger(__name__)

# set while a message named two or more different orders; utter_ask_order_verification_form_order_id has a
# variant conditioned on it that asks which one (domain/orders.yml)
ORDER_ID_AMBIGUOUS = "order_id_ambiguous"
ORDER_ID_CHOICES = "order_id_choices"
_MAX_SCANNED = 5000  # a longer message is cut to this before the regexes run (bounded work)

# SD-100042, sd100042, SD 100042, #100042 anywhere, also glued to Chinese (订单号SD-100042的); never the digits of
# another id (RF-300001, INV-400001), an email (anna100042@example.com) or a longer number. The text is
# width-folded first (shop.ids.fold_width), so full-width ＳＤ－１０００４２ and ＃１０００４２ are the same.
# a word character that is not CJK: ids end where Chinese starts
_ID_CHAR = r"[^\W\u2e80-\u9fff\uf900-\ufaff]"
_PREFIXED_ORDER = re.compile(
    rf"(?<!{_ID_CHAR})(?<![@.-])(?:SD[-\s]?|#)([0-9]{{6}})(?!{_ID_CHAR}|[@-]|\.{_ID_CHAR})", re.IGNORECASE
)
# a bare 6-digit number only right after a word that says it is an order number (English, or Chinese 订单号 /
# 单号 / 订单编号 / 订单, optionally followed by 是/为/：), or as the whole message
_NAMED_ORDER = re.compile(
    r"(?:\b(?:order|orders|number|no|nr|id)\.?:?(?:\s+(?:is|was))?\s+"
    r"|(?:订单|单)(?:号码|编号|号)?\s*(?:是|为|:)?\s*)"
    rf"([0-9]{{6}})(?!{_ID_CHAR}|[@-]|\.{_ID_CHAR})",
    re.IGNORECASE,
)
_WHOLE_ORDER = re.compile(r"\s*([0-9]{6})\s*[.!?。！？]?\s*")
# an address the store accepts, not mid-word
_EMAIL_IN_TEXT = re.compile(rf"(?<!{_ID_CHAR})(?<![.%+'-])" + EMAIL_PATTERN)


def order_numbers_in(text: str) -> list[str]:
    """The distinct order numbers a message names, canonical (``SD-100042``), in the order written."""
    text = fold_width(text[:_MAX_SCANNED])
    found: list[tuple[int, str]] = [(m.start(), m.group(1)) for m in _PREFIXED_ORDER.finditer(text)]
    found += [(m.start(1), m.group(1)) for m in _NAMED_ORDER.finditer(text)]
    whole = _WHOLE_ORDER.fullmatch(text)
    if whole:
        found.append((whole.start(1), whole.group(1)))
    numbers: list[str] = []
    for _, digits in sorted(found):
        number = f"SD-{digits}"
        if number not in numbers:
            numbers.append(number)
    return numbers


def emails_in(text: str) -> list[str]:
    """The distinct email addresses in a message, normalised (lower-cased), in the order written."""
    emails: list[str] = []
    for match in _EMAIL_IN_TEXT.finditer(fold_width(text[:_MAX_SCANNED])):
        try:
            email = normalize_email(match.group(0).rstrip("."))
        except InvalidInputError:
            continue
        if email not in emails:
            emails.append(email)
    return emails


def _canonical(value: Any) -> str | None:
    try:
        return normalize_order_number(value)
    except InvalidIdentifierError:
        return None


def _distinct_numbers(values: list[Any]) -> list[str]:
    numbers: list[str] = []
    for value in values:
        number = _canonical(value)
        if number is not None and number not in numbers:
            numbers.append(number)
    return numbers


def _is_new_message(tracker: Tracker, form: str) -> bool:
    """The form runs right after the shopper wrote: in the loop (latest action ``action_listen``) or as it
    activates (Rasa reports the form itself, from its ActiveLoop event) — not when it resumes after a
    digression, when the latest message was already read (and may already have failed verification)."""
    return tracker.latest_action_name in ("action_listen", form)


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
            and _canonical(tracker.get_slot(ORDER_ID)) == verified  # "sd100042" is the verified SD-100042
            and tracker.get_slot(EMAIL) is None
        ):
            return [ORDER_ID]
        return domain_slots

    async def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The order number(s) in the shopper's words, whatever the NLU made of them (``#100042`` tagged
        as an invoice, ``SD 100042`` split in two). Two different ones: none is picked, the form asks."""
        if not _is_new_message(tracker, self.form_name()):
            return {}
        numbers = order_numbers_in(str(tracker.latest_message.get("text") or ""))
        if len(numbers) > 1:  # validate_order_id asks which one
            logger.info(
                "verification: %d order numbers in one message in %s", len(numbers), tracker.sender_id
            )
            return {ORDER_ID: numbers}
        if numbers:
            return {ORDER_ID: numbers[0]}
        return {}

    async def extract_email(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """An email in the shopper's words (one only: two different ones are left to the NLU's entity)."""
        if not _is_new_message(tracker, self.form_name()):
            return {}
        emails = emails_in(str(tracker.latest_message.get("text") or ""))
        return {EMAIL: emails[0]} if len(emails) == 1 else {}

    @staticmethod
    def _failed(tracker: Tracker, **slots: Any) -> dict[str, Any]:
        return {**slots, VERIFICATION_ATTEMPTS: float(attempts(tracker) + 1)}

    def _attempt(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, number: str, email: str
    ) -> dict[str, Any]:
        """Check ``number`` + ``email`` (unless throttled); one reply for every kind of failure."""
        settings = services().settings
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
        if slot_value is None:
            return {ORDER_ID: None}
        if isinstance(slot_value, list):  # several numbers in one message: one distinct is fine, two are not
            numbers = _distinct_numbers(slot_value)
            if len(numbers) > 1:
                return {
                    ORDER_ID: None,
                    ORDER_ID_AMBIGUOUS: True,
                    ORDER_ID_CHOICES: messages.catalog_for(tracker).join_choices(numbers[:3]),
                }
            slot_value = numbers[0] if numbers else str(slot_value[0]) if slot_value else ""
        try:
            number = normalize_order_number(str(slot_value) if slot_value is not None else "")
        except InvalidIdentifierError:
            logger.info("verification: malformed order number in %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_order_id_invalid", order_id=str(slot_value)[:40])
            if tracker.get_slot("requested_slot") == ORDER_ID:  # an answer to our question: counts
                return self._failed(tracker, **{ORDER_ID: None})
            return {ORDER_ID: None}  # e.g. a stray number picked up elsewhere in the conversation
        chosen = {ORDER_ID_AMBIGUOUS: None, ORDER_ID_CHOICES: None}
        if number == verified_order_number(tracker):
            return {ORDER_ID: number, **chosen}
        result: dict[str, Any] = {ORDER_ID: number, **UNVERIFIED, **chosen}
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
        if tracker.get_slot(ORDER_ID_AMBIGUOUS) or isinstance(raw_number, list):
            return {EMAIL: email}  # checked once the shopper has said which order
        try:
            number = normalize_order_number(raw_number) if raw_number else None
        except InvalidIdentifierError:
            number = None
        if number is None:
            return {EMAIL: email}  # checked once the order number arrives
        if number == verified_order_number(tracker):
            return {EMAIL: None}  # already verified in this conversation; nothing to keep
        return self._attempt(dispatcher, tracker, number, email)
