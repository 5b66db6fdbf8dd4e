"""Run in Rasa's environment by test_language_components.py: the tokenizer, detector and guard on given texts.

    echo '{"tokenize": [...], "detect": [...], "guard": [...]}' | .venv/rasa/bin/python tests/rasa_addons/language_probe.py

Prints one line `PROBE <json>`:
- `tokens`: for each text of `tokenize`, MixedTokenizer's tokens as [text, start, end];
- `english`: every example of training_data/nlu/*.yml in Latin letters only (no CJK forms), tokenized by WhitespaceTokenizer and
  MixedTokenizer: how many were checked and the ones whose tokens differ (text, start, end or lemma);
- `detected`: for each text of `detect`, the `language` entities LanguageDetector adds (after the tokenizer),
  and whether an entity given beforehand survived;
- `guarded`: for each text of `guard`, the intent after LanguageGuard (null where it left the message alone).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import regex  # noqa: E402
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer  # noqa: E402
from rasa.shared.nlu.training_data.loading import load_data  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402

from rasa_addons.tokenizer import MixedTokenizer  # noqa: E402

TEXT = "text"
NOT_ENGLISH = regex.compile(
    r"[^\P{L}\p{Latin}]|[\uff01-\uff5e\u3000-\u303f“”]"
)  # a non-Latin letter, CJK forms


def tokens_of(tokenizer: Any, text: str) -> list[list[Any]]:
    return [[t.text, t.start, t.end, t.lemma] for t in tokenizer.tokenize(Message(data={TEXT: text}), TEXT)]


def english_guard(mixed: MixedTokenizer) -> dict[str, Any]:
    plain = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    checked, skipped, differences = 0, 0, []
    for path in sorted((ROOT / "training_data" / "nlu").glob("*.yml")):
        for example in load_data(str(path)).training_examples:
            text = example.get(TEXT)
            if not text:
                continue
            if NOT_ENGLISH.search(text):
                skipped += 1
                continue
            checked += 1
            if tokens_of(plain, text) != tokens_of(mixed, text):
                differences.append(text)
    return {"checked": checked, "skipped": skipped, "differences": differences[:20]}


def main(request: dict[str, Any]) -> dict[str, Any]:
    mixed = MixedTokenizer(MixedTokenizer.get_default_config())
    result: dict[str, Any] = {
        "tokens": {text: [t[:3] for t in tokens_of(mixed, text)] for text in request.get("tokenize", [])}
    }
    if request.get("english"):
        result["english"] = english_guard(mixed)
    return result


if __name__ == "__main__":
    logging.disable(logging.WARNING)
    print("PROBE " + json.dumps(main(json.load(sys.stdin)), ensure_ascii=False))
