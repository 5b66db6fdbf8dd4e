"""The message catalog in both languages (actions/messages.py, actions/messages_zh.py): the same keys and
placeholders, Chinese dates, lists and statuses, and the zh variation of a domain response for a zh tracker."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from actions import messages
from actions.messages import EN, ZH, Catalog, catalog, catalog_for, placeholders
from retrieval.filters import ProductFilters
from retrieval.recommend import REASONS
from tests.actions.chinese_output import english_words
from tests.actions.shop_fixtures import make_tracker

ZH_CONDITION = [{"type": "slot", "name": "language", "value": "zh"}]
# A Chinese template may leave out what is an English sentence from another package (the store's reason, a
# filter problem from retrieval) and say it in its own general words.
ENGLISH_ONLY_PLACEHOLDERS = {"STORE_PROBLEM": {"detail"}, "FILTER_PROBLEM": {"problem"}}
# Date templates choose among the same date fields in their own order ("Thursday 3 December", "12月3日（周四）").
DATE_KEYS = {"DAY", "SHORT_DAY", "DAY_AND_DATE"}
DATE_FIELDS = {"weekday", "day", "month", "month_abbr", "month_number", "year"}


def _compared(words: Catalog) -> dict[str, str]:
    return {
        key: value
        for key, value in words.templates().items()
        if key.split(".")[0] not in Catalog.VOCABULARIES
    }


def test_both_languages_have_the_same_keys() -> None:
    assert _compared(EN).keys() == _compared(ZH).keys()
    assert len(ZH.WEEKDAYS) == 7 and len(ZH.MONTHS) == len(ZH.MONTH_ABBREVIATIONS) == 12


def test_both_languages_fill_the_same_placeholders() -> None:
    english, chinese = _compared(EN), _compared(ZH)
    differing = {
        key: (placeholders(english[key]), placeholders(chinese[key]))
        for key in english.keys() - DATE_KEYS
        if placeholders(english[key]) - ENGLISH_ONLY_PLACEHOLDERS.get(key, set())
        != placeholders(chinese[key])
    }
    assert differing == {}
    for words in (EN, ZH):
        for key in DATE_KEYS:
            template = words.templates()[key]
            assert (
                {"day", "weekday" if key != "SHORT_DAY" else "year"} <= placeholders(template) <= DATE_FIELDS
            )


def test_a_catalog_missing_a_key_does_not_build() -> None:
    from actions import messages_zh

    words = dict(messages_zh.WORDS)
    del words["TALK_TO_PERSON"]
    with pytest.raises(TypeError, match="TALK_TO_PERSON"):
        Catalog(language="zh", **words)


def test_the_chinese_catalog_has_no_english_words_of_its_own() -> None:
    leaks = {
        key: found
        for key, text in ZH.templates().items()
        if not key.startswith("PAYMENT_METHODS.")  # patterns that match the shop's English labels
        if (found := english_words(re.sub(r"{[^{}]*}", " ", text)))
    }
    assert leaks == {}


def test_every_recommendation_reason_and_filter_code_has_wording() -> None:
    for words in (EN, ZH):
        assert set(words.REASONS) == set(REASONS)
        assert {"between", "under", "over", "color", "brand", "category", "in_stock"} == set(words.FILTERS)


def test_the_tracker_picks_the_catalog() -> None:
    assert catalog_for(make_tracker({"language": "zh"})) is ZH
    assert catalog_for(make_tracker({"language": "en"})) is EN
    assert catalog_for(make_tracker({})) is EN
    assert catalog_for(make_tracker({"language": "fr"})) is EN
    assert catalog("zh").TALK_TO_PERSON == "联系人工客服"


def test_chinese_dates() -> None:
    thursday = date(2026, 12, 3)
    assert ZH.day(thursday) == "12月3日（周四）"
    assert ZH.short_day(datetime(2026, 12, 3, 23, 0, tzinfo=UTC)) == "2026年12月3日"
    assert ZH.day_and_date(thursday) == "2026年12月3日（周四）"
    assert EN.day_and_date(thursday) == "Thursday 3 December (3 Dec 2026)"  # as the action built it before
    monday = date(2026, 11, 30)
    assert [ZH.day(monday + timedelta(days=n)) for n in range(7)] == [
        "11月30日（周一）",
        "12月1日（周二）",
        "12月2日（周三）",
        "12月3日（周四）",
        "12月4日（周五）",
        "12月5日（周六）",
        "12月6日（周日）",
    ]


def test_chinese_lists_and_quantities() -> None:
    assert ZH.join_items([]) == ""
    assert ZH.join_items(["A"]) == "A"
    assert ZH.join_items(["A", "B"]) == "A 和 B"
    assert ZH.join_items(["A", "B", "C"]) == "A、B 和 C"
    assert ZH.items([(2, "Merino T-Shirt"), (1, "Rain Jacket")]) == "2 × Merino T-Shirt 和 Rain Jacket"
    assert ZH.join_choices(["SD-100001", "SD-100002"]) == "SD-100001 或 SD-100002"


def test_chinese_statuses_payment_labels_and_changes() -> None:
    assert ZH.order_status("shipped") == "已发货" and EN.order_status("shipped") == "shipped"
    assert ZH.return_status("received") == "已收到退货" and EN.return_status("received") == "received"
    assert ZH.payment_method("Visa ending 4242") == "Visa（尾号 4242）"
    assert ZH.payment_method("Klarna invoice") == "Klarna 账单支付"
    assert ZH.payment_method("PayPal") == "PayPal"
    assert EN.payment_method("Visa ending 4242") == "Visa ending 4242"
    assert ZH.line_change("Cork Yoga Blocks", 0) == "删除 Cork Yoga Blocks"
    assert ZH.line_change("Cork Yoga Blocks", 2) == "将 Cork Yoga Blocks 的数量改为 2"
    assert EN.line_change("Cork Yoga Blocks", 0) == "removed Cork Yoga Blocks"
    assert EN.not_cancellable("shipped", "store words") == (
        "the order is already with the carrier; it can be returned once it arrives"
    )
    assert ZH.not_cancellable("unheard-of", "store words") == "store words"
    assert EN.store_problem("P-1001 is out of stock") == "P-1001 is out of stock"
    assert "P-1001" not in ZH.store_problem("P-1001 is out of stock")


def test_money_is_left_as_the_shop_formats_it() -> None:
    record = {"id": "P-1", "title": "Aurora Desk Lamp", "price_text": "€4.95"}
    assert ZH.product_lines([record]) == "- Aurora Desk Lamp（€4.95）"
    assert ZH.product_lines([record], {"P-1": ZH.reason("together", "Yoga Mat")}) == (
        "- Aurora Desk Lamp（€4.95）：常与 Yoga Mat 一起购买"
    )


def test_recommendation_reasons_are_worded_from_their_code() -> None:
    assert EN.reason("personal_similar", "Yoga Mat") == "similar to your Yoga Mat"
    assert ZH.reason("personal_similar", "Yoga Mat") == "与您买过的 Yoga Mat 相似"
    assert ZH.reason("popular") == "很受其他顾客欢迎"
    assert ZH.reason("no-such-code", "x") == ""
    for code, template in REASONS.items():  # English is the wording retrieval keeps for logs
        assert EN.reason(code, "X") == template.format(title="X")


@pytest.mark.parametrize(
    ("filters", "english", "chinese"),
    [
        (ProductFilters(max_price=100, colors=frozenset({"black"})), "under 100, black", "100以内，黑色"),
        (ProductFilters(min_price=20, max_price=50.5), "between 20 and 50.5", "20–50.5之间"),
        (
            ProductFilters(min_price=20, categories=frozenset({"bags"}), in_stock=True),
            "over 20, bags, in stock",
            "20以上，箱包，有现货",
        ),
        (
            ProductFilters(brands=frozenset({"northpack"}), colors=frozenset({"ultraviolet"})),
            "ultraviolet, northpack",
            "ultraviolet，northpack",  # a colour without a Chinese word and a brand stay as the catalog has them
        ),
    ],
)
def test_search_filters_in_both_languages(filters: ProductFilters, english: str, chinese: str) -> None:
    assert filters.describe() == english
    assert EN.filters(filters.terms()) == english
    assert ZH.filters(filters.terms()) == chinese
    assert ZH.filters(ProductFilters(max_price=30).terms(), currency_symbol="€") == "€30以内"


def test_render_picks_the_zh_variation_of_a_domain_response_for_a_zh_tracker() -> None:
    domain: dict[str, Any] = {
        "responses": {
            "utter_recommend_similar": [
                {"text": "You might also like these:"},
                {"text": "您可能还喜欢这些：", "condition": ZH_CONDITION},
            ],
            "utter_products_found_filtered": [
                {"text": "Here's what I found ({filters}):"},
                {"text": "为您找到这些（{filters}）：", "condition": ZH_CONDITION},
            ],
        }
    }
    zh, en = make_tracker({"language": "zh"}), make_tracker({"language": "en"})
    assert messages.render(domain, zh.slots, "utter_recommend_similar") == "您可能还喜欢这些："
    assert messages.render(domain, en.slots, "utter_recommend_similar") == "You might also like these:"
    filters = ProductFilters(max_price=100).terms()
    assert (
        messages.render_heading(
            domain, zh.slots, "utter_products_found_filtered", filters=catalog_for(zh).filters(filters)
        )
        == "为您找到这些（100以内）："
    )
