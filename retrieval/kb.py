"""The shop's knowledge base (``training_data/kb/*.yml``) as index records, in English and Chinese.

Each entry carries its English text (``title``, ``questions``, ``answer``) and a ``zh:`` block with the same three
fields in Simplified Chinese; an entry without its Chinese text fails the load, naming the file and the entry.
Each entry is embedded several times — once per shopper question and once as title + answer — under ids
``<entry>#q<n>`` / ``<entry>#a`` (English) and ``<entry>#zh-q<n>`` / ``<entry>#zh-a`` (Chinese); searches fold the
hits back to one per entry (the best-scoring vector wins). Every record's payload carries both languages' title
and answer, so an answer can be given in the conversation's language whichever text matched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrieval.errors import CatalogError

LANGUAGES = ("en", "zh")
TRANSLATED = (
    "zh",
)  # the languages an entry carries as a block of its own (`zh: {title, questions, answer}`)
MIN_QUESTIONS = 3  # example questions each translation needs


@dataclass(frozen=True)
class KbText:
    """One language's text of an entry."""

    title: str
    questions: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class KbEntry:
    id: str
    topic: str
    title: str
    questions: tuple[str, ...]
    answer: str
    translations: Mapping[str, KbText] = field(default_factory=dict)

    def passage(self) -> str:
        """The text a re-ranker scores (question-style title, then the answer)."""
        return f"{self.title}. {self.answer}"

    def text(self, language: str) -> KbText:
        """The entry's title, questions and answer in ``language`` ("en" or a translated language)."""
        if language == "en":
            return KbText(self.title, self.questions, self.answer)
        if language not in self.translations:
            raise KeyError(
                f"kb entry {self.id!r} has no {language!r} text (has: en, {', '.join(self.translations)})"
            )
        return self.translations[language]


def _translation(path: Path, number: int, entry_id: str, raw: Any, language: str) -> KbText:
    where = f"entry {entry_id!r} needs a {language}: block with title, questions and answer"
    if not isinstance(raw, Mapping):
        raise CatalogError(path, f"{where} (found {type(raw).__name__})", row=number, field=language)
    for key in ("title", "answer"):
        if not str(raw.get(key) or "").strip():
            raise CatalogError(
                path, f"{where}; {language}.{key} is missing", row=number, field=f"{language}.{key}"
            )
    questions = tuple(str(q).strip() for q in raw.get("questions") or [] if str(q).strip())
    if len(questions) < MIN_QUESTIONS:
        raise CatalogError(
            path,
            f"entry {entry_id!r} has {len(questions)} {language} questions; at least {MIN_QUESTIONS} are needed",
            row=number,
            field=f"{language}.questions",
        )
    return KbText(str(raw["title"]).strip(), questions, str(raw["answer"]).strip())


def load_kb(kb_dir: str | Path, languages: Sequence[str] = LANGUAGES) -> list[KbEntry]:
    """Every entry of ``kb_dir/*.yml``; each must carry the text of every language in ``languages`` (the
    English-only responder training passes ``("en",)``)."""
    import yaml

    required = [lang for lang in languages if lang in TRANSLATED]
    unknown = sorted(set(languages) - set(LANGUAGES))
    if unknown:
        raise ValueError(f"unknown knowledge-base language(s) {unknown}; known: {list(LANGUAGES)}")
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
            translations = {
                lang: _translation(path, number, entry_id, raw.get(lang), lang)
                for lang in TRANSLATED
                if lang in required or raw.get(lang) is not None
            }
            entries.append(
                KbEntry(
                    entry_id,
                    str(raw.get("topic", topic)),
                    str(raw["title"]).strip(),
                    tuple(str(q).strip() for q in raw.get("questions", []) if str(q).strip()),
                    str(raw["answer"]).strip(),
                    translations,
                )
            )
    if not entries:
        raise CatalogError(root, "the knowledge base has 0 entries")
    return entries


def _suffix(language: str) -> str:
    return "" if language == "en" else f"{language}-"


def kb_records(entries: Iterable[KbEntry], languages: Sequence[str] = ("en",)) -> list[dict[str, Any]]:
    """Index records: the questions and title + answer of each entry in each of ``languages``.

    The English records (ids ``<entry>#q<n>``, ``<entry>#a``) are what the English index holds; the multilingual
    index adds the Chinese ones (``<entry>#zh-q<n>``, ``<entry>#zh-a``). Every payload carries ``title`` /
    ``answer`` (English) and ``title_<lang>`` / ``answer_<lang>`` for each translation, and the ``language`` of
    its ``text``.
    """
    records = []
    for entry in entries:
        base: dict[str, Any] = {
            "entry_id": entry.id,
            "topic": entry.topic,
            "title": entry.title,
            "answer": entry.answer,
        }
        for lang, text in sorted(entry.translations.items()):
            base[f"title_{lang}"] = text.title
            base[f"answer_{lang}"] = text.answer
        for lang in languages:
            text = entry.text(lang)
            tag = _suffix(lang)
            for n, question in enumerate(text.questions):
                records.append({**base, "id": f"{entry.id}#{tag}q{n}", "text": question, "language": lang})
            records.append(
                {**base, "id": f"{entry.id}#{tag}a", "text": f"{text.title}. {text.answer}", "language": lang}
            )
    return records


def localized(item: Mapping[str, Any], key: str, language: str) -> str:
    """An entry payload's ``title`` or ``answer`` in ``language`` (English when it has no such translation)."""
    if language != "en" and item.get(f"{key}_{language}"):
        return str(item[f"{key}_{language}"])
    return str(item[key])


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
