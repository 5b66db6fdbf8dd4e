"""The responder's gate (issue 15): skip the cross-encoder only when the first candidate is clearly ahead."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from retrieval.index import Hit
from retrieval.ranker import GATE_SOURCE, ResponderRanker, gate_skips
from retrieval.responder.config import Gate, ResponderConfig
from retrieval.responder.errors import ResponderConfigError

GATE = Gate(margin=0.1, floor=0.6, kinds=("kb",))


def hits(*scores: float) -> list[Hit]:
    return [Hit(f"h{i}", s, {}) for i, s in enumerate(scores)]


class CountingResponder:
    """Answers with the second candidate, so a re-ranked outcome differs from the gate's."""

    def __init__(self, gate: Gate | None) -> None:
        self.config = SimpleNamespace(top_k=20, gate=gate)
        self.calls = 0

    def respond(self, query: str, passages: list[str], *, prior: Any, kind: str | None = None) -> Any:
        self.calls += 1
        return np.asarray([0.2, 0.7, 0.1][: len(passages)]), SimpleNamespace(
            kind="answer", indices=(1,), confidence=0.7
        )


@pytest.mark.parametrize(
    ("scores", "kind", "skips"),
    [
        ((0.80, 0.65, 0.5), "kb", True),  # clear lead: 0.15 over the runner-up, above the floor
        ((0.80, 0.70, 0.5), "kb", True),  # exactly the margin
        ((0.80, 0.72, 0.5), "kb", False),  # a close pair: the cross-encoder decides
        ((0.59, 0.20), "kb", False),  # clear lead below the floor
        ((0.70, 0.50, 0.75), "kb", False),  # the first in the fused order is not the best cosine
        ((0.80, 0.50), "product", False),  # a pool the gate is not for
        ((0.65,), "kb", True),  # a lone candidate only needs the floor
        ((), "kb", False),
    ],
)
def test_gate_skips_clear_leads_only(scores: tuple[float, ...], kind: str, skips: bool) -> None:
    assert gate_skips(GATE, list(scores), kind) is skips


def test_no_gate_never_skips() -> None:
    assert gate_skips(None, [0.99, 0.0], "kb") is False


def test_ranker_answers_a_clear_lead_without_the_cross_encoder() -> None:
    responder = CountingResponder(GATE)
    ranked = ResponderRanker(responder).rank(
        "do you ship to spain", hits(0.8, 0.6, 0.5), ["a", "b", "c"], "kb"
    )
    assert responder.calls == 0
    assert ranked.kind == "answer" and [h.id for h in ranked.hits] == ["h0"] and ranked.source == GATE_SOURCE
    assert ranked.confidence == pytest.approx(0.8)


def test_ranker_re_ranks_a_close_pair() -> None:
    responder = CountingResponder(GATE)
    ranked = ResponderRanker(responder).rank(
        "do you ship to spain", hits(0.8, 0.75, 0.5), ["a", "b", "c"], "kb"
    )
    assert responder.calls == 1
    assert ranked.source == "responder" and [h.id for h in ranked.hits] == ["h1"]


def test_ranker_leaves_non_latin_messages_to_the_responder() -> None:
    responder = CountingResponder(GATE)
    ResponderRanker(responder).rank("你们运送到西班牙吗", hits(0.9, 0.2), ["a", "b"], "kb")
    assert responder.calls == 1


def test_ranker_without_a_gate_always_re_ranks() -> None:
    responder = CountingResponder(None)
    ResponderRanker(responder).rank("do you ship to spain", hits(0.95, 0.1), ["a", "b"], "kb")
    assert responder.calls == 1


def test_the_default_config_gates_kb_questions_only() -> None:
    gate = ResponderConfig().gate
    assert gate is not None and gate.kinds == ("kb",)
    assert ResponderConfig(gate=None).gate is None


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"margin": -0.1}, "gate.margin -0.1"),
        ({"margin": float("nan")}, "gate.margin nan"),
        ({"floor": 1.5}, "gate.floor 1.5"),
        ({"kinds": ("faq",)}, "gate.kinds 'faq'"),
        ({"kinds": ()}, "gate.kinds ()"),
    ],
)
def test_bad_gate_values_are_named(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(ResponderConfigError, match=named.replace("(", r"\(").replace(")", r"\)")):
        Gate(**fields)


def test_a_gate_that_is_not_a_gate_is_refused() -> None:
    with pytest.raises(ResponderConfigError, match="gate"):
        ResponderConfig(gate=0.1)  # type: ignore[arg-type]
