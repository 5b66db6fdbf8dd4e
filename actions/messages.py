"""The message catalog: the shopper-facing text that is built from data rather than said in one sentence.

Whole sentences live in the domain (``domain/*.yml`` responses, with a ``language: zh`` conditional variation
each); actions pick one and fill its variables with ``dispatcher.utter_message(response="utter_x", var=value)``,
and Rasa renders it (docs/architecture.md, "Where shopper text lives"). What cannot be one response sits here,
in one place, in both languages: ``catalog(language)`` is a :class:`Catalog` with the same keys for English
(below) and Simplified Chinese (``actions/messages_zh.py``):

- templates for pieces assembled from data: product list lines, cart summaries, dates, lists of items, order
  and return statuses, recommendation reasons, search-filter descriptions, and the titles of buttons built
  from products and order lines;
- :func:`render`, which fills a domain response the way Rasa does, for the one place a sentence must travel
  inside a custom payload (the heading of the ``product_cards`` payload). It honours slot conditions, so the
  ``language`` slot's zh variation is picked here as Rasa would pick it.

An action reads the language once per run (``words = catalog_for(tracker)``, which asks
``actions.language.language_of``) and passes ``words`` down. Tests (tests/test_architecture.py) keep English out
of the other action modules: no literal or f-string ``text=``, and every response an action names exists in the
domain; tests/actions/test_catalog_zh.py keeps the two languages' keys and placeholders in step.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar

from rasa_sdk import Tracker

from actions import messages_zh
from actions.language import DEFAULT_LANGUAGE, Language, language_of

logger = logging.getLogger(__name__)

_VARIABLE = re.compile(r"{([^\n{}]+?)}")


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one instance per language
class Catalog:
    """The wording of one language. Templates are ``str.format`` strings; every language has every key, and
    the same placeholders (tests/actions/test_catalog_zh.py), except the :attr:`VOCABULARIES`: words for data
    values (colours, categories, payment labels) that a language may leave as the data writes them."""

    VOCABULARIES: ClassVar[tuple[str, ...]] = (
        "COLORS",
        "CATEGORIES",
        "MATERIALS",
        "SIZES",
        "PAYMENT_METHODS",
    )

    language: Language
    # --- buttons built by actions (their payloads stay in the actions) ------------------------------------
    TALK_TO_PERSON: str
    SHOW_SIMILAR: str
    MORE_LIKE: str  # {title}
    REMOVE_LINE: str  # {title}
    REDUCE_LINE: str  # {quantity} {title}
    PRODUCT_CHOICE: str  # {title} {price}: which product to add to the cart
    CHANGE_ADDRESS: str
    CANCEL_WHOLE_ORDER: str
    LEAVE_AS_IS: str
    # --- product lists (the text twin of the product_cards payload) ---------------------------------------
    PRODUCT_LINE: str  # {title} {price_text}
    PRODUCT_LINE_WITH_REASON: str  # {title} {price_text} {reason}
    # --- order wording ------------------------------------------------------------------------------------
    ITEM_QUANTITY: str  # {quantity} {title}
    LIST_SEPARATOR: str
    LIST_LAST_SEPARATOR: str
    CHOICE_SEPARATOR: str  # "SD-100001 or SD-100002" (the order_id_choices slot)
    # dates: {weekday} {day} {month} {month_abbr} {month_number} {year}
    DAY: str  # Tuesday 24 November
    SHORT_DAY: str  # 24 Nov 2025
    DAY_AND_DATE: str  # Tuesday 24 November (24 Nov 2025)
    WEEKDAYS: tuple[str, ...]  # Monday first
    MONTHS: tuple[str, ...]
    MONTH_ABBREVIATIONS: tuple[str, ...]
    OUR_CARRIER: str
    THE_CARRIER: str
    EARLIER: str
    ORIGINAL_PAYMENT_METHOD: str
    ORDER_NOT_SAVED: str
    THAT: str  # a product the shopper named without words we could keep
    BULLET: str  # {line}
    INVOICE_LINE: str  # {invoice_id} {issued_day} {amount} {url}
    CART_LINE: str  # {quantity} {title} {product_id} {amount}
    CART_TOTALS: str  # {subtotal} {shipping} {total}
    LINE_REMOVED: str  # {title}: the {change} of utter_order_line_changed
    LINE_CHANGED: str  # {title} {quantity}
    ORDER_STATUSES: Mapping[str, str]  # shop.model.OrderStatus -> the word the shopper reads
    RETURN_STATUSES: Mapping[str, str]  # shop.model.ReturnStatus -> the word
    # order status -> why it can't be cancelled (the {reason} of utter_fee_not_cancellable)
    NOT_CANCELLABLE: Mapping[str, str]
    # (pattern, replacement) rewrites of the shop's payment-method labels ("Visa ending 4242")
    PAYMENT_METHODS: tuple[tuple[str, str], ...]
    STORE_PROBLEM: str  # {detail}: the order store's own reason (English); a language may say it its own way
    FILTER_PROBLEM: str  # {problem}: retrieval's reason a price filter can't be used
    # --- recommendation reasons (retrieval.recommend reason codes) ----------------------------------------
    REASONS: Mapping[str, str]  # code -> template with {title}
    # --- search filters (retrieval.filters.FilterTerm codes) ----------------------------------------------
    FILTERS: Mapping[str, str]  # code -> template with {low} / {high} / {value}
    FILTER_SEPARATOR: str
    COLORS: Mapping[str, str]  # catalog colour -> the word; others are shown as the catalog writes them
    CATEGORIES: Mapping[str, str]  # catalog category -> the word; likewise
    # --- product facts (retrieval.results.ProductFact, worded by actions/product_facts.py) ------------------
    # price {title} {price}; in_stock {title} {count}; in_stock_many / out_of_stock {title};
    # sizes / colors / material {title} {values}; text {title} {sentence} (the product text's own sentence)
    PRODUCT_FACTS: Mapping[str, str]
    FACT_VALUE_SEPARATOR: str  # between the values of sizes / colours / material
    MATERIALS: Mapping[str, str]  # catalog material -> the word; others as the catalog writes them
    SIZES: Mapping[str, str]  # catalog size -> the word (sizes like "M" or "42" stay as they are)

    # --- formatting -----------------------------------------------------------------------------------------
    def _date_values(self, value: date | datetime) -> dict[str, Any]:
        d = value.date() if isinstance(value, datetime) else value
        return {
            "weekday": self.WEEKDAYS[d.weekday()],
            "day": d.day,
            "month": self.MONTHS[d.month - 1],
            "month_abbr": self.MONTH_ABBREVIATIONS[d.month - 1],
            "month_number": d.month,
            "year": d.year,
        }

    def day(self, value: date | datetime) -> str:
        """``Tuesday 24 November`` / ``11月24日（周二）`` (names from this catalog, not the process locale)."""
        return self.DAY.format(**self._date_values(value))

    def short_day(self, value: date | datetime) -> str:
        """``24 Nov 2025`` / ``2025年11月24日``."""
        return self.SHORT_DAY.format(**self._date_values(value))

    def day_and_date(self, value: date | datetime) -> str:
        """``Tuesday 24 November (24 Nov 2025)`` / ``2025年11月24日（周二）``."""
        return self.DAY_AND_DATE.format(**self._date_values(value))

    def join_items(self, parts: Sequence[str]) -> str:
        """``a``, ``a and b``, ``a, b and c`` / ``a、b 和 c``."""
        if len(parts) <= 1:
            return "".join(parts)
        return self.LIST_SEPARATOR.join(parts[:-1]) + self.LIST_LAST_SEPARATOR + parts[-1]

    def join_choices(self, parts: Sequence[str]) -> str:
        return self.CHOICE_SEPARATOR.join(parts)

    def item(self, quantity: int, title: str) -> str:
        return self.ITEM_QUANTITY.format(quantity=quantity, title=title) if quantity > 1 else title

    def items(self, lines: Iterable[tuple[int, str]]) -> str:
        """``2 × Merino T-Shirt and Packable Rain Jacket`` from (quantity, title) pairs."""
        return self.join_items([self.item(quantity, title) for quantity, title in lines])

    def product_lines(
        self, records: Sequence[Mapping[str, Any]], reasons: Mapping[str, str] | None = None
    ) -> str:
        """``- Title (€12.00)`` per product, with the recommendation's reason when there is one."""
        lines = []
        for r in records:
            reason = reasons.get(r["id"]) if reasons else None
            template = self.PRODUCT_LINE_WITH_REASON if reason else self.PRODUCT_LINE
            lines.append(template.format(title=r["title"], price_text=r["price_text"], reason=reason))
        return "\n".join(lines)

    def order_status(self, status: str) -> str:
        return self.ORDER_STATUSES.get(status, status)

    def return_status(self, status: str) -> str:
        return self.RETURN_STATUSES.get(status, status)

    def not_cancellable(self, status: str, store_reason: str) -> str:
        """Why an order in ``status`` can't be cancelled; the store's own words for a status we don't know."""
        return self.NOT_CANCELLABLE.get(status, store_reason)

    def payment_method(self, label: str) -> str:
        """The shop's payment-method label as this language says it (``Visa ending 4242`` → ``Visa（尾号 4242）``)."""
        for pattern, replacement in self.PAYMENT_METHODS:
            label = re.sub(pattern, replacement, label)
        return label

    def store_problem(self, detail: str) -> str:
        return self.STORE_PROBLEM.format(detail=detail)

    def filter_problem(self, problem: str) -> str:
        return self.FILTER_PROBLEM.format(problem=problem)

    def line_change(self, title: str, quantity: int) -> str:
        """The ``{change}`` of ``utter_order_line_changed``: a line removed (quantity 0) or reduced."""
        if quantity == 0:
            return self.LINE_REMOVED.format(title=title)
        return self.LINE_CHANGED.format(title=title, quantity=quantity)

    def reason(self, code: str, title: str = "") -> str:
        """A recommendation's reason (``retrieval.recommend`` codes), e.g. ``often bought with Yoga Mat``."""
        template = self.REASONS.get(code)
        if template is None:
            logger.warning("recommendation reason %r has no wording in %s", code, self.language)
            return ""
        return template.format(title=title)

    def filters(self, terms: Iterable[tuple[str, Mapping[str, str]]], currency_symbol: str = "") -> str:
        """Search filters (``ProductFilters.terms()``: a code and its values) as this language lists them;
        colours and categories this catalog has no word for are shown as the catalog writes them."""
        parts = []
        for code, values in terms:
            template = self.FILTERS.get(code)
            if template is None:
                logger.warning("search filter %r has no wording in %s", code, self.language)
                continue
            filled = {key: currency_symbol + value for key, value in values.items() if key in ("low", "high")}
            value = values.get("value", "")
            vocabulary = self.COLORS if code == "color" else self.CATEGORIES if code == "category" else {}
            parts.append(template.format(**filled, value=vocabulary.get(value, value)))
        return self.FILTER_SEPARATOR.join(parts)

    # --- introspection (the parity test) --------------------------------------------------------------------
    def templates(self) -> dict[str, str]:
        """Every string of the catalog by key (``REASONS.together``, ``WEEKDAYS.0``, …)."""
        out: dict[str, str] = {}
        for key, value in vars(self).items():
            if key == "language":
                continue
            if isinstance(value, str):
                out[key] = value
            elif isinstance(value, Mapping):
                out.update({f"{key}.{k}": str(v) for k, v in value.items()})
            else:
                out.update({f"{key}.{n}": str(v) for n, v in enumerate(value)})
        return out


def placeholders(template: str) -> set[str]:
    """The ``{names}`` a template fills."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


EN = Catalog(
    language="en",
    TALK_TO_PERSON="Talk to a person",
    SHOW_SIMILAR="Show similar items",
    MORE_LIKE="More like {title}",
    REMOVE_LINE="Remove {title}",
    REDUCE_LINE="Only {quantity} × {title}",
    PRODUCT_CHOICE="{title} ({price})",
    CHANGE_ADDRESS="Change the delivery address",
    CANCEL_WHOLE_ORDER="Cancel the whole order",
    LEAVE_AS_IS="Leave it as it is",
    PRODUCT_LINE="- {title} ({price_text})",
    PRODUCT_LINE_WITH_REASON="- {title} ({price_text}): {reason}",
    ITEM_QUANTITY="{quantity} × {title}",
    LIST_SEPARATOR=", ",
    LIST_LAST_SEPARATOR=" and ",
    CHOICE_SEPARATOR=" or ",
    DAY="{weekday} {day} {month}",
    SHORT_DAY="{day} {month_abbr} {year}",
    DAY_AND_DATE="{weekday} {day} {month} ({day} {month_abbr} {year})",
    WEEKDAYS=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    MONTHS=(
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    MONTH_ABBREVIATIONS=("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    OUR_CARRIER="our carrier",
    THE_CARRIER="the carrier",
    EARLIER="earlier",
    ORIGINAL_PAYMENT_METHOD="your original payment method",
    ORDER_NOT_SAVED="the shop system could not save it",
    THAT="that",
    BULLET="• {line}",
    INVOICE_LINE="{invoice_id} — issued {issued_day}, {amount}: {url}",
    CART_LINE="• {quantity} × {title} ({product_id}) — {amount}",
    CART_TOTALS="Subtotal {subtotal} · shipping {shipping} · total {total}",
    LINE_REMOVED="removed {title}",
    LINE_CHANGED="changed {title} to {quantity}",
    ORDER_STATUSES={
        "pending": "pending",
        "paid": "paid",
        "packed": "packed",
        "shipped": "shipped",
        "delivered": "delivered",
        "cancelled": "cancelled",
        "returned": "returned",
    },
    RETURN_STATUSES={
        "requested": "requested",
        "received": "received",
        "refunded": "refunded",
        "rejected": "rejected",
    },
    NOT_CANCELLABLE={
        "shipped": "the order is already with the carrier; it can be returned once it arrives",
        "delivered": "the order has been delivered; it can be returned instead",
        "cancelled": "the order is already cancelled",
        "returned": "the order has already been returned",
    },
    PAYMENT_METHODS=(),
    STORE_PROBLEM="{detail}",
    FILTER_PROBLEM="{problem}",
    REASONS={
        "popular": "popular with other shoppers",
        "catalogue": "from our catalogue",
        "similar": "similar to {title}",
        "together": "often bought with {title}",
        "personal_together": "often bought with your {title}",
        "personal_similar": "similar to your {title}",
    },
    FILTERS={
        "between": "between {low} and {high}",
        "under": "under {high}",
        "over": "over {low}",
        "color": "{value}",
        "brand": "{value}",
        "category": "{value}",
        "in_stock": "in stock",
    },
    FILTER_SEPARATOR=", ",
    COLORS={},
    CATEGORIES={},
    PRODUCT_FACTS={
        "price": "{title} costs {price}.",
        "in_stock": "Yes, {title} is in stock ({count} available).",
        "in_stock_many": "Yes, {title} is in stock.",
        "out_of_stock": "{title} is out of stock at the moment.",
        "sizes": "{title} comes in sizes {values}.",
        "colors": "{title} comes in {values}.",
        "material": "{title} is made of {values}.",
        "text": 'From the product details of {title}: "{sentence}"',
    },
    FACT_VALUE_SEPARATOR=", ",
    MATERIALS={},
    SIZES={},
)
ZH = Catalog(language="zh", **messages_zh.WORDS)
CATALOGS: dict[Language, Catalog] = {"en": EN, "zh": ZH}


def catalog(language: Language) -> Catalog:
    """The catalog of ``language`` (``"en"`` or ``"zh"``; anything else reads as English)."""
    return CATALOGS.get(language, CATALOGS[DEFAULT_LANGUAGE])


def catalog_for(tracker: Tracker) -> Catalog:
    """The catalog of the conversation's language (read once per action run)."""
    return catalog(language_of(tracker))


# English shortcuts for callers without a conversation (tests, logs); actions use ``catalog_for(tracker)``.
def day(value: date | datetime) -> str:
    return EN.day(value)


def short_day(value: date | datetime) -> str:
    return EN.short_day(value)


def join_items(parts: Sequence[str]) -> str:
    return EN.join_items(parts)


def join_choices(parts: Sequence[str]) -> str:
    return EN.join_choices(parts)


def item(quantity: int, title: str) -> str:
    return EN.item(quantity, title)


def product_lines(records: Sequence[Mapping[str, Any]], reasons: Mapping[str, str] | None = None) -> str:
    return EN.product_lines(records, reasons)


# --- buttons and domain responses -------------------------------------------------------------------------


class MissingResponseError(KeyError):
    """An action asked for a response the domain it was given does not declare."""

    def __init__(self, name: str, known: int) -> None:
        super().__init__(f"response {name!r} is not in the domain ({known} responses declared)")
        self.name = name


def button(title: str, payload: str) -> dict[str, str]:
    return {"title": title, "payload": payload}


def _matches(variation: Mapping[str, Any], slots: Mapping[str, Any]) -> bool:
    conditions = variation.get("condition") or []
    return all(c.get("type") == "slot" and slots.get(c.get("name")) == c.get("value") for c in conditions)


def render(domain: Mapping[str, Any], slots: Mapping[str, Any], name: str, **values: Any) -> str:
    """The text of domain response ``name`` filled from ``slots`` and ``values``, as Rasa would send it.

    A variation whose slot conditions all hold wins over the unconditional ones; among those the first is
    taken (Rasa picks at random; the payload headings this serves have one variation each). A variable
    with no value stays as written, as in Rasa.
    """
    responses = domain.get("responses") or {}
    variations = responses.get(name)
    if not variations:
        raise MissingResponseError(name, len(responses))
    conditional = [v for v in variations if v.get("condition") and _matches(v, slots)]
    plain = [v for v in variations if not v.get("condition")]
    chosen = (conditional or plain or variations)[0]
    filled = {**slots, **values}
    text = str(chosen.get("text") or "")
    return _VARIABLE.sub(
        lambda m: str(filled[m.group(1)]) if filled.get(m.group(1)) is not None else m.group(0), text
    )


def render_heading(domain: Mapping[str, Any], slots: Mapping[str, Any], name: str, **values: Any) -> str:
    """:func:`render` for a card heading, which must never fail the turn: a response missing from the domain
    Rasa sent (a model trained on an older domain) is logged and leaves the heading empty; the cards still go."""
    try:
        return render(domain, slots, name, **values)
    except MissingResponseError:
        logger.error("card heading %s is not in the domain Rasa sent; retrain the model", name)
        return ""
