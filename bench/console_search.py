"""The console's search over closed conversations: index build time and query latency, against a LIKE scan.

Generates (seeded) N closed conversations — English and Chinese transcripts of 6–14 lines on shop topics,
customers with names and emails, order numbers in the context and in the shopper's words — and M tickets, in a
handoff DB made by ``bot.store.HandoffStore`` (rows bulk-inserted into its tables: a fixture generator, not
the product's write path). Then:

- the index build (``SearchIndex.catch_up`` from empty) and its size, one incremental round after one more
  handoff closes, and a round with nothing new (what each query pays first);
- per query kind — order number (``SD-…``, ``sd…``, bare digits), customer email, customer name, English
  words, Chinese words (two-character words use the substring fallback) — p50 / p95 latency of
  ``SearchIndex.search`` (catch-up + top 20 + snippets), next to the baseline in the same run: a LIKE scan over
  the messages table (plus the context and tickets: every word must occur), newest 20;
- agreement: every query's full set of matches from the index against the LIKE scan's (the brute force).

    nice -n 19 .venv/app/bin/python -m bench.console_search [--conversations 10000] [--tickets 2000] [--queries 100]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bot.search_index import SearchIndex
from bot.search_query import TRIGRAM, Query, parse, snippet
from bot.store import HandoffStore

EN_FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Maria",
    "John",
    "Emma",
    "Olivia",
    "Noah",
    "Liam",
    "Sofia",
    "Lucas",
]
EN_LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Garcia",
    "Smith",
    "Brown",
    "Wilson",
    "Taylor",
    "Moore",
]
ZH_NAMES = ["王小明", "李华", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周杰", "吴敏"]
EN_TOPICS = [
    [
        "Where is my parcel? Order {order} was due on Monday.",
        "The tracking page has not moved for a week.",
        "Can you ask the courier what happened?",
    ],
    [
        "I want a refund for order {order}.",
        "The blender arrived damaged, the jug is cracked.",
        "I sent photos of the broken jug yesterday.",
    ],
    [
        "The jacket from {order} is the wrong size.",
        "I need a medium instead of a large.",
        "Can I exchange it or do I have to return it?",
    ],
    [
        "Please change the delivery address for {order}.",
        "We moved to a new flat last week.",
        "The new postcode is on my account.",
    ],
    [
        "I was charged twice for order {order}.",
        "My bank statement shows two payments.",
        "Please send me an invoice for the one that counts.",
    ],
    [
        "My coupon code did not work at checkout.",
        "It said the discount expired but the email says Friday.",
        "The order number is {order}.",
    ],
]
ZH_TOPICS = [
    ["我的快递一直没到，订单号{order}。", "物流信息一周都没有更新。", "能帮我问一下快递公司吗？"],
    ["我要退款，订单{order}的搅拌机到货时坏了。", "杯子有裂缝，照片已经发给你们了。", "退款什么时候能到账？"],
    ["订单{order}的外套尺码不对。", "我需要中号，不是大号。", "可以换货吗？"],
    ["请帮我修改订单{order}的收货地址。", "我们上周搬家了。", "新地址已经更新在账户里了。"],
    ["订单{order}被重复扣款了。", "银行账单上有两笔付款。", "请给我开一张发票。"],
]
BOT_EN = ["Let me check that for you.", "I can hand you over to a person.", "Sorry to hear that."]
BOT_ZH = ["我来帮您查一下。", "我可以为您转接人工客服。", "很抱歉给您带来不便。"]
AGENT_EN = ["Hi, I'm looking into it now.", "I have opened a claim with the courier.", "Done, anything else?"]
AGENT_ZH = ["您好，我正在处理。", "我已经联系了快递公司。", "已经处理好了，还有别的问题吗？"]
QUERIES_EN = [
    "parcel courier",
    "refund damaged",
    "wrong size",
    "delivery address",
    "charged twice invoice",
    "coupon expired",
    "cracked jug",
    "tracking page",
    "exchange medium",
    "bank statement",
]
QUERIES_ZH = [
    "退款",
    "快递",
    "尺码不对",
    "收货地址",
    "重复扣款",
    "发票",
    "搅拌机 裂缝",
    "换货",
    "物流信息",
    "搬家",
]


def generate(path: Path, conversations: int, tickets: int, seed: int) -> dict[str, list[str]]:
    """Writes the closed handoffs and tickets; returns what the queries are drawn from."""
    HandoffStore(path).shutdown()  # the store's schema
    rng = random.Random(seed)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    orders: list[str] = []
    emails: list[str] = []
    names: list[str] = []
    now = 1_750_000_000.0
    for i in range(conversations):
        chinese = rng.random() < 0.3
        if chinese:
            name = rng.choice(ZH_NAMES)
        else:
            name = f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}"
        email = f"customer{i}@example.com"
        order = f"SD-{100000 + rng.randrange(900000):06d}"
        orders.append(order)
        emails.append(email)
        names.append(name)
        topic = rng.choice(ZH_TOPICS if chinese else EN_TOPICS)
        spoken = order if rng.random() < 0.5 else order.removeprefix("SD-")
        lines: list[tuple[str, str]] = []
        for turn in range(rng.randint(3, 7)):
            lines.append(("shopper", topic[turn % len(topic)].format(order=spoken)))
            pool = (BOT_ZH if chinese else BOT_EN) if turn < 2 else (AGENT_ZH if chinese else AGENT_EN)
            lines.append(("bot" if turn < 2 else "agent", rng.choice(pool)))
        created = now - (conversations - i) * 300.0
        context = {
            "customer": {"name": name, "email": email} if rng.random() < 0.8 else None,
            "orders": [{"number": order}],
            "cart": [],
        }
        hid = f"H-{i:012x}"
        db.execute(
            "INSERT INTO handoffs (id, conversation_id, status, reason, agent_email, agent_name, created_at,"
            " claimed_at, closed_at, context, language) VALUES (?, ?, 'closed', 'bench', 'a@shop.test',"
            " 'Alice Agent', ?, ?, ?, ?, ?)",
            (
                hid,
                f"c{i}",
                created,
                created + 30,
                created + 600,
                json.dumps(context),
                "zh" if chinese else "en",
            ),
        )
        db.executemany(
            "INSERT INTO messages (handoff_id, role, text, ts, key) VALUES (?, ?, ?, ?, ?)",
            [(hid, role, text, created + n, f"k{n}") for n, (role, text) in enumerate(lines)],
        )
    for i in range(tickets):
        chinese = rng.random() < 0.3
        topic = rng.choice(ZH_TOPICS if chinese else EN_TOPICS)
        order = rng.choice(orders)
        transcript = [{"role": "shopper", "text": t.format(order=order), "ts": 1.0} for t in topic[1:]]
        db.execute(
            "INSERT INTO tickets (id, conversation_id, email, message, transcript, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                f"T-{i:010x}",
                f"t{i}",
                f"ticket{i}@example.com",
                topic[0].format(order=order),
                json.dumps(transcript, ensure_ascii=False),
                now - (tickets - i) * 900.0,
            ),
        )
    db.execute("COMMIT")
    db.close()
    return {"orders": orders, "emails": emails, "names": names}


def like_scan(db: sqlite3.Connection, words: list[str], limit: int) -> list[str]:
    """The baseline: every word LIKE-matched in the context or a message (conversations), or in a ticket."""
    conv = " AND ".join(
        "(h.context LIKE ? OR EXISTS (SELECT 1 FROM messages m WHERE m.handoff_id = h.id AND m.text LIKE ?))"
        for _ in words
    )
    tick = " AND ".join("(t.email LIKE ? OR t.message LIKE ? OR t.transcript LIKE ?)" for _ in words)
    patterns = [f"%{w}%" for w in words]
    sql = (
        f"SELECT id FROM (SELECT h.id, h.closed_at AS at FROM handoffs h WHERE h.status = 'closed' AND {conv}"
        f" UNION ALL SELECT t.id, t.created_at AS at FROM tickets t WHERE {tick}) ORDER BY at DESC LIMIT ?"
    )
    params = [p for p in patterns for _ in (0, 1)] + [p for p in patterns for _ in (0, 1, 2)] + [limit]
    return [row[0] for row in db.execute(sql, params)]


def like_words(query: Query) -> list[str]:
    if query.matched_by == "order":
        return [query.key.removeprefix("order:SD-")]
    if query.matched_by == "email":
        return [query.key.removeprefix("email:")]
    return list(query.words)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn: Callable[[], object], runs: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(runs):
        fn()
    return (time.perf_counter() - start) * 1000 / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--tickets", type=int, default=2_000)
    parser.add_argument("--queries", type=int, default=100, help="per kind")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    rng = random.Random(args.seed + 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "handoff.db"
        drawn = generate(path, args.conversations, args.tickets, args.seed)
        source_mb = path.stat().st_size / 1e6
        index = SearchIndex(path)
        build_ms = timed(index.catch_up)
        db = sqlite3.connect(path)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        index_mb = path.stat().st_size / 1e6 - source_mb
        idle_ms = [timed(index.catch_up) for _ in range(50)]
        store = HandoffStore(path)
        handoff, _ = store.open_handoff(
            "late", "bench", [{"role": "shopper", "text": "late one", "ts": 1.0}], {}
        )
        store.claim(handoff["id"], "a@shop.test", "Alice Agent")
        store.close(handoff["id"], "a@shop.test")
        one_ms = timed(index.catch_up)
        store.shutdown()
        print(
            f"{args.conversations} closed conversations, {args.tickets} tickets "
            f"({sum(index.count().values())} documents); source tables {source_mb:.1f} MB, index +{index_mb:.1f} MB"
        )
        print(
            f"index build from empty: {build_ms / 1000:.2f} s; a round with one new close: {one_ms:.1f} ms;"
            f" a round with nothing new (before each query): p50 {statistics.median(idle_ms):.2f} ms"
        )
        kinds: dict[str, list[str]] = {
            "order number": [
                rng.choice([o, o.lower().replace("-", ""), o.removeprefix("SD-")])
                for o in rng.sample(drawn["orders"], args.queries)
            ],
            "customer email": rng.sample(drawn["emails"], args.queries),
            "customer name": [rng.choice(drawn["names"]) for _ in range(args.queries)],
            "English words": [rng.choice(QUERIES_EN) for _ in range(args.queries)],
            "Chinese, 2 characters (substring scan)": [
                rng.choice([q for q in QUERIES_ZH if len(q) < TRIGRAM]) for _ in range(args.queries)
            ],
            "Chinese, 3+ characters": [
                rng.choice([q for q in QUERIES_ZH if len(q) >= TRIGRAM]) for _ in range(args.queries)
            ],
        }
        print(
            "| query | index p50 / p95 ms | LIKE scan p50 / p95 ms | matches (mean) | same matches as the scan |"
        )
        print("|---|---|---|---|---|")
        for kind, queries in kinds.items():
            fast, slow, agree, sizes = [], [], 0, []
            for q in queries:
                query = parse(q)
                fast.append(timed(lambda q=query: [snippet(h.lines, q) for h in index.search(q, "all", 20)]))
                slow.append(timed(lambda q=query: like_scan(db, like_words(q), 20)))
                everything = {h.ref for h in index.search(query, "all", 100_000, catch_up=False)}
                scanned = set(like_scan(db, like_words(query), 100_000))
                agree += everything == scanned
                sizes.append(len(everything))
            print(
                f"| {kind} | {statistics.median(fast):.2f} / {pct(fast, 0.95):.2f} |"
                f" {statistics.median(slow):.2f} / {pct(slow, 0.95):.2f} | {statistics.mean(sizes):.0f} |"
                f" {agree}/{len(queries)} |"
            )
        db.close()
        index.shutdown()


if __name__ == "__main__":
    main()
