"""Knowledge-base answers in a Chinese conversation: the Chinese index is searched, the entry's Chinese answer
and titles are sent; an English conversation is unchanged.

A small KB (tests.retrieval.retrieval_fakes.KB_YAML, with its zh blocks) and catalog, indexed with a word-hash
test encoder that reads Chinese the way retrieval.lexical cuts it (jieba words + bigrams); the real encoders are
checked in tests/retrieval/test_cross_lingual.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import products
from actions.answers import ActionAnswerPolicy, kb_button
from actions.fallback import ActionFallback
from retrieval.build import build_catalog, build_kb
from retrieval.catalog import preset
from retrieval.config import ZH_DIR, IndexConfig, RankConfig, RetrievalConfig
from retrieval.lexical import tokens
from retrieval.ranker import BiEncoderRanker
from retrieval.service import RetrievalService
from tests.actions.shop_fixtures import load_domain
from tests.retrieval.retrieval_fakes import KB_YAML, FakeEncoder, write_demo_csv

WOOL_ZH = "羊毛制品请用 30 度水手洗，然后平铺晾干。"
WOOL_EN = "Hand-wash wool at 30 degrees and dry flat."


class HanFakeEncoder:
    """Hashes retrieval.lexical tokens (Latin words, jieba words, Han bigrams) into a unit vector."""

    name = "fake-han"
    dim = 256

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype="float32")
        for row, text in enumerate(texts):
            for token in tokens(text):
                h = int.from_bytes(hashlib.md5(token.encode()).digest()[:4], "little")
                out[row, h % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
        return out


def make_service(root: Path, zh_kb_rank: RankConfig) -> RetrievalService:
    english, chinese = FakeEncoder(), HanFakeEncoder()
    kb = root / "kb"
    kb.mkdir()
    (kb / "kb.yml").write_text(KB_YAML, encoding="utf-8")
    csv = write_demo_csv(root / "demo.csv")
    fmt, mapping = preset("demo")
    for encoder, folder, languages in (
        (english, root / "index", ("en",)),
        (chinese, root / "index" / ZH_DIR, ("en", "zh")),
    ):
        build_kb(kb, folder, encoder, IndexConfig(), languages=languages)
        build_catalog(csv, fmt, mapping, folder, encoder, IndexConfig())
    config = RetrievalConfig(
        index_dir=root / "index",
        product_rank=RankConfig(answer=0.5, clarify=0.2),
        kb_rank=RankConfig(answer=0.5, clarify=0.25),
        zh_product_rank=RankConfig(answer=0.5, clarify=0.2),
        zh_kb_rank=zh_kb_rank,
    )
    return RetrievalService(
        config,
        encoder=english,
        zh_encoder=chinese,
        zh_catalog_encoder=chinese,
        ranker=BiEncoderRanker(config.kb_rank),
    )


@pytest.fixture
def service(tmp_path: Path, install: Any) -> RetrievalService:
    svc = make_service(tmp_path, RankConfig(answer=0.5, clarify=0.25))
    install(retrieval=svc)
    return svc


def tracker(
    text: str, intent: str, language: str | None, entities: list[dict[str, Any]] | None = None
) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or []}
    slots = {"language": language} if language else {}
    return Tracker("zh-1", slots, latest, [], False, None, {}, "action_listen")


async def run(action: Any, t: Tracker) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    return dispatcher, await action.run(dispatcher, t, load_domain())


@pytest.mark.usefixtures("service")
async def test_a_chinese_question_gets_the_chinese_answer() -> None:
    dispatcher, _ = await run(
        products.ActionAnswerQuestion(), tracker("羊毛衫应该怎么洗呢", "ask_question", "zh")
    )
    assert [m["text"] for m in dispatcher.messages] == [WOOL_ZH]


@pytest.mark.usefixtures("service")
async def test_an_english_conversation_is_unchanged() -> None:
    dispatcher, _ = await run(
        products.ActionAnswerQuestion(), tracker("how do I wash a wool sweater?", "ask_question", None)
    )
    assert [m["text"] for m in dispatcher.messages] == [WOOL_EN]
    dispatcher, _ = await run(products.ActionAnswerQuestion(), tracker("羊毛衫怎么洗", "ask_question", "en"))
    assert dispatcher.messages[0]["response"] == "utter_search_other_script"  # as before issue 13


@pytest.mark.usefixtures("service")
async def test_an_english_message_in_a_chinese_conversation_is_answered_in_chinese() -> None:
    dispatcher, _ = await run(
        products.ActionAnswerQuestion(), tracker("how do I wash a wool sweater?", "ask_question", "zh")
    )
    assert [m["text"] for m in dispatcher.messages] == [WOOL_ZH]


@pytest.mark.usefixtures("service")
@pytest.mark.parametrize(("language", "answer"), [("zh", WOOL_ZH), ("en", WOOL_EN)])
async def test_a_kb_button_answers_in_the_conversation_language(language: str, answer: str) -> None:
    entity = [{"entity": "kb_entry", "value": "care-wool"}]
    dispatcher, _ = await run(
        products.ActionAnswerQuestion(), tracker("/ask_question", "ask_question", language, entity)
    )
    assert [m["text"] for m in dispatcher.messages] == [answer]


async def test_did_you_mean_buttons_carry_chinese_titles(tmp_path: Path, install: Any) -> None:
    install(retrieval=make_service(tmp_path, RankConfig(answer=1.01, clarify=0.05)))  # never sure: ask
    dispatcher, _ = await run(products.ActionAnswerQuestion(), tracker("羊毛衫怎么洗", "ask_question", "zh"))
    titles = [b["title"] for b in dispatcher.messages[0]["buttons"][:-1]]  # the last one: talk to a person
    assert (
        titles and titles[0] == "羊毛护理" and all(t in {"羊毛护理", "配送国家", "发票付款"} for t in titles)
    )
    assert (
        kb_button({"entry_id": "x", "title": "Wool care", "title_zh": "羊毛护理"}, "zh")["title"]
        == "羊毛护理"
    )


@pytest.mark.usefixtures("service")
async def test_a_policy_intent_and_the_fallback_answer_in_chinese() -> None:
    dispatcher, _ = await run(ActionAnswerPolicy(), tracker("你们能寄到西班牙吗", "delivery_options", "zh"))
    assert [m["text"] for m in dispatcher.messages] == ["我们配送到所有欧盟国家、英国、瑞士和挪威。"]
    dispatcher, events = await run(ActionFallback(), tracker("毛衣起球了怎么办", "nlu_fallback", "zh"))
    assert [m["text"] for m in dispatcher.messages] == [WOOL_ZH] and events[-1]["value"] == "answered"


@pytest.mark.usefixtures("service")
@pytest.mark.parametrize("text", ["哈哈", "的了吗"])
async def test_chinese_words_with_nothing_to_search_for_ask_again(text: str) -> None:
    dispatcher, _ = await run(products.ActionAnswerQuestion(), tracker(text, "ask_question", "zh"))
    assert dispatcher.messages[0]["response"] == "utter_search_no_letters"
    dispatcher, events = await run(ActionFallback(), tracker(text, "nlu_fallback", "zh"))
    assert dispatcher.messages == [] and events[-1]["value"] == "rephrase"


@pytest.mark.parametrize(
    ("question", "field", "shows"),
    [
        ("这个多少钱？", "price", "49"),
        ("它還有貨嗎", "stock", "有货"),
        ("这款有哪些颜色", "colors", "黑色、白色"),
        ("what does it cost?", "price", "49"),
    ],
)
async def test_a_chinese_question_about_the_product_just_shown(
    service: RetrievalService, question: str, field: str, shows: str
) -> None:
    """ "这个/它" refers back to the product on screen, and the field asked for is found in Chinese (Traditional
    too); the sentence itself is the message catalog's to word."""
    assert products.REFERS_BACK.search(question)
    t = tracker(question, "product_question", "zh")
    t.slots["shown_product_id"] = "P-1"
    dispatcher, events = await run(products.ActionAnswerProductQuestion(), t)
    assert {e["name"]: e["value"] for e in events}["shown_product_id"] == "P-1"
    assert service.product_fact("P-1", question, "zh").field == field
    assert shows in dispatcher.messages[0]["text"]
