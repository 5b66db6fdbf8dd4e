"""The NLU components that track the shopper's language (rules: rasa_addons/language_rules.py).

- `LanguageDetector` (an entity extractor, after DIETClassifier) adds the entity `language` (`en` or `zh`,
  spanning the message) when the message makes its language clear *and* it differs from the conversation's
  `language` slot, which the `from_entity` mapping then sets. The slot therefore changes exactly as if the entity
  were sent with every clear message, while an English conversation carries no extra entity. Outside a
  conversation (`/model/parse`, `rasa test`, the NLU benchmark: the tracker has no `language` slot) it adds
  nothing, so conversation tests and NLU evaluation see only the entities they annotate. A first message
  without a verdict (an order number alone on the Chinese shop page) takes the page's language, which the widget
  sends as `metadata.page_language`.
- `LanguageGuard` (an intent classifier, after the detector) sets the intent `non_english` (confidence 1.0) for
  a message in a script other than Latin and Han (kana ⇒ Japanese even with kanji, Hangul, Cyrillic, Arabic,
  Thai, …), so the dialogue answers it in English and Chinese instead of guessing from meaningless features.
  Latin-script languages (Spanish, German, …) are left to the classifier, which learns them from examples. A
  Chinese message, or an explicit request for English or Chinese, never keeps `non_english`: the guard gives it
  the classifier's next-best intent.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from rasa_addons.language_rules import (
    EN,
    ZH,
    detect_language,
    is_unsupported,
    page_language,
    requested_language,
    script_counts,
)

LANGUAGE = "language"  # the entity and the slot (domain/language.yml)
METADATA = "metadata"  # the user message's metadata, as Rasa's NLU message converter passes it
PAGE_LANGUAGE = "page_language"  # set by the widget (bot/static/widget.js) on every message
LANGUAGES = (EN, ZH)


def conversation_language(tracker: Optional[DialogueStateTracker]) -> Optional[str]:
    """The conversation's `language` slot (`en` when unset), or None outside a conversation."""
    # dict.get: a tracker made without a domain (processor.parse_message(message) alone) has an AnySlotDict,
    # which claims to hold every slot and makes one up on `[]`.
    slot = tracker.slots.get(LANGUAGE) if tracker is not None else None
    if slot is None:
        return None
    return slot.value if slot.value in LANGUAGES else EN


def _first_message(tracker: Optional[DialogueStateTracker]) -> bool:
    """No user message in the conversation before this one (the tracker does not hold it yet)."""
    return tracker is not None and not any(isinstance(event, UserUttered) for event in tracker.events)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class LanguageDetector(GraphComponent, EntityExtractorMixin):
    """Adds the entity `language` when a message switches the conversation to English or Chinese."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LanguageDetector":
        return cls()

    def process(
        self, messages: List[Message], tracker: Optional[DialogueStateTracker] = None
    ) -> List[Message]:
        current = conversation_language(tracker)
        if current is None:
            return messages
        for message in messages:
            text = message.get(TEXT) or ""
            detected = None if text.startswith("/") else detect_language(text)
            if detected is None and text and not text.startswith("/") and _first_message(tracker):
                metadata = message.get(METADATA)
                detected = page_language(metadata.get(PAGE_LANGUAGE) if isinstance(metadata, dict) else None)
            if detected is None or detected == current:
                continue
            entity = {
                ENTITY_ATTRIBUTE_TYPE: LANGUAGE,
                ENTITY_ATTRIBUTE_VALUE: detected,
                ENTITY_ATTRIBUTE_START: 0,
                ENTITY_ATTRIBUTE_END: len(text),
                ENTITY_ATTRIBUTE_CONFIDENCE: 1.0,
                EXTRACTOR: self.name,
            }
            message.set(ENTITIES, [*(message.get(ENTITIES) or []), entity], add_to_output=True)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class LanguageGuard(GraphComponent, IntentClassifier):
    """`non_english` for scripts other than Latin and Han; never for Chinese or a request for en/zh."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent": "non_english", "min_letters": 2}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.intent = str(config["intent"])
        self.min_letters = int(config["min_letters"])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LanguageGuard":
        return cls(config)

    def is_foreign(self, text: str) -> bool:
        return is_unsupported(script_counts(text), self.min_letters)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if self.is_foreign(text):
                prediction = {INTENT_NAME_KEY: self.intent, PREDICTED_CONFIDENCE_KEY: 1.0}
                message.data[INTENT] = prediction
                message.data[INTENT_RANKING_KEY] = [prediction]
            elif (message.get(INTENT) or {}).get(INTENT_NAME_KEY) == self.intent and (
                detect_language(text) == ZH or requested_language(text) is not None
            ):
                self._demote(message)
        return messages

    def _demote(self, message: Message) -> None:
        """Replace `non_english` by the classifier's next-best intent (left as it is when there is none)."""
        ranking = [
            dict(entry)
            for entry in message.get(INTENT_RANKING_KEY) or []
            if entry.get(INTENT_NAME_KEY) != self.intent
        ]
        if not ranking:
            return
        message.data[INTENT] = {
            INTENT_NAME_KEY: ranking[0][INTENT_NAME_KEY],
            PREDICTED_CONFIDENCE_KEY: ranking[0].get(PREDICTED_CONFIDENCE_KEY, 0.0),
        }
        message.data[INTENT_RANKING_KEY] = ranking
