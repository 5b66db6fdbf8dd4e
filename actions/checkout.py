"""Ordering in the chat, checkout: a priced summary, a delivery address and an explicit confirmation that
creates the order and queues its ledger record in the same transaction; the cart is actions.cart.

Checkout needs a known customer: the ``customer_id`` set by order verification (domain/orders.yml). The order
store has no way to create customers yet, so guests are asked to verify with an earlier order (see
docs/ledger.md). The address is the customer's default address, or one typed into ``checkout_address_form``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages
from actions.authority import PROOF_SLOT, proof_for
from actions.cart import (
    CART,
    CART_QUOTE,
    CART_STEP,
    CHECKOUT_ADDRESS,
    CHECKOUT_TASK,
    PLACED_ORDER,
    STEP_COLLECT_ADDRESS,
    STEP_CONFIRM,
    STEP_VERIFY_CUSTOMER,
    CartError,
    bad_request,
    cart_lines,
    get_cart,
    in_executor,
    quote_text,
)
from actions.common import ORDER_ID, ORDER_TASK, VERIFIED_ORDER_ID, money, store, verified_customer_id
from actions.services import services
from ledger.errors import LedgerError
from shop.errors import (
    InvalidIdentifierError,
    InvalidInputError,
    NotFoundError,
    OutOfStockError,
    PriceChangedError,
    StoreError,
)
from shop.model import Address, Order, OrderQuote

logger = logging.getLogger(__name__)


def quote_slot(quote: OrderQuote, address: Address) -> dict[str, Any]:
    return {
        "lines": [[line.product_id, line.quantity, line.unit_price_minor] for line in quote.lines],
        "total_minor": quote.total_minor,
        "currency": quote.currency,
        "address": {
            "street": address.street,
            "postcode": address.postcode,
            "city": address.city,
            "country": address.country,
            "name": address.name,
        },
    }


def parse_address(text: str, name: str = "") -> Address:
    """``"Hauptstr. 5, 10115 Berlin, DE"`` → Address; raises CartError with an example otherwise."""
    parts = [p.strip() for p in re.split(r"[,\n]", text or "") if p.strip()]
    if len(parts) < 3:
        raise CartError("utter_cart_address_incomplete")
    street, place, country = parts[0], parts[1], ", ".join(parts[2:])
    match = re.match(r"^([A-Za-z0-9-]{3,10})\s+(.+)$", place)
    if not match or not any(c.isdigit() for c in match.group(1)):
        raise CartError("utter_cart_not_postcode_and_city", place=place)
    return Address(street=street, postcode=match.group(1), city=match.group(2), country=country, name=name)


class ActionCheckout(Action):
    """Price the cart, settle the address, show the summary and ask for an explicit yes."""

    def name(self) -> str:
        return "action_checkout"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        words = messages.catalog_for(tracker)
        cart = get_cart(tracker)
        if not cart:
            dispatcher.utter_message(response="utter_cart_empty")
            return [SlotSet(CART_STEP, None)]
        customer_id = verified_customer_id(tracker)
        if (
            customer_id is None
        ):  # the order number + email the shopper gives next verify, then checkout goes on
            dispatcher.utter_message(response="utter_checkout_need_customer")
            return [SlotSet(CART_STEP, STEP_VERIFY_CUSTOMER), SlotSet(ORDER_TASK, CHECKOUT_TASK)]
        shop = store()
        try:
            customer = await in_executor(shop.get_customer, customer_id)
            quote = await in_executor(shop.quote_order, cart_lines(cart))
        except StoreError as exc:
            return [
                *bad_request(dispatcher, "utter_cart_cannot_price", detail=words.store_problem(str(exc))),
                SlotSet(CART_STEP, None),
            ]
        typed = tracker.get_slot(CHECKOUT_ADDRESS)
        if typed:
            try:
                address = parse_address(str(typed), customer.name)
            except CartError as exc:
                return [
                    *bad_request(dispatcher, exc.response, **exc.values),
                    SlotSet(CHECKOUT_ADDRESS, None),
                    SlotSet(CART_STEP, STEP_COLLECT_ADDRESS),
                ]
        elif customer.default_address is not None:
            address = customer.default_address
        else:
            return [SlotSet(CART_STEP, STEP_COLLECT_ADDRESS)]
        return summarize(dispatcher, words, quote, address)


def summarize(
    dispatcher: CollectingDispatcher, words: messages.Catalog, quote: OrderQuote, address: Address
) -> list[EventType]:
    dispatcher.utter_message(
        response="utter_order_summary",
        summary=quote_text(words, quote),
        address=address.one_line(),
    )
    return [SlotSet(CART_QUOTE, quote_slot(quote, address)), SlotSet(CART_STEP, STEP_CONFIRM)]


class ValidateCheckoutAddressForm(FormValidationAction):
    def name(self) -> str:
        return "validate_checkout_address_form"

    async def validate_checkout_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        try:
            parse_address(str(value or ""))
        except CartError as exc:
            dispatcher.utter_message(response=exc.response, **exc.values)
            return {CHECKOUT_ADDRESS: None}
        return {CHECKOUT_ADDRESS: str(value).strip()}


def clear_checkout(placed: str | None = None, proof: str | None = None) -> list[EventType]:
    events: list[EventType] = [
        SlotSet(CART, []),
        SlotSet(CART_STEP, None),
        SlotSet(CART_QUOTE, None),
        SlotSet(CHECKOUT_ADDRESS, None),
    ]
    if placed:
        events += [
            SlotSet(PLACED_ORDER, placed),
            SlotSet(VERIFIED_ORDER_ID, placed),
            SlotSet(PROOF_SLOT, proof),  # the new order is this verified customer's: proven like any other
            SlotSet(ORDER_ID, placed),
        ]
    return events


class ActionConfirmOrder(Action):
    """The shopper said yes: create the order (and its ledger record, one transaction), then the receipt."""

    def name(self) -> str:
        return "action_confirm_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        words = messages.catalog_for(tracker)
        quote = tracker.get_slot(CART_QUOTE)
        customer_id = verified_customer_id(tracker)  # a customer_id slot alone is only a claim
        if tracker.get_slot(CART_STEP) != STEP_CONFIRM or not isinstance(quote, dict) or not customer_id:
            placed = tracker.get_slot(PLACED_ORDER)
            if placed:
                dispatcher.utter_message(response="utter_order_already_placed", order_number=placed)
            else:
                dispatcher.utter_message(response="utter_nothing_to_confirm")
            return [SlotSet(CART_STEP, None)]
        lines = [(str(pid), int(qty)) for pid, qty, _ in quote["lines"]]
        address = Address(**quote["address"])
        shop, ledger = store(), services().ledger
        try:
            order: Order = await in_executor(
                lambda: shop.create_order(
                    str(customer_id),
                    lines,
                    address,
                    int(quote["total_minor"]),
                    on_created=[ledger.queue_hook()],
                )
            )
        except PriceChangedError as exc:
            logger.info("prices changed for %s: %s", tracker.sender_id, exc)
            try:
                fresh = await in_executor(shop.quote_order, lines)
            except StoreError as error:
                return [
                    *bad_request(
                        dispatcher, "utter_cart_no_longer_available", detail=words.store_problem(str(error))
                    ),
                    SlotSet(CART_STEP, None),
                ]
            dispatcher.utter_message(
                response="utter_prices_changed",
                old_total=money(int(quote["total_minor"]), str(quote["currency"])),
                total=money(fresh.total_minor, fresh.currency),
            )
            return summarize(dispatcher, words, fresh, address)
        except (OutOfStockError, NotFoundError, InvalidInputError, InvalidIdentifierError) as exc:
            dispatcher.utter_message(response="utter_order_failed", problem=words.store_problem(str(exc)))
            return [SlotSet(CART_STEP, None), SlotSet(CART_QUOTE, None)]
        except (StoreError, LedgerError):
            logger.exception("order creation failed for %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_order_failed", problem=words.ORDER_NOT_SAVED)
            return [SlotSet(CART_STEP, None), SlotSet(CART_QUOTE, None)]
        row = None
        try:
            row = await in_executor(ledger.record, order)
        except Exception:  # the order exists; the sender delivers the record later
            logger.exception("instant ledger receipt for %s failed; left to the sender", order.number)
        total = money(order.total_minor, order.currency)
        if row is not None and row.status == "recorded" and row.tx_hash:
            dispatcher.utter_message(
                response="utter_order_placed_recorded",
                order_number=order.number,
                total=total,
                tx_hash=row.tx_hash,
            )
        else:
            dispatcher.utter_message(
                response="utter_order_placed_pending", order_number=order.number, total=total
            )
        return clear_checkout(order.number, proof_for(tracker, order.number, customer_id))


class ActionCancelCheckout(Action):
    """The shopper said no (or changed their mind): nothing is created, the cart is emptied."""

    def name(self) -> str:
        return "action_cancel_checkout"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_order_declined")
        return clear_checkout()
