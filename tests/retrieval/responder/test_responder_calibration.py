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
