"""The responder's training data on disk: passages, train and dev groups, and a manifest.

Layout of ``--out`` (written atomically, described by ``manifest.json``)::

    passages.jsonl   {id, text, kind ("kb"|"product"), source, split ("train"|"dev")}
    train.jsonl      {qid, query, answer_id, kind, origin, candidates: [ids], scores: [bi-encoder cosine]}
    dev.jsonl        the same for dev questions; candidates are the bi-encoder's top-k over the whole pool
    manifest.json    inputs and their checksums, generator settings, counts, data_checksum

The dev split is by answer: a passage is in train or dev, never both, and training groups never mention a dev
passage (not even as a negative).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from retrieval.responder.errors import TrainingDataError

FORMAT_VERSION = 1
DATA_FILES = ("passages.jsonl", "train.jsonl", "dev.jsonl")


@dataclass(frozen=True)
class Passage:
    id: str
    text: str
    kind: str
    source: str
    split: str


@dataclass(frozen=True)
class Group:
    qid: str
    query: str
    answer_id: str
    kind: str
    origin: str
    candidates: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    @property
    def positive_index(self) -> int:
        """Index of the right answer among the candidates, -1 when retrieval missed it."""
        try:
            return self.candidates.index(self.answer_id)
        except ValueError:
            return -1


@dataclass
class Dataset:
    passages: dict[str, Passage]
    train: list[Group]
    dev: list[Group]
    manifest: dict[str, Any]

    def text(self, passage_id: str) -> str:
        return self.passages[passage_id].text


def sha256_files(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")


def write_dataset(
    out: Path,
    passages: Iterable[Passage],
    train: Iterable[Group],
    dev: Iterable[Group],
    manifest: Mapping[str, Any],
) -> dict[str, Any]:
    """Write into a temporary sibling folder, then swap it in; returns the final manifest."""
    import shutil

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    _write_jsonl(tmp / "passages.jsonl", (asdict(p) for p in passages))
    _write_jsonl(tmp / "train.jsonl", (asdict(g) for g in train))
    _write_jsonl(tmp / "dev.jsonl", (asdict(g) for g in dev))
    final = {
        **manifest,
        "format_version": FORMAT_VERSION,
        "data_checksum": sha256_files(tmp / name for name in DATA_FILES),
    }
    (tmp / "manifest.json").write_text(json.dumps(final, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    old = out.parent / f".{out.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return final


def read_manifest(data_dir: Path) -> dict[str, Any]:
    path = data_dir / "manifest.json"
    if not path.is_file():
        raise TrainingDataError(
            data_dir, "no manifest.json (build it with `python -m retrieval.responder.training.build_data`)"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TrainingDataError(data_dir, f"manifest.json unreadable ({exc})") from exc


def read_dataset(data_dir: Path, *, verify: bool = True) -> Dataset:
    manifest = read_manifest(data_dir)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise TrainingDataError(
            data_dir, f"format_version {manifest.get('format_version')!r}, expected {FORMAT_VERSION}"
        )
    missing = [name for name in DATA_FILES if not (data_dir / name).is_file()]
    if missing:
        raise TrainingDataError(data_dir, f"missing {', '.join(missing)}")
    if verify and sha256_files(data_dir / name for name in DATA_FILES) != manifest.get("data_checksum"):
        raise TrainingDataError(
            data_dir, "files do not match the data_checksum in manifest.json; rebuild with --force"
        )

    def rows(name: str) -> list[dict[str, Any]]:
        with (data_dir / name).open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    passages = {p["id"]: Passage(**p) for p in rows("passages.jsonl")}
    train = [Group(**g) for g in rows("train.jsonl")]
    dev = [Group(**g) for g in rows("dev.jsonl")]
    if not train or not dev:
        raise TrainingDataError(
            data_dir, f"{len(train)} train and {len(dev)} dev questions; both must be non-empty"
        )
    unknown = {c for g in [*train, *dev] for c in [g.answer_id, *g.candidates] if c not in passages}
    if unknown:
        raise TrainingDataError(data_dir, f"groups mention unknown passage ids, e.g. {sorted(unknown)[0]!r}")
    return Dataset(passages, train, dev, manifest)
