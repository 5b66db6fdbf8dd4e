"""Run in Rasa's environment by test_language_components.py: the tokenizer, detector and guard on given texts.

    echo '{"tokenize": [...], "detect": [...], "guard": [...]}' | .venv/rasa/bin/python tests/rasa_addons/language_probe.py

Prints one line `PROBE <json>`:
- `tokens`: for each text of `tokenize`, MixedTokenizer's tokens as [text, start, end];
- `same`: for each text of `same`, whether MixedTokenizer's tokens are WhitespaceTokenizer's;
- `english`: every example of training_data/nlu/*.yml in Latin letters only (no CJK forms), tokenized by WhitespaceTokenizer and
  MixedTokenizer: how many were checked and the ones whose tokens differ (text, start, end or lemma);
- `detected`: for each [text, slot] of `detect`, the entities after LanguageDetector, given a DIET entity
  beforehand and a tracker whose `language` slot is `slot` (no tracker slot at all where `slot` is null);
- `guarded`: for each [text, intent] of `guard`, the intent after LanguageGuard when DIET predicted `intent`
  (ranking: `intent` 0.6, then `track_order` 0.3);
- `pipeline` (when asked): a tiny pipeline with both components, trained into <tmp dir>, loaded with
  Agent.load and parsed through the processor with a tracker, as the server does: the `language` entities seen
  for a conversation that goes en → zh → zh → en, and for the same texts outside a conversation.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import regex  # noqa: E402
from rasa.core.channels import UserMessage  # noqa: E402
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer  # noqa: E402
from rasa.shared.core.events import SlotSet, UserUttered  # noqa: E402
from rasa.shared.core.slots import CategoricalSlot  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402
from rasa.shared.nlu.training_data.loading import load_data  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402

from rasa_addons.language import LanguageDetector, LanguageGuard  # noqa: E402
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


def tracker_with(slot: str | None, earlier_message: bool = False) -> DialogueStateTracker | None:
    if slot is None:
        return None
    language = CategoricalSlot(
        "language",
        mappings=[{"type": "from_entity", "entity": "language"}],
        values=["en", "zh"],
        initial_value="en",
        influence_conversation=False,
    )
    tracker = DialogueStateTracker("probe", [language])
    tracker.update(SlotSet("language", slot))
    if earlier_message:
        tracker.update(UserUttered("hello there", {"name": "greet", "confidence": 1.0}))
    return tracker


def detected(text: str, slot: str | None, page: Any = None, earlier_message: bool = False) -> list[list[Any]]:
    diet = {"entity": "order_id", "value": "SD-100042", "start": 0, "end": 1, "extractor": "DIETClassifier"}
    message = Message(data={TEXT: text, "entities": [diet], "metadata": {"page_language": page}})
    LanguageDetector().process([message], tracker_with(slot, earlier_message))
    return [
        [e["entity"], e["value"], e.get("start"), e.get("end"), e["extractor"]]
        for e in message.get("entities")
    ]


def guarded(text: str, intent: str) -> str:
    ranking = [{"name": intent, "confidence": 0.6}, {"name": "track_order", "confidence": 0.3}]
    message = Message(data={TEXT: text, "intent": dict(ranking[0]), "intent_ranking": ranking})
    LanguageGuard(LanguageGuard.get_default_config()).process([message])
    return str(message.get("intent")["name"])


PIPELINE = """recipe: default.v1
language: en
pipeline:
  - name: rasa_addons.tokenizer.MixedTokenizer
  - name: CountVectorsFeaturizer
  - name: DIETClassifier
    epochs: 5
    random_seed: 1
  - name: rasa_addons.language.LanguageDetector
  - name: rasa_addons.language.LanguageGuard
"""
NLU = """version: "3.1"
nlu:
- intent: track_order
  examples: |
    - where is my order [SD-100042](order_id)
    - track my package
    - 我的订单[SD-100042](order_id)在哪里
    - 查一下物流
- intent: greet
  examples: |
    - hello there
    - good morning
    - 你好
    - 早上好
"""
CONVERSATION = ["where is my order SD-100042", "我的订单在哪里", "查一下SD-100042", "where is my package now"]


async def pipeline() -> dict[str, Any]:
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    tmp = Path(tempfile.mkdtemp(prefix="language-probe-"))
    (tmp / "config.yml").write_text(PIPELINE)
    (tmp / "nlu.yml").write_text(NLU)
    model = train_nlu(str(tmp / "config.yml"), str(tmp / "nlu.yml"), str(tmp / "models"))
    agent = Agent.load(model)
    tracker = tracker_with("en")
    assert tracker is not None
    in_conversation, outside = [], []
    for text in CONVERSATION:
        parsed = await agent.processor.parse_message(UserMessage(text), tracker)  # type: ignore[union-attr]
        found = [e["value"] for e in parsed["entities"] if e["entity"] == "language"]
        in_conversation.append(found)
        for value in found:
            tracker.update(SlotSet("language", value))
        alone = await agent.parse_message(text)
        outside.append([e["value"] for e in alone["entities"] if e["entity"] == "language"])
    return {"in_conversation": in_conversation, "outside": outside}


def main(request: dict[str, Any]) -> dict[str, Any]:
    mixed = MixedTokenizer(MixedTokenizer.get_default_config())
    result: dict[str, Any] = {
        "tokens": {text: [t[:3] for t in tokens_of(mixed, text)] for text in request.get("tokenize", [])}
    }
    result["detected"] = {f"{text}|{slot}": detected(text, slot) for text, slot in request.get("detect", [])}
    result["paged"] = [
        [e[1] for e in detected(text, slot, page, earlier)[1:]]
        for text, slot, page, earlier in request.get("paged", [])
    ]
    result["guarded"] = {
        f"{text}|{intent}": guarded(text, intent) for text, intent in request.get("guard", [])
    }
    plain = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    result["same"] = {
        text: tokens_of(plain, text) == tokens_of(mixed, text) for text in request.get("same", [])
    }
    if request.get("english"):
        result["english"] = english_guard(mixed)
    if request.get(
        "pipeline"
    ):  # last: training and loading a model leave nothing behind for the checks above
        result["pipeline"] = asyncio.run(pipeline())
    return result


if __name__ == "__main__":
    logging.disable(logging.WARNING)
    print("PROBE " + json.dumps(main(json.load(sys.stdin)), ensure_ascii=False))
