"""Calibration: map raw cross-encoder logits to probabilities that mean something on dev.

Platt scaling ``p = sigmoid(a * logit + b)`` with ``a > 0`` (so it is monotone: a higher logit never gets a
lower probability), fitted by Newton's method on the dev pairs (label 1 for the right candidate, 0 otherwise).
With ``b = 0`` it is temperature scaling with ``T = 1 / a``.

:class:`Fusion` is the same with a second input, the bi-encoder's cosine for the pair (the retrieval score the
candidate came with): ``p = sigmoid(a * logit + c * cosine + b)`` with ``a > 0, c >= 0`` — monotone in both.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

MIN_SLOPE = 1e-3


@dataclass(frozen=True)
class Calibration:
    slope: float = 1.0
    bias: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.slope) and math.isfinite(self.bias)) or self.slope <= 0:
            raise ValueError(f"calibration needs a finite positive slope and a finite bias, got {self}")

    def __call__(self, logits: np.ndarray) -> np.ndarray:
        z = self.slope * np.asarray(logits, dtype="float64") + self.bias
        return (1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))).astype("float32")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(slope=float(data["slope"]), bias=float(data["bias"]))


def fit_platt(
    logits: np.ndarray, labels: np.ndarray, *, iterations: int = 100, l2: float = 1e-4
) -> Calibration:
    """Logistic regression of ``labels`` on ``logits`` (two parameters), lightly regularised."""
    x = np.asarray(logits, dtype="float64").ravel()
    y = np.asarray(labels, dtype="float64").ravel()
    if x.size == 0 or y.min() == y.max():
        return Calibration()
    design = np.stack([x, np.ones_like(x)], axis=1)

    def loss(w: np.ndarray) -> float:
        z = design @ w
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * w @ w)

    w = np.zeros(2)  # Newton's method with backtracking (plain Newton can diverge on logistic losses)
    current = loss(w)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -60, 60)))
        grad = design.T @ (p - y) + l2 * w
        hess = (design * (p * (1 - p))[:, None]).T @ design + l2 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-6 and loss(w - scale * step) > current:
            scale /= 2
        w = w - scale * step
        previous, current = current, loss(w)
        if abs(previous - current) < 1e-10 * max(1.0, abs(current)):
            break
    slope = float(w[0]) if np.isfinite(w[0]) and w[0] > MIN_SLOPE else MIN_SLOPE
    bias = float(w[1]) if np.isfinite(w[1]) else 0.0
    return Calibration(slope=slope, bias=bias)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    p = np.asarray(probs, dtype="float64").ravel()
    y = np.asarray(labels, dtype="float64").ravel()
    if p.size == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return float(ece)


@dataclass(frozen=True)
class Fusion:
    """Calibrated fusion of the cross-encoder logit with the bi-encoder cosine (``prior``)."""

    w_logit: float = 1.0
    w_prior: float = 0.0
    bias: float = 0.0

    def __post_init__(self) -> None:
        values = (self.w_logit, self.w_prior, self.bias)
        if not all(math.isfinite(v) for v in values) or self.w_logit <= 0 or self.w_prior < 0:
            raise ValueError(f"fusion needs finite weights with w_logit > 0 and w_prior >= 0, got {self}")

    @property
    def uses_prior(self) -> bool:
        return self.w_prior > 0

    def logit(self, logits: np.ndarray, prior: np.ndarray | None = None) -> np.ndarray:
        z = self.w_logit * np.asarray(logits, dtype="float64") + self.bias
        if self.uses_prior and prior is not None:
            z = z + self.w_prior * np.asarray(prior, dtype="float64")
        return z

    def __call__(self, logits: np.ndarray, prior: np.ndarray | None = None) -> np.ndarray:
        z = self.logit(logits, prior)
        return (1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))).astype("float32")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fusion:
        return cls(w_logit=float(data["w_logit"]), w_prior=float(data["w_prior"]), bias=float(data["bias"]))


def _logistic(features: np.ndarray, y: np.ndarray, *, iterations: int = 100, l2: float = 1e-4) -> np.ndarray:
    """Weights (one per feature, then the bias) of an L2-regularised logistic regression."""
    design = np.concatenate([features, np.ones((len(features), 1))], axis=1)

    def loss(w: np.ndarray) -> float:
        z = design @ w
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * w @ w)

    w = np.zeros(design.shape[1])
    current = loss(w)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -60, 60)))
        grad = design.T @ (p - y) + l2 * w
        hess = (design * (p * (1 - p))[:, None]).T @ design + l2 * np.eye(design.shape[1])
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-6 and loss(w - scale * step) > current:
            scale /= 2
        w = w - scale * step
        previous, current = current, loss(w)
        if abs(previous - current) < 1e-10 * max(1.0, abs(current)):
            break
    return w


def fit_fusion(logits: np.ndarray, prior: np.ndarray | None, labels: np.ndarray) -> Fusion:
    """Fit ``a, c, b``. When the prior would get a negative weight (or there is none) it is left out; when the
    logit would (the prior alone ranks better), the logit keeps the smallest positive weight, so the map stays
    monotone in it without overriding the prior."""
    x = np.asarray(logits, dtype="float64").ravel()
    y = np.asarray(labels, dtype="float64").ravel()
    if x.size == 0 or y.min() == y.max():
        return Fusion()
    if prior is not None:
        w = _logistic(np.stack([x, np.asarray(prior, dtype="float64").ravel()], axis=1), y)
        if np.all(np.isfinite(w)) and w[1] >= 0:
            return Fusion(max(float(w[0]), MIN_SLOPE), float(w[1]), float(w[2]))
    single = fit_platt(x, y)
    return Fusion(single.slope, 0.0, single.bias)


def one_hot_labels(scores: list[np.ndarray], positives: list[int]) -> np.ndarray:
    """All groups' candidates flattened: 1 for each group's right candidate (``positives[i]``, -1: none), else 0."""
    if not scores:
        return np.zeros(0)
    return np.concatenate(
        [np.eye(len(s))[p] if p >= 0 else np.zeros(len(s)) for s, p in zip(scores, positives, strict=True)]
    )


MIN_GROUPS_PER_KIND = (
    10  # dev questions (with the right answer among the candidates) a kind needs for its own fit
)


@dataclass(frozen=True)
class FusionByKind:
    """One :class:`Fusion` per candidate pool (``kb``, ``product``) and one over all of dev (``all``).

    The pools' retrieval scores differ: a knowledge-base entry is found by its example questions too, so its
    cosine is a strong signal; a product only by its description. Each pool gets the weights fitted on its own
    dev questions (when it has at least ``MIN_GROUPS_PER_KIND``); an unknown kind gets ``all``.
    """

    default: Fusion
    by_kind: tuple[tuple[str, Fusion], ...] = ()

    def for_kind(self, kind: str | None) -> Fusion:
        return dict(self.by_kind).get(kind or "", self.default)

    def to_dict(self) -> dict[str, Any]:
        return {"all": self.default.to_dict(), **{k: f.to_dict() for k, f in self.by_kind}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FusionByKind:
        if "w_logit" in data:  # a checkpoint from before per-kind fits: one fusion for everything
            return cls(Fusion.from_dict(data))
        return cls(
            Fusion.from_dict(data["all"]),
            tuple((k, Fusion.from_dict(v)) for k, v in sorted(data.items()) if k != "all"),
        )


def fit_fusion_by_kind(
    logits: list[np.ndarray],
    priors: list[np.ndarray] | None,
    positives: list[int],
    kinds: list[str],
) -> FusionByKind:
    """Per-group score arrays (``positives[i]``: the right candidate's index, -1 when it is missing) → a fit over
    everything plus one per kind with enough dev questions."""

    def fit(rows: list[int]) -> Fusion:
        scores = [logits[i] for i in rows]
        prior = None if priors is None else np.concatenate([priors[i] for i in rows])
        return fit_fusion(np.concatenate(scores), prior, one_hot_labels(scores, [positives[i] for i in rows]))

    everything = list(range(len(logits)))
    if not everything:
        return FusionByKind(Fusion())
    by_kind = []
    for kind in sorted(set(kinds)):
        rows = [i for i in everything if kinds[i] == kind]
        if sum(positives[i] >= 0 for i in rows) >= MIN_GROUPS_PER_KIND:
            by_kind.append((kind, fit(rows)))
    return FusionByKind(fit(everything), tuple(by_kind))
