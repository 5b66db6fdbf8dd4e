"""The TEST halves of the held-out shopper conversations (eval/conversations/test.yml, English, and zh_test.yml,
Chinese) against the live stack.

Replays every conversation over the REST channel and judges it with eval/conversations/judge.py (the same
code as `make bench-conversations`): no wrong action at all, a reply to every turn, and containment at least
`CONTAINMENT_FLOOR`. It only changes orders no other live test uses (see the header of test.yml).
"""

from __future__ import annotations

import secrets

import pytest

from eval.conversations.cases import load
from eval.conversations.judge import Target, replay_all, summarize
from scripts.stack import Stack

pytestmark = pytest.mark.integration

# Share of the test half that must reach the right outcome with no unwanted handoff and no wrong action.
# Baseline before issue 12 (HEAD 219d796 with its model; docs/benchmarks.md "Held-out conversations"): 14/37
# = 0.38. After issue 12 (dense features, one-shot tasks, retrieval before giving up): 31/37 = 0.84. The floor
# sits three conversations below that, so that a retrained model's borderline replies do not make CI flaky while
# a regression to the old behaviour (0.38) still fails.
CONTAINMENT_FLOOR = 0.75
# The Chinese test half (issue 13): 0 before (every Chinese message got "I can only help in English"), 19/22 =
# 0.86 after; the floor sits two conversations below.
CONTAINMENT_FLOORS = {"test": CONTAINMENT_FLOOR, "zh_test": 0.77}


@pytest.mark.parametrize("split", sorted(CONTAINMENT_FLOORS))
async def test_heldout_test_half(live_stack: Stack, split: str) -> None:
    floor = CONTAINMENT_FLOORS[split]
    conversations = load(split)
    results = await replay_all(
        Target.from_stack_config(live_stack.config), conversations, secrets.token_hex(4)
    )
    summary = summarize(results)
    overall = summary["overall"]
    misses = {r.id: r.failed_checks + r.wrong_actions for r in results if not r.contained}

    assert overall["wrong_action_list"] == [], "\n".join(overall["wrong_action_list"])
    silent = {r.id: r.transcript for r in results if r.empty_turns}
    assert silent == {}, f"turns without a reply: {silent}"
    assert overall["containment"] >= floor, (
        f"{split}: containment {overall['containment']:.0%} < {floor:.0%}; misses: {misses}"
    )
