"""Run TEDPolicy only when its prediction could win: the same next action as Rasa's ensemble, for less CPU.

Rasa runs every policy of the predict graph for every next-action prediction (two or three a message) and then
lets `DefaultPolicyPredictionEnsemble` pick one. TED's prediction is about a quarter of the Rasa process's CPU
per message (docs/benchmarks.md, the profile), yet in this assistant a rule or a memorised story usually predicts
with confidence 1.0, and the ensemble then never takes TED's answer:

- "no user" predictions (a form's happy path) overrule all others; TED never makes one;
- end-to-end predictions overrule predictions from intents; TED makes one only when it was trained on stories
  with user text (its predict node then needs the graph's ``precomputations``; this model's does not);
- otherwise the highest (confidence, priority) wins. TED's confidence is a softmax (at most 1.0) and its
  priority (1) is below the memoization (3) and rule (4) policies', so a 1.0 from either of them cannot lose.

`GatedPrediction` evaluates the memorising policies' nodes of the model's own predict graph first, repeats the
ensemble's choice on copies of their predictions (the rejected-action rule included) and, when that choice cannot
be beaten by what TED might say, combines them with the model's ensemble without running TED. Otherwise it runs
TED's node and combines all predictions in the graph's order — nothing is computed twice. The winning prediction
is the object Rasa's path returns, event for event (`tests/rasa_addons/test_policy_gate.py` replays every
conversation test and story through both and compares each prediction).

When the graph is not of that shape (another ensemble, other policies, an end-to-end TED), `plan_for` returns
None and Rasa's path runs unchanged. `RASA_POLICY_GATE=0` switches it off.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Tuple

logger = logging.getLogger(__name__)

ENSEMBLE = "rasa.core.policies.ensemble.DefaultPolicyPredictionEnsemble"
MEMORISING = {
    "rasa.core.policies.rule_policy.RulePolicy",
    "rasa.core.policies.memoization.MemoizationPolicy",
    "rasa.core.policies.memoization.AugmentedMemoizationPolicy",
}
DEFERRABLE = "rasa.core.policies.ted_policy.TEDPolicy"
PLAIN_NEEDS = {"tracker", "domain", "rule_only_data"}  # anything more (precomputations) means end-to-end
COUNTS = {"skipped": 0, "ran": 0}  # predictions made without / with TED in this process (tests, the bench)


@dataclass(frozen=True)
class GatePlan:
    """The predict graph's ensemble node and its policy inputs, in the order the ensemble receives them."""

    target: str
    inputs: Tuple[Tuple[str, str], ...]  # (keyword, node) of every policy prediction, graph order
    cheap: Tuple[str, ...]  # the memorising policies' nodes
    deferred: Tuple[str, ...]  # TED's nodes
    deferred_priority: int  # the highest priority among the deferred policies
    domain_node: str


def plan_for(schema: Any, target: Optional[str]) -> Optional[GatePlan]:
    """The gate for this predict graph (`rasa.engine.graph.GraphSchema`), or None when it does not apply."""
    from rasa.core.constants import DEFAULT_POLICY_PRIORITY, POLICY_PRIORITY
    from rasa.engine.constants import PLACEHOLDER_TRACKER

    nodes = schema.nodes
    if not target or target not in nodes:
        return None
    select = nodes[target]
    if _uses(select) != ENSEMBLE or select.fn != "combine_predictions_from_kwargs":
        return None
    if select.needs.get("tracker") != PLACEHOLDER_TRACKER or "domain" not in select.needs:
        return None
    inputs = tuple((key, node) for key, node in select.needs.items() if key not in {"tracker", "domain"})
    cheap, deferred, priorities = [], [], []
    for _, name in inputs:
        node = nodes[name]
        if node.fn != "predict_action_probabilities" or not set(node.needs) <= PLAIN_NEEDS:
            return None
        if _uses(node) in MEMORISING:
            cheap.append(name)
        elif _uses(node) == DEFERRABLE:
            deferred.append(name)
            priorities.append(int(node.config.get(POLICY_PRIORITY, DEFAULT_POLICY_PRIORITY)))
        else:
            return None
    if not cheap or not deferred:
        return None
    return GatePlan(target, inputs, tuple(cheap), tuple(deferred), max(priorities), select.needs["domain"])


def _uses(node: Any) -> str:
    return f"{node.uses.__module__}.{node.uses.__qualname__}"


def deferred_cannot_win(cheap: Sequence[Any], tracker: Any, domain: Any, deferred_priority: int) -> bool:
    """Whether the ensemble's choice among `cheap` (PolicyPredictions) stands whatever the deferred policies
    predict: a "no user" prediction is among them, or the best one (after the rejected-action rule, on copies)
    has confidence 1.0 and a priority above `deferred_priority`."""
    from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble

    if any(p.is_no_user_prediction for p in cheap):
        return True
    if any(p.is_end_to_end_prediction for p in cheap):
        return False  # not made by memorising policies; leave such a graph to Rasa's full path
    best = DefaultPolicyPredictionEnsemble._best_policy_prediction(
        [_own_probabilities(p) for p in cheap], tracker, domain
    )
    return best.max_confidence >= 1.0 and best.policy_priority > deferred_priority


def _own_probabilities(prediction: Any) -> Any:
    """A shallow copy with its own probabilities list: all the ensemble's choice mutates (a rejected action's
    probability set to 0 in every prediction)."""
    duplicate = copy.copy(prediction)
    duplicate.probabilities = list(prediction.probabilities)
    return duplicate


class GatedPrediction:
    """The ensemble's prediction for one tracker through `graph_runner`, TED run only when it could win."""

    def __init__(self, plan: GatePlan) -> None:
        from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble

        self.plan = plan
        self.ensemble = DefaultPolicyPredictionEnsemble()

    def predict(self, graph_runner: Any, tracker: Any) -> Any:
        from rasa.engine.constants import PLACEHOLDER_TRACKER

        plan = self.plan
        inputs = {PLACEHOLDER_TRACKER: tracker}
        results: Dict[str, Any] = graph_runner.run(inputs=inputs, targets=[*plan.cheap, plan.domain_node])
        domain = results[plan.domain_node]
        if deferred_cannot_win([results[n] for n in plan.cheap], tracker, domain, plan.deferred_priority):
            COUNTS["skipped"] += 1
            used = [(key, node) for key, node in plan.inputs if node in plan.cheap]
        else:
            COUNTS["ran"] += 1
            results.update(graph_runner.run(inputs=inputs, targets=list(plan.deferred)))
            used = list(plan.inputs)
        predictions = {key: results[node] for key, node in used}
        return self.ensemble.combine_predictions_from_kwargs(tracker=tracker, domain=domain, **predictions)


def install_policy_gate() -> None:
    """Make `MessageProcessor` predict through the gate when its model's predict graph allows it."""
    from rasa.core.processor import MessageProcessor

    original = MessageProcessor._predict_next_with_tracker
    if getattr(original, "shopdesk_gate", False):
        return
    gates: Dict[str, Optional[GatedPrediction]] = {}  # per model id (a model can be replaced at run time)

    def _predict_next_with_tracker(self: MessageProcessor, tracker: Any) -> Any:
        if tracker.followup_action:
            return original(self, tracker)
        gate = _gate(gates, self.model_metadata)
        if gate is None:
            return original(self, tracker)
        return gate.predict(self.graph_runner, tracker)

    _predict_next_with_tracker.shopdesk_gate = True  # type: ignore[attr-defined]
    MessageProcessor._predict_next_with_tracker = _predict_next_with_tracker  # type: ignore[method-assign]


def _gate(gates: Dict[str, Optional[GatedPrediction]], metadata: Any) -> Optional[GatedPrediction]:
    key = metadata.model_id
    if key not in gates:
        plan = plan_for(metadata.predict_schema, metadata.core_target)
        gates[key] = None if plan is None else GatedPrediction(plan)
        logger.info(
            "policy gate for model %s: %s",
            key,
            "off (graph not of the gated shape)" if plan is None else f"defers {', '.join(plan.deferred)}",
        )
    return gates[key]
