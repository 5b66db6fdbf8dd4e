"""The ranking seam: given a query and retrieved candidates, decide to answer, ask "did you mean…", or hand off.

Two implementations: :class:`BiEncoderRanker` (the retrieval scores and fixed thresholds) and
:class:`ResponderRanker` (the fine-tuned cross-encoder in :mod:`retrieval.responder`, when one is trained).
:func:`load_ranker` picks the responder when it loads and falls back to the bi-encoder otherwise.
With a :class:`retrieval.responder.config.Gate` in the responder's config, :class:`ResponderRanker` answers
with the retrieval's first candidate without running the cross-encoder when it is clearly ahead
(:func:`gate_skips`; ``Ranked.source`` is then ``responder-gate``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from retrieval.config import RankConfig
from retrieval.index import Hit

if TYPE_CHECKING:
    from retrieval.responder.config import Gate, ResponderConfig

logger = logging.getLogger(__name__)

Kind = Literal["answer", "clarify", "handoff"]


@dataclass(frozen=True)
class Ranked:
    kind: Kind
    hits: list[Hit]  # best first: one for answer, the choices for clarify, none for handoff
    confidence: float
    source: str  # "bi-encoder" | "responder"
    scores: list[float] = field(default_factory=list)


class Ranker(Protocol):
    name: str
    top_k: int | None  # candidates it wants to see (None: the caller's default)

    def rank(
        self, query: str, hits: Sequence[Hit], passages: Sequence[str], kind: str | None = None
    ) -> Ranked: ...


class BiEncoderRanker:
    name = "bi-encoder"
    top_k: int | None = None

    def __init__(self, config: RankConfig | None = None, *, keep_order: bool = False) -> None:
        """``keep_order``: the hits come in an order to trust (the hybrid search's fused order) rather than to
        re-sort by score; the first one is answered when its own score clears the thresholds and beats every
        other hit's by the margin."""
        self.config = config or RankConfig()
        self.keep_order = keep_order

    def rank(
        self, query: str, hits: Sequence[Hit], passages: Sequence[str], kind: str | None = None
    ) -> Ranked:
        cfg = self.config
        ordered = list(hits) if self.keep_order else sorted(hits, key=lambda h: -h.score)
        if not ordered:
            return Ranked("handoff", [], 0.0, self.name)
        first = ordered[0].score
        second = max((h.score for h in ordered[1:]), default=-1.0)
        scores = [h.score for h in ordered]
        best = max(scores)
        if first >= cfg.answer and first - second >= cfg.margin:
            return Ranked("answer", ordered[:1], first, self.name, scores[:1])
        if best >= cfg.clarify:
            shown = [h for h in ordered[: cfg.max_choices] if h.score >= cfg.clarify - 0.1]
            return Ranked("clarify", shown, best, self.name, [h.score for h in shown])
        return Ranked("handoff", [], best, self.name)


GATE_SOURCE = "responder-gate"


def gate_skips(gate: Gate | None, prior: Sequence[float], kind: str | None) -> bool:
    """True when the cross-encoder cannot be needed: ``kind`` is one of ``gate.kinds`` and the first candidate
    (in the order the retrieval gave) has a cosine ``>= gate.floor`` and beats every other candidate's by
    ``>= gate.margin`` (a lone candidate only needs the floor). False without a gate or candidates."""
    if gate is None or not prior or kind not in gate.kinds:
        return False
    first = float(prior[0])
    second = max((float(s) for s in prior[1:]), default=float("-inf"))
    return first >= gate.floor and first - second >= gate.margin


def _reads_latin(query: str) -> bool:
    """The responder hands off messages mostly in a non-Latin script; the gate leaves those to it."""
    from retrieval.responder.serving import latin_share  # loaded with the responder already

    return latin_share(query) >= 0.5


def gate_answers(gate: Gate | None, query: str, prior: Sequence[float], kind: str | None) -> bool:
    """Whether :class:`ResponderRanker` answers ``query`` with its first candidate without the cross-encoder:
    :func:`gate_skips`, for a message the responder would read (mostly Latin script)."""
    return gate_skips(gate, prior, kind) and _reads_latin(query)


class ResponderRanker:
    """Adapter over ``retrieval.responder``'s ``Responder`` (``score`` → calibrated probabilities, ``decide``).
    ``gate``: the responder config's :class:`~retrieval.responder.config.Gate` (None: always re-rank)."""

    name = "responder"

    def __init__(self, responder: Any) -> None:
        self.responder = responder
        config = getattr(responder, "config", None)
        self.top_k: int | None = int(config.top_k) if config is not None else None
        self.gate: Gate | None = getattr(config, "gate", None)

    def rank(
        self, query: str, hits: Sequence[Hit], passages: Sequence[str], kind: str | None = None
    ) -> Ranked:
        """``kind``: the candidates' pool (``kb``, ``product``), for its own calibration."""
        if not hits:
            return Ranked("handoff", [], 0.0, self.name)
        prior = [h.score for h in hits]  # the bi-encoder cosine, which the calibration may fuse in
        if gate_answers(self.gate, query, prior, kind):
            return Ranked("answer", [hits[0]], float(prior[0]), GATE_SOURCE, [float(prior[0])])
        if hasattr(self.responder, "respond"):
            probs, decision = self.responder.respond(query, list(passages), prior=prior, kind=kind)
        else:
            probs = self.responder.score(query, list(passages))
            decision = self.responder.decide(probs)
        chosen = [hits[i] for i in decision.indices]
        return Ranked(
            decision.kind,
            chosen,
            float(getattr(decision, "confidence", max(probs))),
            self.name,
            [float(probs[i]) for i in decision.indices],
        )


def load_ranker(
    responder_dir: str | Path | None,
    config: RankConfig | None = None,
    responder_config: ResponderConfig | None = None,
) -> Ranker:
    """The responder when ``load_responder(responder_dir, config=responder_config)`` succeeds (a
    :class:`retrieval.responder.ResponderConfig`; None: its defaults), else the bi-encoder thresholds."""
    fallback = BiEncoderRanker(config)
    if responder_dir is None:
        logger.info("responder: off, bi-encoder only (no responder directory configured)")
        return fallback
    try:
        from retrieval.responder import load_responder  # type: ignore[attr-defined]

        responder = load_responder(Path(responder_dir), config=responder_config)
    except Exception as exc:  # not trained yet, missing files, import problems: all mean "bi-encoder only"
        logger.info("responder: off, bi-encoder only (%s: %s)", type(exc).__name__, exc)
        return fallback
    logger.info("responder: on (%s)", responder_dir)
    return ResponderRanker(responder)
