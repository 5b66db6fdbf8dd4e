"""The actions in a Chinese conversation (``language`` slot ``zh``): what they build themselves — dates, lists,
statuses, payment labels, buttons, cart summaries, card headings, product lines and recommendation reasons —
has no English word except product titles, brands, ids, URLs and emails (tests/actions/chinese_output.py).
English conversations read as before (the other tests in tests/actions/ are unchanged)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import products, recommend
from actions.cancellation import ActionCancelOrder, ActionCheckCancellationFee
from actions.cart import ActionAddToCart, ActionRemoveFromCart, ActionShowCart
from actions.checkout import ActionCheckout, ActionConfirmOrder
from actions.messages import placeholders
from actions.order_changes import ActionChangeOrderLine, ActionChangeShippingAddress
from actions.order_tasks import ActionOrderTask
from actions.returns import ActionTrackRefund
from actions.verification import ValidateOrderVerificationForm
from retrieval.service import RetrievalService
from shop.sqlite import SqliteOrderStore
from tests.actions.chinese_output import english_words, leaks
from tests.actions.shop_fixtures import load_domain, make_tracker, proven, responses, slot_events
from tests.actions.test_products import StubStore, card_messages, service, store, tracker  # noqa: F401
from tests.retrieval.retrieval_fakes import DEMO_ROWS

ZH = {"language": "zh"}
ZH_CONDITION = [{"type": "slot", "name": "language", "value": "zh"}]


def zh_domain() -> dict[str, Any]:
    """The domain with a Chinese variation for every response that has none yet (domain/*.yml gets its own
    from the domain slice): the card headings the actions render then come out in Chinese, with the same
    variables, so only what the actions fill in can leak English."""
    domain = copy.deepcopy(load_domain())
    for variations in domain["responses"].values():
        if not any(v.get("condition") for v in variations):
            filled = "".join(
                f"（{{{name}}}）" for name in sorted(placeholders(variations[0].get("text", "")))
            )
            variations.append({"text": f"中文回复{filled}", "condition": ZH_CONDITION})
    return domain


def shop_names(shop: SqliteOrderStore, *extra: str) -> list[str]:
    """Data that stays as the shop writes it: product titles and brands (and ``extra``, e.g. an address)."""
    return [name for p in shop.list_products() for name in (p.title, p.brand)] + list(extra)


async def run(
    action: Any, slots: dict[str, Any], domain: dict[str, Any] | None = None, **kw: Any
) -> tuple[CollectingDispatcher, dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, make_tracker({**slots, **ZH}, **kw), domain or zh_domain())
    return dispatcher, slot_events(events)


def verified(number: str, task: str = "track", **extra: Any) -> dict[str, Any]:
    return {"order_id": number, **proven(number), "order_task": task, **extra}


def assert_chinese(dispatcher: CollectingDispatcher, names: Iterable[str]) -> None:
    assert leaks(dispatcher, names) == {}
    assert dispatcher.messages, "the action said nothing"


def test_the_checker_sees_english() -> None:
    assert english_words("常与 Yoga Mat 一起购买", ["Yoga Mat"]) == []
    assert english_words("SD-100042 https://x.example/a?b=1 anna@example.com DHL €4.95") == []
    assert english_words("- Lamp (€20.00): popular with other shoppers", ["Lamp"]) == [
        "popular",
        "with",
        "other",
        "shoppers",
    ]


async def test_an_english_conversation_still_gets_english(shop: SqliteOrderStore) -> None:
    """The same action without the zh slot fills English (so the checks below can fail)."""
    dispatcher = CollectingDispatcher()
    await ActionOrderTask().run(dispatcher, make_tracker(verified("SD-100003")), load_domain())
    assert dispatcher.messages[0]["eta"] == "Thursday 13 March"
    assert leaks(dispatcher, shop_names(shop))


# --- orders ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "number", ["SD-100001", "SD-100002", "SD-100003", "SD-100004", "SD-100006", "SD-100007", "SD-100009"]
)
async def test_track_in_chinese(shop: SqliteOrderStore, number: str) -> None:
    dispatcher, _ = await run(ActionOrderTask(), verified(number, "track"))
    assert_chinese(dispatcher, shop_names(shop))


async def test_track_dates_are_chinese(shop: SqliteOrderStore) -> None:
    dispatcher, _ = await run(ActionOrderTask(), verified("SD-100003", "track"))
    assert dispatcher.messages[0]["eta"] == "3月13日（周四）"
    dispatcher, _ = await run(ActionOrderTask(), verified("SD-100004", "track"))
    assert dispatcher.messages[0]["delivered_day"] == "2025年3月7日（周五）"


async def test_track_an_order_without_shipment_data_names_its_status_in_chinese(
    shop: SqliteOrderStore,
) -> None:
    with shop.transaction() as conn:
        conn.execute("UPDATE orders SET status = 'shipped' WHERE number = 'SD-100002'")
    dispatcher, _ = await run(ActionOrderTask(), verified("SD-100002", "track"))
    assert responses(dispatcher) == ["utter_track_generic"]
    assert dispatcher.messages[0]["status"] == "已发货"
    assert_chinese(dispatcher, shop_names(shop))


@pytest.mark.parametrize(
    "number", ["SD-100001", "SD-100002", "SD-100003", "SD-100004", "SD-100006", "SD-100009"]
)
async def test_cancel_offer_and_fee_in_chinese(shop: SqliteOrderStore, number: str) -> None:
    dispatcher, _ = await run(ActionOrderTask(), verified(number, "cancel"))
    assert_chinese(dispatcher, shop_names(shop))
    dispatcher, _ = await run(ActionCheckCancellationFee(), verified(number))
    assert_chinese(dispatcher, shop_names(shop))


async def test_cancel_in_chinese(shop: SqliteOrderStore) -> None:
    dispatcher, _ = await run(ActionOrderTask(), verified("SD-100002", "cancel"))
    assert dispatcher.messages[0]["method"] == "Mastercard（尾号 5100）"
    dispatcher, _ = await run(ActionCancelOrder(), verified("SD-100002", order_step="confirm_cancel"))
    assert responses(dispatcher) == ["utter_order_cancelled_refund"]
    assert "月" in dispatcher.messages[0]["expected_by"]
    assert_chinese(dispatcher, shop_names(shop))


async def test_not_cancellable_reason_in_chinese(shop: SqliteOrderStore) -> None:
    dispatcher, _ = await run(ActionCheckCancellationFee(), verified("SD-100003"))
    assert dispatcher.messages[0]["reason"] == "订单已交给快递公司，送达后可以申请退货"


async def test_change_buttons_and_change_in_chinese(shop: SqliteOrderStore) -> None:
    dispatcher, _ = await run(ActionOrderTask(), verified("SD-100002", "change"))
    titles = [b["title"] for b in dispatcher.messages[0]["buttons"]]
    assert "修改收货地址" in titles and "保持不变" in titles
    assert_chinese(dispatcher, shop_names(shop))
    dispatcher, _ = await run(
        ActionChangeOrderLine(), verified("SD-100002", line_item="P-1042", line_quantity="0")
    )
    assert responses(dispatcher) == ["utter_order_line_changed", "utter_change_refund"]
    assert dispatcher.messages[0]["change"] == "删除 Cork Yoga Blocks (Pair)"
    assert_chinese(dispatcher, shop_names(shop))


async def test_change_refused_for_a_closed_order_in_chinese(shop: SqliteOrderStore) -> None:
    dispatcher, _ = await run(ActionOrderTask(), verified("SD-100006", "change"))
    assert dispatcher.messages[0]["status"] == "已取消"
    assert_chinese(dispatcher, shop_names(shop))


async def test_address_change_in_chinese(shop: SqliteOrderStore) -> None:
    address = shop.get_order("SD-100002").shipping_address.one_line()
    dispatcher, _ = await run(ActionOrderTask(), verified("SD-100002", "address"))
    assert_chinese(dispatcher, shop_names(shop, address))
    new = {"new_street": "Neue Straße 7", "new_postcode": "20095", "new_city": "Hamburg", "new_country": "DE"}
    dispatcher, _ = await run(ActionChangeShippingAddress(), verified("SD-100002", **new))
    assert_chinese(dispatcher, shop_names(shop, shop.get_order("SD-100002").shipping_address.one_line()))
    dispatcher, _ = await run(ActionOrderTask(), verified("SD-100003", "address"))
    assert_chinese(dispatcher, shop_names(shop))


@pytest.mark.parametrize("number", ["SD-100003", "SD-100004", "SD-100005", "SD-100006", "SD-100007"])
async def test_returns_in_chinese(shop: SqliteOrderStore, number: str) -> None:
    dispatcher, _ = await run(ActionOrderTask(), verified(number, "return"))
    assert_chinese(dispatcher, shop_names(shop))


async def test_refunds_in_chinese(shop: SqliteOrderStore) -> None:
    dispatcher, _ = await run(ActionOrderTask(), verified("SD-100007", "refund_status"))
    assert responses(dispatcher) == ["utter_refund_in_progress"]
    assert_chinese(dispatcher, shop_names(shop))
    dispatcher, _ = await run(ActionTrackRefund(), {**verified("SD-100007"), "return_id": "RT-200001"})
    assert_chinese(dispatcher, shop_names(shop))


async def test_return_status_in_chinese(shop: SqliteOrderStore) -> None:
    shop.create_return("SD-100004", "requested in chat")
    (request,) = shop.returns_for_order("SD-100004")
    dispatcher, _ = await run(ActionTrackRefund(), {**verified("SD-100004"), "return_id": request.id})
    assert responses(dispatcher) == ["utter_return_status"]
    assert dispatcher.messages[0]["return_status"] == "已申请"


@pytest.mark.parametrize("number", ["SD-100008", "SD-100001"])
async def test_invoices_in_chinese(shop: SqliteOrderStore, number: str) -> None:
    dispatcher, _ = await run(ActionOrderTask(), verified(number, "invoice"))
    assert_chinese(dispatcher, shop_names(shop))


async def test_order_choices_in_chinese(shop: SqliteOrderStore) -> None:
    dispatcher = CollectingDispatcher()
    t = make_tracker(
        {"requested_slot": "order_id", **ZH},
        candidates={"order_id": ["SD-100001", "SD-100002"]},
        active_loop="order_verification_form",
    )
    events = slot_events(await ValidateOrderVerificationForm().run(dispatcher, t, zh_domain()))
    assert events["order_id_choices"] == "SD-100001 或 SD-100002"


# --- cart and checkout --------------------------------------------------------------------------------------
async def test_cart_and_checkout_in_chinese(shop: SqliteOrderStore) -> None:
    p1, p2 = shop.list_products(in_stock_only=True)[:2]
    slots: dict[str, Any] = dict(proven("SD-100001", "C-0001"))
    for product in (p1, p2):
        dispatcher, events = await run(
            ActionAddToCart(),
            slots,
            intent="add_to_cart",
            text=product.id,
            entities=[{"entity": "product", "value": product.id}, {"entity": "quantity", "value": "2"}],
        )
        assert_chinese(dispatcher, shop_names(shop))
        slots.update(events)
    dispatcher, _ = await run(ActionShowCart(), slots)
    assert "小计" in dispatcher.messages[0]["cart"] and "合计" in dispatcher.messages[0]["cart"]
    assert_chinese(dispatcher, shop_names(shop))
    dispatcher, events = await run(ActionCheckout(), slots, intent="checkout")
    address = shop.get_customer("C-0001").default_address
    assert address is not None
    assert_chinese(dispatcher, shop_names(shop, address.one_line()))
    slots.update(events)
    dispatcher, _ = await run(ActionConfirmOrder(), slots, intent="affirm")
    assert responses(dispatcher)[0].startswith("utter_order_placed")
    assert_chinese(dispatcher, shop_names(shop))


async def test_cart_questions_in_chinese(shop: SqliteOrderStore) -> None:
    names = shop_names(shop)
    dispatcher, _ = await run(ActionAddToCart(), {}, intent="add_to_cart", text="那个")
    assert_chinese(dispatcher, names)
    dispatcher, _ = await run(ActionAddToCart(), {}, intent="add_to_cart", text="add a yoga")
    assert responses(dispatcher) == ["utter_cart_which_product"]  # several yoga products: buttons with prices
    assert all("（€" in b["title"] for b in dispatcher.messages[0]["buttons"])
    assert_chinese(dispatcher, names)
    dispatcher, _ = await run(
        ActionRemoveFromCart(), {"cart": [{"product_id": "P-1001", "quantity": 1}]}, intent="remove_from_cart"
    )
    assert dispatcher.messages[0]["query"] == "这件商品"


async def test_order_failure_in_chinese(shop: SqliteOrderStore) -> None:
    slots = {**proven("SD-100001", "C-0001"), "cart": [{"product_id": "P-9999", "quantity": 1}]}
    dispatcher, _ = await run(ActionShowCart(), slots)
    assert responses(dispatcher) == ["utter_cart_no_longer_available"]
    assert_chinese(dispatcher, shop_names(shop))


# --- products and recommendations ---------------------------------------------------------------------------
DEMO_NAMES = [name for row in DEMO_ROWS for name in (row[1], row[3])]


async def test_product_search_in_chinese(service: RetrievalService) -> None:  # noqa: F811
    for text, entities in [
        ("a black bag under 100", []),
        ("shoes please", [{"entity": "price", "value": "50"}]),
        ("a purple lamp under 5", []),
        ("", []),
    ]:
        t = tracker(text, "search_products", entities, slots=dict(ZH))
        dispatcher = CollectingDispatcher()
        await products.ActionSearchProducts().run(dispatcher, t, zh_domain())
        assert_chinese(dispatcher, DEMO_NAMES)


async def test_product_cards_heading_and_buttons_in_chinese(service: RetrievalService) -> None:  # noqa: F811
    t = tracker("a black bag under 100", "search_products", slots=dict(ZH))
    dispatcher = CollectingDispatcher()
    await products.ActionSearchProducts().run(dispatcher, t, zh_domain())
    assert "（100以内，黑色" in card_messages(dispatcher)[0]["text"]
    assert dispatcher.messages[0]["buttons"][0]["title"].startswith("更多类似")


async def test_product_by_button_in_chinese(service: RetrievalService) -> None:  # noqa: F811
    t = tracker(
        '/product_question{"product":"P-5"}', "product_question", [{"entity": "product", "value": "P-5"}], ZH
    )
    dispatcher = CollectingDispatcher()
    await products.ActionAnswerProductQuestion().run(dispatcher, t, zh_domain())
    assert_chinese(dispatcher, DEMO_NAMES)
    assert dispatcher.messages[0]["buttons"] == [
        {"title": "查看类似商品", "payload": '/recommend_items{"product":"P-5"}'}
    ]


@pytest.mark.parametrize(
    ("question", "product_id", "answer"),
    [
        ("这个多少钱？", "P-3", "Metro Laptop Backpack 的价格是 €89.00。"),
        ("它还有货吗", "P-4", "Voyager Trolley Bag 有货（还剩 5 件）。"),
        ("它还有货吗", "P-5", "Trail Running Shoes 有货。"),  # 30 left: no count, as in English
        ("它还有货吗", "P-2", "Orbit Floor Lamp 暂时缺货。"),
        ("这双有哪些尺码", "P-5", "Trail Running Shoes 有这些尺码：39、40、41、42、43。"),
        ("这个有哪些尺码", "P-4", "Voyager Trolley Bag 有这些尺码：登机箱尺寸、中号。"),
        ("这件有哪些颜色", "P-6", "Merino Crew Sweater 有这些颜色：奶油色、灰色。"),
        ("这件是什么材质", "P-6", "Merino Crew Sweater 的材质：美利奴羊毛。"),
        ("这个是什么材质", "P-3", "Metro Laptop Backpack 的材质：再生聚酯纤维。"),
    ],
)
async def test_product_questions_in_chinese(
    service: RetrievalService,  # noqa: F811
    question: str,
    product_id: str,
    answer: str,
) -> None:
    """The product's facts are worded by the Chinese catalog: prices as the shop writes them, colours,
    materials and sizes in Chinese where the catalog has a word for them."""
    t = tracker(question, "product_question", slots={"shown_product_id": product_id, **ZH})
    dispatcher = CollectingDispatcher()
    await products.ActionAnswerProductQuestion().run(dispatcher, t, zh_domain())
    assert_chinese(dispatcher, DEMO_NAMES)
    assert card_messages(dispatcher)[0]["text"] == answer
    assert dispatcher.messages[0]["text"].startswith(answer + "\n")


async def test_a_description_answer_in_chinese_quotes_the_product_text(
    service: RetrievalService,  # noqa: F811
) -> None:
    """The product text's best sentence stays as the (English) catalog writes it, after a Chinese lead-in."""
    t = tracker("is this lamp dimmable?", "product_question", slots={"shown_product_id": "P-1", **ZH})
    dispatcher = CollectingDispatcher()
    await products.ActionAnswerProductQuestion().run(dispatcher, t, zh_domain())
    answer = card_messages(dispatcher)[0]["text"]
    assert answer.startswith("Aurora Desk Lamp 的商品说明：“") and answer.endswith("”")
    sentence = answer.removeprefix("Aurora Desk Lamp 的商品说明：“").removesuffix("”")
    assert "Dimmable" in sentence
    assert_chinese(dispatcher, [*DEMO_NAMES, sentence])


@pytest.mark.parametrize(
    "slots",
    [{"shown_product_id": "P-4"}, {}, proven("SD-1", "C-1", sender_id="t1")],
    ids=["similar", "popular", "personal"],
)
async def test_recommendations_in_chinese(
    service: RetrievalService,  # noqa: F811
    store: StubStore,  # noqa: F811
    slots: dict[str, Any],
) -> None:
    t = tracker("推荐一些商品", "recommend_items", slots={**slots, **ZH})
    dispatcher = CollectingDispatcher()
    await recommend.ActionRecommendItems().run(dispatcher, t, zh_domain())
    assert_chinese(dispatcher, DEMO_NAMES)
    reasons = [c.get("reason", "") for c in card_messages(dispatcher)[0]["cards"]]
    assert all(reasons) and all("{" not in r for r in reasons)
