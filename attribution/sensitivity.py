r"""Unmeasured confounding in causal attribution: a one-parameter model and its calibration.

The ``causal`` model (:mod:`attribution.causal`) adjusts for the covariates it is given. Intent
that the covariates miss still biases it: a channel that reaches people who would have converted
anyway keeps some of their conversions. This module quantifies that bias with one shared
parameter, so that what lift tests reveal about it on some channels transfers to the others.

Model (proportional selection on unobservables, after Altonji, Elder & Taber 2005 and Oster 2019,
on the logit scale). Let ``x`` be the *observed intent index*, the logit of a journey's predicted
conversion probability with no touch (a function of the covariates only), standardised to mean 0
and sd 1, and ``u ~ Normal(0, 1)`` the part of intent the covariates miss, independent of them.
For channel ``c`` and a journey with covariates and other channels ``W``:

* exposure: ``P(T_c = 1 | W, u) = sigmoid(alpha_c(W) + lambda * a_c * u)``;
* untreated outcome: ``P(Y(0) = 1 | W, u) = sigmoid(beta_c(W) + lambda * b * u)``;

where ``a_c`` is the slope of channel ``c``'s exposure logit on ``x`` (how concentrated its reach
is on high-propensity users, :func:`selection_slope`), ``b`` the slope of the conversion logit on
``x`` (its standard deviation before standardising), and ``lambda >= 0`` the size of the
unobserved part of intent relative to the observed part: the missing intent selects and converts
like the measured intent, scaled by ``lambda``. ``lambda = 0`` is no unmeasured confounding (the
``causal`` model's assumption). If the covariates predict intent with correlation ``q`` (the
simulator's proxy quality), ``lambda = sqrt(1 - q**2) / q``: 0.48 for ``q = 0.9``.

``alpha_c(W)`` is pinned by the fitted propensity ``e = E_u[sigmoid(alpha + lambda a_c u)]`` and
``beta_c(W)`` by the fitted untreated outcome
``m0 = E[Y(0) | T = 0, W] = E_u[sigmoid(beta + lambda b u) (1 - sigmoid(alpha + lambda a_c u))] /
(1 - e)``. The treated would have converted at
``m1 = E[Y(0) | T = 1, W] = E_u[sigmoid(beta + lambda b u) sigmoid(alpha + lambda a_c u)] / e``,
so the doubly robust estimate of the channel's incremental conversions is too high by

    B_c(lambda) = sum over the journeys touched by c of (m1 - m0),

and ``theta_c(lambda) = theta_c - B_c(lambda)`` is the estimate under ``lambda``. In value, the
bias is ``B_c(lambda)`` times the channel's mean conversion value per converting touched journey.

Computation: the touched journeys of a channel are grouped into 20 x 20 quantile bins of
``(logit m0, e)``; in each bin ``alpha`` and ``beta`` are solved by Newton's method with 24-node
Gauss-Hermite quadrature over ``u``, and ``B_c`` is tabulated on ``lambda = 0, 0.025, ..., 2``
(:class:`SensitivityCurve`; linear interpolation in between).

Calibration (:func:`fit_lambda`): lift tests measure ``y_t`` (with standard error ``s_t``) for some
channels. With normal errors, the likelihood of ``lambda`` is ``exp(-L(lambda) / 2)`` with
``L(lambda) = sum_t (theta_t - B_t(lambda) - y_t)**2 / (s_t**2 + v_t)`` (``v_t`` the model's own
variance of ``theta_t``); with a uniform prior on ``[0, lambda_max]`` (default 1: the covariates
capture at least as much of the intent as they miss, i.e. ``q >= 0.71``), the estimate is the
posterior mean and its uncertainty the posterior (a single noisy test cannot push ``lambda`` to
the end of the grid the way a least-squares fit would, and tests that say nothing about
``lambda`` leave it at the prior). The fitted ``lambda`` corrects the untested channels.

The assumption that makes this transfer work is that one ``lambda`` holds for every channel:
channels are selected on the missing intent in proportion to how they are selected on the
measured intent. It fails when a channel is targeted on the measured intent only (an audience
bought on the advertiser's own CRM score: the transfer removes a bias it does not have) or on
something the covariates do not reflect at all; the tested channels' implied ``lambda`` values
then disagree, which :func:`fit_lambda` reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit

__all__ = [
    "LAMBDA_GRID",
    "LambdaFit",
    "SensitivityCurve",
    "confounding_bias",
    "fit_lambda",
    "lambda_posterior",
    "selection_slope",
]

LAMBDA_GRID = np.round(np.arange(0.0, 2.0 + 1e-9, 0.025), 3)
"""Values of ``lambda`` at which :class:`SensitivityCurve` is tabulated."""

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(24)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()
_BINS = 20
_EPS = 1e-9


@dataclass(frozen=True, eq=False)
class SensitivityCurve:
    """Bias of each channel's incremental credit as a function of ``lambda`` (module docstring).

    Attributes
    ----------
    channels
        Channel names.
    lambdas
        ``(m,)`` grid of ``lambda`` values.
    conversions, value
        ``(n_channels, m)``: ``B_c(lambda)`` in conversions and in value.
    selection_slope
        ``(n_channels,)``: ``a_c``.
    outcome_slope
        ``b``.
    """

    channels: tuple[str, ...]
    lambdas: np.ndarray
    conversions: np.ndarray
    value: np.ndarray
    selection_slope: np.ndarray
    outcome_slope: float

    def bias(self, lam: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(B(lambda) in conversions, in value)`` per channel, interpolated on the grid.

        ``lam`` may be an array of draws: then both are ``(len(lam), n_channels)``.
        """
        lam_arr = np.clip(np.asarray(lam, dtype=np.float64), self.lambdas[0], self.lambdas[-1])
        conv = np.stack([np.interp(lam_arr, self.lambdas, row) for row in self.conversions], -1)
        value = np.stack([np.interp(lam_arr, self.lambdas, row) for row in self.value], -1)
        return conv, value

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly dictionary."""
        return {
            "channels": list(self.channels),
            "lambdas": self.lambdas.tolist(),
            "conversions": self.conversions.tolist(),
            "value": self.value.tolist(),
            "selection_slope": self.selection_slope.tolist(),
            "outcome_slope": float(self.outcome_slope),
        }


def selection_slope(index: np.ndarray, treated: np.ndarray, *, iterations: int = 50) -> float:
    """Slope ``a`` of the logistic regression ``P(T = 1) = sigmoid(a0 + a * index)``.

    Fitted by Newton's method (maximum likelihood, no penalty). ``index`` should be standardised.
    A channel reaching everyone or no one has slope 0.
    """
    t = np.asarray(treated, dtype=np.float64)
    share = float(t.mean())
    if share in (0.0, 1.0):
        return 0.0
    z = np.column_stack([np.ones_like(index), index])
    beta = np.array([float(logit(share)), 0.0])
    for _ in range(iterations):
        p = expit(z @ beta)
        grad = z.T @ (t - p)
        hess = (z.T * (p * (1.0 - p))) @ z
        step = np.linalg.solve(hess + 1e-9 * np.eye(2), grad)
        beta += np.clip(step, -5.0, 5.0)
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(beta[1])


def _solve_intercept(target: np.ndarray, slope: float, weight: np.ndarray | None) -> np.ndarray:
    """``c`` with ``sum_j w_j sigmoid(c + slope u_j) weight_j = target`` per row (Newton)."""
    c = logit(np.clip(target, _EPS, 1 - _EPS))
    w = _WEIGHTS if weight is None else _WEIGHTS * weight
    for _ in range(60):
        p = expit(c[:, None] + slope * _NODES[None, :])
        f = (p * w).sum(axis=1) - target
        df = (p * (1.0 - p) * w).sum(axis=1)
        step = np.clip(f / np.maximum(df, 1e-300), -5.0, 5.0)
        c = c - step
        if np.max(np.abs(step)) < 1e-10:
            break
    return c


def _binned(untreated: np.ndarray, propensity: np.ndarray) -> tuple[np.ndarray, ...]:
    """Group rows into quantile bins of (logit m0, e): representative means and counts."""
    lm = logit(np.clip(untreated, 1e-6, 1 - 1e-6))
    keys = np.zeros(lm.shape[0], dtype=np.int64)
    for values in (lm, propensity):
        edges = np.unique(np.quantile(values, np.linspace(0, 1, _BINS + 1)[1:-1]))
        keys = keys * (_BINS + 1) + np.searchsorted(edges, values, side="right")
    _, inverse = np.unique(keys, return_inverse=True)
    counts = np.bincount(inverse).astype(np.float64)
    m0 = np.bincount(inverse, weights=untreated) / counts
    e = np.bincount(inverse, weights=propensity) / counts
    return m0, e, counts


def confounding_bias(
    untreated_outcome: np.ndarray,
    propensity: np.ndarray,
    *,
    exposure_slope: float,
    outcome_slope: float,
    lambdas: Sequence[float] | np.ndarray = LAMBDA_GRID,
) -> np.ndarray:
    """``B(lambda)`` over the touched journeys of one channel, for each ``lambda``.

    Parameters
    ----------
    untreated_outcome
        Fitted ``m0`` of the channel's touched journeys.
    propensity
        Fitted ``e`` of the same journeys (strictly between 0 and 1).
    exposure_slope, outcome_slope
        ``a_c`` and ``b``.
    lambdas
        Values of ``lambda``.
    """
    m0, e, counts = _binned(np.asarray(untreated_outcome), np.asarray(propensity))
    e = np.clip(e, 1e-6, 1 - 1e-6)
    out = np.zeros(len(lambdas))
    for k, lam in enumerate(lambdas):
        if lam == 0.0 or m0.size == 0:
            continue
        s, r = lam * exposure_slope, lam * outcome_slope
        alpha = _solve_intercept(e, s, None)
        exposure = expit(alpha[:, None] + s * _NODES[None, :])
        beta = _solve_intercept(m0, r, (1.0 - exposure) / (1.0 - e)[:, None])
        untreated = expit(beta[:, None] + r * _NODES[None, :])
        m1 = (_WEIGHTS * untreated * exposure).sum(axis=1) / e
        out[k] = float(np.sum(counts * (m1 - m0)))
    return out


@dataclass(frozen=True, eq=False)
class LambdaFit:
    """``lambda`` fitted to lift tests (:func:`fit_lambda`).

    Attributes
    ----------
    lam
        The posterior mean of ``lambda`` (uniform prior on the grid).
    implied
        ``{channel: lambda}`` that each tested channel alone would give (``nan`` when no grid
        value explains it within the grid's range).
    informative
        Whether some tested channel has a bias curve that moves (a channel with no selection on
        the measured intent says nothing about ``lambda``).
    posterior
        Posterior weights of the grid values.
    loss
        The weighted squared gaps ``sum_t (theta_t - B_t(lambda) - y_t)^2 / (s_t^2 + v_t)`` per
        grid value.
    """

    lam: float
    implied: dict[str, float]
    informative: bool
    posterior: np.ndarray
    loss: np.ndarray


def fit_lambda(
    curve: SensitivityCurve,
    estimates: np.ndarray,
    variances: np.ndarray,
    tested: Sequence[int] | np.ndarray,
    measured: np.ndarray,
    measured_variances: np.ndarray,
    *,
    lambda_max: float = 1.0,
) -> LambdaFit:
    """Fit ``lambda`` to lift tests of the channels at positions ``tested``.

    ``estimates``/``variances`` are the causal estimates and their variances for all channels;
    ``measured``/``measured_variances`` the lift results of the tested channels, in the order of
    ``tested``; the prior of ``lambda`` is uniform on the grid up to ``lambda_max``. See the
    module docstring for the criterion.
    """
    tested = list(tested)
    bias = curve.conversions[tested]  # (t, m)
    gap = estimates[tested][:, None] - bias - np.asarray(measured)[:, None]
    weight = 1.0 / np.maximum(np.asarray(measured_variances) + variances[tested], 1e-12)
    loss = (weight[:, None] * gap**2).sum(axis=0)
    posterior = lambda_posterior(loss, curve.lambdas <= lambda_max + 1e-12)
    lam = float(posterior @ curve.lambdas)
    implied: dict[str, float] = {}
    for row, position in enumerate(tested):
        target = estimates[position] - measured[row]
        values = bias[row]
        if not values.min() <= target <= values.max() or np.ptp(values) == 0:
            implied[curve.channels[position]] = float("nan")
        else:
            order = np.argsort(values, kind="stable")
            implied[curve.channels[position]] = float(
                np.interp(target, values[order], curve.lambdas[order])
            )
    informative = bool(np.any(np.ptp(bias, axis=1) > 0))
    return LambdaFit(
        lam=lam, implied=implied, informative=informative, posterior=posterior, loss=loss
    )


def lambda_posterior(loss: np.ndarray, support: np.ndarray | None = None) -> np.ndarray:
    """Posterior weights of the grid given the weighted squared gaps (uniform prior).

    With normal errors the likelihood of ``lambda`` is ``exp(-loss / 2)``; the prior is uniform
    on the grid points where ``support`` is true (all by default). Rows of ``loss`` (one per
    Monte Carlo draw) give one posterior each.
    """
    mask = np.ones(loss.shape[-1], dtype=bool) if support is None else np.asarray(support)
    masked = np.where(mask, loss, np.inf)
    shifted = masked - np.min(masked, axis=-1, keepdims=True)
    weights = np.exp(-0.5 * shifted)
    out: np.ndarray = weights / weights.sum(axis=-1, keepdims=True)
    return out
