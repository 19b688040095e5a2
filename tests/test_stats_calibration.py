"""dnactx.stats.calibration: Platt and isotonic maps fitted on validation lower the test calibration error."""

from __future__ import annotations

import numpy as np
import pytest

from dnactx.errors import DnactxError
from dnactx.metrics import expected_calibration_error
from dnactx.stats.calibration import calibration_effect, fit_calibrator


def overconfident(seed: int, n: int = 5000):
    """True probabilities q, and a model that reports q ** 0.25: every site looks far likelier than it is."""
    rng = np.random.default_rng(seed)
    q = 1 / (1 + np.exp(-rng.normal(-2.5, 1.5, n)))
    y = (rng.random(n) < q).astype(int)
    return y, q ** 0.25


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibration_fitted_on_val_lowers_test_ece_of_a_miscalibrated_model(method):
    y_val, p_val = overconfident(0)
    y_test, p_test = overconfident(1)
    calibrated = fit_calibrator(y_val, p_val, method)(p_test)
    effect = calibration_effect(y_test, p_test, calibrated)
    assert effect["ece"]["before"] > 0.2
    assert effect["ece"]["after"] < effect["ece"]["before"] / 4
    assert effect["brier"]["after"] < effect["brier"]["before"]
    assert effect["ece"]["after"] == pytest.approx(expected_calibration_error(y_test, calibrated))


def test_platt_recovers_the_logit_slope_of_a_known_distortion():
    # reported p = sigmoid(3 * logit(q)): Platt on logit(p) should find slope 1/3 and intercept 0
    rng = np.random.default_rng(2)
    q = 1 / (1 + np.exp(-rng.normal(0, 1, 20000)))
    y = (rng.random(q.size) < q).astype(int)
    p = 1 / (1 + np.exp(-3 * np.log(q / (1 - q))))
    params = fit_calibrator(y, p, "platt").params()
    assert params["slope"] == pytest.approx(1 / 3, abs=0.03) and params["intercept"] == pytest.approx(0, abs=0.05)


def test_isotonic_clips_scores_outside_the_validation_range_and_keeps_order():
    y = np.array([0, 0, 1, 0, 1, 1])
    p = np.array([0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    cal = fit_calibrator(y, p, "isotonic")
    out = cal(np.array([0.0, 0.2, 0.45, 0.7, 1.0]))
    assert out[0] == out[1] and out[-1] == out[-2]  # clipped to the fitted range
    assert np.all(np.diff(out) >= 0) and out.min() >= 0 and out.max() <= 1


def test_none_leaves_scores_unchanged():
    p = np.array([0.1, 0.7])
    assert np.array_equal(fit_calibrator(np.array([0, 1]), p, "none")(p), p)


def test_calibration_needs_both_classes_and_a_known_method():
    with pytest.raises(DnactxError, match="both methylated and unmethylated"):
        fit_calibrator(np.zeros(5, dtype=int), np.linspace(0, 1, 5), "platt")
    with pytest.raises(DnactxError, match="--calibrate must be one of"):
        fit_calibrator(np.array([0, 1]), np.array([0.2, 0.8]), "beta")
