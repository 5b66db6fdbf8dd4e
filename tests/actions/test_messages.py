"""The message catalog (actions/messages.py): domain responses rendered as Rasa would, and data-built wording."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from actions import messages
from tests.actions.shop_fixtures import load_domain

DOMAIN: dict[str, Any] = {
    "responses": {
        "utter_found": [
            {"text": "Here's what I found ({filters}):"},
            {
                "text": "我找到了这些（{filters}）：",
                "condition": [{"type": "slot", "name": "language", "value": "zh"}],
            },
        ],
        "utter_only_conditional": [
            {"text": "Bonjour", "condition": [{"type": "slot", "name": "language", "value": "fr"}]},
        ],
    }
}


def test_render_fills_variables_from_values_over_slots() -> None:
    text = messages.render(DOMAIN, {"filters": "from a slot"}, "utter_found", filters="under 50")
    assert text == "Here's what I found (under 50):"


def test_render_picks_the_variation_whose_slot_condition_holds() -> None:
    assert (
        messages.render(DOMAIN, {"language": "zh"}, "utter_found", filters="黑色") == "我找到了这些（黑色）："
    )
    assert (
        messages.render(DOMAIN, {"language": "de"}, "utter_found", filters="x") == "Here's what I found (x):"
    )


def test_render_falls_back_to_a_conditional_variation_when_there_is_nothing_else() -> None:
    assert messages.render(DOMAIN, {}, "utter_only_conditional") == "Bonjour"


def test_render_leaves_an_unfilled_variable_as_written() -> None:
    assert messages.render(DOMAIN, {}, "utter_found") == "Here's what I found ({filters}):"


def test_render_names_a_missing_response() -> None:
    with pytest.raises(messages.MissingResponseError, match="utter_nowhere"):
        messages.render(DOMAIN, {}, "utter_nowhere")
    with pytest.raises(messages.MissingResponseError, match="0 responses"):
        messages.render({}, {}, "utter_found")


def test_the_real_card_headings_render() -> None:
    domain = load_domain()
    assert messages.render(domain, {}, "utter_products_found") == "Here's what I found:"
    assert (
        messages.render(domain, {}, "utter_products_found_filtered", filters="under 100, black")
        == "Here's what I found (under 100, black):"
    )


def test_dates_do_not_depend_on_the_process_locale() -> None:
    assert messages.day(date(2025, 11, 25)) == "Tuesday 25 November"
    assert messages.short_day(datetime(2025, 3, 1, 23, 0, tzinfo=UTC)) == "1 Mar 2025"


def test_lists_of_items_and_choices() -> None:
    assert messages.join_items([]) == ""
    assert messages.join_items(["a"]) == "a"
    assert messages.join_items(["a", "b", "c"]) == "a, b and c"
    assert messages.item(2, "Merino T-Shirt") == "2 × Merino T-Shirt"
    assert messages.item(1, "Merino T-Shirt") == "Merino T-Shirt"
    assert messages.join_choices(["SD-100001", "SD-100002"]) == "SD-100001 or SD-100002"


def test_product_lines_carry_the_reason_when_there_is_one() -> None:
    records = [
        {"id": "P-1", "title": "Lamp", "price_text": "€20.00"},
        {"id": "P-2", "title": "Mat", "price_text": "€30.00"},
    ]
    assert messages.product_lines(records, {"P-2": "often bought with Lamp"}) == (
        "- Lamp (€20.00)\n- Mat (€30.00): often bought with Lamp"
    )


def test_a_missing_card_heading_is_logged_and_left_empty(caplog: pytest.LogCaptureFixture) -> None:
    assert messages.render_heading({}, {}, "utter_products_found") == ""
    assert "utter_products_found" in caplog.text
    assert messages.render_heading(DOMAIN, {}, "utter_found", filters="x") == "Here's what I found (x):"
