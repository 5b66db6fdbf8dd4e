"""A tokenizer for English and Chinese in one message: Rasa's WhitespaceTokenizer plus jieba for Han runs.

- A message without Han characters, Chinese punctuation or full-width forms is tokenized by WhitespaceTokenizer
  itself, so English tokens (text and offsets) are exactly what they were.
- Otherwise the text is first mapped, character for character (offsets do not move), to a working copy:
  Chinese punctuation (，。！？：；、“”（）and friends) → space, full-width ASCII (`＃１０００４２`, `ＳＤ－１`) →
  half-width, and every Han character → space. WhitespaceTokenizer splits that copy, so every run of non-Han
  characters (`SD-100042`, `anna@example.com`, `2`, `iPhone`) is one token, stripped of punctuation exactly as
  in English, even when glued to Chinese (`订单号SD-100042` → `订单号`, `SD-100042`).
- Each run of Han characters is converted to Simplified (zhconv, `zh-hans`) and segmented by jieba 0.42.1
  (`jieba.tokenize`, default dictionary, imported lazily and loaded once per process, when
  the component is created, so the first Chinese message does not wait for it).

Token text is normalised (half-width, Simplified); start and end are always those of the original text, so
entity annotations and extracted values refer to what the shopper wrote.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Dict, List, Optional, Text, Tuple

import regex
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

from rasa_addons.language_rules import half_width

# Punctuation that separates words in Chinese text the way a space does in English (full-width and CJK forms).
# Curly apostrophes are not here: "don’t" stays one word.
CHINESE_PUNCTUATION = "，。！？：；、“”（）《》〈〉【】「」『』〔〕…—～·　"
_HAN = regex.compile(r"\p{Han}+")
# What sends a message down the mixed path: Han, full-width forms, CJK symbols and punctuation (U+3000-U+303F).
# Curly quotes, dashes and ellipses alone do not: phones put them in English text, which WhitespaceTokenizer keeps.
_SPECIAL = regex.compile(r"[\p{Han}\uff01-\uff5e\u3000-\u303f]")
_LETTER_OR_DIGIT = regex.compile(r"[\p{L}\p{N}]")


def _working_char(ch: str) -> str:
    """The one character `ch` stands for in the working copy (same length, so offsets stay put)."""
    if ch in CHINESE_PUNCTUATION or _HAN.fullmatch(ch):
        return " "
    return half_width(ch)


@functools.lru_cache(maxsize=None)
def _jieba() -> Any:
    """jieba's default tokenizer, imported and its dictionary loaded once per process."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.dt


def to_simplified(text: str) -> str:
    """`text` in Simplified characters, the same length (phrase-level zhconv, per character where that differs)."""
    import zhconv

    converted = zhconv.convert(text, "zh-hans")
    if len(converted) == len(text):
        return converted
    singles = [zhconv.convert(ch, "zh-hans") for ch in text]
    return "".join(s if len(s) == 1 else ch for s, ch in zip(singles, text, strict=True))


def segment_han(run: str) -> List[Tuple[str, int, int]]:
    """jieba's words of a run of Han characters as (Simplified word, start, end) within the run."""
    simplified = to_simplified(run)
    return [(word, start, end) for word, start, end in _jieba().tokenize(simplified)]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class MixedTokenizer(WhitespaceTokenizer):
    """WhitespaceTokenizer for English; jieba for runs of Han characters; ids and emails glued to Chinese kept whole."""

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "MixedTokenizer":
        _jieba()  # load the dictionary with the model, not on the first Chinese message a shopper sends
        return cls(config)

    @staticmethod
    def not_supported_languages() -> Optional[List[Text]]:
        return None

    @staticmethod
    def required_packages() -> List[Text]:
        return ["jieba", "zhconv"]

    def remove_emoji(self, text: Text) -> Text:
        """As WhitespaceTokenizer, but a word with letters or digits is kept: Rasa's emoji range runs from U+24C2
        to U+1F251, which holds every kana, Hangul and Han character, so `はどこですか` would vanish."""
        if _LETTER_OR_DIGIT.search(text):
            return text
        return super().remove_emoji(text)

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        text = message.get(attribute)
        if not _SPECIAL.search(text):
            return super().tokenize(message, attribute)
        return self._apply_token_pattern(self.mixed_tokens(text))

    def mixed_tokens(self, text: str) -> List[Token]:
        """Tokens of a text with Chinese in it: whitespace tokens of the non-Han parts, jieba words of the Han."""
        working = "".join(_working_char(ch) for ch in text)
        tokens = [Token(word, start, start + len(word)) for word, start in self._whitespace_words(working)]
        for run in _HAN.finditer(text):
            tokens.extend(
                Token(word, run.start() + start, run.start() + end)
                for word, start, end in segment_han(run.group())
            )
        if not tokens:  # only punctuation or emoji: one token, as WhitespaceTokenizer does
            return [Token(half_width(text), 0, len(text))]
        return sorted(tokens, key=lambda token: token.start)

    def _whitespace_words(self, working: str) -> List[Tuple[str, int]]:
        """WhitespaceTokenizer's words of the working copy with their offsets; none if it found no word."""
        if not working.strip():
            return []
        probe = Message(data={"text": working})
        tokens = super().tokenize(probe, "text")
        if len(tokens) == 1 and tokens[0].text == working and any(ch.isspace() for ch in working):
            return []  # its "no words: the whole text" fallback (a real word has no space in it)
        return [(token.text, token.start) for token in tokens]
