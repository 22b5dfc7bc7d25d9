r"""Cost-aware multi-arm Qini curves along a budget path (the semantics of grf's ``maq``).

Setting
-------
``n`` held-out customers of a randomized experiment, arms ``k = 1..K`` against a free control.
For customer ``i`` and arm ``k``: the predicted uplift ``tau_ik`` (the model's ``uplift_<arm>``
column, calibrated when the model is), and the cost ``C_ik = cost_per_contact[k] +
customer_cost_i[k]`` (a per-arm cost plus an optional per-customer cost column, one for all arms
or one per arm), which must be positive.

Policy at a budget
------------------
For a spend ``B`` per customer, the policy ``pi_B`` solves the linear program

    maximise ``1/n sum_i sum_k pi_ik tau_ik``  subject to  ``1/n sum_i sum_k pi_ik C_ik <= B``,
    ``pi_ik >= 0``, ``sum_k pi_ik <= 1``

-- each customer gets at most one arm (or none). Its solution path is found as in ``maq``
(Sverdrup, Wu, Athey and Wager, 2023): per customer, the arms with positive predicted uplift
form the upper-left convex hull of the points ``(C_ik, tau_ik)`` together with ``(0, 0)``
(arms sorted by cost; ``maq``'s LP-dominance scan, ties kept in arm order). Walking a
customer's hull from the origin gives steps ``(dC, dtau)`` of decreasing efficiency
``dtau / dC``: the first step enrols the customer in the cheapest hull arm, the later steps
upgrade it to a costlier arm with more uplift. All steps of all customers are taken in order of
decreasing efficiency (ties: lower row position first, then a customer's earlier step): the
**budget path**. After ``j`` steps the spend is ``B_j = 1/n sum dC`` and the allocation is
integral (every customer on one arm or none); between ``B_j`` and ``B_{j+1}`` the LP optimum
interpolates linearly (one customer fractionally upgraded). At the path's points the integral
allocation is optimal among all integral allocations of that cost (it attains the LP bound):
``tests/uplift/test_multiarm.py`` checks this against brute force.

Gain, profit and intervals
--------------------------
The value of ``pi_B`` is estimated on the held-out rows with inverse-propensity scores (``maq``'s
``get_ipw_scores`` with the held-out arm shares ``e_k = n_k / n`` as propensities)::

    Gamma_ik = 1{W_i = k} Y_i / e_k - 1{W_i = control} Y_i / e_0
    Q(B)     = 1/n sum_i sum_k pi_ik(B) Gamma_ik        (incremental outcome per customer)

so that ``Q`` at the end of a single-arm path treating everyone is the difference in means.
``profit(B) = value_per_conversion * Q(B) - B`` per customer; totals are ``n`` times these. The
``predicted`` columns use ``tau`` instead of ``Gamma`` (what the model expects).

Intervals: percentile bootstrap, ``n_bootstrap`` replicates; each resamples rows with
replacement within each observed arm (``numpy.random.default_rng(seed)``), keeps the path's
order (it depends on ``tau`` and ``C`` only) and recomputes spend and gain with the resampled
rows, interpolated onto the spend grid (``maq`` uses a half-sample bootstrap for standard errors
instead).

Recommended budget: the spend at which the **marginal predicted profit** reaches zero -- the end
of the last path step with ``value_per_conversion * dtau / dC >= 1`` (later steps cost more
than the uplift they are predicted to bring). With a calibrated model this is an honest
prediction; the held-out profit of that allocation is reported with its interval (the same
customers and arms, rows resampled), next to the spend that maximised the held-out profit
estimate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from uplift.errors import InvalidUpliftDataError, InvalidUpliftOptionError
from uplift.metrics import _percentile_interval, _records

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["MultiArmQini", "convex_hull", "multiarm_qini", "plot_multiarm_qini"]


def _slope(dr: float, dc: float) -> float:
    """``dr / dc`` with IEEE semantics (``+-inf`` for a zero ``dc``, NaN for 0/0), as in C++."""
    if dc == 0.0:
        if dr == 0.0:
            return math.nan
        return math.inf if dr > 0 else -math.inf
    return dr / dc


def convex_hull(reward: np.ndarray, cost: np.ndarray) -> list[list[int]]:
    """Per customer, the arms on the upper-left convex hull of ``(cost, reward)`` with the origin.

    ``maq``'s scan (``convex_hull.hpp``): arms in increasing cost (stable in arm order); the
    first arm with positive reward starts the hull; each later arm ``l`` first pops the hull's
    top ``k`` while ``k`` has non-positive reward or the slope ``k -> l`` exceeds the slope
    ``j -> k`` (``j`` the point below the top, or the origin), then is pushed if its reward is
    positive and above the top's.
    """
    n, n_arms = reward.shape
    hulls: list[list[int]] = []
    for i in range(n):
        r, c = reward[i], cost[i]
        order = np.argsort(c, kind="stable")
        hull: list[int] = []
        start = 0
        while start < n_arms and r[order[start]] <= 0:
            start += 1
        if start == n_arms:
            hulls.append(hull)
            continue
        hull.append(int(order[start]))
        for pos in range(start + 1, n_arms):
            arm_l = int(order[pos])
            while hull:
                k = hull[-1]
                if r[k] <= 0:
                    hull.pop()
                    continue
                cj, rj = (c[hull[-2]], r[hull[-2]]) if len(hull) >= 2 else (0.0, 0.0)
                if _slope(r[arm_l] - r[k], c[arm_l] - c[k]) > _slope(r[k] - rj, c[k] - cj):
                    hull.pop()
                else:
                    break
            if r[arm_l] > 0 and (not hull or r[arm_l] > r[hull[-1]]):
                hull.append(arm_l)
        hulls.append(hull)
    return hulls


def _path_events(reward: np.ndarray, cost: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    """All hull steps in path order: ``row, arm, step, d_cost, d_reward, d_score, priority``."""
    hulls = convex_hull(reward, cost)
    rows, arms, steps, dc, dr, ds = [], [], [], [], [], []
    for i, hull in enumerate(hulls):
        prev_c = prev_r = prev_s = 0.0
        for step, k in enumerate(hull):
            rows.append(i)
            arms.append(k)
            steps.append(step)
            dc.append(cost[i, k] - prev_c)
            dr.append(reward[i, k] - prev_r)
            ds.append(scores[i, k] - prev_s)
            prev_c, prev_r, prev_s = cost[i, k], reward[i, k], scores[i, k]
    ev = pd.DataFrame(
        {
            "row": np.asarray(rows, dtype=np.int64),
            "arm": np.asarray(arms, dtype=np.int64),
            "step": np.asarray(steps, dtype=np.int64),
            "d_cost": np.asarray(dc, dtype=np.float64),
            "d_reward": np.asarray(dr, dtype=np.float64),
            "d_score": np.asarray(ds, dtype=np.float64),
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ev["priority"] = ev["d_reward"] / ev["d_cost"]
    order = np.lexsort((ev["step"].to_numpy(), ev["row"].to_numpy(), -ev["priority"].to_numpy()))
    return ev.iloc[order].reset_index(drop=True)


@dataclass(frozen=True, repr=False)
class MultiArmQini:
    """A cost-aware multi-arm Qini curve (see the module docstring).

    Attributes
    ----------
    path
        One row per path step, in order: ``row`` (position among the evaluated rows), ``arm``
        (name), ``step`` (0 = enrolment, later = upgrade), ``priority`` (``dtau / dC``),
        ``spend``, ``gain``, ``predicted_gain`` (per customer, after the step).
    curve
        The curve on an even spend grid: ``spend`` (per customer), ``spend_total``, ``gain``,
        ``gain_ci_low``, ``gain_ci_high``, ``gain_total``, ``predicted_gain``, and with a value
        per conversion ``profit``, ``profit_ci_low``, ``profit_ci_high``, ``profit_total``,
        ``predicted_profit``.
    recommendation
        With a value per conversion: ``spend`` and ``spend_total`` where the marginal predicted
        profit reaches zero, ``n_contacts``, ``predicted_profit_total``, ``profit_total`` (held
        out) with ``profit_total_ci_low/high``, and ``best_spend_held_out`` /
        ``best_profit_total_held_out`` (the held-out maximum); else empty.
    """

    path: pd.DataFrame
    curve: pd.DataFrame
    recommendation: Mapping[str, float]
    arms: tuple[str, ...]
    control: str
    n: int
    value_per_conversion: float | None
    ci: float
    n_bootstrap: int
    seed: int

    def allocation(self, spend: float) -> pd.Series:
        """Arm of every evaluated row at per-customer ``spend`` (the control when none).

        The integral allocation of the last path point whose spend is at most ``spend``
        (``maq``'s ``predict(..., type = "vector")``).
        """
        path = self.path
        j = int(np.searchsorted(path["spend"].to_numpy(), spend + 1e-12, side="right"))
        out = np.full(self.n, self.control, dtype=object)
        taken = path.iloc[:j]
        # later steps of a row (upgrades) overwrite earlier ones
        out[taken["row"].to_numpy()] = taken["arm"].to_numpy(dtype=object)
        return pd.Series(out, name="arm")

    def to_frame(self) -> pd.DataFrame:
        """Return the curve on the spend grid."""
        return self.curve.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings, recommendation and curve."""
        return {
            "arms": list(self.arms),
            "control": self.control,
            "n": self.n,
            "value_per_conversion": self.value_per_conversion,
            "ci": self.ci,
            "n_bootstrap": self.n_bootstrap,
            "seed": self.seed,
            "recommendation": {k: _plain(v) for k, v in self.recommendation.items()},
            "curve": _records(self.curve),
        }

    def __repr__(self) -> str:
        end = self.curve.iloc[-1]
        text = (
            f"MultiArmQini({self.n} customers, arms {list(self.arms)!r}, {len(self.path)} path "
            f"steps, max spend {end['spend']:.4g} per customer, gain there {end['gain']:.4g}"
        )
        if self.recommendation:
            rec = self.recommendation
            text += (
                f"; recommended spend {rec['spend']:.4g} per customer ({rec['spend_total']:.6g} "
                f"in total), held-out profit {rec['profit_total']:.6g} "
                f"[{rec['profit_total_ci_low']:.6g}, {rec['profit_total_ci_high']:.6g}]"
            )
        return text + ")"


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _cost_matrix(
    n: int,
    arms: Sequence[str],
    cost_per_contact: float | Mapping[str, float],
    customer_cost: Any,
) -> np.ndarray:
    from uplift.targeting import _costs

    per_arm = _costs(cost_per_contact, arms)
    cost = np.tile(np.array([per_arm[a] for a in arms], dtype=np.float64), (n, 1))
    if customer_cost is not None:
        if isinstance(customer_cost, Mapping):
            unknown = sorted(set(map(str, customer_cost)) - set(arms))
            if unknown:
                raise InvalidUpliftOptionError(
                    f"customer_cost names unknown arm(s) {unknown!r}; arms are {list(arms)!r}"
                )
            extra = np.zeros((n, len(arms)))
            for j, a in enumerate(arms):
                if a in customer_cost:
                    extra[:, j] = np.asarray(customer_cost[a], dtype=np.float64).ravel()
        else:
            values = np.asarray(customer_cost, dtype=np.float64)
            extra = values.reshape(-1, 1) if values.ndim == 1 else values
        if extra.shape[0] != n or extra.shape[1] not in (1, len(arms)):
            raise InvalidUpliftDataError(
                f"customer_cost must have one value per row ({n}) or one per row and arm, got "
                f"shape {extra.shape}"
            )
        if not np.isfinite(extra).all():
            bad = int(np.flatnonzero(~np.isfinite(extra).all(axis=1))[0])
            raise InvalidUpliftDataError(
                f"customer_cost has a missing or infinite value at row position {bad}"
            )
        cost = cost + extra
    if (cost <= 0).any():
        i, j = (int(v[0]) for v in np.nonzero(cost <= 0))
        raise InvalidUpliftOptionError(
            f"the cost of arm {arms[j]!r} for row position {i} is {cost[i, j]:g}: every cost "
            "must be positive on a budget path (give a free arm a small cost)"
        )
    return cost


def multiarm_qini(
    predictions: pd.DataFrame,
    outcome: Any,
    treatment: Any,
    *,
    control: str,
    cost_per_contact: float | Mapping[str, float],
    customer_cost: Any = None,
    value_per_conversion: float | None = None,
    max_spend: float | None = None,
    grid_size: int = 100,
    n_bootstrap: int = 200,
    ci: float = 0.95,
    seed: int = 0,
) -> MultiArmQini:
    """Cost-aware multi-arm Qini curve of ``predictions`` on held-out RCT rows.

    Parameters
    ----------
    predictions
        The frame of :meth:`UpliftModel.predict` (its ``uplift_<arm>`` columns).
    outcome, treatment
        Observed outcome and arm of every row.
    control
        Control arm name.
    cost_per_contact
        Cost of a contact, one number for every arm or ``{arm: cost}``.
    customer_cost
        Optional per-customer cost added to every arm: one value per row, an ``(n, n_arms)``
        array, or ``{arm: values}``.
    value_per_conversion
        Value of one unit of outcome: enables the profit columns and the recommendation.
    max_spend
        Stop the path at this spend per customer (default: the whole path).
    grid_size
        Points of the spend grid of :attr:`MultiArmQini.curve`.
    n_bootstrap, ci, seed
        Bootstrap settings.
    """
    if not 0.0 < ci < 1.0:
        raise InvalidUpliftOptionError(f"ci must be in (0, 1), got {ci}")
    if n_bootstrap < 0 or grid_size < 2:
        raise InvalidUpliftOptionError(
            f"n_bootstrap must be >= 0 and grid_size >= 2, got {n_bootstrap} and {grid_size}"
        )
    from uplift.targeting import _uplift_columns

    cols, arms = _uplift_columns(predictions)
    reward = predictions[cols].to_numpy(dtype=np.float64)
    n = reward.shape[0]
    y = np.asarray(outcome, dtype=np.float64).ravel()
    tr = np.asarray(treatment).astype(str).ravel()
    if y.shape[0] != n or tr.shape[0] != n:
        raise InvalidUpliftDataError(
            f"predictions ({n} rows), outcome ({y.shape[0]}) and treatment ({tr.shape[0]}) "
            "must have the same number of rows"
        )
    if not (np.isfinite(reward).all() and np.isfinite(y).all()):
        raise InvalidUpliftDataError("predictions and outcome must have no missing values")
    shares = {g: float(np.mean(tr == g)) for g in (control, *arms)}
    empty = [g for g, s in shares.items() if s == 0]
    if empty:
        raise InvalidUpliftDataError(
            f"arm(s) {empty!r} have no held-out row; the curve needs rows of the control and of "
            "every arm"
        )
    cost = _cost_matrix(n, arms, cost_per_contact, customer_cost)
    ctl = (tr == control) * y / shares[control]
    scores = np.column_stack([(tr == a) * y / shares[a] - ctl for a in arms])
    ev = _path_events(reward, cost, scores)
    spend = np.cumsum(ev["d_cost"].to_numpy()) / n
    if max_spend is not None:
        if not max_spend > 0:
            raise InvalidUpliftOptionError(f"max_spend must be positive, got {max_spend}")
        stop = int(np.searchsorted(spend, max_spend, side="left")) + 1
        ev, spend = ev.iloc[:stop].reset_index(drop=True), spend[:stop]
    gain = np.cumsum(ev["d_score"].to_numpy()) / n
    predicted = np.cumsum(ev["d_reward"].to_numpy()) / n
    path = pd.DataFrame(
        {
            "row": ev["row"].to_numpy(),
            "arm": np.asarray(arms, dtype=object)[ev["arm"].to_numpy()],
            "step": ev["step"].to_numpy(),
            "priority": ev["priority"].to_numpy(),
            "spend": spend,
            "gain": gain,
            "predicted_gain": predicted,
        }
    )
    s_path = np.r_[0.0, spend]
    top = float(s_path[-1])
    grid = np.linspace(0.0, top, grid_size) if top > 0 else np.zeros(grid_size)
    g_main = np.interp(grid, s_path, np.r_[0.0, gain])
    p_main = np.interp(grid, s_path, np.r_[0.0, predicted])
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(tr == g) for g in sorted(set(tr.tolist()))]
    reps = np.full((n_bootstrap, grid_size), np.nan)
    # the recommended allocation: the path up to its last step worth its cost (module docstring)
    v_rec = float(value_per_conversion) if value_per_conversion is not None else math.nan
    worth = np.flatnonzero(v_rec * ev["priority"].to_numpy() >= 1.0)
    stop_rec = int(worth[-1]) + 1 if worth.size else 0  # steps taken
    rec_reps = np.full(n_bootstrap, np.nan)
    rows = ev["row"].to_numpy()
    d_cost, d_score = ev["d_cost"].to_numpy(), ev["d_score"].to_numpy()
    for b in range(n_bootstrap):
        draws = np.concatenate([g[rng.integers(0, g.size, g.size)] for g in groups])
        w = np.bincount(draws, minlength=n).astype(np.float64)[rows]
        sb = np.r_[0.0, np.cumsum(w * d_cost) / n]
        gb = np.r_[0.0, np.cumsum(w * d_score) / n]
        keep = np.r_[True, w > 0]  # spend is flat over rows not drawn: keep the first point
        reps[b] = np.interp(grid, sb[keep], gb[keep])
        rec_reps[b] = (v_rec * gb[stop_rec] - sb[stop_rec]) * n
    intervals = (
        np.array([_percentile_interval(reps[:, j], ci) for j in range(grid_size)])
        if n_bootstrap
        else np.full((grid_size, 2), np.nan)
    )
    curve = pd.DataFrame(
        {
            "spend": grid,
            "spend_total": grid * n,
            "gain": g_main,
            "gain_ci_low": intervals[:, 0],
            "gain_ci_high": intervals[:, 1],
            "gain_total": g_main * n,
            "predicted_gain": p_main,
        }
    )
    recommendation: dict[str, float] = {}
    if value_per_conversion is not None:
        v = float(value_per_conversion)
        if not (math.isfinite(v) and v > 0):
            raise InvalidUpliftOptionError(
                f"value_per_conversion must be a positive number, got {value_per_conversion!r}"
            )
        curve["profit"] = v * g_main - grid
        profit_reps = v * reps - grid[None, :]
        p_int = (
            np.array([_percentile_interval(profit_reps[:, j], ci) for j in range(grid_size)])
            if n_bootstrap
            else np.full((grid_size, 2), np.nan)
        )
        curve["profit_ci_low"] = p_int[:, 0]
        curve["profit_ci_high"] = p_int[:, 1]
        curve["profit_total"] = curve["profit"] * n
        curve["predicted_profit"] = v * p_main - grid
        recommendation = _recommend(path, v, n, stop_rec, rec_reps, ci)
        best = int(np.argmax(curve["profit"].to_numpy()))
        recommendation["best_spend_held_out"] = float(grid[best])
        recommendation["best_profit_total_held_out"] = float(curve["profit_total"].iloc[best])
    return MultiArmQini(
        path=path,
        curve=curve,
        recommendation=recommendation,
        arms=arms,
        control=str(control),
        n=int(n),
        value_per_conversion=value_per_conversion,
        ci=float(ci),
        n_bootstrap=int(n_bootstrap),
        seed=int(seed),
    )


def _recommend(
    path: pd.DataFrame, value: float, n: int, steps: int, reps: np.ndarray, ci: float
) -> dict[str, float]:
    """Summarise the allocation of the first ``steps`` path steps (module docstring).

    ``reps`` are its held-out profit totals over the bootstrap replicates: the same allocation
    (same customers, same arms) with the resampled rows.
    """
    if steps:
        j = steps - 1
        spend = float(path["spend"].iloc[j])
        gain = float(path["gain"].iloc[j])
        predicted = float(path["predicted_gain"].iloc[j])
        taken = path.iloc[:steps]
        contacts = int(taken["row"].nunique())
    else:
        spend = gain = predicted = 0.0
        contacts = 0
    lo, hi = _percentile_interval(reps, ci) if reps.size else (math.nan, math.nan)
    return {
        "spend": spend,
        "spend_total": spend * n,
        "n_contacts": float(contacts),
        "predicted_profit_total": (value * predicted - spend) * n,
        "profit_total": (value * gain - spend) * n,
        "profit_total_ci_low": lo,
        "profit_total_ci_high": hi,
    }


def plot_multiarm_qini(
    result: MultiArmQini, *, profit: bool = False, ax: Axes | None = None
) -> Axes:
    """Plot the gain (or, with ``profit=True``, the profit) curve with its interval band.

    The x axis is the total spend; a dotted vertical line marks the recommended spend. Returns
    the axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    c = result.curve
    key = "profit" if profit else "gain"
    if profit and "profit" not in c.columns:
        raise InvalidUpliftOptionError(
            "the curve has no profit: compute it with value_per_conversion"
        )
    n = result.n
    x = c["spend_total"].to_numpy()
    ax.plot(x, c[key].to_numpy() * n, label=f"held-out {key} (IPW)")
    ax.fill_between(
        x,
        c[f"{key}_ci_low"].to_numpy() * n,
        c[f"{key}_ci_high"].to_numpy() * n,
        alpha=0.25,
        label=f"{result.ci:.0%} bootstrap interval",
    )
    ax.plot(x, c[f"predicted_{key}"].to_numpy() * n, linestyle="--", label=f"predicted {key}")
    if result.recommendation:
        ax.axvline(
            result.recommendation["spend_total"],
            linestyle=":",
            color="black",
            label="marginal predicted profit = 0",
        )
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set_xlabel("total spend (best arm per customer or none, maq path)")
    ax.set_ylabel(f"incremental {'profit' if profit else 'outcome'} (total)")
    ax.set_title(f"Multi-arm Qini curve, arms {', '.join(result.arms)}")
    ax.legend(fontsize="small")
    return ax
