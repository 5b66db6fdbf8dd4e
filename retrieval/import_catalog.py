"""Import a shop's catalog into the product index.

    python -m retrieval.import_catalog FILE --format csv|json|parquet (--mapping mapping.json | --preset NAME)
                                       --index-dir DIR [--update] [--remove ID ...] [--factory HNSW32]

Without ``--update`` the index is rebuilt to hold exactly the file's products (vectors of unchanged products are
reused); with ``--update`` the file's products are added or replaced and the rest stay. Either way the new
version is written beside the old one and swapped in atomically. Presets: demo, myntra, online_retail.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from retrieval.builder import rebuild, update
from retrieval.catalog import PRESETS, RECORD_VERSION, ColumnMapping, iter_catalog, preset
from retrieval.catalog_rows import FORMATS
from retrieval.cli_common import (
    add_encoder_args,
    emit,
    encoder_config,
    fingerprint,
    index_config_dict,
    setup_logging,
)
from retrieval.config import ZH_CATALOG_MODEL, ZH_DIR, EncoderConfig, IndexConfig
from retrieval.encoder import Encoder, SentenceTransformerEncoder, make_encoder
from retrieval.errors import RetrievalError


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be >= 1")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m retrieval.import_catalog", description=__doc__.split("\n")[1]
    )
    parser.add_argument("file", type=Path)
    parser.add_argument(
        "--format", choices=FORMATS, help="default: the preset's format, else from the file suffix"
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--mapping", type=Path, help="JSON column mapping (see docs/retrieval.md)")
    group.add_argument("--preset", choices=sorted(PRESETS))
    parser.add_argument("--index-dir", type=Path, default=Path("var/index"))
    parser.add_argument("--name", default="catalog", help="index name inside --index-dir (default: catalog)")
    parser.add_argument("--factory", default="Flat", help="FAISS factory string: Flat, HNSW32, IVF256,Flat …")
    parser.add_argument("--update", action="store_true", help="add/replace these products, keep the others")
    parser.add_argument("--remove", nargs="*", default=[], metavar="ID", help="with --update: ids to remove")
    parser.add_argument(
        "--limit", type=_positive, help="import only the first N products (trials); stops reading there"
    )
    parser.add_argument(
        "--no-zh",
        action="store_true",
        help="leave <index-dir>/zh/<name> (the Chinese conversations' catalog index) alone even when it exists",
    )
    add_encoder_args(parser)
    args = parser.parse_args(argv)
    setup_logging(args.quiet)
    try:
        if args.mapping:
            fmt, mapping = None, ColumnMapping.from_file(args.mapping)
        else:
            fmt, mapping = preset(args.preset or "demo")
        fmt = args.format or fmt or args.file.suffix.lstrip(".").lower()
        # streamed: one row in memory at a time; with --limit reading stops after N products
        records = [p.record() for p in iter_catalog(args.file, fmt, mapping, args.limit)]
        encoder = SentenceTransformerEncoder(encoder_config(args))
        config = IndexConfig(factory=args.factory)
        fp = fingerprint(
            [],  # the file is hashed in chunks here, not read into memory
            args.file.name,
            _file_sha256(args.file),
            args.limit,
            RECORD_VERSION,
            mapping.__dict__,
            encoder.name,
            encoder.config,
            index_config_dict(config),
        )
        meta = {"source_fingerprint": fp, "source": str(args.file)}
        targets: list[tuple[Path, Encoder]] = [(args.index_dir / args.name, encoder)]
        if not args.no_zh and (args.index_dir / ZH_DIR).is_dir():  # keep the Chinese catalog index in step
            zh_encoder = make_encoder(EncoderConfig(model=ZH_CATALOG_MODEL, batch_size=32))
            targets.append((args.index_dir / ZH_DIR / args.name, zh_encoder))
        summaries = []
        for path, target_encoder in targets:
            if args.update:
                summary = update(
                    path,
                    records,
                    target_encoder,
                    config,
                    kind="catalog",
                    remove_ids=args.remove,
                    extra_meta=meta,
                    show_progress=not args.quiet,
                )
            else:
                summary = rebuild(
                    path,
                    records,
                    target_encoder,
                    config,
                    kind="catalog",
                    extra_meta=meta,
                    show_progress=not args.quiet,
                )
            summaries.append(summary)
    except RetrievalError as exc:
        emit(f"error: {exc}", err=True)
        return 2
    for summary in summaries:
        emit(summary.line())
    categories = {r["category"] for r in records}
    currencies = {r["currency"] for r in records}
    emit(
        f"{len(records)} products, {len(categories)} categories, currencies: {', '.join(sorted(currencies))}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
