r"""Honest plans: what a targeting plan promises, with intervals that include model uncertainty.

A plan (:func:`uplift.targeting.plan_targeting`) gives arm ``a_i`` to the customers ``i`` of a
set ``S`` among ``N`` scored customers. Its **value** is the incremental outcome it brings on
them,

    ``V(S) = sum_{i in S} tau_{a_i}(x_i)``,

with ``tau_a(x) = E[Y | x, T=a] - E[Y | x, T=control]`` the true uplift; the profit is
``value_per_conversion * V(S) - cost(S)`` (the costs are known). :func:`promise_plan` estimates
``V(S)`` with an interval. It needs a calibrated model (:meth:`UpliftModel.calibrate`), which
keeps the out-of-fold (OOF) predictions, outcomes, arms and folds of its training rows and its
``K`` fold models.

Why not sum the predictions: the customers a plan picks are those whose uplift the model
overestimated most (the winner's curse), and the level of an uplift learner's predictions is
often far off: summing them promised 3.2x the true value on simulated campaigns
(``BENCHMARKS.md``). Summing calibrated predictions removed most of that but still missed by
20% (a straight calibration line does not follow the top of the ranking), so the promise is
estimated directly from what the same targeting rule achieved on held-out training rows.

Point promise (cross-fitted segment estimate)
---------------------------------------------
1. *Cross-fitted calibration of the training rows*: the OOF predictions of the rows of fold
   ``k`` are calibrated with a calibration (:func:`uplift.calibration.fit_calibration`) fitted
   on the OOF rows of the other folds only, so that no row's outcome shapes its own targeting.
2. *The same rule on the training rows*: each training row gets the plan's key -- its best arm
   ``argmax_a value * u~_a - cost_a`` and that profit (``budget_type="contacts"``) or profit per
   unit cost (``"money"``) -- and the top ``round(q * n_train)`` rows by the key with a positive
   profit form the segment ``T``, with ``q = |S| / N`` the share of customers the plan contacts
   (ties: row order). ``T_a`` are its rows whose best arm is ``a``.
3. *Value per contacted customer*: ``v_a = mean(y | T_a, T=a) - mean(y | T_a, T=control)``.
4. ``P = sum_a |S_a| v_a``; profit ``value * P - cost(S)``.

Interval
--------
* **Rows**: ``R`` bootstrap replicates resample the training rows with replacement within each
  (fold, observed arm) cell (``numpy.random.default_rng(seed)``) and recompute ``v_a`` and
  ``P*_r`` (the rule and the segment held fixed).
* **Model**: the segment of fold ``k`` was chosen by the fold model ``k``, a refit of the model on
  other rows. ``P_k = sum_a |S_a| v_ak`` with ``v_ak`` the value of ``T_a`` within fold ``k``.
  Without model uncertainty their variance would be about ``K`` times the rows' variance
  ``V_rows`` of ``P`` (each fold holds ``1/K`` of the rows); the excess is the variance of the
  plan value between refits, ``V_model = max(0, s_K^2 - K V_rows)`` with ``s_K^2`` the sample
  variance of the ``P_k``. The plan being promised comes from one more refit (the final model),
  so its value varies by that much too.
* The replicates are ``P + (P*_r - mean_r P*_r) * sqrt((V_rows + V_model) / V_rows)``; the
  interval is their percentile interval at level ``ci`` (profit: of ``value * . - cost(S)``).

What it is and is not: an interval for the expected value of the plan on these customers, not a
prediction of one noisy realisation, nor of a held-out estimate (which adds its own sampling
noise; :func:`uplift.targeting.evaluate_targeting` reports both side by side). The fold models
saw ``(K-1)/K`` of the training rows, so their plans are a little worse than the final model's:
the promise leans conservative. Its coverage on simulated campaigns is measured in
``BENCHMARKS.md`` (``benchmarks/bench_promise.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from uplift.errors import InvalidUpliftDataError, InvalidUpliftOptionError
from uplift.metrics import _percentile_interval, _records

if TYPE_CHECKING:
    from uplift.learners import UpliftModel
    from uplift.targeting import TargetingPlan

__all__ = ["PlanPromise", "promise_plan"]


@dataclass(frozen=True, repr=False)
class PlanPromise:
    """The promised value of a plan with its interval (see the module docstring).

    :meth:`to_frame` columns: ``arm`` (each arm, then ``total``), ``n_contacts``, ``cost``,
    ``promised_incremental_conversions``, ``ci_low``, ``ci_high``, ``promised_profit``,
    ``profit_ci_low``, ``profit_ci_high``, ``raw_incremental_conversions`` (the uncalibrated
    predictions' sum, for comparison).
    """

    table: pd.DataFrame
    ci: float
    n_draws: int
    seed: int
    n_folds: int
    draws: np.ndarray
    model_sd: float = 0.0
    rows_sd: float = 0.0

    def _total(self) -> pd.Series:
        return self.table.iloc[-1]

    @property
    def incremental_conversions(self) -> float:
        """Promised incremental outcome of the plan ``P``."""
        return float(self._total()["promised_incremental_conversions"])

    @property
    def interval(self) -> tuple[float, float]:
        """Interval of the incremental outcome."""
        t = self._total()
        return float(t["ci_low"]), float(t["ci_high"])

    @property
    def profit(self) -> float:
        """Promised profit."""
        return float(self._total()["promised_profit"])

    @property
    def profit_interval(self) -> tuple[float, float]:
        """Interval of the profit."""
        t = self._total()
        return float(t["profit_ci_low"]), float(t["profit_ci_high"])

    def to_frame(self) -> pd.DataFrame:
        """Return the per-arm and total table."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings and table."""
        return {
            "ci": self.ci,
            "n_draws": self.n_draws,
            "seed": self.seed,
            "n_folds": self.n_folds,
            "rows_sd": self.rows_sd,
            "model_sd": self.model_sd,
            "promise": _records(self.table),
        }

    def __repr__(self) -> str:
        lo, hi = self.interval
        plo, phi = self.profit_interval
        return (
            f"PlanPromise(incremental_conversions={self.incremental_conversions:.4g} "
            f"[{lo:.4g}, {hi:.4g}], profit={self.profit:.4g} [{plo:.4g}, {phi:.4g}], "
            f"{self.ci:.0%} interval, {self.n_draws} draws)"
        )


def promise_plan(
    model: UpliftModel,
    plan: TargetingPlan,
    features: pd.DataFrame,
    *,
    n_draws: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> PlanPromise:
    """Promise of ``plan`` with an interval that includes model uncertainty (module docstring).

    Parameters
    ----------
    model
        A calibrated :class:`~uplift.learners.UpliftModel` (trained with
        :func:`uplift.workflow.train_and_evaluate` and ``calibrate=True``, or ``pathlift uplift
        train`` without ``--no-calibrate``).
    plan
        A plan made from this model's predictions of ``features``.
    features
        The customers of the plan (one row per row of ``plan.assignments``, same order).
    n_draws, ci, seed
        Bootstrap replicates, interval level and seed.

    Raises
    ------
    InvalidUpliftOptionError
        The model is not calibrated; bad ``n_draws`` or ``ci``.
    InvalidUpliftDataError
        ``features`` does not match the plan, or a plan arm has no treated or control training
        row in its segment.
    """
    from uplift.calibration import fit_calibration

    oof = model.out_of_fold_
    if model.calibration_ is None or oof is None or len(model.fold_models_) < 2:
        raise InvalidUpliftOptionError(
            "the plan's promise needs a model calibrated on cross-fitted predictions; train it "
            "with calibration (pathlift uplift train without --no-calibrate, or "
            "uplift.workflow.train_and_evaluate(..., calibrate=True))"
        )
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 20:
        raise InvalidUpliftOptionError(f"n_draws must be an integer >= 20, got {n_draws!r}")
    if not 0.0 < ci < 1.0:
        raise InvalidUpliftOptionError(f"ci must be in (0, 1), got {ci}")
    if len(features) != len(plan.assignments):
        raise InvalidUpliftDataError(
            f"features has {len(features)} rows but the plan {len(plan.assignments)}: pass the "
            "rows the plan was made for"
        )
    arms = tuple(model.arms_)
    unknown = [a for a in plan.arms if a not in arms]
    if unknown:
        raise InvalidUpliftDataError(
            f"the plan gives arm(s) {unknown!r} the model does not predict ({list(arms)!r})"
        )
    u, y = oof["uplift"], oof["outcome"]
    tr, fold = np.asarray(oof["treatment"]).astype(str), oof["fold"]
    folds = sorted(set(fold.tolist()))
    k = len(folds)
    # 1. cross-fitted calibration of the out-of-fold predictions
    cal_u = np.empty_like(u)
    n_bins = model.calibration_.n_bins
    for f in folds:
        other = fold != f
        cal = fit_calibration(
            u[other], y[other], tr[other], control=model.control_, arms=arms, n_bins=n_bins
        )
        cal_u[~other] = cal.apply(u[~other])
    # 2. the plan's rule on the training rows
    value = plan.value_per_conversion
    cost = np.array([plan.cost_per_contact[a] for a in arms])
    profit = cal_u * value - cost[None, :]
    best = np.argmax(profit, axis=1)
    best_profit = profit[np.arange(best.size), best]
    if plan.budget_type == "money":
        with np.errstate(divide="ignore"):
            key = np.where(cost[best] > 0, best_profit / cost[best], np.inf)
    else:
        key = best_profit
    share = plan.n_contacts / max(1, len(plan.assignments))
    take = np.argsort(-key, kind="stable")[: round(share * best.size)]
    segment = np.zeros(best.size, dtype=bool)
    segment[take] = True
    segment &= best_profit > 0
    # 3. values per contacted customer, bootstrap over rows, per-fold values
    rng = np.random.default_rng(seed)
    cells = [
        np.flatnonzero((fold == f) & (tr == g)) for f in folds for g in sorted(set(tr.tolist()))
    ]
    groups = []  # per arm: (treated rows, control rows) of the segment
    for j, arm in enumerate(arms):
        t_a = segment & (best == j)
        groups.append(
            (np.flatnonzero(t_a & (tr == arm)), np.flatnonzero(t_a & (tr == model.control_)))
        )
    sums = np.zeros((n_draws, len(arms), 4))  # weighted sum and count, treated then control
    for r in range(n_draws):
        draws = np.concatenate([c[rng.integers(0, c.size, c.size)] for c in cells if c.size])
        w = np.bincount(draws, minlength=y.size).astype(np.float64)
        for j, (rows_t, rows_c) in enumerate(groups):
            sums[r, j] = (
                w[rows_t] @ y[rows_t],
                w[rows_t].sum(),
                w[rows_c] @ y[rows_c],
                w[rows_c].sum(),
            )
    assigned = plan.assignments["arm"].to_numpy()
    targeted = plan.assignments["targeted"].to_numpy(dtype=bool)
    costs_plan = plan.assignments["cost"].to_numpy(dtype=float)
    per_arm = []
    for j, arm in enumerate(arms):
        in_s = targeted & (assigned == arm)
        t_a = segment & (best == j)
        treated, control = t_a & (tr == arm), t_a & (tr == model.control_)
        n_s = int(in_s.sum())
        if n_s and (not treated.any() or not control.any()):
            raise InvalidUpliftDataError(
                f"the training rows the rule gives arm {arm!r} hold no "
                f"{'treated' if not treated.any() else 'control'} row: the plan's value for "
                "that arm cannot be estimated; train on more data"
            )
        if not n_s:
            per_arm.append((arm, 0, 0.0, 0.0, np.zeros(n_draws), np.zeros(k)))
            continue
        v = y[treated].mean() - y[control].mean()
        with np.errstate(divide="ignore", invalid="ignore"):
            v_r = sums[:, j, 0] / sums[:, j, 1] - sums[:, j, 2] / sums[:, j, 3]
        v_r = np.where(np.isfinite(v_r), v_r, v)
        v_k = np.array(
            [_diff(y, treated & (fold == f), control & (fold == f), default=v) for f in folds]
        )
        per_arm.append((arm, n_s, float(costs_plan[in_s].sum()), n_s * v, n_s * v_r, n_s * v_k))
    # 4. combine rows and model uncertainty
    total_r = np.sum([p[4] for p in per_arm], axis=0)
    total_k = np.sum([p[5] for p in per_arm], axis=0)
    v_rows = float(np.var(total_r, ddof=1))
    v_model = max(0.0, float(np.var(total_k, ddof=1)) - k * v_rows)
    scale = math.sqrt((v_rows + v_model) / v_rows) if v_rows > 0 else 1.0
    rows_out = []
    for arm, n_s, cost_a, point, draws, _ in per_arm:
        if arm in plan.arms:
            spread = point + (draws - draws.mean()) * scale
            rows_out.append(_row(arm, n_s, cost_a, point, spread, value, ci))
    total_point = float(sum(p[3] for p in per_arm))
    total_draws = total_point + (total_r - total_r.mean()) * scale
    rows_out.append(
        _row(
            "total",
            int(sum(p[1] for p in per_arm)),
            float(sum(p[2] for p in per_arm)),
            total_point,
            total_draws,
            value,
            ci,
        )
    )
    table = pd.DataFrame(rows_out)
    raw = model.predict_uplift(features.iloc[np.flatnonzero(targeted)], calibrated=False)
    arm_idx = {a: j for j, a in enumerate(arms)}
    picked = assigned[targeted]
    raw_sums = {a: float(raw[picked == a, arm_idx[a]].sum()) for a in plan.arms if a in arm_idx}
    table["raw_incremental_conversions"] = [
        raw_sums.get(a, float(sum(raw_sums.values()))) for a in table["arm"]
    ]
    return PlanPromise(
        table=table,
        ci=float(ci),
        n_draws=int(n_draws),
        seed=int(seed),
        n_folds=int(k),
        draws=total_draws,
        model_sd=math.sqrt(v_model),
        rows_sd=math.sqrt(v_rows),
    )


def _diff(y: np.ndarray, treated: np.ndarray, control: np.ndarray, *, default: float) -> float:
    if not treated.any() or not control.any():
        return default
    return float(y[treated].mean() - y[control].mean())


def _row(
    arm: str,
    n: int,
    cost: float,
    point: float,
    draws: np.ndarray,
    value: float,
    ci: float,
) -> dict[str, Any]:
    lo, hi = _percentile_interval(draws, ci)
    plo, phi = _percentile_interval(draws * value - cost, ci)
    return {
        "arm": arm,
        "n_contacts": n,
        "cost": cost,
        "promised_incremental_conversions": point,
        "ci_low": lo,
        "ci_high": hi,
        "promised_profit": point * value - cost,
        "profit_ci_low": plo,
        "profit_ci_high": phi,
    }
