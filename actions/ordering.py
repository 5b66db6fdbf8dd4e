"""Ordering in the chat: a cart (add / remove by name, search result or id, quantities), a priced summary,
a delivery address and an explicit confirmation that creates the order and queues its ledger record in the
same transaction.

Slots (domain/ordering.yml): ``cart`` (list of ``{product_id, quantity}``), ``cart_step`` (``collect_address`` /
``confirm_order``; the rules act on it), ``cart_quote`` (the prices the shopper saw and the address),
``checkout_address`` (filled by ``checkout_address_form``) and ``placed_order_id``.

Checkout needs a known customer: the ``customer_id`` set by order verification (domain/orders.yml). The order
store has no way to create customers yet, so guests are asked to verify with an earlier order (see
docs/ledger.md). The address is the customer's default address, or one typed into ``checkout_address_form``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages
from actions.authority import PROOF_SLOT, proof_for
from actions.common import (
    ORDER_ID,
    VERIFIED_ORDER_ID,
    button,
    money,
    store,
    verified_customer_id,
)
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
from shop.model import Address, Order, OrderQuote, Product
from shop.policy import MAX_QUANTITY_PER_LINE

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Slots (domain/ordering.yml); customer_id / verified_order_id / order_id are domain/orders.yml's.
CART = "cart"
CART_STEP = "cart_step"
CART_QUOTE = "cart_quote"
CHECKOUT_ADDRESS = "checkout_address"
PLACED_ORDER = "placed_order_id"
SHOWN_PRODUCT = "shown_product_id"  # domain/products.yml: the product the shopper last saw
STEP_COLLECT_ADDRESS = "collect_address"
STEP_CONFIRM = "confirm_order"
# Entities: product (domain/products.yml), quantity (domain/ordering.yml)
PRODUCT = "product"
QUANTITY = "quantity"

MAX_CART_LINES = 20
_PRODUCT_ID = re.compile(r"\bP-?\d{4}\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w-])(-?\d+(?:[.,]\d+)?(?:\s*(?:\^|\*\*)\s*\d+|e\d+)?)(?![\w])")
_WORDS = {
    "zero": 0, "no": 0, "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "pair": 2, "couple": 2, "three": 3,
    "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "dozen": 12,
}  # fmt: skip
_STOP = {
    "add", "put", "buy", "get", "want", "would", "like", "please", "the", "a", "an", "my", "to", "in", "into",
    "cart", "basket", "bag", "me", "i", "i'd", "id", "also", "and", "some", "of", "those", "these", "it", "this",
    "that", "one", "ones", "remove", "delete", "take", "out", "from", "drop", "don't", "dont", "need", "more",
    "pieces", "piece", "x", "order", "can", "you", "for", "with", "too", "as", "well", "item", "items", "pcs",
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "pair", "couple", "another",
}  # fmt: skip
_TOKEN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class CartError(ValueError):
    """A problem with a cart request. The shopper is told ``response`` (domain/ordering.yml) filled with
    ``values``; the message (for logs and tests) names the response and the values."""

    def __init__(self, response: str, **values: Any) -> None:
        super().__init__(f"{response}: {values}")
        self.response = response
        self.values = values


async def in_executor(func: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


# --- parsing --------------------------------------------------------------------------------------------------


def parse_quantity(value: object) -> int:
    """``"2"``, ``"two"``, ``3`` → int; raises CartError for 0, negatives, fractions and huge numbers."""
    if isinstance(value, bool):
        raise CartError("utter_cart_not_a_quantity", value=repr(value))
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip().lower()
        if text in _WORDS:
            number = _WORDS[text]
        else:
            compact = text.replace(" ", "")
            try:
                if "^" in compact or "**" in compact:
                    base, exp = re.split(r"\^|\*\*", compact)
                    number = int(base) ** min(int(exp), 30)
                elif "e" in compact:
                    number = int(float(compact))
                elif re.fullmatch(r"-?\d+", compact):
                    number = int(compact)
                else:
                    raise CartError("utter_cart_not_a_whole_number", value=str(value))
            except ValueError:
                raise CartError("utter_cart_not_a_whole_number", value=str(value)) from None
    if number < 1:
        raise CartError("utter_cart_quantity_too_small", quantity=number)
    if number > MAX_QUANTITY_PER_LINE:
        raise CartError("utter_cart_quantity_too_large", quantity=number, limit=MAX_QUANTITY_PER_LINE)
    return number


def requested_quantity(tracker: Tracker) -> int | None:
    """The quantity entity, else a bare number in the text (product ids ignored); None when absent."""
    values = [
        e.get("value") for e in tracker.latest_message.get("entities", []) if e.get("entity") == QUANTITY
    ]
    if values:
        return parse_quantity(values[0])
    text = tracker.latest_message.get("text") or ""
    for entity in tracker.latest_message.get("entities", []):
        if entity.get("entity") == PRODUCT and entity.get("value"):
            text = text.replace(str(entity["value"]), " ")  # "String Lights 10 m" is a name, not a quantity
    text = _PRODUCT_ID.sub(" ", text)
    match = _NUMBER.search(text)
    if match:
        return parse_quantity(match.group(1))
    for word in _TOKEN.findall(text.lower()):
        if word in ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "couple", "pair"):
            return parse_quantity(word)
    return None


def _tokens(text: str) -> set[str]:
    return set(_TOKEN.findall(text.lower()))


def product_words(product: Product) -> set[str]:
    words = _tokens(f"{product.title} {product.brand} {product.category}")
    for key in ("color", "colour", "material"):
        value = product.attributes.get(key)
        if isinstance(value, str):
            words |= _tokens(value)
        elif isinstance(value, list):
            words |= _tokens(" ".join(map(str, value)))
    return words


def match_products(query: str, products: Sequence[Product]) -> list[Product]:
    """Products whose words best cover the query's words (ties all returned, best first)."""
    wanted = {w for w in _tokens(query) if w not in _STOP and not w.isdigit() and not w.startswith("-")}
    if not wanted:
        return []
    scored: list[tuple[float, Product]] = []
    for product in products:
        words = product_words(product)
        hits = sum(1 for w in wanted if w in words or (w.endswith("s") and w[:-1] in words))
        if hits:
            scored.append((hits / len(wanted), product))
    if not scored:
        return []
    best = max(score for score, _ in scored)
    if best < 0.5:
        return []
    return [p for score, p in sorted(scored, key=lambda item: (-item[0], item[1].id)) if score == best]


def requested_products(tracker: Tracker) -> tuple[list[Product], str]:
    """Candidates for "add/remove X": ids, then names, then the product the shopper just saw."""
    shop = store()
    entities = [
        str(e.get("value")) for e in tracker.latest_message.get("entities", []) if e.get("entity") == PRODUCT
    ]
    text = tracker.latest_message.get("text") or ""
    ids = [value for value in entities if _PRODUCT_ID.fullmatch(value.strip())] + _PRODUCT_ID.findall(text)
    for raw in ids:
        try:
            return [shop.get_product(raw)], raw
        except (NotFoundError, InvalidIdentifierError):
            raise CartError("utter_cart_no_such_product", product_id=raw.upper()) from None
    query = " ".join(entities) or text
    matches = match_products(query, shop.list_products())
    if matches:
        return matches, query
    shown = tracker.get_slot(SHOWN_PRODUCT)
    if shown and _tokens(text) & {"it", "this", "that", "one"}:
        try:
            return [shop.get_product(str(shown))], str(shown)
        except StoreError:
            pass
    return [], (" ".join(entities) or text).strip()


# --- the cart ---------------------------------------------------------------------------------------------------


def get_cart(tracker: Tracker) -> list[dict[str, Any]]:
    value = tracker.get_slot(CART)
    cart: list[dict[str, Any]] = []
    if isinstance(value, list):
        for item in value:
            if (
                isinstance(item, dict)
                and isinstance(item.get("product_id"), str)
                and isinstance(item.get("quantity"), int)
            ):
                cart.append({"product_id": item["product_id"], "quantity": item["quantity"]})
    return cart


def cart_lines(cart: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(item["product_id"], item["quantity"]) for item in cart]


def quote_text(quote: OrderQuote) -> str:
    lines = [
        messages.CART_LINE.format(
            quantity=line.quantity,
            title=line.title,
            product_id=line.product_id,
            amount=money(line.total_minor, quote.currency),
        )
        for line in quote.lines
    ]
    totals = messages.CART_TOTALS.format(
        subtotal=money(quote.subtotal_minor, quote.currency),
        shipping=money(quote.shipping_minor, quote.currency),
        total=money(quote.total_minor, quote.currency),
    )
    return "\n".join([*lines, totals])


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


def bad_request(dispatcher: CollectingDispatcher, response: str, **values: Any) -> list[EventType]:
    """Tell the shopper why a cart request cannot be done (a ``utter_cart_*`` response) and change nothing."""
    dispatcher.utter_message(response=response, **values)
    return []


class ActionStartOrder(Action):
    """place_order: explain how ordering works, or add what was named right away."""

    def name(self) -> str:
        return "action_start_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if any(
            e.get("entity") == PRODUCT for e in tracker.latest_message.get("entities", [])
        ) or _PRODUCT_ID.search(tracker.latest_message.get("text") or ""):
            return await ActionAddToCart().run(dispatcher, tracker, domain)
        cart = get_cart(tracker)
        if cart:
            return await ActionShowCart().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_cart_what_to_add")
        return []


class ActionAddToCart(Action):
    def name(self) -> str:
        return "action_add_to_cart"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            quantity = requested_quantity(tracker) or 1
            products, query = await in_executor(requested_products, tracker)
        except CartError as exc:
            return bad_request(dispatcher, exc.response, **exc.values)
        except StoreError:
            logger.exception("product lookup failed")
            return bad_request(dispatcher, "utter_cart_lookup_down")
        if not products:
            dispatcher.utter_message(response="utter_cart_unknown_product", query=query or messages.THAT)
            return []
        if len(products) > 1:
            dispatcher.utter_message(
                response="utter_cart_which_product",
                buttons=[
                    button(
                        messages.PRODUCT_CHOICE.format(title=p.title, price=money(p.price_minor, p.currency)),
                        f'/add_to_cart{{"product":"{p.id}"}}',
                    )
                    for p in products[:4]
                ],
            )
            return []
        product = products[0]
        cart = get_cart(tracker)
        existing = next((item for item in cart if item["product_id"] == product.id), None)
        new_quantity = quantity + (existing["quantity"] if existing else 0)
        if new_quantity > MAX_QUANTITY_PER_LINE:
            return bad_request(
                dispatcher,
                "utter_cart_line_limit",
                quantity=new_quantity,
                title=product.title,
                limit=MAX_QUANTITY_PER_LINE,
            )
        if not product.in_stock or product.stock < new_quantity:
            return bad_request(dispatcher, "utter_cart_low_stock", title=product.title, stock=product.stock)
        if existing is None and len(cart) >= MAX_CART_LINES:
            return bad_request(dispatcher, "utter_cart_too_many_lines", limit=MAX_CART_LINES)
        if existing:
            existing["quantity"] = new_quantity
        else:
            cart.append({"product_id": product.id, "quantity": quantity})
        dispatcher.utter_message(
            response="utter_cart_added",
            quantity=quantity,
            title=product.title,
            price=money(product.price_minor, product.currency),
            count=sum(item["quantity"] for item in cart),
        )
        # a changed cart invalidates a summary waiting for "yes"
        return [
            SlotSet(CART, cart),
            SlotSet(CART_STEP, None),
            SlotSet(CART_QUOTE, None),
            SlotSet(SHOWN_PRODUCT, product.id),
        ]


class ActionRemoveFromCart(Action):
    def name(self) -> str:
        return "action_remove_from_cart"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        cart = get_cart(tracker)
        if not cart:
            dispatcher.utter_message(response="utter_cart_empty")
            return []
        try:
            quantity = requested_quantity(tracker)
            products, query = await in_executor(requested_products, tracker)
        except CartError as exc:
            return bad_request(dispatcher, exc.response, **exc.values)
        in_cart = [p for p in products if any(item["product_id"] == p.id for item in cart)]
        if not in_cart:
            dispatcher.utter_message(response="utter_cart_not_in_cart", query=query or messages.THAT)
            return []
        product = in_cart[0]
        item = next(i for i in cart if i["product_id"] == product.id)
        if quantity is None or quantity >= item["quantity"]:
            cart.remove(item)
            removed = item["quantity"]
        else:
            item["quantity"] -= quantity
            removed = quantity
        dispatcher.utter_message(
            response="utter_cart_removed",
            quantity=removed,
            title=product.title,
            count=sum(i["quantity"] for i in cart),
        )
        return [SlotSet(CART, cart), SlotSet(CART_STEP, None), SlotSet(CART_QUOTE, None)]


class ActionShowCart(Action):
    def name(self) -> str:
        return "action_show_cart"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        cart = get_cart(tracker)
        if not cart:
            dispatcher.utter_message(response="utter_cart_empty")
            return []
        try:
            quote = await in_executor(store().quote_order, cart_lines(cart))
        except StoreError as exc:
            return bad_request(dispatcher, "utter_cart_no_longer_available", detail=str(exc))
        dispatcher.utter_message(response="utter_cart_contents", cart=quote_text(quote))
        return []


# --- checkout ---------------------------------------------------------------------------------------------------


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
        cart = get_cart(tracker)
        if not cart:
            dispatcher.utter_message(response="utter_cart_empty")
            return [SlotSet(CART_STEP, None)]
        customer_id = verified_customer_id(tracker)
        if customer_id is None:
            dispatcher.utter_message(response="utter_checkout_need_customer")
            return [SlotSet(CART_STEP, None)]
        shop = store()
        try:
            customer = await in_executor(shop.get_customer, customer_id)
            quote = await in_executor(shop.quote_order, cart_lines(cart))
        except StoreError as exc:
            return [
                *bad_request(dispatcher, "utter_cart_cannot_price", detail=str(exc)),
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
        return summarize(dispatcher, quote, address)


def summarize(dispatcher: CollectingDispatcher, quote: OrderQuote, address: Address) -> list[EventType]:
    dispatcher.utter_message(
        response="utter_order_summary",
        summary=quote_text(quote),
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
                    *bad_request(dispatcher, "utter_cart_no_longer_available", detail=str(error)),
                    SlotSet(CART_STEP, None),
                ]
            dispatcher.utter_message(
                response="utter_prices_changed",
                old_total=money(int(quote["total_minor"]), str(quote["currency"])),
                total=money(fresh.total_minor, fresh.currency),
            )
            return summarize(dispatcher, fresh, address)
        except (OutOfStockError, NotFoundError, InvalidInputError, InvalidIdentifierError) as exc:
            dispatcher.utter_message(response="utter_order_failed", problem=str(exc))
            return [SlotSet(CART_STEP, None), SlotSet(CART_QUOTE, None)]
        except (StoreError, LedgerError):
            logger.exception("order creation failed for %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_order_failed", problem=messages.ORDER_NOT_SAVED)
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
