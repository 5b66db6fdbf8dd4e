"""Returns and refunds: start a return inside the window, explain politely outside it, report refunds.

``start_return``, ``report_refunds`` and ``report_reference`` are task handlers called by ``action_order_task``
once the order is verified. A refund or return number alone proves nothing (they are sequential): asked about by
its number, it is only reported once its order is verified in this conversation and only if it belongs to that
order (``report_reference``); ``action_track_refund`` applies the same rule.
"""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages
from actions.common import (
    ORDER_STEP,
    STEP_OFFER_HUMAN,
    ask_to_verify,
    items_text,
    money,
    store,
    verified_order,
    verified_order_number,
)
from shop.errors import (
    InvalidIdentifierError,
    RefundNotFoundError,
    ReturnNotAllowedError,
    ReturnNotFoundError,
    StoreError,
)
from shop.model import Order, Refund
from shop.policy import RETURN_WINDOW_DAYS

logger = logging.getLogger(__name__)


def payment_method(words: messages.Catalog, label: str | None) -> str:
    """Where money goes back: the shop's payment-method label in the shopper's language, or "your original
    payment method" when the order has none."""
    return words.payment_method(label) if label else words.ORIGINAL_PAYMENT_METHOD


def utter_refund(dispatcher: CollectingDispatcher, words: messages.Catalog, refund: Refund) -> None:
    """One refund's status, in the shopper's words."""
    common = {
        "refund_id": refund.id,
        "order_id": refund.order_number,
        "amount": money(refund.amount_minor, refund.currency),
        "method": payment_method(words, refund.method),
        "expected_by": words.day(refund.expected_by),
    }
    if refund.status == "completed" and refund.completed_at is not None:
        dispatcher.utter_message(
            response="utter_refund_completed", completed_day=words.short_day(refund.completed_at), **common
        )
    elif refund.status == "rejected":
        dispatcher.utter_message(response="utter_refund_rejected", **common)
    else:  # pending / processing
        dispatcher.utter_message(response="utter_refund_in_progress", **common)


def report_refunds(
    dispatcher: CollectingDispatcher, words: messages.Catalog, order: Order
) -> list[EventType]:
    """Every refund on the order; or why there is none yet."""
    refunds = store().refunds_for_order(order.number)
    if refunds:
        for refund in refunds:
            utter_refund(dispatcher, words, refund)
        return []
    open_returns = [
        r for r in store().returns_for_order(order.number) if r.status in ("requested", "received")
    ]
    if open_returns:
        dispatcher.utter_message(
            response="utter_refund_after_return", order_id=order.number, return_id=open_returns[-1].id
        )
    elif order.status in ("pending", "paid", "packed"):
        dispatcher.utter_message(response="utter_refund_none_unshipped", order_id=order.number)
    else:
        dispatcher.utter_message(response="utter_refund_none", order_id=order.number)
    return []


def start_return(dispatcher: CollectingDispatcher, words: messages.Catalog, order: Order) -> list[EventType]:
    """Open a return for the whole order if the policy allows; otherwise say why and what else can be done."""
    if order.status in ("cancelled", "returned"):
        return report_refunds(dispatcher, words, order)
    if order.status in ("pending", "paid", "packed"):
        dispatcher.utter_message(response="utter_return_not_shipped", order_id=order.number)
        return []
    if order.status == "shipped":
        dispatcher.utter_message(
            response="utter_return_not_delivered", order_id=order.number, window_days=RETURN_WINDOW_DAYS
        )
        return []
    eligibility = store().return_eligibility(order.number)
    if not eligibility.eligible:
        existing = [
            r for r in store().returns_for_order(order.number) if r.status in ("requested", "received")
        ]
        if existing:
            dispatcher.utter_message(
                response="utter_return_already_open", order_id=order.number, return_id=existing[-1].id
            )
            return []
        assert order.delivered_at is not None and eligibility.deadline is not None
        dispatcher.utter_message(
            response="utter_return_outside_window",
            order_id=order.number,
            delivered_day=words.short_day(order.delivered_at),
            deadline_day=words.short_day(eligibility.deadline),
            window_days=RETURN_WINDOW_DAYS,
        )
        return [SlotSet(ORDER_STEP, STEP_OFFER_HUMAN)]
    try:
        request = store().create_return(order.number, "requested in chat")
    except ReturnNotAllowedError as error:
        logger.info("return refused for %s: %s", order.number, error)
        dispatcher.utter_message(response="utter_return_not_possible", order_id=order.number)
        return []
    amount = sum(line.total_minor for line in order.lines if line.product_id in request.product_ids)
    dispatcher.utter_message(
        response="utter_return_created",
        order_id=order.number,
        return_id=request.id,
        items=items_text(words, order, list(request.product_ids)),
        amount=money(amount, order.currency),
        method=payment_method(words, order.payment_method),
        deadline_day=words.short_day(eligibility.deadline) if eligibility.deadline else "",
    )
    return []


REFERENCE_SLOTS = ("refund_id", "return_id")


def report_reference(dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
    """The refund or return the shopper named, if it belongs to the verified ``order``; without a number,
    every refund of the order. Never says whether a number of another order exists."""
    words = messages.catalog_for(tracker)
    refund_id, return_id = (tracker.get_slot(slot) for slot in REFERENCE_SLOTS)
    if not (refund_id or return_id):
        return report_refunds(dispatcher, words, order)
    reset: list[EventType] = [SlotSet(slot, None) for slot in REFERENCE_SLOTS]
    reference = str(refund_id or return_id)[:40]
    try:
        if refund_id:
            refund = store().get_refund(str(refund_id))
            if refund.order_number == order.number:
                utter_refund(dispatcher, words, refund)
                return reset
        else:
            request = store().get_return(str(return_id))
            if request.order_number == order.number:
                if request.refund_id:
                    utter_refund(dispatcher, words, store().get_refund(request.refund_id))
                else:
                    dispatcher.utter_message(
                        response="utter_return_status",
                        return_id=request.id,
                        return_status=words.return_status(request.status),
                    )
                return reset
    except (InvalidIdentifierError, RefundNotFoundError, ReturnNotFoundError):
        pass
    dispatcher.utter_message(response="utter_refund_not_on_order", reference=reference, order_id=order.number)
    return reset


class ActionTrackRefund(Action):
    """A refund or return looked up by its number: only for the order verified in this conversation.

    The rules send ``track_refund`` through ``order_verification_form`` (then ``action_order_task``); this
    action stays for older models and applies the same authority check."""

    def name(self) -> str:
        return "action_track_refund"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reset: list[EventType] = [SlotSet(slot, None) for slot in REFERENCE_SLOTS]
        if verified_order_number(tracker) is None:
            return reset + ask_to_verify(dispatcher)
        order = verified_order(tracker)
        if order is None:
            dispatcher.utter_message(response="utter_order_system_down")
            return reset
        try:
            return reset + report_reference(dispatcher, tracker, order)
        except StoreError:
            logger.exception("refund lookup failed")
            dispatcher.utter_message(response="utter_order_system_down")
            return reset
