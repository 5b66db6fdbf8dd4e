"""Responder training speed: pairs/s of real training steps, per device and precision, for one preset.

    .venv/app/bin/python -m bench.responder_train_speed [--config gpu_full] [--data var/responder-data]
        [--steps 12] [--threads 2]

Runs the training code's own step (``retrieval.responder.training.loop.train_step``: forward, listwise + BCE loss,
backward, AdamW) on real batches of the preset's shape (``groups_per_batch`` × (1 + ``negatives``) pairs of
``max_length`` tokens) from the responder's training data, after two warm-up steps, on:

  cpu-fp32   the baseline, always;
  cpu-bf16   bf16 autocast on the CPU (only fast with AMX-BF16; measured when the CPU has it);
  cuda-bf16  bf16 autocast on the GPU (when CUDA is present) — the speed-up over cpu-fp32 is printed.

and projects the wall time of a full run of the preset (its epochs over all training questions) from each rate.
Writes results/responder_train_speed.json. Needs ``make responder`` (or build_data) first for the data.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def measure(config: Any, dataset: Any, device: str, autocast: bool, steps: int) -> dict[str, float]:
    import torch

    from retrieval.responder.training.loop import (
        initial_model,
        make_optimizer,
        train_step,
        training_batch,
        training_lists,
    )

    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    model = initial_model(config, device, autocast=autocast)
    model.model.train()
    optimizer, scheduler = make_optimizer(model, config, steps + 2)
    groups = [rng.choice(dataset.train) for _ in range((steps + 2) * config.groups_per_batch)]
    lists = training_lists(dataset, groups, config.negatives, rng)
    pairs = 0
    started = 0.0
    for step in range(steps + 2):
        if step == 2:  # two warm-up steps (allocator, kernels) are not timed
            if device == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
        chunk = slice(step * config.groups_per_batch, (step + 1) * config.groups_per_batch)
        batch = training_batch(dataset, groups[chunk], lists[chunk])
        train_step(model, optimizer, scheduler, batch, config)
        if step >= 2:
            pairs += len(batch.queries)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    return {"pairs_per_second": round(pairs / seconds, 1), "seconds": round(seconds, 2), "pairs": pairs}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.responder_train_speed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", default="gpu_full", help="preset name or JSON file (default gpu_full)")
    parser.add_argument("--data", type=Path, default=ROOT / "var" / "responder-data")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "responder_train_speed.json")
    args = parser.parse_args(argv)

    import torch

    from retrieval.responder import ResponderError
    from retrieval.responder.model import cpu_has_amx_bf16
    from retrieval.responder.training.config import load_train_config
    from retrieval.responder.training.dataset import read_dataset

    torch.set_num_threads(args.threads)
    try:
        config = load_train_config(args.config)
        dataset = read_dataset(args.data)
    except ResponderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    runs = [("cpu-fp32", "cpu", False)]
    if cpu_has_amx_bf16():
        runs.append(("cpu-bf16", "cpu", True))
    if torch.cuda.is_available():
        runs.append(("cuda-bf16", "cuda", True))
    train_questions = (
        len(dataset.train)
        if config.max_train_queries is None
        else min(len(dataset.train), config.max_train_queries)
    )
    full_pairs = config.epochs * train_questions * (1 + config.negatives)
    print(
        f"preset {config.name}: {config.groups_per_batch} groups x {1 + config.negatives} pairs per step, "
        f"max_length {config.max_length}; a full run is {config.epochs} epochs x {train_questions} questions "
        f"= {full_pairs} pairs ({args.threads} CPU threads)"
    )
    results: dict[str, Any] = {}
    for name, device, autocast in runs:
        row = measure(config, dataset, device, autocast, args.steps)
        row["projected_full_run_minutes"] = round(full_pairs / row["pairs_per_second"] / 60, 1)
        results[name] = row
        print(
            f"{name:10} {row['pairs_per_second']:8.1f} pairs/s   "
            f"full {config.name} run ≈ {row['projected_full_run_minutes']:6.1f} min",
            flush=True,
        )
    baseline = results["cpu-fp32"]["pairs_per_second"]
    for row in results.values():
        row["speedup_vs_cpu_fp32"] = round(row["pairs_per_second"] / baseline, 2)
    print(
        "speed-up vs cpu-fp32: " + ", ".join(f"{n} {r['speedup_vs_cpu_fp32']}x" for n, r in results.items())
    )
    if "cuda-bf16" not in results:
        print("no CUDA here: the GPU row is measured on a machine with one (same command)")
    device_name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    report = {
        "config": config.to_dict(),
        "threads": args.threads,
        "gpu": device_name,
        "cpu_amx_bf16": cpu_has_amx_bf16(),
        "full_run_pairs": full_pairs,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
