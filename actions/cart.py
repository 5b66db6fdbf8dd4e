"""Ordering in the chat, the cart: add / remove by name, search result or id, quantities, and the priced cart.
Checkout (address, summary, confirmation, ledger receipt) is actions.checkout.

Slots (domain/ordering.yml): ``cart`` (list of ``{product_id, quantity}``), ``cart_step`` (``collect_address`` /
``confirm_order``; the rules act on it), ``cart_quote`` (the prices the shopper saw and the address),
``checkout_address`` (filled by ``checkout_address_form``) and ``placed_order_id``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages
from actions.common import button, money, store
from shop.errors import InvalidIdentifierError, NotFoundError, StoreError
from shop.model import OrderQuote, Product
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
# checkout needs a verified customer: the next order number + email verify, then checkout goes on
STEP_VERIFY_CUSTOMER = "verify_customer"
CHECKOUT_TASK = "checkout"  # the order_task of a verification asked for by checkout
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


def quote_text(words: messages.Catalog, quote: OrderQuote) -> str:
    lines = [
        words.CART_LINE.format(
            quantity=line.quantity,
            title=line.title,
            product_id=line.product_id,
            amount=money(line.total_minor, quote.currency),
        )
        for line in quote.lines
    ]
    totals = words.CART_TOTALS.format(
        subtotal=money(quote.subtotal_minor, quote.currency),
        shipping=money(quote.shipping_minor, quote.currency),
        total=money(quote.total_minor, quote.currency),
    )
    return "\n".join([*lines, totals])


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
        words = messages.catalog_for(tracker)
        try:
            quantity = requested_quantity(tracker) or 1
            products, query = await in_executor(requested_products, tracker)
        except CartError as exc:
            return bad_request(dispatcher, exc.response, **exc.values)
        except StoreError:
            logger.exception("product lookup failed")
            return bad_request(dispatcher, "utter_cart_lookup_down")
        if not products:
            dispatcher.utter_message(response="utter_cart_unknown_product", query=query or words.THAT)
            return []
        if len(products) > 1:
            dispatcher.utter_message(
                response="utter_cart_which_product",
                buttons=[
                    button(
                        words.PRODUCT_CHOICE.format(title=p.title, price=money(p.price_minor, p.currency)),
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
            query = query or messages.catalog_for(tracker).THAT
            dispatcher.utter_message(response="utter_cart_not_in_cart", query=query)
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
        words = messages.catalog_for(tracker)
        cart = get_cart(tracker)
        if not cart:
            dispatcher.utter_message(response="utter_cart_empty")
            return []
        try:
            quote = await in_executor(store().quote_order, cart_lines(cart))
        except StoreError as exc:
            return bad_request(
                dispatcher, "utter_cart_no_longer_available", detail=words.store_problem(str(exc))
            )
        dispatcher.utter_message(response="utter_cart_contents", cart=quote_text(words, quote))
        return []
