"""Order actions: the task run after verification, cancellation, item and address changes, fee check.

``action_order_task`` runs once ``order_verification_form`` is done and carries out what the shopper asked
for (the ``order_task`` slot, filled from the intent). Follow-ups that need another turn set ``order_step``
and the rules in training_data/rules/orders.yml take it from there.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import messages
from actions.common import (
    ORDER_STEP,
    ORDER_TASK,
    STEP_CHOOSE_CHANGE,
    STEP_COLLECT_ADDRESS,
    STEP_CONFIRM_CANCEL,
    STEP_OFFER_HUMAN,
    ask_to_verify,
    button,
    day,
    items_text,
    money,
    short_day,
    store,
    verified_order,
    verified_order_number,
)
from actions.invoices import send_invoices
from actions.returns import ORIGINAL_METHOD, report_reference, report_refunds, start_return
from actions.verification import is_locked
from shop.errors import (
    InvalidInputError,
    OrderNotCancellableError,
    OrderNotModifiableError,
    OutOfStockError,
    StoreError,
)
from shop.model import Address, Order
from shop.policy import MAX_QUANTITY_PER_LINE, MODIFIABLE_STATUSES, RETURN_WINDOW_DAYS

logger = logging.getLogger(__name__)

Handler = Callable[[CollectingDispatcher, Tracker, Order], list[EventType]]

ADDRESS_SLOTS = ("new_street", "new_postcode", "new_city", "new_country")
LINE_ITEM = "line_item"
LINE_QUANTITY = "line_quantity"

# Where we deliver (domain/core.yml: the EU, the UK, Switzerland and Norway): name → ISO code.
COUNTRIES: dict[str, str] = {
    "austria": "AT",
    "belgium": "BE",
    "bulgaria": "BG",
    "croatia": "HR",
    "cyprus": "CY",
    "czechia": "CZ",
    "czech republic": "CZ",
    "denmark": "DK",
    "estonia": "EE",
    "finland": "FI",
    "france": "FR",
    "germany": "DE",
    "deutschland": "DE",
    "greece": "GR",
    "hungary": "HU",
    "ireland": "IE",
    "italy": "IT",
    "latvia": "LV",
    "lithuania": "LT",
    "luxembourg": "LU",
    "malta": "MT",
    "netherlands": "NL",
    "the netherlands": "NL",
    "holland": "NL",
    "poland": "PL",
    "portugal": "PT",
    "romania": "RO",
    "slovakia": "SK",
    "slovenia": "SI",
    "spain": "ES",
    "sweden": "SE",
    "united kingdom": "GB",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "switzerland": "CH",
    "norway": "NO",
}
COUNTRY_CODES = frozenset(COUNTRIES.values())
_POSTCODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]{1,8}[A-Za-z0-9]")


def normalize_country(value: str) -> str | None:
    text = value.strip().rstrip(".").lower()
    if text.upper() in COUNTRY_CODES:
        return text.upper()
    if text == "gb" or text == "u.k":
        return "GB"
    return COUNTRIES.get(text)


# --- tasks after verification ------------------------------------------------------------------------
def track(dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
    base: dict[str, Any] = {"order_id": order.number, "items": items_text(order)}
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
            eta=day(order.shipment.estimated_delivery),
            **base,
        )
    elif order.status == "delivered" and order.delivered_at is not None:
        dispatcher.utter_message(
            response="utter_track_delivered",
            delivered_day=day(order.delivered_at) + f" ({short_day(order.delivered_at)})",
            carrier=order.carrier or messages.OUR_CARRIER,
            window_days=RETURN_WINDOW_DAYS,
            **base,
        )
    elif order.status == "cancelled":
        dispatcher.utter_message(
            response="utter_track_cancelled",
            cancelled_day=short_day(order.cancelled_at) if order.cancelled_at else messages.EARLIER,
            **base,
        )
    elif order.status == "returned":
        dispatcher.utter_message(response="utter_track_returned", **base)
        report_refunds(dispatcher, order)
    else:  # shipped without shipment data should not happen; say what we know
        dispatcher.utter_message(response="utter_track_generic", status=order.status, **base)
    return []


def offer_cancellation(dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
    quote = store().cancellation_quote(order.number)
    base: dict[str, Any] = {"order_id": order.number, "items": items_text(order)}
    if quote.allowed:
        if order.paid_at is None:
            dispatcher.utter_message(response="utter_cancel_confirm_unpaid", **base)
        elif quote.fee_minor == 0:
            dispatcher.utter_message(
                response="utter_cancel_confirm_free",
                amount=money(order.total_minor, order.currency),
                method=order.payment_method or ORIGINAL_METHOD,
                **base,
            )
        else:
            dispatcher.utter_message(
                response="utter_cancel_confirm_fee",
                fee=money(quote.fee_minor, quote.currency),
                amount=money(order.total_minor - quote.fee_minor, order.currency),
                method=order.payment_method or ORIGINAL_METHOD,
                **base,
            )
        return [SlotSet(ORDER_STEP, STEP_CONFIRM_CANCEL)]
    if order.status == "shipped":
        dispatcher.utter_message(
            response="utter_cancel_refused_shipped",
            carrier=order.carrier or messages.THE_CARRIER,
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


def offer_changes(dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
    base: dict[str, Any] = {"order_id": order.number, "items": items_text(order)}
    if order.status not in MODIFIABLE_STATUSES:
        if order.has_shipped:
            dispatcher.utter_message(
                response="utter_change_refused_shipped", window_days=RETURN_WINDOW_DAYS, **base
            )
        else:
            dispatcher.utter_message(response="utter_change_refused_closed", status=order.status, **base)
        return []
    buttons = []
    for line in order.lines:
        if len(order.lines) > 1:
            buttons.append(
                button(messages.REMOVE_LINE.format(title=line.title), _line_payload(line.product_id, 0))
            )
        if line.quantity > 1:
            buttons.append(
                button(
                    messages.REDUCE_LINE.format(quantity=line.quantity - 1, title=line.title),
                    _line_payload(line.product_id, line.quantity - 1),
                )
            )
    buttons.append(button(messages.CHANGE_ADDRESS, "/change_shipping_address"))
    if len(order.lines) == 1:
        buttons.append(button(messages.CANCEL_WHOLE_ORDER, "/cancel_order"))
    buttons.append(button(messages.LEAVE_AS_IS, "/deny"))
    dispatcher.utter_message(response="utter_change_choose", buttons=buttons, **base)
    return [SlotSet(ORDER_STEP, STEP_CHOOSE_CHANGE)]


def parse_quantity(raw: Any) -> int | None:
    """A button's ``line_quantity``: a whole number 0..MAX_QUANTITY_PER_LINE, else None (never raises:
    "inf", "nan", "-1", "1e999", "2.5", a list... are all just not understood)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float):
        if not raw.is_integer():  # also nan and inf
            return None
        value = int(raw)
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit() and len(raw.strip()) <= 3:
        value = int(raw.strip())
    else:
        return None
    return value if 0 <= value <= MAX_QUANTITY_PER_LINE else None


def _line_payload(product_id: str, quantity: int) -> str:
    return f'/inform{{"{LINE_ITEM}": "{product_id}", "{LINE_QUANTITY}": "{quantity}"}}'


def offer_address_change(dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
    base: dict[str, Any] = {"order_id": order.number}
    if order.status not in MODIFIABLE_STATUSES:
        if order.has_shipped:
            dispatcher.utter_message(
                response="utter_address_refused_shipped",
                carrier=order.carrier or messages.THE_CARRIER,
                **base,
            )
        else:
            dispatcher.utter_message(
                response="utter_change_refused_closed", status=order.status, items=items_text(order), **base
            )
        return []
    dispatcher.utter_message(
        response="utter_address_current", address=order.shipping_address.one_line(), **base
    )
    return [SlotSet(ORDER_STEP, STEP_COLLECT_ADDRESS), *[SlotSet(slot, None) for slot in ADDRESS_SLOTS]]


def cancellation_fee(dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
    quote = store().cancellation_quote(order.number)
    base = {"order_id": order.number}
    if not quote.allowed:
        dispatcher.utter_message(response="utter_fee_not_cancellable", reason=quote.reason, **base)
    elif quote.fee_minor == 0:
        dispatcher.utter_message(response="utter_fee_free", **base)
    else:
        dispatcher.utter_message(
            response="utter_fee_packed", fee=money(quote.fee_minor, quote.currency), **base
        )
    return []


def _start_return(dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
    return start_return(dispatcher, order)


def _refund_status(dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
    return report_reference(dispatcher, tracker, order)


TASKS: dict[str, Handler] = {
    "track": track,
    "cancel": offer_cancellation,
    "change": offer_changes,
    "address": offer_address_change,
    "return": _start_return,
    "refund_status": _refund_status,
    "invoice": send_invoices,
    "cancellation_fee": cancellation_fee,
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


class _VerifiedOrderAction(Action, ABC):
    """An action on the verified order that always ends its step (resets ``order_step``)."""

    def reset(self) -> list[EventType]:
        return [SlotSet(ORDER_STEP, None)]

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if verified_order_number(tracker) is None:  # never verified here, expired, or a forged slot
            return self.reset() + ask_to_verify(dispatcher)
        order = verified_order(tracker)
        if order is None:
            dispatcher.utter_message(response="utter_order_system_down")
            return self.reset()
        try:
            return self.reset() + self.act(dispatcher, tracker, order)
        except StoreError:
            logger.exception("%s failed for %s", self.name(), order.number)
            dispatcher.utter_message(response="utter_order_system_down")
            return self.reset()

    @abstractmethod
    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]: ...


class ActionCancelOrder(_VerifiedOrderAction):
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
        dispatcher.utter_message(
            response="utter_order_cancelled_fee" if fee else "utter_order_cancelled_refund",
            order_id=cancelled.number,
            refund_id=refund.id,
            amount=money(refund.amount_minor, refund.currency),
            fee=money(fee, refund.currency),
            method=refund.method or ORIGINAL_METHOD,
            expected_by=day(refund.expected_by),
        )
        return []


class ActionKeepOrder(_VerifiedOrderAction):
    """The shopper said no to a cancellation or change."""

    def name(self) -> str:
        return "action_keep_order"

    def reset(self) -> list[EventType]:
        return [SlotSet(ORDER_STEP, None), SlotSet(LINE_ITEM, None), SlotSet(LINE_QUANTITY, None)]

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
        dispatcher.utter_message(response="utter_order_kept", order_id=order.number)
        return []


class ActionChangeOrderLine(_VerifiedOrderAction):
    """Applies the change picked from ``utter_change_choose``'s buttons (``line_item``, ``line_quantity``)."""

    def name(self) -> str:
        return "action_change_order_line"

    def reset(self) -> list[EventType]:
        return [SlotSet(ORDER_STEP, None), SlotSet(LINE_ITEM, None), SlotSet(LINE_QUANTITY, None)]

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
        product_id = tracker.get_slot(LINE_ITEM)
        quantity = parse_quantity(tracker.get_slot(LINE_QUANTITY))
        line = next((ln for ln in order.lines if ln.product_id == product_id), None)
        if line is None or quantity is None:
            dispatcher.utter_message(response="utter_change_not_understood", order_id=order.number)
            return []
        before = {r.id for r in store().refunds_for_order(order.number)}
        try:
            updated = store().change_order_line(order.number, line.product_id, quantity)
        except OrderNotModifiableError as error:
            if error.status in MODIFIABLE_STATUSES:  # the last item
                dispatcher.utter_message(
                    response="utter_change_last_item", order_id=order.number, title=line.title
                )
            else:
                dispatcher.utter_message(
                    response="utter_change_refused_shipped",
                    order_id=order.number,
                    items=items_text(order),
                    window_days=RETURN_WINDOW_DAYS,
                )
            return []
        except OutOfStockError:
            dispatcher.utter_message(response="utter_change_out_of_stock", title=line.title)
            return []
        except InvalidInputError:
            dispatcher.utter_message(response="utter_change_not_understood", order_id=order.number)
            return []
        change = f"removed {line.title}" if quantity == 0 else f"changed {line.title} to {quantity}"
        dispatcher.utter_message(
            response="utter_order_line_changed",
            order_id=updated.number,
            change=change,
            items=items_text(updated),
            total=money(updated.total_minor, updated.currency),
        )
        refunds = [r for r in store().refunds_for_order(order.number) if r.id not in before]
        if refunds:
            dispatcher.utter_message(
                response="utter_change_refund",
                amount=money(refunds[-1].amount_minor, refunds[-1].currency),
                method=refunds[-1].method or ORIGINAL_METHOD,
                expected_by=day(refunds[-1].expected_by),
            )
        return []


class ValidateShippingAddressForm(FormValidationAction):
    def name(self) -> str:
        return "validate_shipping_address_form"

    def validate_new_street(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if not (3 <= len(text) <= 120) or not re.search(r"[^\W\d_]", text):
            dispatcher.utter_message(response="utter_invalid_street")
            return {"new_street": None}
        return {"new_street": text}

    def validate_new_postcode(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip().upper()
        if not _POSTCODE.fullmatch(text) or not re.search(r"\d", text):
            dispatcher.utter_message(response="utter_invalid_postcode")
            return {"new_postcode": None}
        return {"new_postcode": text}

    def validate_new_city(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if not (2 <= len(text) <= 80) or not re.fullmatch(
            r"[^\W\d_][^\W\d_ .'\-]*(?:[ .'\-]+[^\W\d_]+)*\.?", text
        ):
            dispatcher.utter_message(response="utter_invalid_city")
            return {"new_city": None}
        return {"new_city": text}

    def validate_new_country(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        code = normalize_country(str(value or ""))
        if code is None:
            dispatcher.utter_message(response="utter_invalid_country", country=str(value)[:40])
            return {"new_country": None}
        return {"new_country": code}


class ActionChangeShippingAddress(_VerifiedOrderAction):
    """Applies the address collected by ``shipping_address_form``."""

    def name(self) -> str:
        return "action_change_shipping_address"

    def reset(self) -> list[EventType]:
        return [SlotSet(ORDER_STEP, None), *[SlotSet(slot, None) for slot in ADDRESS_SLOTS]]

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
        values = [tracker.get_slot(slot) for slot in ADDRESS_SLOTS]
        if not all(isinstance(v, str) and v.strip() for v in values):
            dispatcher.utter_message(response="utter_change_not_understood", order_id=order.number)
            return []
        street, postcode, city, country = (str(v) for v in values)
        try:
            updated = store().change_shipping_address(order.number, Address(street, postcode, city, country))
        except OrderNotModifiableError:
            dispatcher.utter_message(
                response="utter_address_refused_shipped",
                order_id=order.number,
                carrier=order.carrier or messages.THE_CARRIER,
            )
            return []
        except InvalidInputError:
            dispatcher.utter_message(response="utter_change_not_understood", order_id=order.number)
            return []
        dispatcher.utter_message(
            response="utter_address_changed",
            order_id=updated.number,
            address=updated.shipping_address.one_line(),
        )
        return []


class ActionCheckCancellationFee(_VerifiedOrderAction):
    """``check_cancellation_fee`` once an order is verified: the fee for that order."""

    def name(self) -> str:
        return "action_check_cancellation_fee"

    def reset(self) -> list[EventType]:
        return []

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
        return cancellation_fee(dispatcher, tracker, order)
