"""The search index on the handoff store's own tables: matching, ranking, incremental catch-up, rebuild, and
the query parser and snippets (no web service: ``HandoffStore`` writes, ``SearchIndex`` reads)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.search_index import INDEX_VERSION, SearchIndex, main
from bot.search_query import QueryError, as_text, parse, snippet
from bot.store import HandoffStore

AGENT = ("alice@shop.test", "Alice Agent")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HandoffStore]:
    store = HandoffStore(tmp_path / "handoff.db", clock=Clock())
    yield store
    store.shutdown()


@pytest.fixture
def index(tmp_path: Path, store: HandoffStore) -> Iterator[SearchIndex]:
    index = SearchIndex(tmp_path / "handoff.db")
    yield index
    index.shutdown()


def closed(
    store: HandoffStore,
    lines: list[str],
    name: str = "",
    email: str = "",
    orders: tuple[str, ...] = (),
) -> str:
    """A handoff taken by Alice and handed back: shopper lines, the context's customer and orders."""
    customer = {"name": name, "email": email} if name or email else None
    handoff, _ = store.open_handoff(
        f"conv-{store.clock()}",
        "shopper asked for a person",
        [{"role": "shopper", "text": text, "ts": float(i)} for i, text in enumerate(lines)],
        {"customer": customer, "orders": [{"number": o} for o in orders], "cart": []},
    )
    store.claim(handoff["id"], *AGENT)
    store.close(handoff["id"], AGENT[0])
    return handoff["id"]


def refs(index: SearchIndex, q: str, kind: str = "all", limit: int = 20) -> list[str]:
    return [hit.ref for hit in index.search(parse(q), kind, limit)]


# --- matching ------------------------------------------------------------------------------------------


def test_an_order_number_in_any_form_finds_the_context_and_the_transcript(
    store: HandoffStore, index: SearchIndex
) -> None:
    in_context = closed(store, ["where is my parcel"], orders=("SD-100042",))
    in_text = closed(store, ["my order sd100042 never came"])
    in_ticket = store.create_ticket("c", "bo@shop.test", "Refund for #100042 please", [])["id"]
    other = closed(store, ["order SD-100043 and 1000420 are something else"], orders=("SD-100044",))
    for form in ("SD-100042", "sd100042", "100042", "#100042", "SD 100042", "ＳＤ－１０００４２"):
        assert refs(index, form) == [in_ticket, in_text, in_context], form  # newest first
    assert other not in refs(index, "100042")
    assert refs(index, "SD-100044") == [other]


def test_an_email_finds_the_customer_whatever_its_case(store: HandoffStore, index: SearchIndex) -> None:
    context = closed(store, ["hello"], name="Ada Lovelace", email="Ada@Example.com")
    typed = closed(store, ["it's ada@example.com, can you check"])
    ticket = store.create_ticket("c", "ADA@example.com", "call me", [])["id"]
    closed(store, ["bob@example.com here"], email="bob@example.com")
    assert refs(index, "ada@EXAMPLE.com") == [ticket, typed, context]


def test_every_word_must_match_anywhere_in_the_document(store: HandoffStore, index: SearchIndex) -> None:
    both = closed(store, ["the parcel arrived damaged", "I want a refund"], name="Grace Hopper")
    closed(store, ["the parcel arrived fine"])
    closed(store, ["refund please"])
    assert refs(index, "parcel refund") == [both]
    assert refs(index, "hopper damaged") == [both]  # the customer's name and the transcript
    assert refs(index, "REFUND Parcel") == [both]  # case does not matter
    assert refs(index, "refunds") == []  # a word is a substring: "refund" finds "refunds", not the reverse


def test_text_is_ranked_by_bm25_then_newest_first(store: HandoffStore, index: SearchIndex) -> None:
    once = closed(store, ["a question about a warranty and many other long words " * 3])
    name = closed(store, ["hello"], name="Warranty Jones")  # the customer column weighs more
    many = closed(store, ["warranty warranty warranty"])
    first_twin = closed(store, ["broken hinge"])
    second_twin = closed(store, ["broken hinge"])
    assert refs(index, "warranty") == [name, many, once]
    assert refs(index, "hinge") == [second_twin, first_twin]  # equal scores: the newest first


def test_chinese_queries_of_any_length_match_without_segmentation(
    store: HandoffStore, index: SearchIndex
) -> None:
    refund = closed(store, ["我要退款，快递一直没到"], name="王小明")
    closed(store, ["我想换货"])
    ticket = store.create_ticket("c", "li@shop.test", "退款还没收到", [])["id"]
    assert refs(index, "退款") == [ticket, refund]  # two characters: the substring fallback
    assert refs(index, "快递一直") == [refund]  # the trigram index
    assert refs(index, "退款 快递") == [refund]
    assert refs(index, "王小明") == [refund]
    assert refs(index, "退款 收到") == [ticket]


def test_short_words_narrow_long_ones(store: HandoffStore, index: SearchIndex) -> None:
    tv = closed(store, ["the TV screen is cracked"])
    closed(store, ["the monitor screen is cracked"])
    assert refs(index, "tv screen") == [tv]
    assert refs(index, "tv") == [tv]


def test_query_syntax_is_plain_text(store: HandoffStore, index: SearchIndex) -> None:
    odd = closed(store, ['he said "NEAR" (twice): a-b AND c* -d'])
    closed(store, ["nothing special here"])
    for q in ['""', '"NEAR"', "NEAR(a b)", "AND", "(twice):", "a-b", "c*", "-d", "body:said", "* OR -"]:
        found = refs(index, q)  # never an FTS5 error
        assert found in ([], [odd]), q
    assert refs(index, '"NEAR"') == [odd]
    assert refs(index, "(twice):") == [odd]
    assert refs(index, "c* -d") == [odd]
    assert refs(index, "body:said") == []  # no column filter: the text "body:said" is not there


def test_sql_in_a_query_is_text(store: HandoffStore, index: SearchIndex, tmp_path: Path) -> None:
    kept = closed(store, ["a normal question"])
    for q in [
        "' OR 1=1 --",
        "'); DROP TABLE search_docs; --",
        '" OR ""="',
        "x' UNION SELECT * FROM sessions --",
    ]:
        assert refs(index, q) == []
    assert refs(index, "normal question") == [kept]
    tables = {
        row[0] for row in sqlite3.connect(tmp_path / "handoff.db").execute("SELECT name FROM sqlite_master")
    }
    assert {"search_docs", "handoffs", "sessions"} <= tables


def test_kind_limits_the_results(store: HandoffStore, index: SearchIndex) -> None:
    conversation = closed(store, ["lost parcel"])
    ticket = store.create_ticket("c", "x@shop.test", "lost parcel", [])["id"]
    assert refs(index, "lost parcel", "conversation") == [conversation]
    assert refs(index, "lost parcel", "ticket") == [ticket]
    assert sorted(refs(index, "lost parcel")) == sorted([conversation, ticket])
    assert len(refs(index, "lost parcel", "all", limit=1)) == 1


def test_only_closed_handoffs_are_documents(store: HandoffStore, index: SearchIndex) -> None:
    store.open_handoff("q", "r", [{"role": "shopper", "text": "still waiting", "ts": 1.0}], {})
    active, _ = store.open_handoff("a", "r", [{"role": "shopper", "text": "still talking", "ts": 1.0}], {})
    store.claim(active["id"], *AGENT)
    assert refs(index, "still") == []
    store.close(active["id"], AGENT[0])
    assert refs(index, "still") == [active["id"]]


# --- keeping current -------------------------------------------------------------------------------------


def test_what_closes_or_arrives_after_a_search_is_found_by_the_next(
    store: HandoffStore, index: SearchIndex
) -> None:
    assert refs(index, "umbrella") == []
    first = closed(store, ["a broken umbrella"])
    assert refs(index, "umbrella") == [first]
    ticket = store.create_ticket("c", "t@shop.test", "umbrella again", [])["id"]
    assert sorted(refs(index, "umbrella")) == sorted([ticket, first])


def test_a_line_added_after_the_close_is_indexed(store: HandoffStore, index: SearchIndex) -> None:
    handoff, _ = store.open_handoff("c", "r", [{"role": "shopper", "text": "anyone there", "ts": 1.0}], {})
    assert store.expire(handoff["id"])
    assert refs(index, "anyone") == [handoff["id"]]
    store.add_message(handoff["id"], "notice", "Nobody was free, leave a message", 5.0, "notice-1")
    assert refs(index, "leave a message") == [handoff["id"]]


def test_a_requeued_handoff_is_indexed_again_when_it_closes(store: HandoffStore, index: SearchIndex) -> None:
    handoff, _ = store.open_handoff("c", "r", [{"role": "shopper", "text": "kettle leaks", "ts": 1.0}], {})
    store.expire(handoff["id"])
    index.catch_up()
    store.requeue(handoff["id"])  # the document stays until it closes again (bot.search drops the hit)
    store.claim(handoff["id"], *AGENT)
    store.add_message(handoff["id"], "agent", "I will send a new kettle", 9.0, "agent-1")
    store.close(handoff["id"], AGENT[0])
    assert refs(index, "new kettle") == [handoff["id"]]


def test_the_watermarks_persist_and_a_round_writes_only_what_is_new(
    tmp_path: Path, store: HandoffStore, index: SearchIndex
) -> None:
    for i in range(3):
        closed(store, [f"question number {i}"])
    store.create_ticket("c", "t@shop.test", "a ticket", [])
    assert index.catch_up() == 4
    assert index.catch_up() == 0
    reopened = SearchIndex(tmp_path / "handoff.db")
    try:
        assert reopened.catch_up() == 0
        closed(store, ["one more"])
        assert reopened.catch_up() == 1
        assert reopened.count() == {"conversation": 4, "ticket": 1}
    finally:
        reopened.shutdown()


def test_a_close_committed_late_with_an_older_time_is_still_found(
    store: HandoffStore, index: SearchIndex
) -> None:
    closed(store, ["first one"])
    index.catch_up()  # the watermark is now the first close's time
    clock = store.clock
    assert isinstance(clock, Clock)
    clock.now -= 30  # another connection's close, stamped before the watermark, committed after the round
    late = closed(store, ["late one"])
    assert refs(index, "late one") == [late]


def test_a_round_with_nothing_new_writes_nothing(store: HandoffStore, index: SearchIndex) -> None:
    closed(store, ["something"])
    index.catch_up()
    changes = index._db.total_changes  # rows this connection wrote (the watermarks included)
    assert index.catch_up() == 0
    assert index._db.total_changes == changes
    closed(store, ["something else"])
    index.catch_up()
    assert index._db.total_changes > changes


def test_rebuild_and_a_new_index_version_index_everything_again(
    tmp_path: Path, store: HandoffStore, index: SearchIndex
) -> None:
    closed(store, ["first"])
    closed(store, ["second"])
    assert index.catch_up() == 2
    assert index.rebuild() == 2
    assert refs(index, "second") != []
    db = sqlite3.connect(tmp_path / "handoff.db")
    db.execute("UPDATE search_state SET value = ? WHERE name = 'index_version'", (INDEX_VERSION - 1,))
    db.commit()
    db.close()
    assert index.catch_up() == 2
    assert index.count() == {"conversation": 2, "ticket": 0}


def test_the_rebuild_command_indexes_the_configured_db(
    tmp_path: Path, store: HandoffStore, index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed(store, ["to be rebuilt"])
    monkeypatch.setenv("HANDOFF_DB_PATH", str(tmp_path / "handoff.db"))
    assert main(["rebuild"]) == 0
    assert index.count() == {"conversation": 1, "ticket": 0}
    assert index.catch_up() == 0  # the watermarks the command left are this index's too


def test_a_hostile_context_still_makes_a_document(store: HandoffStore, index: SearchIndex) -> None:
    weird: Any = {"customer": ["not", "an", "object"], "orders": "SD-100001", "cart": None}
    handoff, _ = store.open_handoff("c", "r", [{"role": "shopper", "text": "odd context", "ts": 1.0}], weird)
    store.claim(handoff["id"], *AGENT)
    store.close(handoff["id"], AGENT[0])
    assert refs(index, "odd context") == [handoff["id"]]


# --- the query and the snippet ---------------------------------------------------------------------------


def test_bad_queries_are_refused_naming_the_problem() -> None:
    for raw, message in [
        (None, "must not be empty"),
        ("", "must not be empty"),
        ("   \t\n", "must not be empty"),
        ("x", "at least 2"),
        ("x" * 201, r"at most 200 characters \(got 201\)"),
    ]:
        with pytest.raises(QueryError, match=message) as error:
            parse(raw)
        assert error.value.field == "q"
    assert parse("x" * 200).words == ("x" * 200,)
    assert parse("a\x00b c").words == ("a", "b", "c")  # control characters are spaces


def test_what_a_query_is() -> None:
    assert (parse("sd100042").matched_by, parse("sd100042").key) == ("order", "order:SD-100042")
    assert parse("Ada@Example.COM").key == "email:ada@example.com"
    text = parse('refund "now" 退款 refund')
    assert text.matched_by == "text"
    assert text.words == ("refund", '"now"', "退款")
    assert text.fts_match() == '"refund" """now"""'
    assert text.short_words == ("退款",)
    assert as_text("SD-100042").words == ("SD-100042",)


def test_a_snippet_marks_every_match_in_code_points() -> None:
    query = parse("refund 退款")
    lines = [("bot", "How can I help?"), ("shopper", "Refund! 😀 我要退款 refund")]
    cut = snippet(lines, query)
    assert cut["role"] == "shopper"
    assert [cut["text"][s:e] for s, e in cut["marks"]] == ["Refund", "退款", "refund"]


def test_a_long_line_is_cut_around_its_first_match() -> None:
    text = "x" * 300 + " the parcel " + "y" * 300
    cut = snippet([("shopper", text)], parse("parcel"))
    assert cut["text"].startswith("…") and cut["text"].endswith("…")
    assert len(cut["text"]) == 160 + 2
    [(start, end)] = cut["marks"]
    assert cut["text"][start:end] == "parcel"


def test_an_order_snippet_marks_the_whole_number_and_falls_back_to_the_shopper() -> None:
    cut = snippet([("bot", "hi"), ("shopper", "about sd-100042 please")], parse("100042"))
    assert [cut["text"][s:e] for s, e in cut["marks"]] == ["sd-100042"]
    only_context = snippet([("bot", "hi"), ("shopper", "where is it")], parse("100042"))
    assert only_context == {"role": "shopper", "text": "where is it", "marks": []}
