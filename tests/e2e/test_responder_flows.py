"""Conversations where the right answer only wins after re-ranking.

A shopper asks the real Rasa server; the real action server re-ranks the bi-encoder's candidates with the
trained responder; the reply is the right answer, where the bi-encoder alone would have put another first.

The questions are found at test time, never written down here: hand-written shopper questions
(``bench.retrieval_quality.KB_PARAPHRASES``) and the responder's held-out dev questions (knowledge base and
known-item product questions), each run in this process through the retrieval service the stack serves (same
indexes, same checkpoint), and compared with the bi-encoder's own first hit. Only questions Rasa's NLU sends to
the retrieval actions (``/model/parse``) are asked, so the test is about ranking, not intent classification.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from scripts.stack import ROOT, Stack
from tests.e2e.shopper import Shopper, all_text

pytestmark = pytest.mark.integration

RESPONDER_DATA = Path(os.environ.get("RESPONDER_DATA_DIR", ROOT / "var" / "responder-data"))
INTENTS = {"kb": "ask_question", "product": "product_question"}
MAX_ASKED = 3  # per kind
DEMO_CATALOG = ROOT / "training_data" / "catalog" / "demo_products.csv"


@dataclass(frozen=True)
class Win:
    kind: str  # "kb" | "product"
    question: str
    right: str  # the KB entry / product the responder answers with
    bi_encoder_first: str  # what the bi-encoder alone ranks first
    expected: str  # text the shopper must be shown: the entry's answer / the product's title


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


def _questions() -> list[tuple[str, str, str]]:
    """(kind, question, right id): hand-written KB questions, the responder's held-out dev questions, and fresh
    known-item questions about the demo products (written by the training generator with another seed)."""
    import random

    from bench.retrieval_quality import KB_PARAPHRASES
    from retrieval.responder.training.questions import product_question
    from retrieval.responder.training.sources import load_demo_catalog

    found = [("kb", q, entry) for q, entry in KB_PARAPHRASES]
    rng = random.Random(2026)
    for product in load_demo_catalog(DEMO_CATALOG):
        found.extend(("product", product_question(product, rng), product.id) for _ in range(3))
    if (RESPONDER_DATA / "manifest.json").is_file():
        from retrieval.responder.training.dataset import read_dataset

        for g in read_dataset(RESPONDER_DATA).dev:
            found.append((g.kind, g.query, g.answer_id.split(":", 1)[1]))
    return found


def _reranking_wins(stack: Stack) -> list[Win]:
    from retrieval.config import RetrievalConfig
    from retrieval.query import clean_query
    from retrieval.service import RetrievalService
    from retrieval.shelf import CATALOG, KB

    service = RetrievalService(
        RetrievalConfig(index_dir=stack.config.index_dir), responder_dir=stack.config.responder_dir
    )
    if service.ranker.name != "responder":
        if os.environ.get("CI"):
            pytest.fail(f"no trained responder at {stack.config.responder_dir}: `make test` trains one first")
        pytest.skip(f"no trained responder at {stack.config.responder_dir}: run `make responder`")
    wins = []
    for kind, question, right in _questions():
        ranked = service.answer_question(question) if kind == "kb" else service.identify_product(question)
        if ranked.kind != "answer" or ranked.source != "responder":
            continue
        item = ranked.hits[0].item
        if (item["entry_id"] if kind == "kb" else item["id"]) != right:
            continue
        vector = service.encoder.encode([clean_query(question, 1000)])
        first = (
            service.index(KB if kind == "kb" else CATALOG).search(vector, k=1)[0][0].item
        )  # bi-encoder alone
        first_id = first["entry_id"] if kind == "kb" else first["id"]
        if first_id != right:
            wins.append(
                Win(kind, question, right, first_id, item["answer"] if kind == "kb" else item["title"])
            )
    return wins


async def _intent(http: aiohttp.ClientSession, stack: Stack, text: str) -> str:
    async with http.post(
        f"{stack.config.rasa_url}/model/parse",
        params={"token": stack.config.rasa_token},
        json={"text": text},
    ) as response:
        assert response.status == 200, f"/model/parse answered {response.status}"
        return str((await response.json())["intent"]["name"])


async def test_answers_that_only_win_after_re_ranking_reach_the_shopper(
    http: aiohttp.ClientSession, live_stack: Stack
) -> None:
    wins = _reranking_wins(live_stack)
    assert wins, "no question where the responder answers right and the bi-encoder ranks another first"
    routed = [w for w in wins if await _intent(http, live_stack, w.question) == INTENTS[w.kind]]
    print(f"{len(wins)} re-ranking wins, {len(routed)} of them classified for retrieval by the NLU:")
    for win in routed:
        print(f"  {win.kind} {win.question!r} → {win.right} (bi-encoder alone: {win.bi_encoder_first})")
    assert routed, f"no re-ranking win is classified for retrieval by the NLU: {[w.question for w in wins]}"
    asked = [win for kind in INTENTS for win in [w for w in routed if w.kind == kind][:MAX_ASKED]]
    for win in asked:
        chat = Shopper(http, live_stack.config.rest_url, sender=f"rerank-{uuid.uuid4().hex[:10]}")
        told = all_text(await chat.say(win.question))
        assert win.expected in told, (
            f"{win.question!r}: expected {win.kind} {win.right} (the bi-encoder alone ranks "
            f"{win.bi_encoder_first} first), got {chat.transcript}"
        )
