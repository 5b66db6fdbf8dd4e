"""The message catalog: the shopper-facing text that is built from data rather than said in one sentence.

Whole sentences live in the domain (``domain/*.yml`` responses); actions pick one and fill its variables with
``dispatcher.utter_message(response="utter_x", var=value)``, and Rasa renders it (docs/architecture.md, "Where
shopper text lives"). What cannot be one response sits here, in one place, so a translation touches the domain
and this module only:

- templates for pieces assembled from data: product list lines, cart summaries, dates, lists of items,
  the titles of buttons built from products and order lines;
- :func:`render`, which fills a domain response the way Rasa does, for the one place a sentence must travel
  inside a custom payload (the heading of the ``product_cards`` payload). It honours slot conditions, so a
  conditional variation (e.g. on a ``language`` slot) is picked here as Rasa would pick it.

Tests (tests/test_architecture.py) keep English out of the other action modules: no literal or f-string
``text=``, and every response an action names exists in the domain.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

# --- buttons built by actions (their payloads stay in the actions) --------------------------------------
TALK_TO_PERSON = "Talk to a person"
SHOW_SIMILAR = "Show similar items"
MORE_LIKE = "More like {title}"
REMOVE_LINE = "Remove {title}"
REDUCE_LINE = "Only {quantity} × {title}"
PRODUCT_CHOICE = "{title} ({price})"  # which product to add to the cart
CHANGE_ADDRESS = "Change the delivery address"
CANCEL_WHOLE_ORDER = "Cancel the whole order"
LEAVE_AS_IS = "Leave it as it is"

# --- product lists (the text twin of the product_cards payload) -------------------------------------------
PRODUCT_LINE = "- {title} ({price_text})"
PRODUCT_LINE_WITH_REASON = "- {title} ({price_text}): {reason}"

# --- order wording ----------------------------------------------------------------------------------------
ITEM_QUANTITY = "{quantity} × {title}"
LIST_SEPARATOR = ", "
LIST_LAST_SEPARATOR = " and "
CHOICE_SEPARATOR = " or "  # "SD-100001 or SD-100002" (the order_id_choices slot)
DAY = "{weekday} {day} {month}"  # Tuesday 24 November
SHORT_DAY = "{day} {month_abbr} {year}"  # 24 Nov 2025
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
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
)
OUR_CARRIER = "our carrier"
THE_CARRIER = "the carrier"
EARLIER = "earlier"
ORIGINAL_PAYMENT_METHOD = "your original payment method"
ORDER_NOT_SAVED = "the shop system could not save it"
THAT = "that"  # a product the shopper named without words we could keep
BULLET = "• {line}"
INVOICE_LINE = "{invoice_id} — issued {issued_day}, {amount}: {url}"
CART_LINE = "• {quantity} × {title} ({product_id}) — {amount}"
CART_TOTALS = "Subtotal {subtotal} · shipping {shipping} · total {total}"

logger = logging.getLogger(__name__)

_VARIABLE = re.compile(r"{([^\n{}]+?)}")


class MissingResponseError(KeyError):
    """An action asked for a response the domain it was given does not declare."""

    def __init__(self, name: str, known: int) -> None:
        super().__init__(f"response {name!r} is not in the domain ({known} responses declared)")
        self.name = name


def button(title: str, payload: str) -> dict[str, str]:
    return {"title": title, "payload": payload}


def product_lines(records: Sequence[Mapping[str, Any]], reasons: Mapping[str, str] | None = None) -> str:
    """``- Title (€12.00)`` per product, with the recommendation's reason when there is one."""
    lines = []
    for r in records:
        reason = reasons.get(r["id"]) if reasons else None
        template = PRODUCT_LINE_WITH_REASON if reason else PRODUCT_LINE
        lines.append(template.format(title=r["title"], price_text=r["price_text"], reason=reason))
    return "\n".join(lines)


def join_items(parts: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(parts) <= 1:
        return "".join(parts)
    return LIST_SEPARATOR.join(parts[:-1]) + LIST_LAST_SEPARATOR + parts[-1]


def join_choices(parts: Sequence[str]) -> str:
    return CHOICE_SEPARATOR.join(parts)


def item(quantity: int, title: str) -> str:
    return ITEM_QUANTITY.format(quantity=quantity, title=title) if quantity > 1 else title


def day(value: date | datetime) -> str:
    """``Tuesday 24 November`` (no locale dependence: the names come from this catalog)."""
    d = value.date() if isinstance(value, datetime) else value
    return DAY.format(weekday=WEEKDAYS[d.weekday()], day=d.day, month=MONTHS[d.month - 1])


def short_day(value: date | datetime) -> str:
    """``24 Nov 2025``."""
    d = value.date() if isinstance(value, datetime) else value
    return SHORT_DAY.format(day=d.day, month_abbr=MONTHS[d.month - 1][:3], year=d.year)


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
