"""Changes to a verified order: its lines (the buttons of ``utter_change_choose``) and its shipping address
(``shipping_address_form``), and keeping the order as it is.

``action_order_task`` (actions.order_tasks) offers the changes; the shopper's pick comes back here.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import messages
from actions.common import (
    ORDER_STEP,
    STEP_CHOOSE_CHANGE,
    STEP_COLLECT_ADDRESS,
    button,
    items_text,
    money,
    store,
)
from actions.order_action import VerifiedOrderAction
from actions.returns import payment_method
from shop.errors import InvalidInputError, OrderNotModifiableError, OutOfStockError
from shop.model import Address, Order
from shop.policy import MAX_QUANTITY_PER_LINE, MODIFIABLE_STATUSES, RETURN_WINDOW_DAYS

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


def offer_changes(dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
    words = messages.catalog_for(tracker)
    base: dict[str, Any] = {"order_id": order.number, "items": items_text(words, order)}
    if order.status not in MODIFIABLE_STATUSES:
        if order.has_shipped:
            dispatcher.utter_message(
                response="utter_change_refused_shipped", window_days=RETURN_WINDOW_DAYS, **base
            )
        else:
            dispatcher.utter_message(
                response="utter_change_refused_closed", status=words.order_status(order.status), **base
            )
        return []
    buttons = []
    for line in order.lines:
        if len(order.lines) > 1:
            buttons.append(
                button(words.REMOVE_LINE.format(title=line.title), _line_payload(line.product_id, 0))
            )
        if line.quantity > 1:
            buttons.append(
                button(
                    words.REDUCE_LINE.format(quantity=line.quantity - 1, title=line.title),
                    _line_payload(line.product_id, line.quantity - 1),
                )
            )
    buttons.append(button(words.CHANGE_ADDRESS, "/change_shipping_address"))
    if len(order.lines) == 1:
        buttons.append(button(words.CANCEL_WHOLE_ORDER, "/cancel_order"))
    buttons.append(button(words.LEAVE_AS_IS, "/deny"))
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
    words = messages.catalog_for(tracker)
    base: dict[str, Any] = {"order_id": order.number}
    if order.status not in MODIFIABLE_STATUSES:
        if order.has_shipped:
            dispatcher.utter_message(
                response="utter_address_refused_shipped",
                carrier=order.carrier or words.THE_CARRIER,
                **base,
            )
        else:
            dispatcher.utter_message(
                response="utter_change_refused_closed",
                status=words.order_status(order.status),
                items=items_text(words, order),
                **base,
            )
        return []
    dispatcher.utter_message(
        response="utter_address_current", address=order.shipping_address.one_line(), **base
    )
    return [SlotSet(ORDER_STEP, STEP_COLLECT_ADDRESS), *[SlotSet(slot, None) for slot in ADDRESS_SLOTS]]


class ActionKeepOrder(VerifiedOrderAction):
    """The shopper said no to a cancellation or change."""

    def name(self) -> str:
        return "action_keep_order"

    def reset(self) -> list[EventType]:
        return [SlotSet(ORDER_STEP, None), SlotSet(LINE_ITEM, None), SlotSet(LINE_QUANTITY, None)]

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
        dispatcher.utter_message(response="utter_order_kept", order_id=order.number)
        return []


class ActionChangeOrderLine(VerifiedOrderAction):
    """Applies the change picked from ``utter_change_choose``'s buttons (``line_item``, ``line_quantity``)."""

    def name(self) -> str:
        return "action_change_order_line"

    def reset(self) -> list[EventType]:
        return [SlotSet(ORDER_STEP, None), SlotSet(LINE_ITEM, None), SlotSet(LINE_QUANTITY, None)]

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
        words = messages.catalog_for(tracker)
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
                    items=items_text(words, order),
                    window_days=RETURN_WINDOW_DAYS,
                )
            return []
        except OutOfStockError:
            dispatcher.utter_message(response="utter_change_out_of_stock", title=line.title)
            return []
        except InvalidInputError:
            dispatcher.utter_message(response="utter_change_not_understood", order_id=order.number)
            return []
        dispatcher.utter_message(
            response="utter_order_line_changed",
            order_id=updated.number,
            change=words.line_change(line.title, quantity),
            items=items_text(words, updated),
            total=money(updated.total_minor, updated.currency),
        )
        refunds = [r for r in store().refunds_for_order(order.number) if r.id not in before]
        if refunds:
            dispatcher.utter_message(
                response="utter_change_refund",
                amount=money(refunds[-1].amount_minor, refunds[-1].currency),
                method=payment_method(words, refunds[-1].method),
                expected_by=words.day(refunds[-1].expected_by),
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


class ActionChangeShippingAddress(VerifiedOrderAction):
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
                carrier=order.carrier or messages.catalog_for(tracker).THE_CARRIER,
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
