"""The responder's gate (issue 15): always re-rank vs skip the cross-encoder when the first candidate is clear.

Run from ``bench.responder_eval --gate`` (same dev sets, same checkpoint). Candidates are served as the action
server gets them: the hybrid search's fused order (``retrieval.config.HybridConfig``, via bench.hybrid_eval) with
each candidate's dense cosine as its score, top ``k``. Each set's questions are split by their right answer (a
seeded half of the answers is dev, the other half held out), so no answer is in both halves. The gate's
``margin`` / ``floor`` are chosen per candidate pool (kb, product) on dev: the largest share of skipped re-ranks
with **zero** decisions changed against always re-ranking (ties: the larger margin, then the higher floor); the
held-out half is then reported for both rankers through ``retrieval.ranker.ResponderRanker`` in one run:
answer / clarify / handoff shares with the accuracy of each, decisions changed, and the share of skipped
cross-encoder runs.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from retrieval.ranker import Ranked
    from retrieval.responder import Responder
    from retrieval.responder.config import Gate

MARGINS = tuple(round(0.02 * i, 2) for i in range(1, 26))  # 0.02 .. 0.50
FLOORS = tuple(round(0.3 + 0.05 * i, 2) for i in range(0, 13))  # 0.30 .. 0.90


@dataclass
class Case:
    """One question with its served candidates and the always-re-rank ranker's outcome."""

    set_name: str
    kind: str  # "kb" | "product"
    query: str
    answer: str
    ids: list[str]
    prior: list[float]
    passages: list[str]
    dev: bool
    baseline: tuple[str, tuple[str, ...]] = ("handoff", ())


def split_answers(answers: Sequence[str], seed: int) -> set[str]:
    """A seeded half of the distinct answers: the dev half (the rest is held out)."""
    distinct = sorted(set(answers))
    random.Random(seed).shuffle(distinct)
    return set(distinct[: len(distinct) // 2])


def cases_for(ds: Any, encoder: Any, k: int, seed: int) -> list[Case]:
    """The fused top-``k`` (ids, dense cosines, passages) of every question in ``ds`` (a
    ``bench.responder_eval.DevSet``, which imports this module)."""
    from bench.hybrid_eval import Pool, hybrid_lists, run_pool
    from retrieval.config import HybridConfig

    kind = "product" if ds.product else "kb"
    keys = ds.pool_keys or [() for _ in ds.pool_ids]
    texts = [[*k_texts, passage] for k_texts, passage in zip(keys, ds.pool_texts, strict=True)]
    pool = Pool(ds.name, ds.pool_ids, texts, ds.pool_texts, kind)
    runs = run_pool(
        pool, ds.queries, encoder.encode(ds.queries), encoder.encode([t for ts in texts for t in ts])
    )
    served = HybridConfig()
    rows = list(range(len(ds.queries)))
    weight = served.weight_for("kb" if kind == "kb" else "catalog")
    fused = hybrid_lists(pool, runs, rows, served.rrf_k, weight, served.fusion)
    col = {i: n for n, i in enumerate(pool.ids)}
    dev = split_answers(ds.answers, seed)
    out = []
    for r, (q, a) in enumerate(zip(ds.queries, ds.answers, strict=True)):
        top = fused[r][:k]
        out.append(
            Case(
                ds.name,
                kind,
                q,
                a,
                top,
                [float(runs.dense_sims[r, col[c]]) for c in top],
                [pool.passages[col[c]] for c in top],
                a in dev,
            )
        )
    return out


def _rank(ranker: Any, case: Case) -> Ranked:
    from retrieval.index import Hit

    hits = [Hit(i, s, {}) for i, s in zip(case.ids, case.prior, strict=True)]
    return ranker.rank(case.query, hits, case.passages, kind=case.kind)


def _outcome(ranked: Ranked) -> tuple[str, tuple[str, ...]]:
    return ranked.kind, tuple(h.id for h in ranked.hits)


def gated_outcome(case: Case, gate: Gate | None) -> tuple[str, tuple[str, ...]]:
    """What the gated ranker decides, from the always-re-rank outcome (the gate is a pure function of the
    candidates' cosines, ``retrieval.ranker.gate_answers``)."""
    if _skips(case, gate):
        return "answer", (case.ids[0],)
    return case.baseline


def choose_gate(cases: Sequence[Case], kind: str, base: Gate) -> tuple[Gate | None, dict[str, Any]]:
    """The dev choice for ``kind``: most skips with zero changed decisions (None when nothing qualifies)."""
    dev = [c for c in cases if c.dev and c.kind == kind]
    best: tuple[tuple[float, float, float], Gate] | None = None
    for margin in MARGINS:
        for floor in FLOORS:
            gate = replace(base, margin=margin, floor=floor, kinds=(kind,))
            changed = sum(gated_outcome(c, gate) != c.baseline for c in dev)
            skipped = sum(_skips(c, gate) for c in dev)
            if changed:
                continue
            key = (skipped / max(1, len(dev)), margin, floor)
            if best is None or key > best[0]:
                best = (key, gate)
    if best is None or best[0][0] == 0.0:
        return None, {"dev_questions": len(dev), "dev_skipped": 0.0}
    return best[1], {"dev_questions": len(dev), "dev_skipped": round(best[0][0], 3)}


def _skips(case: Case, gate: Gate | None) -> bool:
    from retrieval.ranker import gate_answers

    return gate_answers(gate, case.query, case.prior, case.kind)


def routing(cases: Sequence[Case], outcomes: Sequence[tuple[str, tuple[str, ...]]]) -> dict[str, Any]:
    """Shares and accuracy of each decision (answer: the right one; clarify: the right one among the choices;
    handoff: the right one not among the top 3 candidates), as bench.responder_eval's routing."""
    out: dict[str, Any] = {}
    for kind in ("answer", "clarify", "handoff"):
        oks = []
        for case, (decided, ids) in zip(cases, outcomes, strict=True):
            if decided != kind:
                continue
            if kind == "handoff":
                oks.append(case.answer not in case.ids[:3])
            else:
                oks.append(case.answer in (ids[:1] if kind == "answer" else ids))
        out[kind] = {
            "share": round(len(oks) / max(1, len(cases)), 3),
            "accuracy": round(float(np.mean(oks)), 3) if oks else None,
        }
    out["answered_right"] = round(
        sum(d == "answer" and c.answer in ids[:1] for c, (d, ids) in zip(cases, outcomes, strict=True))
        / max(1, len(cases)),
        3,
    )
    return out


class CountingResponder:
    """The responder, counting the cross-encoder runs the ranker asks for."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.config = responder.config
        self.calls = 0

    def respond(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.responder.respond(*args, **kwargs)


def evaluate_gate(
    sets: Sequence[Any], responder: Responder, encoder: Any, k: int, seed: int
) -> dict[str, Any]:
    """Baseline outcomes on every question, the gate chosen on dev per pool, and the held-out comparison
    (both rankers run on the held-out questions through ``ResponderRanker``)."""
    from retrieval.ranker import ResponderRanker
    from retrieval.responder.config import Gate

    cases = [c for ds in sets if not ds.name.endswith("_heldout") for c in cases_for(ds, encoder, k, seed)]
    always = ResponderRanker(CountingResponder(responder))
    always.gate = None
    for case in cases:
        case.baseline = _outcome(_rank(always, case))
    report: dict[str, Any] = {"k": k, "seed": seed, "chosen": {}, "heldout": {}, "dev": {}}
    gates: dict[str, Gate | None] = {}
    for kind in ("kb", "product"):
        if any(c.kind == kind for c in cases):
            gates[kind], report["chosen"][kind] = choose_gate(cases, kind, Gate())
            g = gates[kind]
            report["chosen"][kind] |= {"margin": g.margin, "floor": g.floor} if g else {"gate": "off"}
    for split, is_dev in (("heldout", False), ("dev", True)):
        for name in dict.fromkeys(c.set_name for c in cases):
            chosen = [c for c in cases if c.set_name == name and c.dev == is_dev]
            if not chosen:
                continue
            counting = CountingResponder(responder)
            gated = ResponderRanker(counting)
            gated.gate = gates.get(chosen[0].kind)
            outcomes = [_outcome(_rank(gated, c)) for c in chosen] if not is_dev else None
            if outcomes is None:  # dev: the choice's own figures, from the same baseline (no second run)
                outcomes = [gated_outcome(c, gated.gate) for c in chosen]
                counting.calls = sum(not _skips(c, gated.gate) for c in chosen)
            report[split][name] = {
                "questions": len(chosen),
                "always": routing(chosen, [c.baseline for c in chosen]),
                "gated": routing(chosen, outcomes),
                "changed": sum(o != c.baseline for o, c in zip(outcomes, chosen, strict=True)),
                "changed_cases": [
                    {"query": c.query, "right": c.answer, "always": c.baseline, "gated": o}
                    for o, c in zip(outcomes, chosen, strict=True)
                    if o != c.baseline
                ],
                "skipped": round(1 - counting.calls / len(chosen), 3),
            }
    return report


def print_report(report: dict[str, Any]) -> None:
    print(
        f"\n== gate (issue 15): always re-rank vs gated, fused top-{report['k']}, split seed {report['seed']}"
    )
    for kind, row in report["chosen"].items():
        print(f"chosen on dev for {kind}: {row}")
    for split in ("heldout", "dev"):
        print(
            f"\n{split}: {'set':20} {'n':>4} {'ranker':7} answer (acc)   clarify (acc)   handoff (acc)   right  changed skipped"
        )
        for name, row in report[split].items():
            for which in ("always", "gated"):
                r = row[which]
                cells = "   ".join(
                    f"{r[x]['share']:.2f} ({'-' if r[x]['accuracy'] is None else format(r[x]['accuracy'], '.2f')})"
                    for x in ("answer", "clarify", "handoff")
                )
                tail = f"  {row['changed']:7d} {row['skipped']:7.2f}" if which == "gated" else ""
                print(
                    f"{'':9}{name:20} {row['questions']:4d} {which:7} {cells}   {r['answered_right']:.3f}{tail}"
                )
            for case in row["changed_cases"]:
                print(f"{'':11}changed: {case}")
