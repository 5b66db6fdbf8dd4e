"""A saved index on disk: reading and checking its ``meta.json``, and the atomic swap of the ``<name>`` symlink
to a freshly written version directory (older versions pruned)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from retrieval.errors import IndexCorruptError, IndexMetaMismatchError, IndexMissingError

FORMAT_VERSION = 1


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    root = Path(path)
    meta_path = root / "meta.json"
    if not meta_path.is_file():
        raise IndexMissingError(root)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(root, f"meta.json unreadable: {exc}") from exc
    if meta.get("format_version") != FORMAT_VERSION:
        raise IndexMetaMismatchError(root, "format_version", FORMAT_VERSION, meta.get("format_version"))
    for name in ("index.faiss", "items.jsonl"):
        if not (root / name).is_file():
            raise IndexCorruptError(root, f"{name} is missing")
    return meta


def check_model(path: str | os.PathLike[str], expected: str) -> None:
    """Refuse the index at ``path`` when ``meta.json`` names another model than ``expected`` (what
    :func:`retrieval.encoder.model_identity` calls the configured encoder); no index there: nothing to check."""
    root = Path(path)
    if not (root / "meta.json").is_file():
        return
    found = read_meta(root).get("model")
    if found != expected:
        raise IndexMetaMismatchError(root, "model", expected, found)


def swap_link(link: Path, target: Path, keep: int = 2) -> None:
    """Point ``link`` at ``target`` atomically (rename of a symlink), then prune older versions."""
    tmp_link = link.parent / f".{link.name}.link.tmp"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(target.name, tmp_link)
    if link.exists() and not link.is_symlink():  # a plain directory from elsewhere: move it aside once
        os.rename(link, link.parent / f"{link.name}.replaced-{int(time.time())}")
    os.replace(tmp_link, link)
    versions = sorted(
        p
        for p in link.parent.glob(f"{link.name}.*")
        if p.is_dir() and not p.name.endswith(".tmp") and p.name[len(link.name) + 1 :][:1].isdigit()
    )
    for old in versions[:-keep]:
        if old.resolve() != target.resolve():
            shutil.rmtree(old, ignore_errors=True)
