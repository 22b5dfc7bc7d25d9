r"""The doubly robust (AIPW) estimator of a total effect on the treated, with cross-fitting.

For observational data (treatment not randomized) the effect of a treatment on the units that
received it, in total over those units,

.. math::  \theta = \sum_{i: T_i = 1} \big(Y_i(1) - Y_i(0)\big),

is estimated by the augmented inverse-propensity-weighted (AIPW) estimator for the effect on the
treated (the doubly robust estimator of Moodie et al. 2018 and Chernozhukov et al. 2018):

.. math::  \hat\theta = \sum_i \psi_i, \qquad
           \psi_i = T_i \big(Y_i - \hat m_0(X_i)\big)
                  - (1 - T_i)\,\frac{\hat e(X_i)}{1 - \hat e(X_i)}\,\big(Y_i - \hat m_0(X_i)\big)

with :math:`\hat m_0(x) = E[Y \mid T = 0, X = x]` (the outcome model's prediction of the untreated
outcome) and :math:`\hat e(x) = P(T = 1 \mid X = x)` (the propensity). The first term compares
each treated unit with its predicted untreated outcome; the second removes the outcome model's
bias by reweighting the untreated units to look like the treated ones. The estimate is consistent
when either model is right, and with cross-fitted models (each unit's predictions come from
models fitted without its fold) its error is first-order that of :math:`\sum_i \psi_i` with the
true models: the per-unit terms :math:`\psi_i` are what a multiplier bootstrap resamples
(:func:`multiplier_bootstrap`).

Assumptions: no unmeasured confounding given ``X`` (the covariates capture every common cause of
treatment and outcome), and overlap: :math:`\hat e(x) < 1` for the treated (a treated unit with no
comparable untreated ones rests on extrapolation). :func:`cross_fit_propensity` reports the share
of treated units above ``overlap_limit``.

The pieces are shared by :class:`attribution.causal.CausalAttribution`, which estimates each
channel's incremental conversions among the journeys it touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "att_dr_terms",
    "cross_fit_propensity",
    "group_folds",
    "multiplier_bootstrap",
]


def group_folds(groups: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Assign each row to one of ``n_folds`` folds, all rows of a group (a user) to the same one.

    Groups are shuffled with ``numpy.random.default_rng(seed)`` and dealt to the folds in turn,
    so fold sizes differ by at most one group.
    """
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    uniq, inverse = np.unique(groups, return_inverse=True)
    order = np.random.default_rng(seed).permutation(uniq.shape[0])
    fold_of_group = np.empty(uniq.shape[0], dtype=np.int64)
    fold_of_group[order] = np.arange(uniq.shape[0]) % n_folds
    out: np.ndarray = fold_of_group[inverse.ravel()]
    return out


def att_dr_terms(
    outcome: np.ndarray, treated: np.ndarray, untreated_outcome: np.ndarray, propensity: np.ndarray
) -> np.ndarray:
    r"""Per-unit terms :math:`\psi_i` of the AIPW estimator of the total effect on the treated.

    Parameters
    ----------
    outcome
        :math:`Y_i`.
    treated
        :math:`T_i` (booleans or 0/1).
    untreated_outcome
        :math:`\hat m_0(X_i)`, cross-fitted: the predicted outcome without treatment (for an
        untreated unit, the prediction of its own outcome).
    propensity
        :math:`\hat e(X_i)`, cross-fitted and clipped below 1.

    Returns
    -------
    numpy.ndarray
        :math:`\psi_i`; their sum is the estimate (module docstring).
    """
    t = np.asarray(treated, dtype=bool)
    residual = np.asarray(outcome, dtype=np.float64) - np.asarray(untreated_outcome, np.float64)
    e = np.asarray(propensity, dtype=np.float64)
    odds = e / (1.0 - e)
    out: np.ndarray = np.where(t, residual, -odds * residual)
    return out


def cross_fit_propensity(
    X: np.ndarray,
    treated: np.ndarray,
    folds: np.ndarray,
    *,
    lgbm_params: Mapping[str, Any] | None = None,
    categorical: list[int] | None = None,
    clip: float = 0.01,
) -> np.ndarray:
    """Out-of-fold ``P(T = 1 | X)`` from LightGBM classifiers, clipped to ``[clip, 1 - clip]``.

    The model for fold ``k`` is fitted on the rows of the other folds. A fold whose training rows
    hold a single class gets that class's share (no model can be fitted).
    """
    import lightgbm as lgb

    t = np.asarray(treated, dtype=np.int64)
    out = np.empty(t.shape[0], dtype=np.float64)
    params = dict(lgbm_params or {})
    for k in np.unique(folds):
        test = folds == k
        train = ~test
        share = float(t[train].mean()) if train.any() else float(t.mean())
        if share in (0.0, 1.0):
            out[test] = share
            continue
        model = lgb.LGBMClassifier(**params)
        model.fit(X[train], t[train], categorical_feature=categorical or "auto")
        out[test] = np.asarray(model.predict_proba(X[test]))[:, 1]
    return np.clip(out, clip, 1.0 - clip)


def multiplier_bootstrap(
    terms: np.ndarray,
    groups: np.ndarray,
    n_groups: int,
    *,
    n_replicates: int,
    seed: int | None,
    method: str = "poisson",
    chunk: int = 25,
) -> np.ndarray:
    r"""Replicates of the column sums of ``terms`` under random weights per group.

    Replicate ``r`` is :math:`\sum_i w_{r, g(i)} \, \text{terms}_i` with one weight per group
    ``g`` (a user: the rows of one user move together): independent Poisson(1) weights
    (``method="poisson"``), or the counts of ``n_groups`` draws with replacement among the groups
    (``"multinomial"``, the classical bootstrap). ``terms`` is ``(n_rows, k)``; the result is
    ``(n_replicates, k)``. Terms are summed per group first, so a replicate costs one product
    with ``n_groups`` weights.
    """
    if method not in ("poisson", "multinomial"):
        raise ValueError(f"method must be 'poisson' or 'multinomial', got {method!r}")
    rng = np.random.default_rng(seed)
    terms = np.asarray(terms, dtype=np.float64)
    per_group = np.column_stack(
        [
            np.bincount(groups, weights=terms[:, j], minlength=n_groups)
            for j in range(terms.shape[1])
        ]
    )
    out = np.empty((n_replicates, terms.shape[1]))
    for start in range(0, n_replicates, chunk):
        stop = min(start + chunk, n_replicates)
        if method == "poisson":
            weights = rng.poisson(1.0, size=(stop - start, n_groups)).astype(np.float64)
        else:
            picks = rng.integers(0, n_groups, size=(stop - start, n_groups))
            weights = np.stack([np.bincount(row, minlength=n_groups) for row in picks]).astype(
                np.float64
            )
        out[start:stop] = weights @ per_group
    return out
