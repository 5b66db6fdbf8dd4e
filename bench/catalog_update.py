"""Live catalog updates: how long an import of changed products takes, and how soon a running service answers
from the new version, next to a full re-encoding rebuild and a restart in the same run.

    python -m bench.catalog_update [--data-dir ../shared/data] [--changes 1000]

Per catalog (the demo catalog; Myntra 12.5k when the shared data is there): build the index from scratch (every
product encoded: the full-rebuild baseline), start a RetrievalService on it with a reader thread searching
continuously, then import ``--changes`` changed products (40 % text updates, 30 % new products, 30 % removed) with
``run_import`` (``update``: the changed rows + the removed ids), and revert them with a ``replace`` import of the
original file (unchanged vectors reused). For each: the import's seconds (reading the file, encoding the changed
rows, writing and swapping the version), then from the swap until the reader's search first returns a product the
import added (and never again one it removed), and the slowest search meanwhile. The restart baseline: a new
service with a freshly loaded encoder, its index load and first search. Writes results/catalog_update.json/.png.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import statistics
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import retrieval.index
from bench.retrieval_common import RESULTS, ROOT, data_dir
from retrieval.catalog import ColumnMapping, preset
from retrieval.config import EncoderConfig, RetrievalConfig
from retrieval.encoder import Encoder, make_encoder
from retrieval.import_catalog import ImportJob, run_import
from retrieval.index_files import swap_link
from retrieval.service import RetrievalService

SWAPS: list[float] = []  # when each import's link swap finished (perf_counter), recorded by _timed_swap


def _timed_swap(link: Path, target: Path, keep: int = 2) -> None:
    swap_link(link, target, keep)
    SWAPS.append(time.perf_counter())


retrieval.index.swap_link = _timed_swap  # the bench's instrument: the moment the new version is in place

DEMO = ROOT / "training_data" / "catalog" / "demo_products.csv"


class HashingEncoder:
    """Words hashed into 384 dimensions, no model: isolates the index work (reading, writing, swapping, loading)
    from the model's encoding where a MiniLM run would not fit the machine (``--encoder hashing``)."""

    name = "hashing-384"
    dim = 384

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype="float32")
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                h = zlib.crc32(word.encode())
                out[row, h % self.dim] += 1.0 if h & 1 << 31 else -1.0
            norm = float(np.linalg.norm(out[row]))
            out[row] /= norm or 1.0
        return out


def encoder_named(name: str) -> Encoder:
    return HashingEncoder() if name == "hashing" else make_encoder(EncoderConfig())


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_rows(path: Path, columns: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


class Reader(threading.Thread):
    """Searches for ``query`` continuously; records when ``wanted`` first shows and whether ``banned`` ever does
    after it, and every search's latency."""

    def __init__(self, service: RetrievalService) -> None:
        super().__init__(daemon=True)
        self.service = service
        self.lock = threading.Lock()
        self.query = ""
        self.wanted = ""
        self.banned: set[str] = set()
        self.found_at: float | None = None
        self.banned_seen = 0
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def watch(self, query: str, wanted: str, banned: set[str]) -> None:
        with self.lock:
            self.query, self.wanted, self.banned = query, wanted, banned
            self.found_at, self.banned_seen, self.latencies = None, 0, []

    def run(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                query, wanted, banned = self.query, self.wanted, self.banned
            if not query:
                time.sleep(0.005)
                continue
            start = time.perf_counter()
            hits = self.service.search_products(query, k=5).ranked.hits
            index = self.service.index("catalog")
            end = time.perf_counter()
            ids = {h.id for h in hits}
            with self.lock:
                if query != self.query:
                    continue
                self.latencies.append(end - start)
                if self.found_at is None and wanted in index:
                    self.found_at = end
                if self.found_at is not None and ids & banned:
                    self.banned_seen += 1


def timed(func: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


def wait_for(reader: Reader, timeout: float = 60.0) -> float | None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with reader.lock:
            if reader.found_at is not None:
                return reader.found_at
        time.sleep(0.001)
    return None


def run_catalog(
    name: str, path: Path, fmt: str, mapping: ColumnMapping, id_column: str, changes: int, encoder_name: str
) -> list[dict[str, Any]]:
    encoder, load_s = timed(lambda: encoder_named(encoder_name))
    _, warm_s = timed(lambda: encoder.encode(["warm up"]))  # a model loads on first use
    print(f"{name}: encoder {encoder.name} loaded in {load_s + warm_s:.1f} s", flush=True)
    columns, rows = read_rows(path)
    rng = random.Random(16)
    changes = min(changes, len(rows) // 2)
    n_add, n_remove = int(changes * 0.3), int(changes * 0.3)
    n_update = changes - n_add - n_remove
    base, extra = rows[: len(rows) - n_add], rows[len(rows) - n_add :]
    picked = rng.sample(range(len(base)), n_update + n_remove)
    update_at, remove_at = picked[:n_update], picked[n_update:]
    desc = mapping.columns.get("description", "description")
    updated = [{**base[i], desc: base[i][desc] + " New season: now in a recycled fabric."} for i in update_at]
    removed = tuple(base[i][id_column] for i in remove_at)
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as tmp:
        root = Path(tmp)
        index_dir = root / "index"
        v0 = write_rows(root / "v0.csv", columns, base)
        delta = write_rows(root / "delta.csv", columns, updated + extra)

        def job(file: Path, **changes: Any) -> ImportJob:
            return ImportJob(
                file=file, fmt=fmt, mapping=mapping, index_dir=index_dir, with_zh=False, **changes
            )

        result, seconds = timed(lambda: run_import(job(v0), encoder))
        summary = result.summaries[0]
        out.append(
            {
                "catalog": name,
                "encoder": encoder.name,
                "products": len(base),
                "step": "full build (every product encoded): baseline",
            }
            | {"changed": len(base), "encoded": summary.encoded, "import_s": seconds}
        )
        title_column = mapping.columns.get("title", "title")
        service = RetrievalService(RetrievalConfig(index_dir=index_dir), encoder=encoder)
        service.search_products(base[0][title_column])  # loaded and warm, as in a running action server
        reader = Reader(service)
        reader.start()
        steps = [
            (
                f"update: {n_update} updated, {n_add} added, {n_remove} removed",
                job(delta, update=True, remove=removed),
                extra[0][title_column],
                extra[0][id_column],
                set(removed),
            ),
            (
                "replace from the original file (reverts it: vectors of unchanged products reused)",
                job(v0),
                base[remove_at[0]][title_column],
                base[remove_at[0]][id_column],
                {r[id_column] for r in extra},
            ),
        ]
        for label, import_job, query, wanted, banned in steps:
            reader.watch(query, wanted, banned)
            time.sleep(0.3)  # a few searches before the import
            result, seconds = timed(lambda import_job=import_job: run_import(import_job, encoder))
            swapped = SWAPS[-1]
            found = wait_for(reader)
            time.sleep(0.3)  # the reader goes on: a removed product must never come back
            with reader.lock:
                latencies = list(reader.latencies)
                banned_seen = reader.banned_seen
            summary = result.summaries[0]
            out.append(
                {
                    "catalog": name,
                    "encoder": encoder.name,
                    "products": summary.items,
                    "step": label,
                    "changed": changes,
                }
                | {"encoded": summary.encoded, "import_s": seconds}
                | {"swap_to_served_s": None if found is None else found - swapped}
                | {"max_search_s": max(latencies), "median_search_s": statistics.median(latencies)}
                | {"removed_shown_after_swap": banned_seen}
            )
        reader.stop.set()
        reader.join()
        _, check_s = timed(lambda: [service.index("catalog") for _ in range(20000)])
        out[-1]["index_call_us"] = check_s / 20000 * 1e6  # the per-call freshness check included

        def restart() -> None:
            fresh_encoder = encoder_named(encoder_name)
            fresh_encoder.encode(["warm up"])  # a model loads lazily
            fresh = RetrievalService(RetrievalConfig(index_dir=index_dir), encoder=fresh_encoder)
            fresh.search_products(base[0][title_column])

        _, seconds = timed(restart)
        out.append(
            {
                "catalog": name,
                "encoder": encoder.name,
                "products": len(base),
                "step": "restart baseline: load the encoder + index, search",
            }
            | {"swap_to_served_s": seconds}
        )
    return out


def table(rows: list[dict[str, Any]]) -> str:
    def fmt(value: Any, digits: int = 2) -> str:
        return "—" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)

    lines = [
        "| catalog | encoder | products | step | encoded | import s | swap → served s | search median / max ms "
        "| removed shown |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        search = (
            f"{r['median_search_s'] * 1000:.0f} / {r['max_search_s'] * 1000:.0f}"
            if "max_search_s" in r
            else "—"
        )
        lines.append(
            f"| {r['catalog']} | {r.get('encoder', '—')} | {r['products']} | {r['step']} | {fmt(r.get('encoded'))} | "
            f"{fmt(r.get('import_s'))} | {fmt(r.get('swap_to_served_s'), 3)} | {search} | "
            f"{fmt(r.get('removed_shown_after_swap'))} |"
        )
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['catalog']}: {r['step'].split(':')[0].split(' (')[0]}" for r in rows]
    importing = [r.get("import_s") or 0.0 for r in rows]
    serving = [r.get("swap_to_served_s") or 0.0 for r in rows]
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(rows) + 1.5))
    ax.barh(labels, importing, label="import (read, encode, write, swap)")
    ax.barh(labels, serving, left=importing, label="swap → the running service answers from it")
    ax.axvline(2.0, color="grey", linestyle=":", label="target: served within 2 s")
    ax.set_xlabel("seconds")
    ax.invert_yaxis()
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--encoder", choices=("minilm", "hashing"), default="minilm", help="demo catalog")
    parser.add_argument("--myntra-encoder", choices=("minilm", "hashing", "none"), default="minilm")
    parser.add_argument("--no-demo", action="store_true", help="only Myntra")
    parser.add_argument("--out", default="catalog_update", help="results/<out>.json and .png")
    args = parser.parse_args()
    catalogs: list[tuple[str, Path, str, ColumnMapping, str, str]] = (
        [] if args.no_demo else [("demo", DEMO, *preset("demo"), "id", args.encoder)]
    )
    myntra = data_dir(args.data_dir) / "myntra" / "catalog.csv"
    if myntra.exists() and args.myntra_encoder != "none":
        catalogs.append(("myntra", myntra, *preset("myntra"), "ProductID", args.myntra_encoder))
    else:
        print(f"skipped Myntra: {myntra} absent or --myntra-encoder none", flush=True)
    rows: list[dict[str, Any]] = []
    for name, path, fmt, mapping, id_column, encoder_name in catalogs:
        rows += run_catalog(name, path, fmt, mapping, id_column, args.changes, encoder_name)
        print(table(rows), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    plot(rows, RESULTS / f"{args.out}.png")
    print(f"\nwrote {RESULTS / args.out}.json and .png")


if __name__ == "__main__":
    main()
