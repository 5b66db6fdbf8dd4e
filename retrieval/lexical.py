"""Lexical tokens for mixed Chinese / English text (BM25 and keyword checks), never whitespace alone.

Latin words and numbers are lower-cased runs (``sd-100042`` stays whole); runs of Han characters are converted to
Simplified (zhconv) and cut into jieba words (default dictionary, loaded once, lazily) plus the run's character
bigrams, so a query matches a document even when jieba cuts the two differently.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Any

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[a-z0-9]+(?:[-_.@][a-z0-9]+)*")
# function words that carry nothing to search for (Chinese particles, pronouns, question words)
STOP_WORDS = frozenset(
    "的 了 吗 呢 吧 啊 呀 么 嘛 哦 哈 哈哈 嗯 我 你 您 他 她 它 我们 你们 他们 是 在 有 和 与 或 也 都 就 还 "
    "这 那 这个 那个 什么 怎么 怎样 如何 可以 能 能不能 可不可以 吗 请 请问 一下 一个 些 个".split()
)
_jieba: Any = None
_lock = threading.Lock()


def _cut(run: str) -> list[str]:
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import logging

                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return [w for w in _jieba.lcut(run) if w.strip()]


def simplified(text: str) -> str:
    """NFKC (full-width → half-width) and Traditional → Simplified Chinese."""
    import zhconv

    return zhconv.convert(unicodedata.normalize("NFKC", text), "zh-cn")


def han_share(text: str) -> float:
    """The share of Han characters among the text's letters (0.0 with no letters)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for ch in letters if HAN.match(ch)) / len(letters)


def tokens(text: str) -> list[str]:
    """Search tokens: Latin words, jieba words and Han bigrams; stop words dropped."""
    text = simplified(text).lower()
    out = _LATIN.findall(text)
    for run in HAN.findall(text):
        out.extend(w for w in _cut(run) if w not in STOP_WORDS)
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
        if len(run) == 1 and run not in STOP_WORDS:
            out.append(run)
    return out


def content_words(text: str) -> list[str]:
    """What a query asks about: its jieba / Latin words without stop words (no bigrams)."""
    text = simplified(text).lower()
    out = [w for w in _LATIN.findall(text) if len(w) > 1]
    for run in HAN.findall(text):
        out.extend(w for w in _cut(run) if w not in STOP_WORDS)
    return out
