"""Order actions: the task run after verification, cancellation, item and address changes, fee check.

``action_order_task`` runs once ``order_verification_form`` is done and carries out what the shopper asked
for (the ``order_task`` slot, filled from the intent). Follow-ups that need another turn set ``order_step``
and the rules in training_data/rules/orders.yml take it from there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages
from actions.cancellation import cancellation_fee, offer_cancellation
from actions.cart import CHECKOUT_TASK
from actions.common import (
    ORDER_STEP,
    ORDER_TASK,
    STEP_OFFER_HUMAN,
    ask_to_verify,
    items_text,
    verified_order,
    verified_order_number,
)
from actions.invoices import send_invoices
from actions.order_changes import offer_address_change, offer_changes
from actions.returns import report_reference, report_refunds, start_return
from actions.verification import is_locked
from shop.errors import StoreError
from shop.model import Order
from shop.policy import RETURN_WINDOW_DAYS

logger = logging.getLogger(__name__)

Handler = Callable[[CollectingDispatcher, Tracker, Order], list[EventType]]


def track(dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
    words = messages.catalog_for(tracker)
    base: dict[str, Any] = {"order_id": order.number, "items": items_text(words, order)}
    if order.status == "pending":
        dispatcher.utter_message(response="utter_track_pending", **base)
    elif order.status == "paid":
        dispatcher.utter_message(response="utter_track_paid", **base)
    elif order.status == "packed":
        dispatcher.utter_message(response="utter_track_packed", **base)
    elif order.status == "shipped" and order.shipment is not None:
        dispatcher.utter_message(
            response="utter_track_shipped",
            carrier=order.shipment.carrier,
            tracking_number=order.shipment.tracking_number,
            tracking_url=order.shipment.tracking_url,
            eta=words.day(order.shipment.estimated_delivery),
            **base,
        )
    elif order.status == "delivered" and order.delivered_at is not None:
        dispatcher.utter_message(
            response="utter_track_delivered",
            delivered_day=words.day_and_date(order.delivered_at),
            carrier=order.carrier or words.OUR_CARRIER,
            window_days=RETURN_WINDOW_DAYS,
            **base,
        )
    elif order.status == "cancelled":
        dispatcher.utter_message(
            response="utter_track_cancelled",
            cancelled_day=words.short_day(order.cancelled_at) if order.cancelled_at else words.EARLIER,
            **base,
        )
    elif order.status == "returned":
        dispatcher.utter_message(response="utter_track_returned", **base)
        report_refunds(dispatcher, words, order)
    else:  # shipped without shipment data should not happen; say what we know
        dispatcher.utter_message(
            response="utter_track_generic", status=words.order_status(order.status), **base
        )
    return []


def _start_return(dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
    return start_return(dispatcher, messages.catalog_for(tracker), order)


def _refund_status(dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
    return report_reference(dispatcher, tracker, order)


def _continue_checkout(dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
    """Verified because checkout asked (cart_step verify_customer): nothing to say here, the rules run
    action_checkout next."""
    return []


TASKS: dict[str, Handler] = {
    "track": track,
    "cancel": offer_cancellation,
    "change": offer_changes,
    "address": offer_address_change,
    "return": _start_return,
    "refund_status": _refund_status,
    "invoice": send_invoices,
    "cancellation_fee": cancellation_fee,
    CHECKOUT_TASK: _continue_checkout,
}


class ActionOrderTask(Action):
    """Runs after ``order_verification_form``: the shopper's request for the verified order."""

    def name(self) -> str:
        return "action_order_task"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = [SlotSet(ORDER_STEP, None)]
        if is_locked(tracker):
            dispatcher.utter_message(response="utter_verification_locked")
            return [SlotSet(ORDER_STEP, STEP_OFFER_HUMAN)]
        if verified_order_number(tracker) is None:  # never verified here, expired, or a forged slot
            return events + ask_to_verify(dispatcher)
        order = verified_order(tracker)
        if order is None:
            dispatcher.utter_message(response="utter_order_system_down")
            return events
        task = tracker.get_slot(ORDER_TASK) or "track"
        handler = TASKS.get(str(task), track)
        try:
            return events + handler(dispatcher, tracker, order)
        except StoreError:
            logger.exception("order task %s failed for %s", task, order.number)
            dispatcher.utter_message(response="utter_order_system_down")
            return events
