"""An NLU component that recognises messages in a language the assistant does not speak yet.

The assistant speaks English (Chinese is next). A message whose letters are mostly outside the Latin script
— Chinese, Japanese, Korean, Cyrillic, Arabic, … — gets the intent `non_english` with confidence 1.0, so the
dialogue answers it clearly (in English and Chinese) instead of guessing an intent from meaningless
character n-grams. Messages without letters (emoji, digits, an order number) are left to the classifier.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from rasa_addons.checks import is_foreign_script


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class LanguageGuard(GraphComponent, IntentClassifier):
    """Sets `intent` to `non_english` for messages written mostly in a non-Latin script."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent": "non_english", "min_latin_share": 0.5, "min_letters": 2}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.intent = str(config["intent"])
        self.min_latin_share = float(config["min_latin_share"])
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
        return is_foreign_script(text, self.min_latin_share, self.min_letters)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if not self.is_foreign(message.get(TEXT) or ""):
                continue
            prediction = {INTENT_NAME_KEY: self.intent, PREDICTED_CONFIDENCE_KEY: 1.0}
            message.data[INTENT] = prediction
            message.data[INTENT_RANKING_KEY] = [prediction]
        return messages
