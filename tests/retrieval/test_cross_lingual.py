"""Cross-lingual retrieval with the real encoders: Chinese questions find the KB entry and the English catalog's
product through the multilingual indexes (``<index_dir>/zh``), English stays on today's English indexes.

The examples are the dev set's (bench/data/retrieval_languages_dev.yml, written apart from the KB's own
questions); the indexes are built once for this module from the shipped KB and demo catalog, in a copy of
INDEX_DIR's when `make index` built them (then nothing is re-encoded), else from scratch (about a minute on a
2-core CPU).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retrieval.build import build_catalog, build_kb, build_zh
from retrieval.catalog import preset
from retrieval.config import ZH_DIR, EncoderConfig, IndexConfig, RetrievalConfig
from retrieval.errors import CatalogError, QueryError
from retrieval.kb import kb_records, load_kb, localized
from retrieval.service import RetrievalService, search_lane

ROOT = Path(__file__).resolve().parents[2]
KB_DIR = ROOT / "training_data" / "kb"
CATALOG = ROOT / "training_data" / "catalog" / "demo_products.csv"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> RetrievalService:
    from retrieval.encoder import shared_encoder

    config = RetrievalConfig(index_dir=tmp_path_factory.mktemp("index"))
    if (
        ROOT / "var" / "index" / ZH_DIR
    ).is_dir():  # `make index` built them: a copy, so only changes re-encode
        shutil.copytree(ROOT / "var" / "index", config.index_dir, symlinks=True, dirs_exist_ok=True)
    english = shared_encoder(config.encoder)
    build_kb(KB_DIR, config.index_dir, english, IndexConfig())
    fmt, mapping = preset("demo")
    build_catalog(CATALOG, fmt, mapping, config.index_dir, english, IndexConfig())
    build_zh(
        KB_DIR,
        CATALOG,
        config.index_dir,
        encoder=shared_encoder(config.zh_encoder),
        catalog_encoder=shared_encoder(config.zh_catalog_encoder),
    )
    from retrieval.ranker import BiEncoderRanker

    return RetrievalService(config, ranker=BiEncoderRanker(config.kb_rank))


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        ("送到的时候给现金行不行", "pay-cod"),
        ("满多少包邮", "ship-costs"),
        ("可以寄到葡萄牙吗", "ship-countries"),
        ("我想取消订单，会扣手续费吗", "ret-cancel-fee"),
        ("羊毛衣服洗了会缩水吗", "care-wool"),
        ("線下有店可以看實物嗎", "shop-stores"),  # Traditional characters
        ("ＰａｙＰａｌ以外还能用什么付款", "pay-methods"),  # full-width Latin
    ],
)
def test_a_chinese_question_finds_its_entry_and_answers_in_chinese(
    service: RetrievalService, question: str, entry: str
) -> None:
    ranked = service.answer_question(question, language="zh")
    assert ranked.hits and ranked.hits[0].item["entry_id"] == entry
    assert ranked.source == "bi-encoder"  # the English responder is bypassed for Chinese
    answer = localized(ranked.hits[0].item, "answer", "zh")
    assert answer == load_kb(KB_DIR)[[e.id for e in load_kb(KB_DIR)].index(entry)].text("zh").answer


@pytest.mark.parametrize(
    ("query", "product"),
    [
        ("下雨天骑车用的防水背包", "P-1002"),
        ("降噪头戴式耳机", "P-1059"),
        ("高腰瑜伽裤", "P-1025"),
        ("可以调光的台灯", "P-1031"),
    ],
)
def test_a_chinese_product_query_finds_the_english_product(
    service: RetrievalService, query: str, product: str
) -> None:
    result = service.search_products(query, language="zh")
    assert product in [h.id for h in result.ranked.hits]


def test_english_stays_on_the_english_indexes(service: RetrievalService) -> None:
    assert search_lane("do you deliver to Spain?", "zh") == "en" and search_lane("寄到西班牙吗", "zh") == "zh"
    assert (
        search_lane("寄到西班牙吗", "en") == "en"
    )  # an English conversation: the English rules (refused below)
    english = service.answer_question("can I pay with cash when the parcel comes?")
    in_zh_chat = service.answer_question("can I pay with cash when the parcel comes?", language="zh")
    assert english.hits[0].item["entry_id"] == in_zh_chat.hits[0].item["entry_id"] == "pay-cod"
    assert english.hits[0].score == pytest.approx(
        in_zh_chat.hits[0].score
    )  # same (English) index and encoder
    assert (service.config.index_dir / ZH_DIR / "kb").exists()
    with pytest.raises(QueryError) as refused:
        service.answer_question("寄到西班牙吗")
    assert refused.value.reason == "other_script"


@pytest.mark.parametrize("text", ["的了吗", "哈哈", "😀😀👍", "？？？"])
def test_chinese_messages_with_nothing_to_search_for_say_so(service: RetrievalService, text: str) -> None:
    for search in (service.answer_question, service.search_products):
        with pytest.raises(QueryError) as err:
            search(text, language="zh")
        assert err.value.reason == "no_letters"


def test_the_chinese_kb_index_holds_both_languages(service: RetrievalService) -> None:
    index = service.index("kb", "zh")
    entries = load_kb(KB_DIR)
    assert len(index) == len(kb_records(entries, ("en", "zh")))
    item = index.get("pay-cod#zh-q0")
    assert item["language"] == "zh" and item["text"] == "可以货到付款吗？" and item["title_zh"] == "货到付款"


def test_an_entry_without_chinese_fails_the_load_naming_it(tmp_path: Path) -> None:
    (tmp_path / "kb.yml").write_text(
        "entries:\n  - id: pay-cod\n    title: Cash on delivery\n    questions: ['Can I pay cash?']\n"
        "    answer: No.\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogError, match=r"kb\.yml, row 1, field 'zh'.*'pay-cod'"):
        load_kb(tmp_path)
    assert [e.id for e in load_kb(tmp_path, languages=("en",))] == ["pay-cod"]  # the English-only responder


def test_chinese_text_needs_three_questions_and_an_answer(tmp_path: Path) -> None:
    base = "entries:\n  - id: x\n    title: T\n    answer: A\n    zh:\n      title: 标题\n"
    (tmp_path / "kb.yml").write_text(base + "      questions: [一, 二]\n      answer: 答\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"'x' has 2 zh questions; at least 3"):
        load_kb(tmp_path)
    (tmp_path / "kb.yml").write_text(base + "      questions: [一, 二, 三]\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"field 'zh\.answer'.*'x'"):
        load_kb(tmp_path)


def test_import_catalog_keeps_the_chinese_catalog_index_in_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retrieval import import_catalog
    from retrieval.index import VectorIndex
    from tests.retrieval.retrieval_fakes import FakeEncoder, write_demo_csv

    def fake(config: EncoderConfig) -> FakeEncoder:
        encoder = FakeEncoder(name=config.model)
        encoder.config = config  # type: ignore[attr-defined]
        return encoder

    monkeypatch.setattr(import_catalog, "SentenceTransformerEncoder", fake)
    monkeypatch.setattr(import_catalog, "make_encoder", fake)
    csv = write_demo_csv(tmp_path / "demo.csv")
    index_dir = tmp_path / "idx"
    assert import_catalog.main([str(csv), "--preset", "demo", "--index-dir", str(index_dir), "-q"]) == 0
    assert not (index_dir / ZH_DIR).exists()  # no Chinese indexes built here: none created
    (index_dir / ZH_DIR).mkdir()
    assert import_catalog.main([str(csv), "--preset", "demo", "--index-dir", str(index_dir), "-q"]) == 0
    english, chinese = (
        VectorIndex.load(index_dir / "catalog"),
        VectorIndex.load(index_dir / ZH_DIR / "catalog"),
    )
    assert (
        english.ids == chinese.ids and chinese.meta()["model"] == RetrievalConfig().zh_catalog_encoder.model
    )
