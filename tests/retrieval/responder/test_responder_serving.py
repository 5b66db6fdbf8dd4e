"""Loading and serving a trained responder: round trip, bad input, bad checkpoints, thread safety."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from retrieval.responder import (
    BaseModelMismatchError,
    CheckpointCorruptError,
    CheckpointMissingError,
    ResponderConfig,
    ResponderError,
    ResponderInputError,
    Thresholds,
    load_responder,
)
from tests.retrieval.responder.conftest import TinyRun

pytestmark = pytest.mark.slow

QUERY = "how long does delivery take to germany?"
PASSAGES = [
    "Delivery times. Orders to Germany arrive in 2-3 working days with standard shipping.",
    "Returns. You can return any item within 30 days.",
    "",
    "Payment methods. We accept cards, PayPal and Klarna.",
]


@pytest.fixture(scope="module")
def responder(tiny_run: TinyRun):  # type: ignore[no-untyped-def]
    return load_responder(tiny_run.out, quantize=False)


def test_scores_are_probabilities_in_input_order_and_empty_passages_get_zero(responder) -> None:  # type: ignore[no-untyped-def]
    probs = responder.score(QUERY, PASSAGES)
    assert probs.shape == (4,) and probs.dtype == np.float32
    assert probs[2] == 0.0
    assert np.all((probs >= 0) & (probs <= 1))
    reordered = responder.score(QUERY, [PASSAGES[3], PASSAGES[0]])
    assert reordered[1] == pytest.approx(probs[0], abs=1e-5) and reordered[0] == pytest.approx(
        probs[3], abs=1e-5
    )


def test_save_load_round_trip_gives_identical_scores(responder, tiny_run: TinyRun, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run.out, copy)
    again = load_responder(copy, quantize=False)
    np.testing.assert_allclose(
        again.score(QUERY, PASSAGES), responder.score(QUERY, PASSAGES), rtol=0, atol=1e-6
    )


def test_int8_is_close_to_fp32(responder, tiny_run: TinyRun) -> None:  # type: ignore[no-untyped-def]
    int8 = load_responder(tiny_run.out, quantize=True)
    assert int8.quantized
    raw32, raw8 = responder.logits(QUERY, PASSAGES), int8.logits(QUERY, PASSAGES)
    finite = np.isfinite(raw32)
    assert np.corrcoef(raw32[finite], raw8[finite])[0, 1] > 0.9


@pytest.mark.parametrize("query", ["", "   \n\t "])
def test_an_empty_message_is_a_clear_error(responder, query: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ResponderInputError, match="empty"):
        responder.score(query, PASSAGES)


def test_huge_messages_and_passages_are_truncated_not_fatal(responder) -> None:  # type: ignore[no-untyped-def]
    probs = responder.score("where is my order " * 5000, ["x " * 100_000, PASSAGES[0]])
    assert probs.shape == (2,) and np.all(np.isfinite(probs))


def test_no_candidates_and_non_text_candidates(responder) -> None:  # type: ignore[no-untyped-def]
    assert responder.score(QUERY, []).shape == (0,)
    assert responder.decide(responder.score(QUERY, [])).kind == "handoff"
    probs = responder.score(QUERY, [None, PASSAGES[0]])  # type: ignore[list-item]
    assert probs[0] == 0.0


def test_too_many_passages_is_refused(tiny_run: TinyRun) -> None:
    small = load_responder(tiny_run.out, quantize=False, config=ResponderConfig(max_passages=2))
    with pytest.raises(ResponderInputError, match="at most 2"):
        small.score(QUERY, PASSAGES)


def test_non_english_messages_are_handed_off(responder) -> None:  # type: ignore[no-untyped-def]
    probs, decision = responder.respond("我的订单什么时候到？", PASSAGES)
    assert decision.kind == "handoff" and decision.reason == "unsupported_language"
    assert probs.shape == (4,)


def test_thresholds_come_from_meta_and_can_be_overridden(responder, tiny_run: TinyRun) -> None:  # type: ignore[no-untyped-def]
    assert responder.thresholds == Thresholds.from_dict(tiny_run.meta["thresholds"])
    always = responder.with_thresholds(Thresholds(answer=0.0, clarify=0.0, margin=0.0))
    assert always.decide(always.score(QUERY, PASSAGES)).kind == "answer"
    never = load_responder(tiny_run.out, quantize=False, thresholds=Thresholds(answer=1.0, clarify=1.0))
    assert never.decide(never.score(QUERY, PASSAGES)).kind == "handoff"


def test_concurrent_scoring_from_threads_matches_sequential(responder) -> None:  # type: ignore[no-untyped-def]
    expected = responder.score(QUERY, PASSAGES)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: responder.score(QUERY, PASSAGES), range(8)))
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-6)


# ------------------------------------------------------------------------------------------ bad checkpoints
def _copy(tiny_run: TinyRun, tmp_path: Path) -> Path:
    target = tmp_path / "ckpt"
    shutil.copytree(tiny_run.out, target)
    return target


def test_a_missing_checkpoint_says_how_to_train_one(tmp_path: Path) -> None:
    with pytest.raises(CheckpointMissingError, match="train"):
        load_responder(tmp_path / "nothing")


def test_a_corrupt_meta_is_refused(tiny_run: TinyRun, tmp_path: Path) -> None:
    ckpt = _copy(tiny_run, tmp_path)
    (ckpt / "meta.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CheckpointCorruptError, match=r"meta\.json"):
        load_responder(ckpt)


def test_corrupt_weights_are_refused(tiny_run: TinyRun, tmp_path: Path) -> None:
    ckpt = _copy(tiny_run, tmp_path)
    weights = next((ckpt / "model").glob("*.safetensors"))
    weights.write_bytes(b"garbage" * 100)
    with pytest.raises(CheckpointCorruptError, match="weights"):
        load_responder(ckpt)


def test_a_checkpoint_from_another_base_model_is_refused(tiny_run: TinyRun, tmp_path: Path) -> None:
    with pytest.raises(BaseModelMismatchError, match="base_model"):
        load_responder(
            tiny_run.out, config=ResponderConfig(expected_base_model="bert-base-multilingual-cased")
        )
    ckpt = _copy(tiny_run, tmp_path)
    meta = json.loads((ckpt / "meta.json").read_text(encoding="utf-8"))
    meta["base_fingerprint"]["hidden_size"] = 768  # weights of a different architecture than recorded
    (ckpt / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(BaseModelMismatchError, match="hidden_size"):
        load_responder(ckpt)


def test_every_load_failure_is_a_responder_error(tiny_run: TinyRun, tmp_path: Path) -> None:
    ckpt = _copy(tiny_run, tmp_path)
    (ckpt / "model" / "config.json").unlink()
    with pytest.raises(ResponderError):
        load_responder(ckpt)
