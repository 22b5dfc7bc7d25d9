r"""Calibrated uplift: predicted effects mapped onto observed effects, per arm.

A learner's predicted uplift is a ranking score first; its level is often off (overfitted
T-learners on a rare outcome spread their predictions far too wide, and the customers a plan
picks are those whose uplift was overestimated most). The calibration learns, on **cross-fitted
out-of-fold predictions** (every training row scored by a model that did not see it, see
:mod:`uplift.crossfit`), how the predicted uplift of an arm relates to the uplift actually
observed, and maps the final model's predictions through it.

Estimator (one arm ``a`` against the control ``c``)
--------------------------------------------------
Take the training rows of arm ``a`` and of the control, with their out-of-fold predicted uplift
``u_i`` of arm ``a``. Rank them by ``u_i``, highest first (``np.argsort(-u, kind="stable")``),
and cut the ranking into ``B`` bins of equal size: ranked position ``r = 0..N-1`` goes to bin
``floor(r * B / N)`` (the rule of the decile table in :mod:`uplift.metrics`). For bin ``b``:

* ``p_b`` -- the mean predicted uplift of its rows;
* ``o_b = mean(y | bin b, T=a) - mean(y | bin b, T=c)`` -- its observed uplift (difference in
  means);
* ``n_b`` -- its rows; ``se_b = sqrt(s_a^2 / n_a + s_c^2 / n_c)`` -- the standard error of
  ``o_b``, with ``s^2`` the sample variance (``ddof=1``) of the outcome of the bin's rows of that
  group, or of all the group's rows in the arm/control pair when the bin has fewer than two.

Bins without a treated or a control row are left out. The observed uplift of the bins is
regressed on their mean predicted uplift by weighted least squares, weights ``n_b``::

    beta  = sum_b n_b (p_b - p) (o_b - o) / sum_b n_b (p_b - p)^2
    alpha = o - beta * p          with p, o the n_b-weighted means of p_b and o_b

constrained to ``beta >= BETA_FLOOR = 1e-6``: when the unconstrained slope is below it
(negative: no evidence that a higher score means more uplift), or the predictions do not vary,
``beta = 1e-6`` and ``alpha = o - 1e-6 p``: every customer gets the arm's average observed uplift
to within ``1e-6`` times the prediction, while the learner's ranking within the arm is kept (a
zero slope would tie every customer and throw the ranking away). The calibrated uplift of a
customer with prediction ``u_a(x)`` is

    ``u~_a(x) = alpha_a + beta_a * u_a(x)``.

Since ``beta_a > 0`` the ranking within an arm is unchanged; the level, the spread and therefore
the choice between arms, the plan's promised value and the profit change.

Uncertainty of the calibration (used by :mod:`uplift.promise`): draw ``o_b* = o_b + se_b z_b``
with independent standard normal ``z_b`` for every bin and arm and refit ``(alpha*, beta*)``
with the same rule.

Calibration error on held-out rows: ``sum_b n_b |o_b - p_b| / sum_b n_b`` over the decile bins
of the evaluated predictions (:mod:`uplift.metrics`, metric ``calibration_error``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from uplift.errors import InvalidUpliftDataError, InvalidUpliftOptionError

__all__ = [
    "ArmCalibration",
    "UpliftCalibration",
    "calibration_bins",
    "fit_calibration",
    "fit_line",
]

#: Default number of score bins of the calibration.
DEFAULT_CALIBRATION_BINS = 10
#: Smallest calibration slope: keeps the learner's ranking within an arm (module docstring).
BETA_FLOOR = 1e-6


def calibration_bins(
    score: np.ndarray, outcome: np.ndarray, treated: np.ndarray, n_bins: int
) -> pd.DataFrame:
    """Per-bin calibration statistics of one arm (see the module docstring).

    Parameters
    ----------
    score
        Predicted uplift of the arm for the rows of the arm and the control.
    outcome
        Their outcomes.
    treated
        ``True`` for rows of the arm, ``False`` for control rows.
    n_bins
        Number of equal-size bins of the ranking.

    Returns
    -------
    pandas.DataFrame
        One row per bin (bin 1 = highest predicted): ``bin, n, n_treated, n_control,
        mean_predicted_uplift, observed_uplift, se`` (``observed_uplift`` and ``se`` NaN when
        the bin lacks a treated or a control row).
    """
    s = np.asarray(score, dtype=np.float64)
    y = np.asarray(outcome, dtype=np.float64)
    t = np.asarray(treated, dtype=bool)
    n = s.shape[0]
    if n_bins < 1:
        raise InvalidUpliftOptionError(f"n_bins must be at least 1, got {n_bins}")
    order = np.argsort(-s, kind="stable")
    s, y, t = s[order], y[order], t[order]
    edges = np.floor(np.arange(n_bins + 1) * n / n_bins).astype(np.int64)
    var_t_all = float(np.var(y[t], ddof=1)) if t.sum() > 1 else 0.0
    var_c_all = float(np.var(y[~t], ddof=1)) if (~t).sum() > 1 else 0.0
    rows = []
    for b in range(n_bins):
        lo, hi = edges[b], edges[b + 1]
        yb, tb = y[lo:hi], t[lo:hi]
        nt, nc = int(tb.sum()), int((~tb).sum())
        pred = float(s[lo:hi].mean()) if hi > lo else math.nan
        if nt and nc:
            obs = float(yb[tb].mean() - yb[~tb].mean())
            vt = float(np.var(yb[tb], ddof=1)) if nt > 1 else var_t_all
            vc = float(np.var(yb[~tb], ddof=1)) if nc > 1 else var_c_all
            se = math.sqrt(vt / nt + vc / nc)
        else:
            obs, se = math.nan, math.nan
        rows.append(
            {
                "bin": b + 1,
                "n": int(hi - lo),
                "n_treated": nt,
                "n_control": nc,
                "mean_predicted_uplift": pred,
                "observed_uplift": obs,
                "se": se,
            }
        )
    return pd.DataFrame(rows)


def fit_line(
    predicted: np.ndarray, observed: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares ``observed ~ alpha + beta * predicted``, ``beta >= BETA_FLOOR``.

    Vectorised over replicates: ``observed`` may be ``(n_bins,)`` or ``(R, n_bins)``; returns
    ``alpha`` and ``beta`` of shape ``()`` or ``(R,)``. See the module docstring.
    """
    p = np.asarray(predicted, dtype=np.float64)
    o = np.asarray(observed, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    w = w / w.sum()
    p_bar = float(w @ p)
    o_bar = o @ w
    dp = p - p_bar
    sxx = float(w @ (dp * dp))
    if sxx <= 1e-300:
        beta = np.zeros_like(o_bar)
    else:
        beta = ((o - o_bar[..., None]) @ (w * dp)) / sxx if o.ndim > 1 else (w * dp) @ o / sxx
    beta = np.maximum(beta, BETA_FLOOR)
    alpha = o_bar - beta * p_bar
    return np.asarray(alpha, dtype=np.float64), np.asarray(beta, dtype=np.float64)


@dataclass(frozen=True, repr=False)
class ArmCalibration:
    """Calibration of one arm: ``u~ = alpha + beta * u`` and the bins it was fitted on."""

    arm: str
    alpha: float
    beta: float
    bins: pd.DataFrame

    def _usable(self) -> pd.DataFrame:
        return self.bins[np.isfinite(self.bins["observed_uplift"].to_numpy(dtype=float))]

    def draws(self, n_draws: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``(alpha*, beta*)`` of ``n_draws`` parametric replicates (module docstring)."""
        b = self._usable()
        obs = b["observed_uplift"].to_numpy(dtype=float)
        se = b["se"].to_numpy(dtype=float)
        z = rng.standard_normal((n_draws, obs.shape[0]))
        return fit_line(
            b["mean_predicted_uplift"].to_numpy(dtype=float),
            obs[None, :] + se[None, :] * z,
            b["n"].to_numpy(dtype=float),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``arm, alpha, beta, bins`` (records)."""
        bins = [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()}
            for rec in self.bins.to_dict(orient="records")
        ]
        return {"arm": self.arm, "alpha": self.alpha, "beta": self.beta, "bins": bins}

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> ArmCalibration:
        """Inverse of :meth:`to_dict`."""
        bins = pd.DataFrame(list(payload["bins"])).astype(
            {"observed_uplift": float, "se": float, "mean_predicted_uplift": float}
        )
        return cls(str(payload["arm"]), float(payload["alpha"]), float(payload["beta"]), bins)


@dataclass(frozen=True, repr=False)
class UpliftCalibration:
    """Per-arm linear calibration of predicted uplift (see the module docstring).

    Use :meth:`apply` on a ``(n_rows, n_arms)`` array of predictions (columns in :attr:`arms`
    order), :meth:`to_frame` for the coefficients and :meth:`bins_frame` for the bins.
    """

    arms: tuple[str, ...]
    n_bins: int
    fits: Mapping[str, ArmCalibration]
    n_rows: int

    def __repr__(self) -> str:
        parts = ", ".join(f"{a}: {f.alpha:+.4g} + {f.beta:.4g} u" for a, f in self.fits.items())
        return f"UpliftCalibration({self.n_rows} out-of-fold rows, {self.n_bins} bins; {parts})"

    @property
    def alpha(self) -> np.ndarray:
        """Intercepts in :attr:`arms` order."""
        return np.array([self.fits[a].alpha for a in self.arms])

    @property
    def beta(self) -> np.ndarray:
        """Slopes in :attr:`arms` order."""
        return np.array([self.fits[a].beta for a in self.arms])

    def apply(self, uplift: np.ndarray) -> np.ndarray:
        """Calibrated uplift ``alpha_a + beta_a * u_a`` of a ``(n_rows, n_arms)`` array."""
        u = np.asarray(uplift, dtype=np.float64)
        if u.ndim != 2 or u.shape[1] != len(self.arms):
            raise InvalidUpliftDataError(
                f"calibration expects a (rows, {len(self.arms)}) array of uplift for arms "
                f"{list(self.arms)!r}, got shape {u.shape}"
            )
        return self.alpha[None, :] + self.beta[None, :] * u

    def draws(self, n_draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``(alpha*, beta*)`` of shape ``(n_draws, n_arms)``: parametric calibration replicates.

        Arm ``j`` draws from ``numpy.random.default_rng([seed, j])``.
        """
        alphas, betas = [], []
        for j, arm in enumerate(self.arms):
            a, b = self.fits[arm].draws(n_draws, np.random.default_rng([int(seed), j]))
            alphas.append(a)
            betas.append(b)
        return np.column_stack(alphas), np.column_stack(betas)

    def to_frame(self) -> pd.DataFrame:
        """One row per arm: ``arm, alpha, beta``."""
        return pd.DataFrame(
            [{"arm": a, "alpha": f.alpha, "beta": f.beta} for a, f in self.fits.items()]
        )

    def bins_frame(self) -> pd.DataFrame:
        """Return the bins of every arm stacked, with an ``arm`` column first."""
        out = pd.concat([f.bins.assign(arm=a) for a, f in self.fits.items()], ignore_index=True)
        return out[["arm", *[c for c in out.columns if c != "arm"]]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (stored in a saved model's ``metadata.json`` under ``calibration``)."""
        return {
            "method": "linear, out-of-fold score bins",
            "n_bins": self.n_bins,
            "n_rows": self.n_rows,
            "arms": [self.fits[a].to_dict() for a in self.arms],
        }

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> UpliftCalibration:
        """Inverse of :meth:`to_dict`."""
        fits = [ArmCalibration.from_dict(p) for p in payload["arms"]]
        return cls(
            arms=tuple(f.arm for f in fits),
            n_bins=int(payload["n_bins"]),
            fits={f.arm: f for f in fits},
            n_rows=int(payload["n_rows"]),
        )


def fit_calibration(
    uplift: np.ndarray,
    outcome: Any,
    treatment: Any,
    *,
    control: str,
    arms: Sequence[str],
    n_bins: int = DEFAULT_CALIBRATION_BINS,
) -> UpliftCalibration:
    """Fit the per-arm calibration on out-of-fold predictions (see the module docstring).

    Parameters
    ----------
    uplift
        ``(n_rows, n_arms)`` out-of-fold predicted uplift, columns in ``arms`` order.
    outcome, treatment
        Observed outcome and arm of each row.
    control
        Control arm name.
    arms
        Treatment arms (column order of ``uplift``).
    n_bins
        Bins per arm; at least 2.

    Raises
    ------
    InvalidUpliftOptionError
        ``n_bins`` below 2 or above the rows of an arm/control pair.
    InvalidUpliftDataError
        Shapes that do not match, missing predictions, or fewer than two usable bins.
    """
    u = np.asarray(uplift, dtype=np.float64)
    y = np.asarray(outcome, dtype=np.float64).ravel()
    tr = np.asarray(treatment).astype(str).ravel()
    arms = tuple(str(a) for a in arms)
    if u.ndim != 2 or u.shape != (y.shape[0], len(arms)) or tr.shape[0] != y.shape[0]:
        raise InvalidUpliftDataError(
            f"calibration needs a (rows, arms) = ({y.shape[0]}, {len(arms)}) prediction array "
            f"and one outcome and treatment per row; got {u.shape}, {y.shape[0]} and "
            f"{tr.shape[0]}"
        )
    if not np.isfinite(u).all():
        raise InvalidUpliftDataError(
            "out-of-fold predictions hold missing values: every training row must be scored by "
            "the model of its fold"
        )
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 2:
        raise InvalidUpliftOptionError(f"calibration n_bins must be an integer >= 2, got {n_bins}")
    fits: dict[str, ArmCalibration] = {}
    for j, arm in enumerate(arms):
        mask = (tr == arm) | (tr == control)
        if int(mask.sum()) < 2 * n_bins:
            raise InvalidUpliftOptionError(
                f"arm {arm!r} and the control have {int(mask.sum())} rows: too few for "
                f"{n_bins} calibration bins; lower n_bins"
            )
        bins = calibration_bins(u[mask, j], y[mask], tr[mask] == arm, n_bins)
        usable = bins[np.isfinite(bins["observed_uplift"].to_numpy(dtype=float))]
        if len(usable) < 2:
            raise InvalidUpliftDataError(
                f"arm {arm!r}: fewer than two calibration bins hold both treated and control "
                "rows; lower n_bins or use more data"
            )
        alpha, beta = fit_line(
            usable["mean_predicted_uplift"].to_numpy(dtype=float),
            usable["observed_uplift"].to_numpy(dtype=float),
            usable["n"].to_numpy(dtype=float),
        )
        fits[arm] = ArmCalibration(arm, float(alpha), float(beta), bins)
    return UpliftCalibration(arms=arms, n_bins=int(n_bins), fits=fits, n_rows=int(y.shape[0]))
