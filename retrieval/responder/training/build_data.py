"""Build the responder's training data: questions written by code, hard negatives mined with the bi-encoder.

    python -m retrieval.responder.training.build_data --out var/responder-data [--index-dir var/index]
        [--kb-dir training_data/kb] [--catalog training_data/catalog/demo_products.csv]
        [--extra faq --extra myntra --data-dir ../shared/data] [--seed 13] [--force]

Positives: knowledge-base question paraphrases → the entry's answer; known-item questions about a product's
attributes → that product. Negatives: the bi-encoder's top-k for the question within the same pool (kb or
product), minus the answer. The dev split is by answer. Skips (and says so) when the inputs, the settings and
the generator code are unchanged since the last build, unless --force.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from retrieval.responder.errors import ResponderError, TrainingDataError
from retrieval.responder.training.dataset import (
    Group,
    Passage,
    read_dataset,
    read_manifest,
    sha256_files,
    write_dataset,
)
from retrieval.responder.training.mining import BiEncoderSearch, CandidateSearch
from retrieval.responder.training.questions import kb_questions, product_questions
from retrieval.responder.training.sources import (
    KbEntry,
    Product,
    kb_passage,
    load_demo_catalog,
    load_faq,
    load_kb,
    load_myntra,
    product_passage,
)

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[3]
GENERATOR_FILES = ("build_data.py", "questions.py", "sources.py", "dataset.py", "mining.py")
EXTRAS = ("faq", "myntra")


@dataclass(frozen=True)
class BuildSpec:
    out: Path
    kb_dir: Path | None = ROOT / "training_data" / "kb"
    catalog: Path | None = ROOT / "training_data" / "catalog" / "demo_products.csv"
    data_dir: Path = ROOT.parent / "shared" / "data"
    extras: tuple[str, ...] = ()
    myntra_limit: int = 1500
    encoder_model: str = "all-MiniLM-L6-v2"
    seed: int = 13
    dev_fraction: float = 0.2
    kb_train_questions: int = 12
    kb_dev_questions: int = 8
    product_train_questions: int = 4
    product_dev_questions: int = 6
    mine_k: int = 20  # candidates kept per training question (hard negatives come from these)
    dev_k: int = 50  # candidates kept per dev question (evaluation re-ranks the first eval_k)
    limit_kb: int | None = None  # tiny subsets for tests
    limit_products: int | None = None

    def settings(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("out", "kb_dir", "catalog", "data_dir"):
            data.pop(key)
        return data


@dataclass
class Sources:
    kb: list[KbEntry] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    input_files: list[Path] = field(default_factory=list)


def load_sources(spec: BuildSpec) -> Sources:
    sources = Sources()
    if spec.kb_dir is not None and spec.kb_dir.is_dir():
        sources.kb.extend(load_kb(spec.kb_dir))
        sources.input_files.extend(
            p for p in sorted(spec.kb_dir.rglob("*")) if p.suffix in {".yml", ".yaml", ".json", ".jsonl"}
        )
    elif spec.kb_dir is not None:
        logger.warning("no knowledge base at %s; training without it", spec.kb_dir)
    if spec.catalog is not None and spec.catalog.is_file():
        sources.products.extend(load_demo_catalog(spec.catalog))
        sources.input_files.append(spec.catalog)
    elif spec.catalog is not None:
        logger.warning("no demo catalog at %s; training without it", spec.catalog)
    for extra in spec.extras:
        if extra not in EXTRAS:
            raise TrainingDataError(extra, f"unknown extra source; valid: {', '.join(EXTRAS)}")
        path = spec.data_dir / ("ecommerce_faq/faq.json" if extra == "faq" else "myntra/catalog.csv")
        if not path.is_file():
            raise TrainingDataError(path, f"extra source {extra!r} not found (is --data-dir right?)")
        if extra == "faq":
            sources.kb.extend(load_faq(path))
        else:
            sources.products.extend(load_myntra(path, limit=spec.myntra_limit, seed=spec.seed))
        sources.input_files.append(path)
    if spec.limit_kb is not None:
        sources.kb = sources.kb[: spec.limit_kb]
    if spec.limit_products is not None:
        sources.products = sources.products[: spec.limit_products]
    if not sources.kb and not sources.products:
        raise TrainingDataError(spec.out, "no sources: neither a knowledge base nor a catalog was found")
    return sources


def inputs_checksum(spec: BuildSpec, sources: Sources) -> str:
    digest = hashlib.sha256()
    digest.update(sha256_files(sources.input_files).encode())
    digest.update(sha256_files(Path(__file__).parent / name for name in GENERATOR_FILES).encode())
    digest.update(json.dumps(spec.settings(), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def split_of(passage_id: str, seed: int, dev_fraction: float) -> str:
    h = int.from_bytes(hashlib.sha256(f"{seed}:{passage_id}".encode()).digest()[:8], "big")
    return "dev" if (h % 10_000) < dev_fraction * 10_000 else "train"


def _passages(spec: BuildSpec, sources: Sources) -> list[Passage]:
    passages = [
        Passage(
            f"kb:{e.id}", kb_passage(e), "kb", e.source, split_of(f"kb:{e.id}", spec.seed, spec.dev_fraction)
        )
        for e in sources.kb
    ]
    passages += [
        Passage(
            f"product:{p.id}",
            product_passage(p),
            "product",
            p.source,
            split_of(f"product:{p.id}", spec.seed, spec.dev_fraction),
        )
        for p in sources.products
    ]
    ids = [p.id for p in passages]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise TrainingDataError(spec.out, f"duplicate passage id {dup!r}")
    return passages


def _questions(spec: BuildSpec, sources: Sources, passages: dict[str, Passage]) -> list[tuple[str, str, str]]:
    """(query, answer_id, origin) for every generated question."""
    rng = random.Random(spec.seed)
    out: list[tuple[str, str, str]] = []
    for entry in sources.kb:
        pid = f"kb:{entry.id}"
        n = spec.kb_train_questions if passages[pid].split == "train" else spec.kb_dev_questions
        if passages[pid].split == "train":
            out.extend((q, pid, "kb_question") for q in dict.fromkeys([entry.question, *entry.paraphrases]))
        given = passages[pid].split == "dev"  # train already has the KB's own questions
        out.extend((q, pid, "kb_paraphrase") for q in kb_questions(entry, rng, n, include_given=given))
    for product in sources.products:
        pid = f"product:{product.id}"
        n = spec.product_train_questions if passages[pid].split == "train" else spec.product_dev_questions
        out.extend((q, pid, "product_question") for q in product_questions(product, rng, n))
    return out


def _mine(
    spec: BuildSpec,
    passages: dict[str, Passage],
    questions: list[tuple[str, str, str]],
    search_factory: Callable[[Sequence[str], Sequence[str]], CandidateSearch],
    keys: dict[str, tuple[str, ...]],
) -> tuple[list[Group], list[Group]]:
    """Candidates and their bi-encoder scores as serving gets them: a passage is also found by its ``keys``
    (a knowledge-base entry by its example questions, as the kb index holds them), scored by the best text."""
    train: list[Group] = []
    dev: list[Group] = []
    for kind in ("kb", "product"):
        pool = [p for p in passages.values() if p.kind == kind]
        if not pool:
            continue
        indexed = [(p.id, text) for p in pool for text in (p.text, *keys.get(p.id, ()))]
        search = search_factory([i for i, _ in indexed], [t for _, t in indexed])
        train_ids = {p.id for p in pool if p.split == "train"}
        for split, out in (("train", train), ("dev", dev)):
            qs = [q for q in questions if passages[q[1]].kind == kind and passages[q[1]].split == split]
            if not qs:
                continue
            if split == "train":
                hits = search.search([q[0] for q in qs], spec.mine_k + 1, allowed_ids=train_ids)
            else:
                hits = search.search([q[0] for q in qs], spec.dev_k)
            for n, ((query, answer_id, origin), row) in enumerate(zip(qs, hits, strict=True)):
                if split == "train":
                    row = row[: spec.mine_k + 1]
                    if answer_id not in (h[0] for h in row):
                        row = row[: spec.mine_k]
                out.append(
                    Group(
                        f"{kind}-{split}-{n}",
                        query,
                        answer_id,
                        kind,
                        origin,
                        [h[0] for h in row],
                        [round(float(h[1]), 6) for h in row],
                    )
                )
    return train, dev


def default_search_factory(encoder_model: str) -> Callable[[Sequence[str], Sequence[str]], CandidateSearch]:
    from retrieval.config import EncoderConfig

    def factory(ids: Sequence[str], texts: Sequence[str]) -> CandidateSearch:
        return BiEncoderSearch(ids, texts, encoder_config=EncoderConfig(model=encoder_model))

    return factory


def build(
    spec: BuildSpec,
    *,
    force: bool = False,
    search_factory: Callable[[Sequence[str], Sequence[str]], CandidateSearch] | None = None,
) -> dict[str, Any]:
    """Build (or keep) the data set at ``spec.out``; returns its manifest."""
    sources = load_sources(spec)
    checksum = inputs_checksum(spec, sources)
    if not force and (spec.out / "manifest.json").is_file():
        try:
            manifest = read_manifest(spec.out)
            if manifest.get("inputs_checksum") == checksum:
                read_dataset(spec.out)  # verifies the files still match
                logger.info(
                    "responder data at %s is up to date (inputs %s…); skipping", spec.out, checksum[:12]
                )
                return manifest
        except TrainingDataError as exc:
            logger.warning("rebuilding responder data: %s", exc)
    started = time.time()
    passage_list = _passages(spec, sources)
    passages = {p.id: p for p in passage_list}
    questions = _questions(spec, sources, passages)
    factory = search_factory or default_search_factory(spec.encoder_model)
    keys = {f"kb:{e.id}": tuple(dict.fromkeys([e.question, *e.paraphrases])) for e in sources.kb}
    train, dev = _mine(spec, passages, questions, factory, keys)
    dev_answers = {p.id for p in passage_list if p.split == "dev"}
    leaked = {c for g in train for c in [g.answer_id, *g.candidates]} & dev_answers
    if leaked:  # guarded by construction; checked because the split is what makes dev numbers honest
        raise TrainingDataError(spec.out, f"dev passages leaked into training groups: {sorted(leaked)[:3]}")
    manifest = {
        "inputs_checksum": checksum,
        "inputs": {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sources.input_files},
        "settings": spec.settings(),
        "counts": {
            "passages": len(passage_list),
            "passages_by_split": {s: sum(p.split == s for p in passage_list) for s in ("train", "dev")},
            "passages_by_kind": {k: sum(p.kind == k for p in passage_list) for k in ("kb", "product")},
            "train_questions": len(train),
            "dev_questions": len(dev),
            "dev_recall_at_k": round(sum(g.positive_index >= 0 for g in dev) / max(1, len(dev)), 4),
        },
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": round(time.time() - started, 1),
    }
    final = write_dataset(spec.out, passage_list, train, dev, manifest)
    logger.info("responder data written to %s: %s", spec.out, json.dumps(manifest["counts"]))
    return final


def _index_encoder_model(index_dir: Path | None, default: str) -> str:
    """Mine with the encoder the serving index was built with (its meta.json), so negatives are realistic."""
    if index_dir is None or not index_dir.is_dir():
        return default
    for meta_path in sorted(index_dir.glob("*/meta.json")):
        try:
            model = json.loads(meta_path.read_text(encoding="utf-8")).get("model")
        except (OSError, ValueError):
            continue
        if model:
            return str(model)
    return default


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m retrieval.responder.training.build_data",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=Path("var/responder-data"))
    parser.add_argument(
        "--index-dir", type=Path, default=None, help="read the bi-encoder model name from here"
    )
    parser.add_argument("--kb-dir", type=Path, default=BuildSpec.kb_dir)
    parser.add_argument("--catalog", type=Path, default=BuildSpec.catalog)
    parser.add_argument("--data-dir", type=Path, default=BuildSpec.data_dir, help="shared data (for --extra)")
    parser.add_argument(
        "--extra",
        action="append",
        choices=EXTRAS,
        default=[],
        help="also use shared data (evaluation sets: never together with benchmarks on them)",
    )
    parser.add_argument("--myntra-limit", type=int, default=BuildSpec.myntra_limit)
    parser.add_argument("--seed", type=int, default=BuildSpec.seed)
    parser.add_argument("--dev-fraction", type=float, default=BuildSpec.dev_fraction)
    parser.add_argument("--force", action="store_true", help="rebuild even when the inputs are unchanged")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    spec = BuildSpec(
        out=args.out,
        kb_dir=args.kb_dir,
        catalog=args.catalog,
        data_dir=args.data_dir,
        extras=tuple(args.extra),
        myntra_limit=args.myntra_limit,
        encoder_model=_index_encoder_model(args.index_dir, BuildSpec.encoder_model),
        seed=args.seed,
        dev_fraction=args.dev_fraction,
    )
    try:
        manifest = build(spec, force=args.force)
    except ResponderError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.write(
        json.dumps({"out": str(args.out), **manifest["counts"], "data_checksum": manifest["data_checksum"]})
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
