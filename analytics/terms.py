"""Readable theme labels: words of a text (English regex, Chinese jieba; stop words dropped) and class-based
TF-IDF (c-TF-IDF, as BERTopic: a cluster's texts are one document; weight = tf(t, c) * log(1 + A / f(t)), A the
mean word count per cluster, f(t) the term's count over all clusters).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

_WORD = re.compile(r"[a-z][a-z'-]+")
_HAN = re.compile(r"[\u4e00-\u9fff]")
# Chinese function words and the shop's filler (jieba keeps them as words).
ZH_STOP = frozenset(
    "的 了 是 我 你 他 她 它 们 我们 你们 在 也 就 都 而 及 与 和 或 一个 没有 不是 这个 那个 这 那 有 吗 呢 吧 啊 呀 "
    "很 太 还 又 再 但是 但 而且 因为 所以 如果 就是 什么 怎么 为什么 可以 能 会 要 想 让 给 被 把 对 从 到 说 "
    "一下 一点 已经 还是 真的 非常 现在 今天 里面 东西 这样 那么 自己 时候 然后 不 没 好".split()
)
SHOP_STOP = frozenset(
    {"please", "order", "orders", "hi", "hello", "thanks", "thank", "just", "really", "got"}
)


def _english_stop() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | SHOP_STOP


def words(text: str, language: str) -> list[str]:
    """The content words of ``text``: jieba's words for Chinese (Han characters), lower-case words for English."""
    if language == "zh" or _HAN.search(text):
        import jieba

        tokens = [t.strip().lower() for t in jieba.lcut(text)]
        english = _english_stop()
        return [
            t
            for t in tokens
            if t
            and t not in ZH_STOP
            and t not in english
            and (len(t) > 1 or _HAN.match(t) is None)
            and (_HAN.search(t) or _WORD.fullmatch(t))
        ]
    stop = _english_stop()
    return [w.strip("'-") for w in _WORD.findall(text.lower()) if w.strip("'-") not in stop and len(w) > 2]


def class_tfidf(clusters: Sequence[Sequence[str]], language: str, top: int = 3) -> list[list[str]]:
    """The ``top`` terms of each cluster (a cluster: its texts) by c-TF-IDF; ties broken alphabetically."""
    counts = [Counter(w for text in texts for w in words(text, language)) for texts in clusters]
    overall: Counter[str] = Counter()
    for count in counts:
        overall.update(count)
    mean_words = sum(overall.values()) / max(1, len(clusters))
    labels = []
    for count in counts:
        total = sum(count.values()) or 1
        scored = {t: (n / total) * math.log(1 + mean_words / overall[t]) for t, n in count.items()}
        labels.append([t for t, _ in sorted(scored.items(), key=lambda item: (-item[1], item[0]))[:top]])
    return labels
