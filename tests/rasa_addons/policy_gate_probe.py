"""Replays every conversation test and training story through Rasa's prediction and through the policy gate.

Run with Rasa's interpreter: `.venv/rasa/bin/python tests/rasa_addons/policy_gate_probe.py MODEL.tar.gz`.
Loads the model once, walks each story event by event as `rasa test core` does and, before every action of the
story, predicts the next action both ways on the same tracker: Rasa's `_predict_next_with_tracker` (every policy
and the ensemble) and `rasa_addons.policy_gate` (TED only when it could win). Each story is replayed twice: with
the story's own intents, and with the model's NLU parse of each user text (the states a live conversation
reaches, fallbacks included). Prints the number of predictions, how many differ (with the first few), how many
skipped TED, how many Rasa's path gave to TED (the gate must run it there), and whether Rasa's own processor
uses the gate once installed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SOURCES = [
    ("conversations", ROOT / "tests" / "conversations", True),
    ("training stories", ROOT / "training_data" / "stories", False),
]


def _same(a: Any, b: Any) -> bool:
    return bool(a == b) and a.policy_name == b.policy_name  # PolicyPrediction.__eq__: all but diagnostics


def _describe(p: Any) -> dict[str, Any]:
    return {"policy": p.policy_name, "max": p.max_confidence, "events": [str(e) for e in p.events]}


def decisions(domain: Any) -> dict[str, bool]:
    """`deferred_cannot_win` on hand-made predictions (TED's priority 1): which choices stand without TED."""
    from rasa.core.policies.policy import PolicyPrediction
    from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_addons.policy_gate import deferred_cannot_win

    size = len(domain.action_names_or_texts)
    greet = domain.index_for_action("utter_greet")

    def one(confidence: float, policy: str, priority: int, no_user: bool = False) -> Any:
        probabilities = [0.0] * size
        probabilities[greet] = confidence
        return PolicyPrediction(probabilities, policy, priority, is_no_user_prediction=no_user)

    plain = DialogueStateTracker.from_events("d", [ActionExecuted("action_listen"), UserUttered("hi")])
    rejected = DialogueStateTracker.from_events(
        "r", [ActionExecuted("action_listen"), UserUttered("hi"), ActionExecutionRejected("utter_greet")]
    )
    none = one(0.0, "policy_0_MemoizationPolicy", 3)
    return {
        "rule_certain": deferred_cannot_win([none, one(1.0, "policy_1_RulePolicy", 4)], plain, domain, 1),
        "memo_certain": deferred_cannot_win([one(1.0, "policy_0_MemoizationPolicy", 3)], plain, domain, 1),
        "fallback_only": deferred_cannot_win([none, one(0.3, "policy_1_RulePolicy", 4)], plain, domain, 1),
        "nothing": deferred_cannot_win([none], plain, domain, 1),
        "certain_but_rejected": deferred_cannot_win(
            [one(1.0, "policy_1_RulePolicy", 4)], rejected, domain, 1
        ),
        "priority_not_above": deferred_cannot_win(
            [one(1.0, "policy_0_MemoizationPolicy", 3)], plain, domain, 3
        ),
        "no_user_low": deferred_cannot_win(
            [none, one(0.2, "policy_1_RulePolicy", 4, True)], plain, domain, 1
        ),
    }


def refused_shapes(schema: Any, target: str) -> dict[str, bool]:
    """Whether `plan_for` refuses predict graphs it must leave to Rasa (True: refused)."""
    from dataclasses import replace

    from rasa.engine.graph import GraphSchema

    from rasa_addons.policy_gate import plan_for

    ted = next(name for name in schema.nodes if "TEDPolicy" in name)

    def changed(name: str, **fields: Any) -> Any:
        return GraphSchema({**schema.nodes, name: replace(schema.nodes[name], **fields)})

    end_to_end = changed(ted, needs={**schema.nodes[ted].needs, "precomputations": "e2e_features"})
    other_ensemble = changed(target, uses=type("OtherEnsemble", (), {}))
    without_ted = GraphSchema(
        {
            **schema.nodes,
            target: replace(
                schema.nodes[target], needs={k: v for k, v in schema.nodes[target].needs.items() if v != ted}
            ),
        }
    )
    return {
        "end_to_end_ted": plan_for(end_to_end, target) is None,
        "other_ensemble": plan_for(other_ensemble, target) is None,
        "no_deferred_policy": plan_for(without_ted, target) is None,
        "no_target": plan_for(schema, None) is None,
        "this_model": plan_for(schema, target) is None,
    }


def facts(model: str) -> dict[str, Any]:
    from rasa_addons import model_load

    model_load.install_fast_model_load()
    from rasa.core.agent import Agent

    return replay(Agent.load(model))


def replay(agent: Any) -> dict[str, Any]:
    """The replay on a loaded `agent` whose processor does not predict through the gate yet; installs the gate
    at the end. model_probe_server.py calls it on the agent it loaded once."""
    from rasa.core.test import _create_data_generator
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_addons import policy_gate

    processor, domain = agent.processor, agent.domain
    assert processor is not None and domain is not None
    plan = policy_gate.plan_for(processor.model_metadata.predict_schema, processor.model_metadata.core_target)
    assert plan is not None, "the model's predict graph is not of the gated shape"
    gate = policy_gate.GatedPrediction(plan)
    stock = processor._predict_next_with_tracker  # Rasa's method, bound before the gate is installed

    out: dict[str, Any] = {"plan": {"cheap": plan.cheap, "deferred": plan.deferred}, "sources": {}}
    out["decisions"] = decisions(domain)
    metadata = processor.model_metadata
    out["refused"] = refused_shapes(metadata.predict_schema, metadata.core_target)
    differences: list[dict[str, Any]] = []
    stock_s = gated_s = 0.0
    for label, path, conversation_tests in SOURCES:
        generator = _create_data_generator(str(path), agent, use_conversation_test_files=conversation_tests)
        trackers = generator.generate_story_trackers()
        counted = {"stories": len(trackers), "predictions": 0, "ted_won": 0}
        for parsed in (False, True):
            for story in trackers:
                events = list(story.events)
                partial = DialogueStateTracker.from_events(story.sender_id, events[:1], domain.slots)
                for event in events[1:]:
                    if isinstance(event, ActionExecuted):
                        started = time.process_time()
                        expected = stock(partial)
                        middle = time.process_time()
                        got = gate.predict(processor.graph_runner, partial)
                        stock_s += middle - started
                        gated_s += time.process_time() - middle
                        counted["predictions"] += 1
                        counted["ted_won"] += "TEDPolicy" in expected.policy_name
                        if not _same(expected, got):
                            differences.append(
                                {"story": story.sender_id, "parsed": parsed}
                                | {"stock": _describe(expected), "gated": _describe(got)}
                            )
                    if parsed and isinstance(event, UserUttered) and event.text:
                        parse = asyncio.run(agent.parse_message(event.text))
                        event = UserUttered(event.text, parse["intent"], parse["entities"], parse)
                    partial.update(event)
        out["sources"][label] = counted
    out["predictions"] = sum(c["predictions"] for c in out["sources"].values())
    out["ted_won"] = sum(c["ted_won"] for c in out["sources"].values())
    out["differences"] = len(differences)
    out["first_differences"] = differences[:5]
    out["counts"] = dict(policy_gate.COUNTS)
    out["cpu_s"] = {"stock": stock_s, "gated": gated_s}

    policy_gate.install_policy_gate()  # Rasa's processor now predicts through the gate
    before = dict(policy_gate.COUNTS)
    tracker = DialogueStateTracker.from_events("installed", [ActionExecuted("action_listen")], domain.slots)
    parse = asyncio.run(agent.parse_message("hi there"))
    tracker.update(UserUttered("hi there", parse["intent"], parse["entities"], parse))
    processor.predict_next_with_tracker(tracker)
    out["installed_counts"] = {k: policy_gate.COUNTS[k] - before[k] for k in before}
    return out


if __name__ == "__main__":
    print("PROBE " + json.dumps(facts(sys.argv[1])))
