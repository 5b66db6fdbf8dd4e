"""Product facts worded from the message catalog: English exactly as retrieval used to word them, Chinese from
actions/messages_zh.py."""

from __future__ import annotations

import pytest

from actions.messages import EN, ZH
from actions.product_facts import fact_sentence
from retrieval.results import ProductFact

BAG = {"id": "P-3", "title": "Metro 20L Laptop Backpack", "price_text": "€89.00"}


@pytest.mark.parametrize(
    ("fact", "english", "chinese"),
    [
        (
            ProductFact(BAG, "price", ("€89.00",)),
            "Metro 20L Laptop Backpack costs €89.00.",
            "Metro 20L Laptop Backpack 的价格是 €89.00。",
        ),
        (
            ProductFact(BAG, "stock", stock=3),
            "Yes, Metro 20L Laptop Backpack is in stock (3 available).",
            "Metro 20L Laptop Backpack 有货（还剩 3 件）。",
        ),
        (
            ProductFact(BAG, "stock", stock=10),
            "Yes, Metro 20L Laptop Backpack is in stock (10 available).",
            "Metro 20L Laptop Backpack 有货（还剩 10 件）。",
        ),
        (
            ProductFact(BAG, "stock", stock=11),
            "Yes, Metro 20L Laptop Backpack is in stock.",
            "Metro 20L Laptop Backpack 有货。",
        ),
        (
            ProductFact(BAG, "stock", stock=0),
            "Metro 20L Laptop Backpack is out of stock at the moment.",
            "Metro 20L Laptop Backpack 暂时缺货。",
        ),
        (
            ProductFact(BAG, "sizes", ("one size", "M", "42")),
            "Metro 20L Laptop Backpack comes in sizes one size, M, 42.",
            "Metro 20L Laptop Backpack 有这些尺码：均码、M、42。",
        ),
        (
            ProductFact(BAG, "colors", ("black", "navy", "Unheard-of Hue")),
            "Metro 20L Laptop Backpack comes in black, navy, Unheard-of Hue.",
            "Metro 20L Laptop Backpack 有这些颜色：黑色、藏青色、Unheard-of Hue。",  # no word: as written
        ),
        (
            ProductFact(BAG, "material", ("recycled polyester",)),
            "Metro 20L Laptop Backpack is made of recycled polyester.",
            "Metro 20L Laptop Backpack 的材质：再生聚酯纤维。",
        ),
        (
            ProductFact(BAG, "text", ("Padded laptop sleeve.",), score=0.7),
            'From the product details of Metro 20L Laptop Backpack: "Padded laptop sleeve."',
            "Metro 20L Laptop Backpack 的商品说明：“Padded laptop sleeve.”",
        ),
    ],
)
def test_facts_in_both_languages(fact: ProductFact, english: str, chinese: str) -> None:
    assert fact_sentence(EN, fact) == english
    assert fact_sentence(ZH, fact) == chinese


@pytest.mark.parametrize("fact", [ProductFact(BAG, "stock"), ProductFact(BAG, "text", score=0.1)])
def test_a_fact_the_data_does_not_give_has_no_sentence(fact: ProductFact) -> None:
    assert fact_sentence(EN, fact) is None and fact_sentence(ZH, fact) is None


def test_every_fact_kind_has_wording() -> None:
    for words in (EN, ZH):
        assert set(words.PRODUCT_FACTS) == {
            "price",
            "in_stock",
            "in_stock_many",
            "out_of_stock",
            "sizes",
            "colors",
            "material",
            "text",
        }
    with pytest.raises(ValueError, match="'warranty'"):
        fact_sentence(EN, ProductFact(BAG, "warranty", ("2 years",)))
