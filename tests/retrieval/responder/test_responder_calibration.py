from __future__ import annotations

import numpy as np
import pytest

from retrieval.responder.calibration import Calibration, expected_calibration_error, fit_platt


def _synthetic(slope: float, bias: float, n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 3.0, n)
    p = 1 / (1 + np.exp(-(slope * logits + bias)))
    return logits, (rng.random(n) < p).astype(float)


def test_calibration_is_monotone() -> None:
    logits, labels = _synthetic(0.4, -1.0)
    calibration = fit_platt(logits, labels)
    grid = np.linspace(-30, 30, 1001)
    probs = calibration(grid)
    assert np.all(np.diff(probs) >= 0)
    assert probs[0] < 0.01 < 0.99 < probs[-1]


def test_fit_recovers_the_true_mapping() -> None:
    logits, labels = _synthetic(0.4, -1.0)
    calibration = fit_platt(logits, labels)
    assert calibration.slope == pytest.approx(0.4, abs=0.08)
    assert calibration.bias == pytest.approx(-1.0, abs=0.2)


def test_calibrating_lowers_the_calibration_error() -> None:
    logits, labels = _synthetic(0.3, -2.0, seed=1)
    raw = Calibration()(logits)
    fitted = fit_platt(logits, labels)(logits)
    assert expected_calibration_error(fitted, labels) < expected_calibration_error(raw, labels)


def test_an_anti_correlated_score_still_gives_a_monotone_map() -> None:
    logits, labels = _synthetic(-0.5, 0.0)
    calibration = fit_platt(logits, labels)
    assert calibration.slope > 0
    assert np.all(np.diff(calibration(np.linspace(-5, 5, 50))) >= 0)


def test_one_class_labels_keep_the_identity() -> None:
    assert fit_platt(np.array([1.0, 2.0]), np.array([0.0, 0.0])) == Calibration()


def test_invalid_calibration_is_refused() -> None:
    with pytest.raises(ValueError, match="positive slope"):
        Calibration(slope=-1.0, bias=0.0)
    assert Calibration.from_dict(Calibration(2.0, 1.0).to_dict()) == Calibration(2.0, 1.0)


def test_each_candidate_pool_gets_its_own_fusion_weights() -> None:
    from retrieval.responder.calibration import FusionByKind, fit_fusion_by_kind

    rng = np.random.default_rng(3)
    logits, priors, positives, kinds = [], [], [], []
    for n in range(120):  # "kb": the prior finds the answer; "product": only the cross-encoder does
        kind = "kb" if n % 2 else "product"
        right = int(rng.integers(5))
        logit = rng.normal(0, 1, 5)
        prior = rng.uniform(0.2, 0.4, 5)
        if kind == "kb":
            prior[right] += 0.4
        else:
            logit[right] += 3.0
        logits.append(logit)
        priors.append(prior)
        positives.append(right)
        kinds.append(kind)
    fusions = fit_fusion_by_kind(logits, priors, positives, kinds)
    kb, product = fusions.for_kind("kb"), fusions.for_kind("product")
    assert kb.w_prior / kb.w_logit > product.w_prior / product.w_logit
    assert (
        fusions.for_kind("faq") == fusions.for_kind(None) == fusions.default
    )  # unknown kind: the overall fit
    assert FusionByKind.from_dict(fusions.to_dict()) == fusions
    old = {"w_logit": 1.5, "w_prior": 2.0, "bias": -1.0}  # a checkpoint written before per-pool fits
    assert FusionByKind.from_dict(old).for_kind("kb").w_prior == 2.0


def test_a_pool_with_few_dev_questions_uses_the_overall_fit() -> None:
    from retrieval.responder.calibration import MIN_GROUPS_PER_KIND, fit_fusion_by_kind

    n = MIN_GROUPS_PER_KIND - 1
    logits = [np.array([2.0, 0.0, -1.0])] * (n + 20)
    priors = [np.array([0.6, 0.5, 0.4])] * (n + 20)
    fusions = fit_fusion_by_kind(logits, priors, [0] * (n + 20), ["product"] * 20 + ["kb"] * n)
    assert dict(fusions.by_kind).keys() == {"product"}
    assert fusions.for_kind("kb") == fusions.default


def test_a_useless_logit_keeps_the_prior_rather_than_replacing_it() -> None:
    from retrieval.responder.calibration import MIN_SLOPE, fit_fusion

    rng = np.random.default_rng(5)
    prior = rng.uniform(0.0, 1.0, 400)
    labels = (prior + rng.normal(0, 0.05, 400) > 0.7).astype(float)  # the prior decides
    logits = -3.0 * labels + rng.normal(0, 1.0, 400)  # a cross-encoder that is wrong on these
    fusion = fit_fusion(logits, prior, labels)
    assert fusion.w_prior > 1.0 and fusion.w_logit == MIN_SLOPE
    assert np.corrcoef(fusion.logit(logits, prior), prior)[0, 1] > 0.99  # ranked by the prior
