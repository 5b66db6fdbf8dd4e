"""Build the demo shop's indexes: ``python -m retrieval.build --index-dir var/index``.

Builds ``<index-dir>/kb`` from the knowledge base and ``<index-dir>/catalog`` from the catalog, each only when
its inputs, the model or the index settings changed (a fingerprint in meta.json). Exit code 0 on success, 2 on
bad input (the message names the file, row and field).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from retrieval.builder import BuildSummary, rebuild
from retrieval.catalog import RECORD_VERSION, ColumnMapping, load_catalog, preset
from retrieval.cli_common import (
    add_encoder_args,
    catalog_encoder_config,
    emit,
    encoder_config,
    fingerprint,
    index_config_dict,
    setup_logging,
)
from retrieval.config import ZH_CATALOG_MODEL, ZH_DIR, ZH_MODEL, EncoderConfig, IndexConfig
from retrieval.encoder import Encoder, SentenceTransformerEncoder, make_encoder
from retrieval.errors import RetrievalError
from retrieval.index_files import read_meta
from retrieval.kb import kb_records, load_kb

logger = logging.getLogger(__name__)

DEFAULT_CATALOG = Path("training_data/catalog/demo_products.csv")
DEFAULT_KB = Path("training_data/kb")


def _up_to_date(path: Path, fp: str) -> bool:
    try:
        return read_meta(path).get("source_fingerprint") == fp
    except RetrievalError:
        return False


def build_kb(
    kb_dir: Path,
    index_dir: Path,
    encoder: Encoder,
    config: IndexConfig,
    *,
    force: bool = False,
    show_progress: bool = False,
    languages: tuple[str, ...] = ("en",),
) -> BuildSummary:
    """``<index_dir>/kb`` from the entries' texts in ``languages`` (the Chinese index: ``("en", "zh")``)."""
    path = index_dir / "kb"
    fp = fingerprint(
        sorted(kb_dir.glob("*.y*ml")),
        encoder.name,
        getattr(encoder, "config", None),
        index_config_dict(config),
        *([list(languages)] if languages != ("en",) else []),
    )
    if not force and _up_to_date(path, fp):
        meta = read_meta(path)
        return BuildSummary(path, "kb", meta["item_count"], 0, 0, 0, meta["item_count"], 0, 0.0, skipped=True)
    records = kb_records(load_kb(kb_dir), languages)
    return rebuild(
        path,
        records,
        encoder,
        config,
        kind="kb",
        extra_meta={"source_fingerprint": fp, "source": str(kb_dir)},
        show_progress=show_progress,
    )


def build_catalog(
    catalog: Path,
    fmt: str,
    mapping: ColumnMapping,
    index_dir: Path,
    encoder: Encoder,
    config: IndexConfig,
    *,
    force: bool = False,
    show_progress: bool = False,
) -> BuildSummary:
    path = index_dir / "catalog"
    fp = fingerprint(
        [catalog],
        RECORD_VERSION,
        mapping.__dict__,
        encoder.name,
        getattr(encoder, "config", None),
        index_config_dict(config),
    )
    if not force and _up_to_date(path, fp):
        meta = read_meta(path)
        return BuildSummary(
            path, "catalog", meta["item_count"], 0, 0, 0, meta["item_count"], 0, 0.0, skipped=True
        )
    products = load_catalog(catalog, fmt, mapping)
    return rebuild(
        path,
        [p.record() for p in products],
        encoder,
        config,
        kind="catalog",
        extra_meta={"source_fingerprint": fp, "source": str(catalog)},
        show_progress=show_progress,
    )


def build_zh(
    kb_dir: Path,
    catalog: Path,
    index_dir: Path,
    *,
    encoder: Encoder | None = None,
    catalog_encoder: Encoder | None = None,
    force: bool = False,
    show_progress: bool = False,
) -> list[str]:
    """The indexes Chinese conversations search: ``<index_dir>/zh/kb`` (every entry's English and Chinese
    texts, encoder ``ZH_MODEL``) and ``<index_dir>/zh/catalog`` (the English catalog, ``ZH_CATALOG_MODEL``)."""
    encoder = encoder or make_encoder(EncoderConfig(model=ZH_MODEL, batch_size=32))
    catalog_encoder = catalog_encoder or make_encoder(EncoderConfig(model=ZH_CATALOG_MODEL, batch_size=32))
    root = index_dir / ZH_DIR
    lines = [
        build_kb(
            kb_dir,
            root,
            encoder,
            IndexConfig(),
            force=force,
            show_progress=show_progress,
            languages=("en", "zh"),
        ).line()
    ]
    if catalog.is_file():
        fmt, mapping = preset("demo")
        lines.append(
            build_catalog(
                catalog,
                fmt,
                mapping,
                root,
                catalog_encoder,
                IndexConfig(),
                force=force,
                show_progress=show_progress,
            ).line()
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retrieval.build", description=__doc__.split("\n")[0])
    parser.add_argument("--index-dir", type=Path, default=Path("var/index"))
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument("--kb", type=Path, default=DEFAULT_KB)
    parser.add_argument(
        "--factory", default="Flat", help="FAISS factory string for the catalog (default: Flat)"
    )
    parser.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    parser.add_argument(
        "--no-zh",
        action="store_true",
        help=f"skip the Chinese indexes (<index-dir>/{ZH_DIR}/kb and catalog, encoder {ZH_MODEL})",
    )
    add_encoder_args(parser)
    args = parser.parse_args(argv)
    setup_logging(args.quiet)
    encoder = SentenceTransformerEncoder(encoder_config(args))
    try:
        catalog_encoder = (
            SentenceTransformerEncoder(catalog_encoder_config(args)) if args.catalog_model else encoder
        )
        emit(
            build_kb(
                args.kb,
                args.index_dir,
                encoder,
                IndexConfig(),
                force=args.force,
                show_progress=not args.quiet,
            ).line()
        )
        if args.catalog.is_file():
            fmt, mapping = preset("demo")
            emit(
                build_catalog(
                    args.catalog,
                    fmt,
                    mapping,
                    args.index_dir,
                    catalog_encoder,
                    IndexConfig(factory=args.factory),
                    force=args.force,
                    show_progress=not args.quiet,
                ).line()
            )
        else:
            emit(f"catalog: {args.catalog} not found, catalog index not built", err=True)
        if not args.no_zh:
            for line in build_zh(
                args.kb, args.catalog, args.index_dir, force=args.force, show_progress=not args.quiet
            ):
                emit(f"{ZH_DIR}/{line}")
    except RetrievalError as exc:
        emit(f"error: {exc}", err=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
