"""Shared pieces of the retrieval command-line tools."""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
from collections.abc import Iterable
from pathlib import Path

from retrieval.config import EncoderConfig, IndexConfig


def add_encoder_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default=EncoderConfig.model,
        help="encoder model name or local directory (default: %(default)s)",
    )
    parser.add_argument("--max-seq-length", type=int, default=EncoderConfig.max_seq_length)
    parser.add_argument("--batch-size", type=int, default=EncoderConfig.batch_size)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument(
        "--catalog-model",
        default="",
        help="the English catalog's encoder: a catalog-adapted model directory (python -m retrieval.adapt; the "
        "Makefile passes SHOPDESK_CATALOG_ENCODER); empty: --model",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars, warnings only")


def encoder_config(args: argparse.Namespace) -> EncoderConfig:
    return EncoderConfig(
        model=args.model, max_seq_length=args.max_seq_length, batch_size=args.batch_size, device=args.device
    )


def catalog_encoder_config(args: argparse.Namespace) -> EncoderConfig:
    """The catalog's encoder: ``--catalog-model`` (checked by :func:`retrieval.catalog_encoder.catalog_serving`, the
    same check the servers make) or ``--model``."""
    config = encoder_config(args)
    if not args.catalog_model:
        return config
    from retrieval.catalog_encoder import catalog_serving
    from retrieval.config import RetrievalConfig

    serving = catalog_serving(RetrievalConfig(encoder=config), args.catalog_model)
    assert serving.catalog_encoder is not None
    return serving.catalog_encoder


def setup_logging(quiet: bool) -> None:
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )


def fingerprint(paths: Iterable[Path], *settings: object) -> str:
    """Checksum of input files and settings: an index is rebuilt only when this changes."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes())
    for setting in settings:
        digest.update(json.dumps(setting, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def index_config_dict(config: IndexConfig) -> dict[str, object]:
    return {"factory": config.factory, "metric": config.metric}


def emit(line: str, *, err: bool = False) -> None:
    """One line of CLI output (stdout, or stderr for errors)."""
    import sys

    (sys.stderr if err else sys.stdout).write(line + "\n")
