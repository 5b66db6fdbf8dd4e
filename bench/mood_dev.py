"""The mood's numbers on hand-written dev conversations: each scorer's scores, the mood, and where it offers a person.

The conversations below were written for choosing MOOD_* (docs/mood.md), apart from the tests' scripted ones
(tests/actions/test_mood*.py, tests/e2e/test_mood.py) and from every evaluation set. For each scorer — the lexicon
baseline and, when one is trained, the model in SENTIMENT_DIR, in the same run — it prints per message the
score, the mood after it and the offer, then per conversation whether it got the offer it should (sour: exactly
one; calm: none), and the CPU time of the whole turn (scoring + rules) per message.

    .venv/app/bin/python -m bench.mood_dev [--sentiment-dir var/sentiment]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from actions.mood_rules import MoodConfig, TraceEntry, armed, judgeable, step
from sentiment.lexicon import LexiconScorer
from sentiment.loading import MODEL_CONFIG, load_scorer
from sentiment.types import NOT_JUDGED, Scorer

ROOT = Path(__file__).resolve().parent.parent

# (name, expected offers, messages)
DEV: list[tuple[str, int, list[str]]] = [
    (
        "en sour: late parcel",
        1,
        [
            "hi, my parcel still hasn't come",
            "this is really annoying, I paid for express shipping",
            "you keep sending me the same useless answer, I'm losing my patience",
            "I'm so angry, never ordering here again",
        ],
    ),
    (
        "en sour: sudden turn",
        1,
        [
            "great, thanks a lot, that was quick!",
            "lovely, thank you",
            "wait, you charged my card twice?! this is unacceptable",
            "I'm absolutely furious, fix this now",
        ],
    ),
    (
        "en calm: one negative word",
        0,
        [
            "hello",
            "can I change the delivery address?",
            "the zip was broken on the old jacket, do you sell replacement zips?",
            "ok, thanks",
        ],
    ),
    (
        "en calm: sarcasm once",
        0,
        ["hi there", "oh great, another rainy day, do you have waterproof boots?", "thanks, those look nice"],
    ),
    ("en calm: ids and emoji", 0, ["SD-100042", "anna@example.com", "👍", "thanks!", "🙂🙂"]),
    ("en grumbling", 0, ["hmm", "not ideal", "a bit slow", "not ideal", "meh", "a bit slow"]),
    (
        "zh sour: late parcel",
        1,
        [
            "我的包裹还没到",
            "真烦人，我付了加急运费",
            "你们一直重复同样没用的回答，我快没耐心了",
            "我很生气，再也不在这里买了",
        ],
    ),
    (
        "zh calm: one negative word",
        0,
        ["您好", "可以改收货地址吗？", "旧外套的拉链坏了，你们卖替换拉链吗？", "好的，谢谢"],
    ),
    (
        "mixed sour",
        1,
        ["my order 还没到, so annoying", "太差了, worst service ever", "I'm really upset, 非常失望"],
    ),
]


def replay(scorer: Scorer, messages: list[str], config: MoodConfig) -> tuple[list[str], int, list[float]]:
    """Lines to print, the number of offers, and the milliseconds per message."""
    mood: float | None = None
    trace: list[TraceEntry] = []
    last_offer: float | None = None
    lines, offers, timings = [], 0, []
    for i, message in enumerate(messages):
        started = time.process_time()
        text = judgeable(message)
        prediction = scorer.predict([text])[0] if text is not None else NOT_JUDGED
        fired = None
        if prediction.judged:
            moved = step(mood, trace, prediction, float(i), config)
            mood, trace = moved.mood, moved.trace
            if moved.trigger and armed(trace, last_offer, config):
                fired, last_offer, offers = moved.trigger, i + 0.5, offers + 1
        timings.append((time.process_time() - started) * 1000)
        shown = f"{prediction.score:+.2f}" if prediction.judged else "  -- "
        mood_shown = f"{mood:+.2f}" if mood is not None else "  -- "
        lines.append(f"    {shown} {mood_shown} {('OFFER ' + fired) if fired else '':16s} {message}")
    return lines, offers, timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sentiment-dir", type=Path, default=ROOT / "var" / "sentiment")
    args = parser.parse_args()
    config = MoodConfig()
    scorers: list[Scorer] = [LexiconScorer()]
    if (args.sentiment_dir / MODEL_CONFIG).is_file():
        scorers.append(load_scorer(args.sentiment_dir))
    else:
        print(f"(no trained model in {args.sentiment_dir}: the lexicon baseline only)")
    print(f"MOOD: {config}")
    for scorer in scorers:
        scorer.predict(["warm up", "预热"])
        right, timings = 0, []
        print(f"\n== scorer {scorer.name}   (score, mood after, offer, message)")
        for name, expected, messages in DEV:
            lines, offers, ms = replay(scorer, messages, config)
            timings += ms
            right += offers == expected
            verdict = "ok" if offers == expected else f"WRONG: {offers} offers, expected {expected}"
            print(f"  {name}: {verdict}")
            print("\n".join(lines))
        p95 = statistics.quantiles(timings, n=20)[-1]
        print(
            f"  {scorer.name}: {right}/{len(DEV)} conversations as expected; "
            f"CPU ms per message median {statistics.median(timings):.1f}, p95 {p95:.1f}"
        )


if __name__ == "__main__":
    main()
