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
    return load_responder(tiny_run.out, precision="fp32")


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
    again = load_responder(copy, precision="fp32")
    np.testing.assert_allclose(
        again.score(QUERY, PASSAGES), responder.score(QUERY, PASSAGES), rtol=0, atol=1e-6
    )


@pytest.mark.parametrize("precision", ["int8", "bf16"])
def test_int8_and_bf16_are_close_to_fp32(responder, tiny_run: TinyRun, precision: str) -> None:  # type: ignore[no-untyped-def]
    low = load_responder(tiny_run.out, precision=precision)
    assert low.precision == precision and low.model.precision == precision
    raw32, raw_low = responder.logits(QUERY, PASSAGES), low.logits(QUERY, PASSAGES)
    finite = np.isfinite(raw32)
    assert np.corrcoef(raw32[finite], raw_low[finite])[0, 1] > 0.9
    assert not np.array_equal(
        raw32[finite], raw_low[finite]
    )  # really another precision, not the fp32 weights


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
    small = load_responder(tiny_run.out, precision="fp32", config=ResponderConfig(max_passages=2))
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
    never = load_responder(tiny_run.out, precision="fp32", thresholds=Thresholds(answer=1.0, clarify=1.0))
    assert never.decide(never.score(QUERY, PASSAGES)).kind == "handoff"


def test_concurrent_scoring_from_threads_matches_sequential(responder) -> None:  # type: ignore[no-untyped-def]
    expected = responder.score(QUERY, PASSAGES)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: responder.score(QUERY, PASSAGES), range(8)))
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-6)


@pytest.mark.skipif(
    not any(shutil.which(c) for c in ("g++", "c++", "clang++")), reason="torch.compile needs a C++ compiler"
)
def test_a_compiled_responder_scores_like_the_eager_one(responder, tiny_run: TinyRun) -> None:  # type: ignore[no-untyped-def]
    compiled = load_responder(tiny_run.out, precision="fp32", config=ResponderConfig(compile=True, top_k=3))
    assert compiled.model.fixed_rows == 3  # one shape, [3, max_length]: fewer rows padded, more in chunks
    for passages in (PASSAGES, PASSAGES[:1], PASSAGES * 2):
        np.testing.assert_allclose(
            compiled.score(QUERY, passages), responder.score(QUERY, passages), rtol=0, atol=1e-4
        )


def test_int8_is_not_compiled_and_serves_eagerly(tiny_run: TinyRun, caplog: pytest.LogCaptureFixture) -> None:
    int8 = load_responder(tiny_run.out, precision="int8", config=ResponderConfig(compile=True))
    assert int8.model.fixed_rows is None and int8.precision == "int8"
    assert "serving without torch.compile" in caplog.text
    assert int8.score(QUERY, PASSAGES).shape == (4,)


def test_threshold_overrides_replace_single_fitted_fields(tiny_run: TinyRun) -> None:
    fitted = Thresholds.from_dict(tiny_run.meta["thresholds"])
    strict = load_responder(
        tiny_run.out, precision="fp32", config=ResponderConfig(threshold_overrides=(("answer", 0.99),))
    )
    assert strict.thresholds.answer == 0.99 and strict.thresholds.clarify == fitted.clarify
    with pytest.raises(ResponderError, match="confidence"):
        ResponderConfig(threshold_overrides=(("confidence", 0.5),))


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
