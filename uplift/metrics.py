r"""Held-out evaluation of uplift rankings: Qini, AUUC, uplift@k, deciles, bootstrap intervals.

Definitions (one treatment arm against the control)
---------------------------------------------------
Take the ``N`` held-out rows of the arm and of the control. Rank them by predicted uplift,
highest first, ties broken by row order (``np.argsort(-score, kind="stable")``). For the top
``k`` rows (``k = 0..N``) let ``N_t(k), N_c(k)`` be the numbers of treated and control rows and
``Y_t(k), Y_c(k)`` the sums of their outcomes.

* Qini curve: ``Q(k) = Y_t(k) - Y_c(k) * N_t(k) / N_c(k)``, ``Q(0) = 0``.
* Cumulative gain curve: ``G(k) = (Y_t(k)/N_t(k) - Y_c(k)/N_c(k)) * k``, ``G(0) = 0``.
* Where undefined (only over a leading run of rows), ``Q(k)`` (when ``N_c(k) = 0``) and the
  lift ``G(k)/k`` (when ``N_t(k) = 0`` or ``N_c(k) = 0``) are interpolated linearly between 0
  at ``k = 0`` and their first defined value -- the convention of causalml's
  ``get_qini``/``get_cumgain``.
* Random targeting: the straight lines ``k/N * Q(N)`` and ``k/N * G(N)``.

Reported numbers (all divided by ``N``, so they are per customer of the evaluation set):

* ``qini`` (Qini coefficient) = ``1/(N+1) * sum_{k=0..N} [Q(k) - k/N * Q(N)] / N``: the mean
  height of the Qini curve above the random line, in outcome units per customer. Random
  targeting scores 0.
* ``auuc`` = ``1/(N+1) * sum_{k=0..N} G(k) / N``: the mean height of the gain curve. Random
  targeting scores ``G(N) / (2N) = ate / 2``.
* ``uplift@p`` for a share ``p`` (default 10/20/30%): with ``n = max(1, floor(p * N))``,
  ``Y_t(n)/N_t(n) - Y_c(n)/N_c(n)`` -- the difference in mean outcome between treated and
  control rows among the top ``n``. Random targeting scores ``ate``.
* ``ate`` = ``Y_t(N)/N_t(N) - Y_c(N)/N_c(N)``: the arm's average effect on the evaluation set.
* Deciles (``n_bins`` bins): ranked position ``r = 0..N-1`` goes to bin ``floor(r * n_bins / N)``
  (bin 1 = highest predicted uplift); per bin the observed uplift (difference in means) and the
  mean predicted uplift.
* ``calibration_error`` = ``sum_b n_b |o_b - p_b| / sum_b n_b`` over the decile bins ``b``
  holding treated and control rows, with ``n_b`` rows, observed uplift ``o_b`` and mean predicted
  uplift ``p_b``: how far, on average per customer, the predicted uplift is from the uplift
  observed among customers with similar predictions (outcome units; 0 is perfect). Sampling noise
  in ``o_b`` keeps it above 0 even for a perfectly calibrated model; compare models on the same
  rows. No random-targeting baseline (NaN).

Relation to causalml (asserted in the tests on the same predictions, without ties):
``qini * N == causalml.metrics.qini_score(df, normalize=False)``,
``qini * N / |Q(N)| == qini_score(df, normalize=True)``,
``auuc * N == auuc_score(df, normalize=False)`` and ``Q(k)``/``G(k)`` equal the rows of
``get_qini``/``get_cumgain``. (causalml sorts with a non-stable sort, so tied scores may be
ordered differently there.)

Intervals
---------
Percentile bootstrap: each replicate resamples, with replacement, the treated rows among
themselves and the control rows among themselves (stratified by arm, keeping ``N_t`` and ``N_c``),
with ``numpy.random.default_rng([seed, arm_position])``, and recomputes every number with the
ranking of the original predictions (copies of a row sit together, rows in the original ranked
order). The resampled rows depend only on the seed and the treatment column, not on the
predictions, so two models evaluated with the same seed on the same data see the same replicates
and :func:`compare_evaluations` gives paired intervals for their difference.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from attribution._io import json_records as _records
from uplift.errors import InvalidUpliftDataError, InvalidUpliftOptionError

__all__ = [
    "ArmEvaluation",
    "UpliftEvaluation",
    "auuc_score",
    "compare_evaluations",
    "evaluate_model",
    "evaluate_uplift",
    "gain_curve",
    "qini_coefficient",
    "qini_curve",
    "uplift_at_k",
    "uplift_by_decile",
]

logger = logging.getLogger(__name__)

DEFAULT_KS: tuple[float, ...] = (0.1, 0.2, 0.3)


# --------------------------------------------------------------------------- core
def _ranking(score: np.ndarray) -> np.ndarray:
    return np.argsort(-score, kind="stable")


def _cums(y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return padded cumulative sums over ranked rows: index k = top-k rows, k = 0..N."""
    n = y.shape[0]
    nt = np.zeros(n + 1)
    yt = np.zeros(n + 1)
    yc = np.zeros(n + 1)
    np.cumsum(t, out=nt[1:])
    np.cumsum(y * t, out=yt[1:])
    np.cumsum(y * (1.0 - t), out=yc[1:])
    k = np.arange(n + 1, dtype=np.float64)
    return k, nt, k - nt, yt, yc


def _fill_leading(curve: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Linear interpolation from (0, 0) to the first valid point over the leading invalid run."""
    curve[0] = 0.0
    valid = valid.copy()
    valid[0] = True
    if valid.all():
        return curve
    first = int(np.argmax(valid[1:])) + 1 if valid[1:].any() else 0
    if first == 0:
        curve[1:] = 0.0
        return curve
    idx = np.arange(1, first)
    curve[idx] = curve[first] * idx / first
    return curve


def _curves(y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    k, nt, nc, yt, yc = _cums(y, t)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = yt - yc * nt / nc
        lift = yt / nt - yc / nc
    q = _fill_leading(q, nc > 0)
    g = _fill_leading(lift, (nt > 0) & (nc > 0)) * k
    return q, g, (k, nt, nc, yt, yc)


def _diff_means(yt: Any, nt: Any, yc: Any, nc: Any) -> float:
    if nt <= 0 or nc <= 0:
        return math.nan
    return float(yt / nt - yc / nc)


def _stats(
    y: np.ndarray, t: np.ndarray, s: np.ndarray, ks: Sequence[float], n_bins: int
) -> tuple[dict[str, float], np.ndarray]:
    """All scalar metrics and the decile table rows for ranked arrays (y, t, score)."""
    n = y.shape[0]
    q, g, (k, nt, nc, yt, yc) = _curves(y, t)
    out: dict[str, float] = {}
    out["ate"] = _diff_means(yt[n], nt[n], yc[n], nc[n])
    out["qini"] = float(np.mean(q - k / n * q[n]) / n)
    out["auuc"] = float(np.mean(g) / n)
    for p in ks:
        m = max(1, math.floor(p * n))
        out[_k_name(p)] = _diff_means(yt[m], nt[m], yc[m], nc[m])
    edges = np.floor(np.arange(n_bins + 1) * n / n_bins).astype(np.int64)
    cs = np.zeros(n + 1)
    np.cumsum(s, out=cs[1:])
    lo, hi = edges[:-1], edges[1:]
    size = (hi - lo).astype(np.float64)
    b_nt, b_nc = nt[hi] - nt[lo], nc[hi] - nc[lo]
    b_yt, b_yc = yt[hi] - yt[lo], yc[hi] - yc[lo]
    with np.errstate(divide="ignore", invalid="ignore"):
        obs = np.where((b_nt > 0) & (b_nc > 0), b_yt / b_nt - b_yc / b_nc, np.nan)
        pred = np.where(size > 0, (cs[hi] - cs[lo]) / size, np.nan)
    bins = np.column_stack([size, b_nt, b_nc, pred, obs])
    usable = np.isfinite(obs) & (size > 0)
    out["calibration_error"] = (
        float(size[usable] @ np.abs(obs[usable] - pred[usable]) / size[usable].sum())
        if usable.any()
        else math.nan
    )
    return out, bins


def _k_name(p: float) -> str:
    pct = p * 100
    return f"uplift@{pct:g}%"


def _as_arrays(score: Any, outcome: Any, treated: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = np.asarray(score, dtype=np.float64).ravel()
    y = np.asarray(outcome, dtype=np.float64).ravel()
    t = np.asarray(treated).ravel()
    if t.dtype != bool:
        t_num = t.astype(np.float64)
        if not np.isin(t_num, (0.0, 1.0)).all():
            raise InvalidUpliftDataError("treated must be boolean or 0/1")
        t = t_num.astype(bool)
    if not (s.shape == y.shape == t.shape):
        raise InvalidUpliftDataError(
            f"score, outcome and treated must have the same length, got {s.shape[0]}, "
            f"{y.shape[0]} and {t.shape[0]}"
        )
    for name, arr in (("score", s), ("outcome", y)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise InvalidUpliftDataError(
                f"{name} has {int(bad.sum())} missing or infinite value(s), first at position "
                f"{int(np.flatnonzero(bad)[0])}"
            )
    if t.all() or not t.any():
        raise InvalidUpliftDataError(
            "evaluation needs both treated and control rows; got only "
            + ("treated" if t.all() else "control")
            + " rows"
        )
    return s, y, t.astype(np.float64)


def _ranked(score: Any, outcome: Any, treated: Any) -> tuple[np.ndarray, ...]:
    s, y, t = _as_arrays(score, outcome, treated)
    order = _ranking(s)
    return s[order], y[order], t[order]


# --------------------------------------------------------------------------- single arm
def qini_curve(score: Any, outcome: Any, treated: Any) -> pd.DataFrame:
    """Qini curve of one arm (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        ``N + 1`` rows ``k = 0..N`` with columns ``n_targeted`` (k), ``fraction`` (k/N),
        ``qini`` (``Q(k)``, absolute), ``random`` (``k/N * Q(N)``), ``qini_per_customer``
        (``Q(k)/N``).
    """
    _s, y, t = _ranked(score, outcome, treated)
    q, _, (k, *_rest) = _curves(y, t)
    return _curve_frame("qini", q, k, y.shape[0])


def gain_curve(score: Any, outcome: Any, treated: Any) -> pd.DataFrame:
    """Cumulative gain curve ``G(k)`` of one arm; columns as :func:`qini_curve` (``gain``)."""
    _s, y, t = _ranked(score, outcome, treated)
    _, g, (k, *_rest) = _curves(y, t)
    return _curve_frame("gain", g, k, y.shape[0])


def _curve_frame(name: str, curve: np.ndarray, k: np.ndarray, n: int) -> pd.DataFrame:
    """Frame of a curve over ``k = 0..n`` targeted: the curve, random targeting, per customer."""
    return pd.DataFrame(
        {
            "n_targeted": k.astype(np.int64),
            "fraction": k / n,
            name: curve,
            "random": k / n * curve[n],
            f"{name}_per_customer": curve / n,
        }
    )


def qini_coefficient(score: Any, outcome: Any, treated: Any) -> float:
    """Qini coefficient ``1/(N+1) sum_k [Q(k) - k/N Q(N)] / N`` (random targeting = 0)."""
    s, y, t = _ranked(score, outcome, treated)
    return _stats(y, t, s, (), 1)[0]["qini"]


def auuc_score(score: Any, outcome: Any, treated: Any) -> float:
    """Area under the gain curve ``1/(N+1) sum_k G(k) / N`` (random targeting = ate/2)."""
    s, y, t = _ranked(score, outcome, treated)
    return _stats(y, t, s, (), 1)[0]["auuc"]


def uplift_at_k(score: Any, outcome: Any, treated: Any, k: float = 0.3) -> float:
    """Treated minus control mean outcome among the top ``max(1, floor(k N))`` ranked rows.

    ``NaN`` when those rows hold no treated or no control row.
    """
    if not 0.0 < k <= 1.0:
        raise InvalidUpliftOptionError(f"k must be a share in (0, 1], got {k}")
    s, y, t = _ranked(score, outcome, treated)
    return _stats(y, t, s, (k,), 1)[0][_k_name(k)]


def uplift_by_decile(score: Any, outcome: Any, treated: Any, n_bins: int = 10) -> pd.DataFrame:
    """Observed and predicted uplift per bin of ranked rows (bin 1 = highest predicted)."""
    if n_bins < 1:
        raise InvalidUpliftOptionError(f"n_bins must be at least 1, got {n_bins}")
    s, y, t = _ranked(score, outcome, treated)
    _, bins = _stats(y, t, s, (), n_bins)
    return _bins_frame(bins)


def _bins_frame(bins: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "bin": np.arange(1, bins.shape[0] + 1),
            "n": bins[:, 0].astype(np.int64),
            "n_treated": bins[:, 1].astype(np.int64),
            "n_control": bins[:, 2].astype(np.int64),
            "mean_predicted_uplift": bins[:, 3],
            "observed_uplift": bins[:, 4],
        }
    )


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, repr=False)
class ArmEvaluation:
    """Evaluation of one treatment arm against the control on held-out rows.

    ``metrics`` maps ``qini``, ``auuc``, ``uplift@10%``... and ``ate`` to point estimates;
    ``intervals`` to bootstrap ``(low, high)``; ``baselines`` to the random-targeting value
    (``qini`` 0, ``auuc`` ate/2, ``uplift@p`` ate, ``ate`` ate) and ``baseline_intervals`` to
    its interval. ``replicates`` holds the bootstrap values of each metric (paired across models
    evaluated with the same seed on the same rows). ``curve`` has the Qini and gain curves
    (per customer, see :func:`qini_curve`); ``deciles`` the bin table with intervals.
    """

    arm: str
    control: str
    n: int
    n_treated: int
    n_control: int
    metrics: Mapping[str, float]
    intervals: Mapping[str, tuple[float, float]]
    baselines: Mapping[str, float]
    baseline_intervals: Mapping[str, tuple[float, float]]
    deciles: pd.DataFrame
    curve: pd.DataFrame
    replicates: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{m}={v:.4g} [{self.intervals[m][0]:.4g}, {self.intervals[m][1]:.4g}]"
            for m, v in self.metrics.items()
        )
        return f"ArmEvaluation(arm={self.arm!r}, n={self.n}, {parts})"


@dataclass(frozen=True, repr=False)
class UpliftEvaluation:
    """Per-arm held-out evaluation (see the module docstring for every definition).

    Use :meth:`to_frame` for one row per (arm, metric), :meth:`deciles_frame` for the decile
    tables, :meth:`curves_frame` for the curves and :meth:`to_dict` for JSON.
    """

    arms: Mapping[str, ArmEvaluation]
    control: str
    ci: float
    n_bootstrap: int
    seed: int
    ks: tuple[float, ...]

    def __repr__(self) -> str:
        lines = [
            f"UpliftEvaluation(control={self.control!r}, ci={self.ci:g}, "
            f"n_bootstrap={self.n_bootstrap}, seed={self.seed})"
        ]
        lines += [f"  {ev!r}" for ev in self.arms.values()]
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """One row per arm and metric.

        Columns: ``arm, metric, value, ci_low, ci_high, random_baseline, random_ci_low,
        random_ci_high, n, n_treated, n_control``.
        """
        rows = []
        for arm, ev in self.arms.items():
            for metric, value in ev.metrics.items():
                lo, hi = ev.intervals[metric]
                blo, bhi = ev.baseline_intervals[metric]
                rows.append(
                    {
                        "arm": arm,
                        "metric": metric,
                        "value": value,
                        "ci_low": lo,
                        "ci_high": hi,
                        "random_baseline": ev.baselines[metric],
                        "random_ci_low": blo,
                        "random_ci_high": bhi,
                        "n": ev.n,
                        "n_treated": ev.n_treated,
                        "n_control": ev.n_control,
                    }
                )
        return pd.DataFrame(rows)

    def deciles_frame(self) -> pd.DataFrame:
        """Decile tables of every arm stacked, with an ``arm`` column first."""
        frames = [ev.deciles.assign(arm=arm) for arm, ev in self.arms.items()]
        out = pd.concat(frames, ignore_index=True)
        return out[["arm", *[c for c in out.columns if c != "arm"]]]

    def curves_frame(self, arm: str | None = None) -> pd.DataFrame:
        """Qini and gain curves (per customer) of ``arm`` (default: all arms stacked)."""
        arms = [arm] if arm is not None else list(self.arms)
        for a in arms:
            if a not in self.arms:
                raise InvalidUpliftOptionError(f"no arm {a!r}; arms are {list(self.arms)!r}")
        frames = [self.arms[a].curve.assign(arm=a) for a in arms]
        return pd.concat(frames, ignore_index=True)

    def value(self, arm: str, metric: str) -> float:
        """Point estimate of ``metric`` for ``arm``."""
        return float(self.arms[arm].metrics[metric])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: settings, ``metrics`` (records of :meth:`to_frame`), ``deciles``."""
        return {
            "control": self.control,
            "ci": self.ci,
            "n_bootstrap": self.n_bootstrap,
            "seed": self.seed,
            "ks": list(self.ks),
            "metrics": _records(self.to_frame()),
            "deciles": _records(self.deciles_frame()),
        }


# --------------------------------------------------------------------------- evaluation
def _percentile_interval(values: np.ndarray, ci: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (math.nan, math.nan)
    lo, hi = np.percentile(finite, [50 * (1 - ci), 50 * (1 + ci)])
    return float(lo), float(hi)


def _resample_order(
    rng: np.random.Generator,
    treated_rows: np.ndarray,
    control_rows: np.ndarray,
    rank_of_row: np.ndarray,
    n: int,
) -> np.ndarray:
    draws = np.concatenate(
        [
            treated_rows[rng.integers(0, treated_rows.size, treated_rows.size)],
            control_rows[rng.integers(0, control_rows.size, control_rows.size)],
        ]
    )
    counts = np.bincount(rank_of_row[draws], minlength=n)
    return np.repeat(np.arange(n), counts)


def _evaluate_arm(
    arm: str,
    control: str,
    score: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    *,
    ks: tuple[float, ...],
    n_bins: int,
    n_bootstrap: int,
    ci: float,
    rng: np.random.Generator,
) -> ArmEvaluation:
    n = y.shape[0]
    order = _ranking(score)
    s_r, y_r, t_r = score[order], y[order], t[order]
    point, bins = _stats(y_r, t_r, s_r, ks, n_bins)
    names = list(point)
    reps = np.full((n_bootstrap, len(names)), np.nan)
    bin_reps = np.full((n_bootstrap, n_bins), np.nan)
    rank_of_row = np.empty(n, dtype=np.int64)
    rank_of_row[order] = np.arange(n)
    treated_rows, control_rows = np.flatnonzero(t == 1.0), np.flatnonzero(t == 0.0)
    for b in range(n_bootstrap):
        idx = _resample_order(rng, treated_rows, control_rows, rank_of_row, n)
        stats_b, bins_b = _stats(y_r[idx], t_r[idx], s_r[idx], ks, n_bins)
        reps[b] = [stats_b[m] for m in names]
        bin_reps[b] = bins_b[:, 4]
    replicates = {m: reps[:, j] for j, m in enumerate(names)}
    intervals = {m: _percentile_interval(replicates[m], ci) for m in names}
    ate_reps = replicates["ate"]
    baselines: dict[str, float] = {}
    baseline_intervals: dict[str, tuple[float, float]] = {}
    for m in names:
        if m == "qini":
            baselines[m], baseline_intervals[m] = 0.0, (0.0, 0.0)
        elif m == "auuc":
            baselines[m] = point["ate"] / 2
            baseline_intervals[m] = _percentile_interval(ate_reps / 2, ci)
        elif m == "calibration_error":  # no random-targeting counterpart
            baselines[m], baseline_intervals[m] = math.nan, (math.nan, math.nan)
        else:
            baselines[m] = point["ate"]
            baseline_intervals[m] = intervals["ate"]
    deciles = _bins_frame(bins)
    dec_ci = np.array([_percentile_interval(bin_reps[:, j], ci) for j in range(n_bins)])
    deciles["ci_low"] = dec_ci[:, 0] if n_bootstrap else np.nan
    deciles["ci_high"] = dec_ci[:, 1] if n_bootstrap else np.nan
    q, g, (k, *_rest) = _curves(y_r, t_r)
    curve = pd.DataFrame(
        {
            "n_targeted": k.astype(np.int64),
            "fraction": k / n,
            "qini": q / n,
            "qini_random": k / n * q[n] / n,
            "gain": g / n,
            "gain_random": k / n * g[n] / n,
        }
    )
    return ArmEvaluation(
        arm=arm,
        control=control,
        n=n,
        n_treated=int(t.sum()),
        n_control=int(n - t.sum()),
        metrics=point,
        intervals=intervals,
        baselines=baselines,
        baseline_intervals=baseline_intervals,
        deciles=deciles,
        curve=curve,
        replicates=replicates,
    )


def _scores_by_arm(
    predictions: pd.DataFrame | Mapping[str, Any], arms: Sequence[str] | None
) -> dict[str, np.ndarray]:
    if isinstance(predictions, pd.DataFrame):
        available = {
            str(c)[len("uplift_") :]: c for c in predictions.columns if str(c).startswith("uplift_")
        }
        if arms is None:
            arms = list(available)
        missing = [a for a in arms if a not in available]
        if missing:
            raise InvalidUpliftDataError(
                f"predictions lack column(s) {[f'uplift_{a}' for a in missing]!r}; they have "
                f"{list(map(str, predictions.columns))!r}"
            )
        return {a: predictions[available[a]].to_numpy(dtype=np.float64) for a in arms}
    scores = {str(k): np.asarray(v, dtype=np.float64).ravel() for k, v in predictions.items()}
    if arms is not None:
        missing = [a for a in arms if a not in scores]
        if missing:
            raise InvalidUpliftDataError(f"no predictions for arm(s) {missing!r}")
        scores = {a: scores[a] for a in arms}
    return scores


def evaluate_uplift(
    predictions: pd.DataFrame | Mapping[str, Any],
    outcome: Any,
    treatment: Any,
    control: str,
    *,
    arms: Sequence[str] | None = None,
    ks: Sequence[float] = DEFAULT_KS,
    n_bins: int = 10,
    n_bootstrap: int = 200,
    ci: float = 0.95,
    seed: int = 0,
) -> UpliftEvaluation:
    """Evaluate predicted uplift per arm on held-out rows, with bootstrap intervals.

    Parameters
    ----------
    predictions
        The frame of :meth:`UpliftModel.predict` (its ``uplift_<arm>`` columns are used) or a
        mapping ``{arm: scores}``; one score per row.
    outcome, treatment
        Observed outcome and arm of every row (same length as ``predictions``).
    control
        Control arm name.
    arms
        Arms to evaluate (default: every arm in ``predictions``).
    ks
        Shares for ``uplift@k``.
    n_bins
        Bins of the decile table.
    n_bootstrap
        Bootstrap replicates (0 for point estimates only; intervals are then NaN).
    ci
        Interval level.
    seed
        Seed of the bootstrap.

    Each arm is evaluated on the rows of that arm and the control, ranked by that arm's
    predicted uplift.
    """
    if not 0.0 < ci < 1.0:
        raise InvalidUpliftOptionError(f"ci must be in (0, 1), got {ci}")
    if n_bootstrap < 0:
        raise InvalidUpliftOptionError(f"n_bootstrap must be >= 0, got {n_bootstrap}")
    if n_bins < 1:
        raise InvalidUpliftOptionError(f"n_bins must be at least 1, got {n_bins}")
    ks = tuple(float(k) for k in ks)
    for k in ks:
        if not 0.0 < k <= 1.0:
            raise InvalidUpliftOptionError(f"every k must be a share in (0, 1], got {k}")
    scores = _scores_by_arm(predictions, arms)
    y = np.asarray(outcome, dtype=np.float64).ravel()
    tr = pd.Series(np.asarray(treatment).ravel())
    if tr.isna().any():
        bad = tr.isna().to_numpy()
        raise InvalidUpliftDataError(
            f"treatment has {int(bad.sum())} missing value(s), first at position "
            f"{int(np.flatnonzero(bad)[0])}"
        )
    tr_s = tr.astype(str).to_numpy()
    control = str(control)
    if control not in set(tr_s.tolist()):
        raise InvalidUpliftDataError(
            f"control arm {control!r} not found among the held-out treatments "
            f"{sorted(set(tr_s.tolist()))!r}"
        )
    results: dict[str, ArmEvaluation] = {}
    for pos, (arm, score) in enumerate(scores.items()):
        if score.shape[0] != y.shape[0] or tr_s.shape[0] != y.shape[0]:
            raise InvalidUpliftDataError(
                f"predictions ({score.shape[0]} rows), outcome ({y.shape[0]}) and treatment "
                f"({tr_s.shape[0]}) must have the same number of rows"
            )
        mask = (tr_s == arm) | (tr_s == control)
        if not (tr_s == arm).any():
            raise InvalidUpliftDataError(
                f"arm {arm!r} has no held-out rows; held-out arms are "
                f"{sorted(set(tr_s.tolist()))!r}"
            )
        s_a, y_a, t_a = _as_arrays(score[mask], y[mask], tr_s[mask] == arm)
        rng = np.random.default_rng([int(seed), pos])
        results[arm] = _evaluate_arm(
            arm,
            control,
            s_a,
            y_a,
            t_a,
            ks=ks,
            n_bins=n_bins,
            n_bootstrap=n_bootstrap,
            ci=ci,
            rng=rng,
        )
    return UpliftEvaluation(
        arms=results, control=control, ci=ci, n_bootstrap=n_bootstrap, seed=int(seed), ks=ks
    )


def evaluate_model(model: Any, data: Any, **kwargs: Any) -> UpliftEvaluation:
    """Predict ``data`` (an :class:`~uplift.data.UpliftData`) with ``model`` and evaluate it.

    Keyword arguments go to :func:`evaluate_uplift`.
    """
    predictions = model.predict(data.features)
    return evaluate_uplift(
        predictions, data.outcome, data.treatment, data.control, arms=list(model.arms_), **kwargs
    )


def compare_evaluations(challenger: UpliftEvaluation, champion: UpliftEvaluation) -> pd.DataFrame:
    """Paired difference ``challenger - champion`` of every metric, per arm.

    Both evaluations must come from the same held-out rows with the same seed and number of
    replicates (then their bootstrap replicates are paired). Columns: ``arm, metric,
    challenger, champion, difference, ci_low, ci_high``.
    """
    if (challenger.seed, challenger.n_bootstrap, challenger.ci) != (
        champion.seed,
        champion.n_bootstrap,
        champion.ci,
    ):
        raise InvalidUpliftOptionError(
            "compare evaluations made with the same seed, n_bootstrap and ci; got "
            f"{(challenger.seed, challenger.n_bootstrap, challenger.ci)} and "
            f"{(champion.seed, champion.n_bootstrap, champion.ci)}"
        )
    rows = []
    for arm, a in challenger.arms.items():
        if arm not in champion.arms:
            continue
        b = champion.arms[arm]
        if (a.n, a.n_treated) != (b.n, b.n_treated):
            raise InvalidUpliftDataError(
                f"arm {arm!r} was evaluated on different rows ({a.n} vs {b.n}); evaluate both "
                "models on the same held-out data"
            )
        for metric, value in a.metrics.items():
            if metric not in b.metrics:
                continue
            diff = a.replicates[metric] - b.replicates[metric] if a.replicates else np.array([])
            lo, hi = _percentile_interval(diff, challenger.ci)
            rows.append(
                {
                    "arm": arm,
                    "metric": metric,
                    "challenger": value,
                    "champion": b.metrics[metric],
                    "difference": value - b.metrics[metric],
                    "ci_low": lo,
                    "ci_high": hi,
                }
            )
    return pd.DataFrame(rows)
