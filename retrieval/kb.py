"""The shop's knowledge base (``training_data/kb/*.yml``) as index records.

Each entry is embedded several times — once per shopper question and once as title + answer — under ids
``<entry>#q<n>`` / ``<entry>#a``; searches fold the hits back to one per entry (the best-scoring vector wins).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.errors import CatalogError


@dataclass(frozen=True)
class KbEntry:
    id: str
    topic: str
    title: str
    questions: tuple[str, ...]
    answer: str

    def passage(self) -> str:
        """The text a re-ranker scores (question-style title, then the answer)."""
        return f"{self.title}. {self.answer}"


def load_kb(kb_dir: str | Path) -> list[KbEntry]:
    import yaml

    root = Path(kb_dir)
    if not root.is_dir():
        raise CatalogError(root, "knowledge-base folder not found")
    entries: list[KbEntry] = []
    seen: dict[str, Path] = {}
    for path in sorted(root.glob("*.y*ml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise CatalogError(path, f"cannot read: {exc}") from exc
        topic = str(data.get("topic", path.stem))
        for number, raw in enumerate(data.get("entries", []), start=1):
            for key in ("id", "title", "answer"):
                if not raw.get(key):
                    raise CatalogError(path, f"missing {key}", row=number, field=key)
            entry_id = str(raw["id"])
            if entry_id in seen:
                raise CatalogError(
                    path, f"duplicate id {entry_id!r} (also in {seen[entry_id]})", row=number, field="id"
                )
            seen[entry_id] = path
            entries.append(
                KbEntry(
                    entry_id,
                    str(raw.get("topic", topic)),
                    str(raw["title"]).strip(),
                    tuple(str(q).strip() for q in raw.get("questions", []) if str(q).strip()),
                    str(raw["answer"]).strip(),
                )
            )
    if not entries:
        raise CatalogError(root, "the knowledge base has 0 entries")
    return entries


def kb_records(entries: Iterable[KbEntry]) -> list[dict[str, Any]]:
    records = []
    for entry in entries:
        base = {"entry_id": entry.id, "topic": entry.topic, "title": entry.title, "answer": entry.answer}
        for n, question in enumerate(entry.questions):
            records.append({**base, "id": f"{entry.id}#q{n}", "text": question})
        records.append({**base, "id": f"{entry.id}#a", "text": f"{entry.title}. {entry.answer}"})
    return records


def fold_entries(hits: Iterable[Any]) -> list[Any]:
    """Keep the best hit per knowledge-base entry, in score order."""
    best: dict[str, Any] = {}
    for hit in hits:
        key = hit.item.get("entry_id", hit.id)
        if key not in best or hit.score > best[key].score:
            best[key] = hit
    return sorted(best.values(), key=lambda h: -h.score)


def records_checksum(records: Iterable[Mapping[str, Any]]) -> str:
    digest = hashlib.sha256()
    for record in records:
        digest.update(repr(sorted(record.items())).encode("utf-8"))
    return digest.hexdigest()
