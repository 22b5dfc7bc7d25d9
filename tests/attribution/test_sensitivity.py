"""The one-parameter model of unmeasured confounding and its calibration on lift tests."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import expit

from attribution.sensitivity import (
    LAMBDA_GRID,
    SensitivityCurve,
    confounding_bias,
    fit_lambda,
    selection_slope,
)


def test_selection_slope_recovers_a_logistic_slope():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(200_000)
    t = rng.random(x.shape[0]) < expit(-1.0 + 0.8 * x)
    assert selection_slope(x, t) == pytest.approx(0.8, abs=0.03)
    assert selection_slope(x, np.ones_like(t)) == 0.0


def _brute_force_m1(m0: float, e: float, a: float, b: float, lam: float) -> float:
    """E[Y(0) | T=1] by root-finding the intercepts and integrating on a fine grid."""
    u = np.linspace(-8, 8, 20001)
    phi = np.exp(-0.5 * u**2)
    phi /= phi.sum()
    alpha = brentq(lambda c: (phi * expit(c + lam * a * u)).sum() - e, -40, 40)
    exposure = expit(alpha + lam * a * u)

    def untreated_rate(c: float) -> float:
        return (phi * expit(c + lam * b * u) * (1 - exposure)).sum() / (1 - e)

    beta = brentq(lambda c: untreated_rate(c) - m0, -40, 40)
    return float((phi * expit(beta + lam * b * u) * exposure).sum() / e)


@pytest.mark.parametrize(
    ("m0", "e", "a", "b", "lam"),
    [(0.05, 0.3, 1.5, 0.7, 0.5), (0.2, 0.8, 2.0, 1.0, 1.0), (0.01, 0.1, 0.5, 0.7, 1.5)],
)
def test_confounding_bias_matches_brute_force_integration(m0, e, a, b, lam):
    rows = 10
    bias = confounding_bias(
        np.full(rows, m0), np.full(rows, e), exposure_slope=a, outcome_slope=b, lambdas=[lam]
    )
    expected = rows * (_brute_force_m1(m0, e, a, b, lam) - m0)
    assert bias[0] == pytest.approx(expected, rel=1e-4)
    assert expected > 0  # selected on high intent: treated would have converted more


def test_confounding_bias_is_zero_without_confounding_and_grows_with_lambda():
    rng = np.random.default_rng(2)
    m0 = rng.uniform(0.01, 0.3, 5000)
    e = rng.uniform(0.05, 0.9, 5000)
    curve = confounding_bias(m0, e, exposure_slope=1.2, outcome_slope=0.7)
    assert curve[0] == 0.0
    assert np.all(np.diff(curve) > 0)
    flat = confounding_bias(m0, e, exposure_slope=0.0, outcome_slope=0.7)
    np.testing.assert_allclose(flat, 0.0, atol=1e-6)
    negative = confounding_bias(m0, e, exposure_slope=-1.2, outcome_slope=0.7)
    assert np.all(negative[1:] < 0)


def _curve() -> SensitivityCurve:
    lambdas = LAMBDA_GRID
    slopes = np.array([2.0, 1.0, 0.0, 0.5])
    conv = np.outer(slopes * 100, lambdas**1.5)
    return SensitivityCurve(
        channels=("a", "b", "c", "d"),
        lambdas=lambdas,
        conversions=conv,
        value=conv * 10,
        selection_slope=slopes,
        outcome_slope=0.7,
    )


def test_fit_lambda_recovers_the_lambda_behind_the_tests():
    curve = _curve()
    truth = np.array([300.0, 500.0, 200.0, 100.0])
    lam0 = 0.6
    estimates = truth + curve.bias(lam0)[0]
    fit = fit_lambda(curve, estimates, np.full(4, 1.0), [0, 1], truth[[0, 1]], np.full(2, 1.0))
    assert fit.lam == pytest.approx(lam0, abs=0.005)
    assert fit.implied["a"] == pytest.approx(lam0, abs=0.01)
    assert fit.informative
    corrected = estimates - curve.bias(fit.lam)[0]
    np.testing.assert_allclose(corrected, truth, atol=1.0)
    # a tested channel without selection on the measured intent says nothing about lambda
    blind = fit_lambda(curve, estimates, np.ones(4), [2], truth[[2]], np.ones(1))
    assert not blind.informative
    assert np.isnan(blind.implied["c"]) or blind.implied["c"] >= 0


def test_bias_interpolates_and_vectorises():
    curve = _curve()
    conv, value = curve.bias(np.array([0.0, 0.6]))
    assert conv.shape == (2, 4)
    np.testing.assert_allclose(conv[0], 0.0)
    np.testing.assert_allclose(value, conv * 10)
    mid = curve.bias(0.0125)[0]
    np.testing.assert_allclose(mid, 0.5 * curve.conversions[:, 1])
