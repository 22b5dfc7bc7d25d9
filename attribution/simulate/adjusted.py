r"""What a covariate-adjusted estimator can reach at best: the no-unmeasured-confounding limit.

A causal estimator that adjusts for the user table (:class:`attribution.causal.CausalAttribution`)
assumes the covariates capture every common cause of exposure and conversion. In the simulator
that common cause is the latent intent ``z``, and a covariate only carries it with noise. This
module computes, from the simulator's exact generative model, the value such an estimator
converges to with unlimited data and a perfect regression, so that a benchmark can separate the
bias no estimator of that kind can remove (unmeasured confounding) from the estimator's own
error.

Definition
----------
For channel ``c`` with exposure ``T_c``, the exposures of the other channels ``T_-c`` and the
covariates ``X``, the estimator's target is

.. math::

    \theta^{adj}_c = \sum_{i: T_{ic} = 1} \big(Y_i - \mu_{0c}(X_i, T_{i,-c})\big), \qquad
    \mu_{0c}(x, t) = E[Y \mid T_c = 0, T_{-c} = t, X = x],

the conversions of the journeys ``c`` touched minus what *untouched* users with the same
covariates and the same other channels convert at. The truth replaces ``mu_0c`` by each journey's
own counterfactual ``Y_i(without c)``; with a perfect proxy (or no selection on intent) the two
agree up to the noise of the conversion draws.

Under the simulator's model (``docs/simulator.md``), with ``S`` the other channels a user saw,

.. math::

    \mu_{0c}(x, t) = \int \Big(1 - (1 - p_0(z)) \prod_{j \in S} (1 - e_j)\Big)\,
                     p(z \mid x, T_c = 0, T_{-c} = t)\, dz,

    p(z \mid x, T_c = 0, T_{-c} = t) \propto \varphi(z)\, \prod_k \ell_k(x_k \mid z)\,
        (1 - r_c(z)) \prod_{j \ne c} r_j(z)^{t_j} (1 - r_j(z))^{1 - t_j},

with ``varphi`` the standard normal density, ``r_j`` the reach probabilities and ``l_k`` the
likelihood of covariate ``k``: ``Normal(s_k; rho_k z, 1 - rho_k^2)`` for a numeric covariate
with signal ``s_k = (x_k - mean_k) / sd_k``, and for a categorical one the probability that its
signal falls between the cuts of the observed level. Covariates with ``rho_k = 0`` and sourced
covariates (no information of their own) drop out. The integral is
computed on a grid of ``z`` (401 points on ``[-8, 8]``; the results agree with 3,201 points to
1e-12); with ``|rho_k| = 1`` for a numeric covariate the posterior is the point
``z = s_k / rho_k``.

The test that closes the loop (``tests/attribution/test_causal.py``): with a proxy of quality
0.8, the causal model's 95% intervals hold this limit for every channel while the truth of the
intent-selected channels lies outside them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import log_ndtr, ndtri

from attribution.simulate.config import SimulationConfigError, _logit
from attribution.simulate.result import SimulationResult

__all__ = ["covariate_adjusted_truth"]

_GRID = np.linspace(-8.0, 8.0, 401)
_CHUNK = 10_000


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = -np.logaddexp(0.0, -x)
    return out


def _numeric_signal(result: SimulationResult, name: str) -> np.ndarray:
    spec = next(s for s in result.config.covariates if s.name == name)
    while spec.source is not None:
        source = spec.source
        spec = next(s for s in result.config.covariates if s.name == source)
    if spec.kind != "numeric":
        raise SimulationConfigError(
            f"covariate_adjusted_truth: covariate {name!r} is categorical, so its signal (which "
            "drives reach or is the only record of intent) cannot be recovered exactly; use a "
            "numeric covariate"
        )
    values = result.covariates[spec.name].to_numpy(dtype=np.float64)
    out: np.ndarray = (values - spec.mean) / spec.sd
    return out


def _covariate_loglik(
    result: SimulationResult, rows: slice
) -> tuple[np.ndarray, np.ndarray | None]:
    """Log-likelihood of the covariates of users ``rows`` on the grid, or their exact intent.

    Returns ``(loglik, exact)``: ``loglik`` of shape ``(n_rows, len(_GRID))``; ``exact`` is the
    intent itself when a numeric covariate has ``|rho| = 1`` (else ``None``).
    """
    frame = result.covariates.iloc[rows]
    loglik = np.zeros((len(frame), _GRID.shape[0]))
    for spec in result.config.covariates:
        rho = spec.intent_correlation
        if spec.source is not None or rho == 0.0:
            continue
        column = frame[spec.name]
        if spec.kind == "numeric":
            signal = (column.to_numpy(dtype=np.float64) - spec.mean) / spec.sd
            if abs(rho) >= 1.0:
                return loglik, signal / rho
            loglik -= (signal[:, None] - rho * _GRID[None, :]) ** 2 / (2.0 * (1.0 - rho * rho))
        else:
            codes = np.asarray(pd.Categorical(column).codes, dtype=np.int64)
            cuts = np.concatenate(
                ([-np.inf], ndtri(np.arange(1, spec.levels) / spec.levels), [np.inf])
            )
            sd = math.sqrt(max(1.0 - rho * rho, 1e-12))
            upper = log_ndtr((cuts[codes + 1][:, None] - rho * _GRID[None, :]) / sd)
            lower = log_ndtr((cuts[codes][:, None] - rho * _GRID[None, :]) / sd)
            # log(Phi(upper) - Phi(lower)) without cancellation; -inf outside the level's range
            with np.errstate(divide="ignore"):
                loglik += upper + np.log1p(-np.exp(np.minimum(lower - upper, 0.0)))
    return loglik, None


def covariate_adjusted_truth(result: SimulationResult) -> pd.DataFrame:
    """Return the no-unmeasured-confounding limit of covariate-adjusted credit (module docstring).

    Parameters
    ----------
    result
        A simulation with a user table (:attr:`SimulationConfig.covariates`). Channels that
        target a covariate (``reach_covariate``) need it numeric.

    Returns
    -------
    pandas.DataFrame
        Indexed by channel (configuration order): ``adjusted_conversions`` (``theta_adj``),
        ``incremental_conversions`` (the truth), ``bias`` (their difference: what adjusting for
        the covariates cannot remove, plus the noise of the conversion draws) and
        ``adjusted_share`` (``adjusted_conversions`` clipped at 0, over their sum). A channel that
        reaches every user has no untouched look-alike: ``NaN``.
    """
    config = result.config
    if not config.covariates:
        raise SimulationConfigError(
            "covariate_adjusted_truth: the simulation has no user table; set "
            "SimulationConfig(covariates=proxy_covariates(q)) or other CovariateSpecs"
        )
    specs = config.channels
    n_ch = len(specs)
    exposed = np.column_stack(
        [result.users[f"exposed:{name}"].to_numpy(dtype=bool) for name in config.channel_names]
    )
    converted = result.users["converted"].to_numpy(dtype=np.float64)
    keep = np.array([1.0 - spec.effect for spec in specs])
    log_prior = -0.5 * _GRID**2
    p0_grid = 1.0 / (1.0 + np.exp(-(_logit(config.base_rate) + config.intent_effect * _GRID)))
    targeted = {
        spec.reach_covariate: _numeric_signal(result, spec.reach_covariate)
        for spec in specs
        if spec.reach_covariate is not None and spec.reach_covariate_slope != 0.0
    }
    adjusted = np.zeros(n_ch)
    impossible = np.zeros(n_ch, dtype=bool)
    n = converted.shape[0]
    for start in range(0, n, _CHUNK):
        rows = slice(start, min(start + _CHUNK, n))
        loglik, exact = _covariate_loglik(result, rows)
        t = exposed[rows]
        # log reach and log non-reach of every channel on the grid: one row for all users, or
        # one per user when the channel targets a covariate
        log_r: list[np.ndarray] = []
        log_not_r: list[np.ndarray] = []
        for spec in specs:
            if spec.reach_base <= 0.0 or spec.reach_base >= 1.0:
                always = spec.reach_base >= 1.0
                log_r.append(np.full(_GRID.shape, 0.0 if always else -np.inf))
                log_not_r.append(np.full(_GRID.shape, -np.inf if always else 0.0))
                continue
            index = _logit(spec.reach_base) + spec.reach_intent_slope * _GRID
            if spec.reach_covariate in targeted:
                signal = targeted[spec.reach_covariate][rows]
                index = index[None, :] + spec.reach_covariate_slope * signal[:, None]
            log_r.append(_log_sigmoid(index))
            log_not_r.append(_log_sigmoid(-index))
        exposure_loglik = np.zeros_like(loglik)
        with np.errstate(invalid="ignore"):
            for j in range(n_ch):
                exposure_loglik += np.where(t[:, j, None], log_r[j], log_not_r[j])
        for c in range(n_ch):
            touched = t[:, c]
            if not touched.any():
                continue
            others = t[touched].copy()
            others[:, c] = False
            keep_others = np.where(others, keep, 1.0).prod(axis=1)
            if exact is not None:
                z = exact[touched]
                p0 = 1.0 / (1.0 + np.exp(-(_logit(config.base_rate) + config.intent_effect * z)))
                mu0 = 1.0 - (1.0 - p0) * keep_others
            else:
                # condition on T_c = 0 instead of the observed T_c = 1
                with np.errstate(invalid="ignore"):
                    log_post = (
                        log_prior
                        + loglik[touched]
                        + exposure_loglik[touched]
                        - np.broadcast_to(log_r[c], loglik.shape)[touched]
                        + np.broadcast_to(log_not_r[c], loglik.shape)[touched]
                    )
                peak = log_post.max(axis=1, keepdims=True)
                if not np.isfinite(peak).all():
                    impossible[c] = True
                    continue
                weight = np.exp(log_post - peak)
                weight /= weight.sum(axis=1, keepdims=True)
                p0_mean = weight @ p0_grid
                mu0 = 1.0 - (1.0 - p0_mean) * keep_others
            adjusted[c] += float((converted[rows][touched] - mu0).sum())
    adjusted[impossible] = np.nan
    truth = result.truth["incremental_conversions"].to_numpy(dtype=np.float64)
    clipped = np.clip(np.nan_to_num(adjusted, nan=0.0), 0.0, None)
    total = clipped.sum()
    share = clipped / total if total > 0 else np.full(n_ch, np.nan)
    share[impossible] = np.nan
    return pd.DataFrame(
        {
            "adjusted_conversions": adjusted,
            "incremental_conversions": truth,
            "bias": adjusted - truth,
            "adjusted_share": share,
        },
        index=result.truth.index.copy(),
    )
