"""Held-out realistic conversations: containment, wrong actions, fallback rate and p95 latency.

Starts the real stack (Rasa with the chosen model, the action server, the bot web service for handoffs) on
free loopback ports with a freshly seeded demo shop, replays every conversation of eval/conversations/
<split>.yml over the REST channel (one shopper and one client per conversation) and judges it with
eval/conversations/judge.py. Prints the figures per split and per group, writes
results/conversations/<split>.json (figures, per-conversation results and transcripts) and a bar chart per
group (<split>_groups.png). Progress goes to stderr.

    .venv/app/bin/python -m bench.conversations_eval [--model models/shopdesk.tar.gz] [--split dev|test|both]
    .venv/app/bin/python -m bench.conversations_eval --split zh_test      # the Chinese halves: zh_dev, zh_test, zh
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from eval.conversations.cases import load
from eval.conversations.judge import Result, Target, replay_all, summarize, warm_up
from scripts.stack import APP_PYTHON, ROOT, Stack, StackConfig

DEFAULT_MODEL = ROOT / "models" / "shopdesk.tar.gz"
DEFAULT_OUT = ROOT / "results" / "conversations"
SPLIT_GROUPS = {
    "both": ["dev", "test"],
    "zh": ["zh_dev", "zh_test"],
    "all": ["dev", "test", "zh_dev", "zh_test"],
}


def progress(index: int, total: int, result: Result) -> None:
    verdict = "ok" if result.contained else "MISS"
    detail = "; ".join(result.failed_checks + result.wrong_actions)
    print(f"  [{index:>2}/{total}] {verdict:<4} {result.id} {detail}", file=sys.stderr, flush=True)


def table(split: str, summary: dict[str, Any]) -> str:
    rows = [("all", summary["overall"]), *summary["groups"].items()]
    lines = [
        f"{split}: {'group':<12} {'n':>3} {'containment':>12} {'wrong':>6} {'fallback':>9} {'p95 ms':>8}",
    ]
    for name, f in rows:
        lines.append(
            f"{split}: {name:<12} {f['conversations']:>3} {f['containment']:>11.0%} {f['wrong_actions']:>6} "
            f"{f['fallback_rate']:>9.0%} {f['p95_latency_ms']:>8.0f}"
        )
    for wrong in summary["overall"]["wrong_action_list"]:
        lines.append(f"{split}: wrong action: {wrong}")
    return "\n".join(lines)


def chart(split: str, summary: dict[str, Any], path: Path, model: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(summary["groups"])
    contained = [summary["groups"][g]["containment"] * 100 for g in groups]
    fallback = [summary["groups"][g]["fallback_rate"] * 100 for g in groups]
    xs = range(len(groups))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.bar([x - 0.2 for x in xs], contained, width=0.4, label="containment %")
    ax.bar([x + 0.2 for x in xs], fallback, width=0.4, label="fallback turns %")
    ax.set_xticks(list(xs), groups, rotation=20)
    ax.set_ylim(0, 100)
    overall = summary["overall"]
    ax.set_title(
        f"held-out conversations, {split} ({overall['conversations']}): containment "
        f"{overall['containment']:.0%}, wrong actions {overall['wrong_actions']} — {model}"
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="trained Rasa model (.tar.gz)")
    parser.add_argument(
        "--split",
        choices=("dev", "test", "both", "zh_dev", "zh_test", "zh", "all"),
        default="both",
        help="both: dev and test; zh: zh_dev and zh_test; all: the four",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the stack on the way out
    model = args.model.resolve()
    if not model.is_file():
        print(f"no model at {model}: train one (`make model`) or pass --model", file=sys.stderr)
        return 2
    splits = SPLIT_GROUPS.get(args.split, [args.split])
    cases = {split: load(split) for split in splits}  # a malformed file fails before the stack starts
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-conversations-") as tmp:
        models_dir = Path(tmp) / "models"
        models_dir.mkdir()
        (models_dir / model.name).symlink_to(model)  # the stack serves the newest model of models_dir
        config = StackConfig.on_free_ports(Path(tmp) / "var", models_dir=models_dir, with_bot=True)
        config.var_dir.mkdir(parents=True)
        subprocess.run(  # the demo shop with its orders' ledger records queued
            [str(APP_PYTHON), "-m", "actions.seed_shop", "--db", str(config.shop_db)],
            cwd=ROOT,
            env=config.env(),
            check=True,
        )
        stack = Stack(config, log_dir=Path(tmp) / "logs")
        started = time.monotonic()
        stack.start()
        print(f"stack ready after {time.monotonic() - started:.0f} s ({model.name})", file=sys.stderr)
        try:
            target = Target.from_stack_config(config)
            run = secrets.token_hex(4)
            asyncio.run(warm_up(target))  # lazily loaded models are not part of the reply latency
            for split in splits:
                print(f"{split}: {len(cases[split])} conversations", file=sys.stderr)
                results = asyncio.run(replay_all(target, cases[split], run, progress))
                summary = summarize(results)
                summary["model"] = str(model)
                summary["split"] = split
                (args.out / f"{split}.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
                chart(split, summary, args.out / f"{split}_groups.png", model.name)
                print(table(split, summary), flush=True)
        finally:
            stack.stop()
    print(f"wrote {args.out}/<split>.json and <split>_groups.png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
