"""Shopper-style questions written by code: paraphrases of knowledge-base questions and known-item questions
about catalog products. Deterministic for a given ``random.Random`` seed.

Paraphrases rewrite the question's opening ("How can I …" → "is it possible to …"), swap shop vocabulary for
synonyms, add greetings and fillers, drop punctuation, lower-case and inject an occasional typo — the variation
real shoppers bring — so the responder learns meaning rather than one wording.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from retrieval.responder.training.sources import KbEntry, Product

_OPENINGS: list[tuple[re.Pattern[str], list[str]]] = [
    (
        re.compile(r"^(how (can|do|should|would) i|what is the (way|process) to|how to)\s+", re.I),
        [
            "how do i ",
            "how can i ",
            "what's the way to ",
            "is it possible to ",
            "i want to ",
            "i'd like to ",
            "help me ",
            "can you help me ",
            "what do i do to ",
            "need to ",
            "steps to ",
            "how would i ",
        ],
    ),
    (
        re.compile(r"^(can|may|could) i\s+", re.I),
        ["is it possible to ", "am i able to ", "can i ", "could i ", "is it ok to ", "am i allowed to "],
    ),
    (
        re.compile(r"^(do|does) you\s+", re.I),
        ["do you ", "does your shop ", "does the store ", "do u ", "will you ", "is it true you "],
    ),
    (
        re.compile(r"^what (is|are)( the| your)?\s+", re.I),
        [
            "what's the ",
            "tell me the ",
            "what are the ",
            "i need to know the ",
            "info on the ",
            "explain the ",
        ],
    ),
    (
        re.compile(r"^(how long|when)\s+", re.I),
        ["how long ", "when ", "how many days ", "how soon "],
    ),
    (
        re.compile(r"^(is|are) (there|it)\s+", re.I),
        ["is there ", "are there ", "do you have ", "is it "],
    ),
]

_SYNONYMS: dict[str, list[str]] = {
    "order": ["purchase", "order", "package"],
    "orders": ["purchases", "orders"],
    "cancel": ["cancel", "call off", "stop"],
    "refund": ["refund", "money back", "reimbursement"],
    "return": ["return", "send back"],
    "delivery": ["delivery", "shipping", "shipment"],
    "shipping": ["shipping", "delivery", "postage"],
    "account": ["account", "profile"],
    "password": ["password", "login", "pwd"],
    "track": ["track", "follow", "trace"],
    "item": ["item", "product", "article"],
    "items": ["items", "products", "things"],
    "product": ["product", "item"],
    "buy": ["buy", "purchase", "get"],
    "change": ["change", "modify", "update", "edit"],
    "address": ["address", "adress", "shipping address"],
    "payment": ["payment", "paying"],
    "email": ["email", "e-mail", "mail"],
    "receive": ["receive", "get"],
    "money": ["money", "cash"],
    "invoice": ["invoice", "receipt", "bill"],
    "discount": ["discount", "promo", "coupon"],
    "contact": ["contact", "reach", "talk to"],
    "customer service": ["customer service", "support", "an agent", "a human"],
    "international": ["international", "abroad", "overseas"],
    "exchange": ["exchange", "swap"],
    "size": ["size", "fit"],
    "damaged": ["damaged", "broken", "defective"],
    "wrong": ["wrong", "incorrect"],
}
_GREETINGS = [
    "",
    "",
    "",
    "hi, ",
    "hello ",
    "hey! ",
    "quick question: ",
    "excuse me, ",
    "good morning, ",
    "um ",
]
_FILLERS = ["", "", "", " please", " thanks", " asap", " thank you", " pls", " for me", " - need help"]


def _apply_synonyms(text: str, rng: random.Random, rate: float = 0.5) -> str:
    for word, options in _SYNONYMS.items():
        pattern = re.compile(rf"\b{re.escape(word)}\b", re.I)
        if pattern.search(text) and rng.random() < rate:
            text = pattern.sub(rng.choice(options), text, count=1)
    return text


def _typo(text: str, rng: random.Random) -> str:
    words = text.split()
    candidates = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    operation = rng.random()
    if operation < 0.4:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]  # swap two letters
    elif operation < 0.7:
        w = w[:j] + w[j + 1 :]  # drop a letter
    else:
        w = w[:j] + w[j] + w[j:]  # double a letter
    words[i] = w
    return " ".join(words)


def _surface(text: str, rng: random.Random) -> str:
    text = text.strip()
    if rng.random() < 0.5:
        text = text.rstrip("?.!")
    if rng.random() < 0.5:
        text = text.lower()
    if rng.random() < 0.25:
        text = _typo(text, rng)
    return re.sub(r"\s+", " ", text).strip()


def paraphrase(question: str, rng: random.Random) -> str:
    text = question.strip()
    for pattern, options in _OPENINGS:
        if pattern.search(text):
            text = pattern.sub(rng.choice(options), text, count=1)
            break
    text = _apply_synonyms(text, rng)
    text = (
        rng.choice(_GREETINGS) + text.rstrip("?.! ") + rng.choice(_FILLERS) + rng.choice(["?", "?", "", "."])
    )
    return _surface(text, rng)


def kb_questions(entry: KbEntry, rng: random.Random, n: int, *, include_given: bool = True) -> list[str]:
    """The entry's own paraphrases (when the KB lists some and ``include_given``), then generated ones,
    up to ``n`` distinct, never the entry's main question."""
    seen = {entry.question.lower().strip(), *(p.lower().strip() for p in entry.paraphrases)}
    out: list[str] = list(dict.fromkeys(entry.paraphrases)) if include_given else []
    sources = [entry.question, *entry.paraphrases]
    attempts = 0
    while len(out) < n and attempts < n * 6:
        attempts += 1
        candidate = paraphrase(rng.choice(sources), rng)
        if candidate and candidate.lower() not in seen:
            seen.add(candidate.lower())
            out.append(candidate)
    rng.shuffle(out)
    return out[:n]


# ------------------------------------------------------------------------------------ product questions
_GENDER_WORDS = {"men", "women", "boys", "girls", "unisex", "kids", "man", "woman"}
_STOP = {"and", "with", "&", "of", "the", "a", "in", "for", "-", "set"}


def _noun(product: Product) -> str:
    words = product.title.split()
    if len(words) >= 2 and words[-1].lower() in {
        "bag",
        "set",
        "top",
        "shoes",
        "jeans",
        "shirt",
        "dress",
        "watch",
    }:
        return " ".join(words[-2:]).lower() if words[-2].lower() not in _STOP else words[-1].lower()
    if words:
        return words[-1].lower()
    return (product.category or "item").lower()


def _descriptors(product: Product) -> list[str]:
    skip = {w.lower() for w in product.brand.split()} | _GENDER_WORDS | set(_noun(product).split())
    return [w for w in product.title.split() if w.lower() not in skip and w.lower() not in _STOP]


def _pick(rng: random.Random, words: Sequence[str], low: int, high: int) -> str:
    if not words:
        return ""
    count = min(len(words), rng.randint(low, high))
    chosen = sorted(rng.sample(range(len(words)), count))
    return " ".join(words[i] for i in chosen)


def _description_phrase(product: Product, rng: random.Random) -> str:
    parts = [p.strip() for p in re.split(r"[,.;]", product.description) if 8 <= len(p.strip()) <= 60]
    return rng.choice(parts).lower() if parts else ""


def product_question(product: Product, rng: random.Random) -> str:
    noun = _noun(product)
    brand = product.brand
    colors = [c.strip() for c in (product.color or "").lower().split(",") if c.strip()]
    color = rng.choice(colors) if colors else ""
    gender = product.gender.lower()
    descr = _pick(rng, _descriptors(product), 1, 3).lower()
    sizes = product.attributes.get("sizes") or []
    material = str(product.attributes.get("material", "") or "").lower()
    for_whom = f" for {gender}" if gender and gender != "unisex" and rng.random() < 0.6 else ""
    options = [
        f"do you have the {brand} {descr} {noun}{for_whom}?",
        f"i'm looking for a {color} {noun} from {brand}{for_whom}",
        f"is the {brand} {descr} {noun} in stock?",
        f"how much is the {descr} {noun} by {brand}?",
        f"{brand} {color} {descr} {noun}{for_whom}",
        f"can i buy the {color} {brand} {noun}?",
        f"any {descr} {noun} from {brand}?",
    ]
    phrase = _description_phrase(product, rng)
    if phrase:
        options.append(
            f"{brand} {noun} that {phrase if phrase.startswith(('has', 'is', 'comes')) else 'has ' + phrase}"
        )
        options.append(f"looking for a {color} {noun} with {phrase}")
    if sizes:
        size = str(rng.choice(list(sizes)))
        options.append(f"does the {brand} {descr} {noun} come in size {size}?")
    if material:
        options.append(f"have you got a {material} {noun} by {brand}?")
    text = re.sub(r"\b(\w+) \1\b", r"\1", rng.choice(options))
    if rng.random() < 0.3:
        text = rng.choice(_GREETINGS) + text
    return _surface(re.sub(r"\s+", " ", text), rng)


def product_questions(product: Product, rng: random.Random, n: int) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    attempts = 0
    while len(out) < n and attempts < n * 6:
        attempts += 1
        q = product_question(product, rng)
        if q.lower() not in seen:
            seen.add(q.lower())
            out.append(q)
    return out
