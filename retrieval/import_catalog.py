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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from retrieval.builder import BuildSummary, rebuild, update
from retrieval.catalog import PRESETS, RECORD_VERSION, ColumnMapping, iter_catalog, preset
from retrieval.catalog_rows import FORMATS
from retrieval.cli_common import (
    add_encoder_args,
    catalog_encoder_config,
    emit,
    fingerprint,
    index_config_dict,
    setup_logging,
)
from retrieval.config import ZH_CATALOG_MODEL, ZH_DIR, EncoderConfig, IndexConfig
from retrieval.encoder import Encoder, SentenceTransformerEncoder, make_encoder
from retrieval.errors import ConfigError, RetrievalError


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


@dataclass(frozen=True)
class ImportJob:
    """One import: the file, how to read it and which index to write (the CLI's arguments, the admin upload's
    fields). ``update``: add/replace the file's products and remove ``remove``; else the index holds exactly the
    file's products. ``with_zh``: keep ``<index_dir>/zh/<name>`` in step when it exists."""

    file: Path
    fmt: str
    mapping: ColumnMapping
    index_dir: Path
    name: str = "catalog"
    factory: str = "Flat"
    update: bool = False
    remove: tuple[str, ...] = ()
    limit: int | None = None
    with_zh: bool = True
    show_progress: bool = False


@dataclass(frozen=True)
class ImportResult:
    summaries: list[BuildSummary]
    products: int
    categories: int
    currencies: tuple[str, ...]

    def lines(self) -> list[str]:
        return [s.line() for s in self.summaries] + [
            f"{self.products} products, {self.categories} categories, currencies: {', '.join(self.currencies)}"
        ]


def job_format(fmt: str | None, preset_name: str | None, mapping: ColumnMapping | None, file: Path) -> str:
    """The format asked for, else the preset's, else the file's suffix."""
    preset_fmt = preset(preset_name)[0] if preset_name and mapping is None else None
    return fmt or preset_fmt or file.suffix.lstrip(".").lower()


def run_import(
    job: ImportJob, encoder: Encoder, zh_encoder: Callable[[], Encoder] | None = None
) -> ImportResult:
    """Read and validate the whole file first (a bad row raises :class:`CatalogError` before anything is written),
    then write each index's new version beside the old one and swap its link: a failed import leaves the old
    version serving and no version directory behind. ``zh_encoder`` builds the Chinese catalog's encoder when
    ``<index_dir>/zh`` exists (and ``job.with_zh``)."""
    if job.remove and not job.update:
        raise ConfigError("remove", list(job.remove), "ids to remove only with update (a rebuild drops them)")
    # streamed: one row in memory at a time; with limit reading stops after N products
    records = [p.record() for p in iter_catalog(job.file, job.fmt, job.mapping, job.limit)]
    config = IndexConfig(factory=job.factory)
    targets: list[tuple[Path, Callable[[], Encoder]]] = [(job.index_dir / job.name, lambda: encoder)]
    if job.with_zh and zh_encoder is not None and (job.index_dir / ZH_DIR).is_dir():
        targets.append((job.index_dir / ZH_DIR / job.name, zh_encoder))
    summaries = []
    for path, make in targets:
        target_encoder = make()
        fp = fingerprint(
            [],  # the file is hashed in chunks here, not read into memory
            job.file.name,
            _file_sha256(job.file),
            job.limit,
            RECORD_VERSION,
            job.mapping.__dict__,
            target_encoder.name,
            getattr(target_encoder, "config", None),
            index_config_dict(config),
        )
        meta = {"source_fingerprint": fp, "source": str(job.file)}
        if job.update:
            summary = update(
                path,
                records,
                target_encoder,
                config,
                kind="catalog",
                remove_ids=job.remove,
                extra_meta=meta,
                show_progress=job.show_progress,
            )
        else:
            summary = rebuild(
                path,
                records,
                target_encoder,
                config,
                kind="catalog",
                extra_meta=meta,
                show_progress=job.show_progress,
            )
        summaries.append(summary)
    return ImportResult(
        summaries,
        len(records),
        len({r["category"] for r in records}),
        tuple(sorted({r["currency"] for r in records})),
    )


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
        mapping = ColumnMapping.from_file(args.mapping) if args.mapping else preset(args.preset or "demo")[1]
        job = ImportJob(
            file=args.file,
            fmt=job_format(
                args.format, args.preset or "demo", None if not args.mapping else mapping, args.file
            ),
            mapping=mapping,
            index_dir=args.index_dir,
            name=args.name,
            factory=args.factory,
            update=args.update,
            remove=tuple(args.remove),
            limit=args.limit,
            with_zh=not args.no_zh,
            show_progress=not args.quiet,
        )
        result = run_import(
            job,
            SentenceTransformerEncoder(catalog_encoder_config(args)),
            lambda: make_encoder(EncoderConfig(model=ZH_CATALOG_MODEL, batch_size=32)),
        )
    except RetrievalError as exc:
        emit(f"error: {exc}", err=True)
        return 2
    for line in result.lines():
        emit(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
