"""Cancelling a verified order: the offer with its fee, the confirmed cancellation, the fee on its own."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import messages
from actions.common import ORDER_STEP, STEP_CONFIRM_CANCEL, items_text, money, store
from actions.order_action import VerifiedOrderAction
from actions.returns import payment_method
from shop.errors import OrderNotCancellableError
from shop.model import Order
from shop.policy import RETURN_WINDOW_DAYS


def offer_cancellation(dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
    words = messages.catalog_for(tracker)
    quote = store().cancellation_quote(order.number)
    base: dict[str, Any] = {"order_id": order.number, "items": items_text(words, order)}
    if quote.allowed:
        if order.paid_at is None:
            dispatcher.utter_message(response="utter_cancel_confirm_unpaid", **base)
        elif quote.fee_minor == 0:
            dispatcher.utter_message(
                response="utter_cancel_confirm_free",
                amount=money(order.total_minor, order.currency),
                method=payment_method(words, order.payment_method),
                **base,
            )
        else:
            dispatcher.utter_message(
                response="utter_cancel_confirm_fee",
                fee=money(quote.fee_minor, quote.currency),
                amount=money(order.total_minor - quote.fee_minor, order.currency),
                method=payment_method(words, order.payment_method),
                **base,
            )
        return [SlotSet(ORDER_STEP, STEP_CONFIRM_CANCEL)]
    if order.status == "shipped":
        dispatcher.utter_message(
            response="utter_cancel_refused_shipped",
            carrier=order.carrier or words.THE_CARRIER,
            window_days=RETURN_WINDOW_DAYS,
            **base,
        )
    elif order.status == "delivered":
        dispatcher.utter_message(
            response="utter_cancel_refused_delivered", window_days=RETURN_WINDOW_DAYS, **base
        )
    elif order.status == "cancelled":
        dispatcher.utter_message(response="utter_cancel_already_cancelled", **base)
    else:
        dispatcher.utter_message(response="utter_cancel_refused_returned", **base)
    return []


def cancellation_fee(dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
    words = messages.catalog_for(tracker)
    quote = store().cancellation_quote(order.number)
    base = {"order_id": order.number}
    if not quote.allowed:
        dispatcher.utter_message(
            response="utter_fee_not_cancellable",
            reason=words.not_cancellable(quote.status, quote.reason),
            **base,
        )
    elif quote.fee_minor == 0:
        dispatcher.utter_message(response="utter_fee_free", **base)
    else:
        dispatcher.utter_message(
            response="utter_fee_packed", fee=money(quote.fee_minor, quote.currency), **base
        )
    return []


class ActionCancelOrder(VerifiedOrderAction):
    """The shopper confirmed the cancellation."""

    def name(self) -> str:
        return "action_cancel_order"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
        before = {r.id for r in store().refunds_for_order(order.number)}
        try:
            cancelled, fee = store().cancel_order(order.number)
        except OrderNotCancellableError:
            dispatcher.utter_message(
                response="utter_cancel_too_late", order_id=order.number, window_days=RETURN_WINDOW_DAYS
            )
            return []
        refunds = [r for r in store().refunds_for_order(order.number) if r.id not in before]
        if not refunds:
            dispatcher.utter_message(response="utter_order_cancelled_unpaid", order_id=cancelled.number)
            return []
        refund = refunds[-1]
        words = messages.catalog_for(tracker)
        dispatcher.utter_message(
            response="utter_order_cancelled_fee" if fee else "utter_order_cancelled_refund",
            order_id=cancelled.number,
            refund_id=refund.id,
            amount=money(refund.amount_minor, refund.currency),
            fee=money(fee, refund.currency),
            method=payment_method(words, refund.method),
            expected_by=words.day(refund.expected_by),
        )
        return []


class ActionCheckCancellationFee(VerifiedOrderAction):
    """``check_cancellation_fee`` once an order is verified: the fee for that order."""

    def name(self) -> str:
        return "action_check_cancellation_fee"

    def reset(self) -> list[EventType]:
        return []

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
        return cancellation_fee(dispatcher, tracker, order)
