r"""Targeting under a budget: who gets which arm, and what it is expected to bring.

Plan (:func:`plan_targeting`)
-----------------------------
For customer ``i`` and arm ``a`` with predicted uplift ``u_ia`` (from
:meth:`UpliftModel.predict`), the expected incremental profit is

    ``profit_ia = u_ia * value_per_conversion - cost_per_contact[a]``

(``value_per_conversion`` is the value of one unit of outcome: one conversion for a binary
outcome, one currency unit of spend for a spend outcome). Each customer is offered at most one
arm: the arm with the largest ``profit_ia`` (first in arm order on ties), and only if that profit
is positive. Customers are then taken in order until the budget is spent:

* ``budget_type="contacts"``: by decreasing profit, at most ``floor(budget)`` customers;
* ``budget_type="money"``: by decreasing profit per unit cost (``profit / cost``; free contacts
  first), adding each customer whose cost still fits in the remaining budget and skipping those
  that do not. This greedy rule is the classic approximation of the underlying knapsack problem,
  not its exact optimum.

Ties keep row order (stable sort). Customers with no positive-profit arm are never contacted, even
if budget is left.

Held-out value (:func:`evaluate_targeting`)
-------------------------------------------
On held-out rows of a randomized experiment (the observed arm of each row is random), the
incremental conversions of the plan are estimated as

    ``sum_a |S_a| * (mean(y | S_a, T=a) - mean(y | S_a, T=control))``

where ``S_a`` is the set of rows the plan gives arm ``a``; the profit is that times
``value_per_conversion`` minus the contact costs. Baselines on the same rows:

* ``everyone: <arm>`` -- contact all ``N`` rows with the arm: ``N * ate_a``;
* ``random: <arm>`` -- contact randomly chosen rows with the arm, as many as the budget buys
  (``min(N, floor(budget))`` contacts, or ``min(N, floor(budget / cost_a))`` for a money budget):
  ``n * ate_a``;

with ``ate_a = mean(y | T=a) - mean(y | T=control)`` over all rows. Intervals are percentile
bootstrap intervals (rows resampled within each observed arm, ``default_rng(seed)``), the plan
held fixed. A plan's own promise with an interval that includes model uncertainty is
:func:`uplift.promise.promise_plan`; pass it as ``promise`` to see both side by side.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from uplift.errors import InvalidUpliftDataError, InvalidUpliftOptionError, UpliftWarning
from uplift.metrics import _percentile_interval, _records

__all__ = ["TargetingEvaluation", "TargetingPlan", "evaluate_targeting", "plan_targeting"]

logger = logging.getLogger(__name__)

BudgetType = Literal["contacts", "money"]


@dataclass(frozen=True, repr=False)
class TargetingPlan:
    """Who gets which arm under a budget (see the module docstring).

    Attributes
    ----------
    assignments
        One row per scored customer (index of the predictions) with ``arm`` (assigned arm, or
        the control name when not contacted), ``targeted`` (bool), ``priority`` (1 = first
        contacted; 0 when not contacted), ``expected_uplift``, ``expected_profit`` and ``cost``
        (0 when not contacted).
    """

    assignments: pd.DataFrame
    arms: tuple[str, ...]
    control: str
    budget: float
    budget_type: BudgetType
    value_per_conversion: float
    cost_per_contact: Mapping[str, float]

    @property
    def n_contacts(self) -> int:
        """Customers contacted."""
        return int(self.assignments["targeted"].sum())

    @property
    def total_cost(self) -> float:
        """Contact cost of the plan."""
        return float(self.assignments["cost"].sum())

    @property
    def expected_incremental_conversions(self) -> float:
        """Sum of the predicted uplift of the contacted customers."""
        a = self.assignments
        return float(a.loc[a["targeted"], "expected_uplift"].sum())

    @property
    def expected_profit(self) -> float:
        """Sum of the predicted incremental profit of the contacted customers."""
        a = self.assignments
        return float(a.loc[a["targeted"], "expected_profit"].sum())

    def targets(self) -> pd.DataFrame:
        """Contacted customers in priority order."""
        a = self.assignments
        return a[a["targeted"]].sort_values("priority", kind="stable")

    def to_frame(self) -> pd.DataFrame:
        """Per-arm summary plus a ``total`` row.

        Columns: ``arm, n_contacts, cost, expected_incremental_conversions, expected_profit``.
        """
        t = self.assignments[self.assignments["targeted"]]
        rows = []
        for arm in self.arms:
            s = t[t["arm"] == arm]
            rows.append(
                {
                    "arm": arm,
                    "n_contacts": len(s),
                    "cost": float(s["cost"].sum()),
                    "expected_incremental_conversions": float(s["expected_uplift"].sum()),
                    "expected_profit": float(s["expected_profit"].sum()),
                }
            )
        rows.append(
            {
                "arm": "total",
                "n_contacts": self.n_contacts,
                "cost": self.total_cost,
                "expected_incremental_conversions": self.expected_incremental_conversions,
                "expected_profit": self.expected_profit,
            }
        )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings and per-arm summary."""
        return {
            "budget": self.budget,
            "budget_type": self.budget_type,
            "value_per_conversion": self.value_per_conversion,
            "cost_per_contact": dict(self.cost_per_contact),
            "control": self.control,
            "summary": _records(self.to_frame()),
        }

    def __repr__(self) -> str:
        return (
            f"TargetingPlan(budget={self.budget:g} {self.budget_type}, contacts={self.n_contacts}, "
            f"cost={self.total_cost:.4g}, expected_incremental_conversions="
            f"{self.expected_incremental_conversions:.4g}, expected_profit="
            f"{self.expected_profit:.4g})"
        )


def _uplift_columns(predictions: pd.DataFrame) -> tuple[list[Any], tuple[str, ...]]:
    """Return the ``uplift_<arm>`` columns of a prediction frame and their arms."""
    cols = [c for c in predictions.columns if str(c).startswith("uplift_")]
    if not cols:
        raise InvalidUpliftDataError(
            "predictions have no uplift_<arm> columns; pass the frame of UpliftModel.predict"
        )
    return cols, tuple(str(c)[len("uplift_") :] for c in cols)


def _costs(cost_per_contact: float | Mapping[str, float], arms: Sequence[str]) -> dict[str, float]:
    if isinstance(cost_per_contact, int | float):
        costs = {a: float(cost_per_contact) for a in arms}
    else:
        costs = {str(k): float(v) for k, v in cost_per_contact.items()}
        unknown = sorted(set(costs) - set(arms))
        if unknown:
            raise InvalidUpliftOptionError(
                f"cost_per_contact names unknown arm(s) {unknown!r}; arms are {list(arms)!r}"
            )
        missing = [a for a in arms if a not in costs]
        if missing:
            raise InvalidUpliftOptionError(
                f"cost_per_contact lacks arm(s) {missing!r}; give a cost for every arm or one "
                "number for all"
            )
    for arm, c in costs.items():
        if not (math.isfinite(c) and c >= 0):
            raise InvalidUpliftOptionError(
                f"cost_per_contact of arm {arm!r} must be a finite number >= 0, got {c}"
            )
    return costs


def plan_targeting(
    predictions: pd.DataFrame,
    *,
    control: str,
    budget: float,
    value_per_conversion: float,
    cost_per_contact: float | Mapping[str, float] = 0.0,
    budget_type: BudgetType = "contacts",
) -> TargetingPlan:
    """Choose who gets which arm to maximise expected incremental profit under a budget.

    Parameters
    ----------
    predictions
        Output of :meth:`UpliftModel.predict` (its ``uplift_<arm>`` columns are used).
    control
        Control arm name (label of customers not contacted).
    budget
        Number of contacts (``budget_type="contacts"``) or money (``"money"``).
    value_per_conversion
        Value of one unit of outcome.
    cost_per_contact
        Cost of one contact, one number for every arm or ``{arm: cost}``.
    budget_type
        ``"contacts"`` or ``"money"``. A money budget with every arm's cost 0 is refused:
        it would not limit anything.
    """
    if budget_type not in ("contacts", "money"):
        raise InvalidUpliftOptionError(
            f"budget_type must be 'contacts' or 'money', got {budget_type!r}"
        )
    if not (math.isfinite(budget) and budget > 0):
        raise InvalidUpliftOptionError(f"budget must be a positive number, got {budget!r}")
    if not (math.isfinite(value_per_conversion) and value_per_conversion >= 0):
        raise InvalidUpliftOptionError(
            f"value_per_conversion must be a finite number >= 0, got {value_per_conversion!r}"
        )
    cols, arms = _uplift_columns(predictions)
    costs = _costs(cost_per_contact, arms)
    if budget_type == "money" and not any(costs[a] > 0 for a in arms):
        raise InvalidUpliftOptionError(
            f"a money budget needs a cost per contact, but every arm's cost is 0 "
            f"({', '.join(map(repr, arms))}): contacts would be free and the budget would not "
            "limit anything; pass cost_per_contact (CLI: --cost-per-contact COST or ARM=COST)"
        )
    u = predictions[cols].to_numpy(dtype=np.float64)
    if not np.isfinite(u).all():
        bad = ~np.isfinite(u).all(axis=1)
        raise InvalidUpliftDataError(
            f"predictions hold missing or infinite uplift, first at row "
            f"{predictions.index[int(np.flatnonzero(bad)[0])]!r}"
        )
    n = u.shape[0]
    c = np.array([costs[a] for a in arms])
    profit = u * value_per_conversion - c
    j = np.argmax(profit, axis=1) if n else np.zeros(0, dtype=np.int64)
    best_profit = profit[np.arange(n), j]
    best_cost = c[j]
    eligible = np.flatnonzero(best_profit > 0)

    chosen: np.ndarray
    if budget_type == "contacts":
        order = eligible[np.argsort(-best_profit[eligible], kind="stable")]
        chosen = order[: math.floor(budget)]
    else:
        with np.errstate(divide="ignore"):
            ratio = np.where(best_cost > 0, best_profit / best_cost, np.inf)
        order = eligible[np.argsort(-ratio[eligible], kind="stable")]
        chosen = _greedy_fill(order, best_cost, float(budget))

    targeted = np.zeros(n, dtype=bool)
    targeted[chosen] = True
    priority = np.zeros(n, dtype=np.int64)
    priority[chosen] = np.arange(1, chosen.size + 1)
    arm_names = np.asarray(arms, dtype=object)[j] if n else np.array([], dtype=object)
    assignments = pd.DataFrame(
        {
            "arm": np.where(targeted, arm_names, control).astype(object),
            "targeted": targeted,
            "priority": priority,
            "expected_uplift": np.where(targeted, u[np.arange(n), j] if n else 0.0, 0.0),
            "expected_profit": np.where(targeted, best_profit, 0.0),
            "cost": np.where(targeted, best_cost, 0.0),
        },
        index=predictions.index,
    )
    plan = TargetingPlan(
        assignments=assignments,
        arms=arms,
        control=str(control),
        budget=float(budget),
        budget_type=budget_type,
        value_per_conversion=float(value_per_conversion),
        cost_per_contact=costs,
    )
    logger.info("%r", plan)
    return plan


def _greedy_fill(order: np.ndarray, cost: np.ndarray, budget: float) -> np.ndarray:
    """Take items in ``order`` whose cost fits the remaining budget, skipping the others.

    Vectorised in phases: take the longest affordable prefix; the first item that does not fit
    (and every later item at least as expensive) can never fit again, so drop them and repeat.
    Equivalent to the one-by-one loop.
    """
    taken: list[np.ndarray] = []
    remaining = budget
    rest = order
    while rest.size:
        cum = np.cumsum(cost[rest])
        fit = int(np.searchsorted(cum, remaining + 1e-9 * max(1.0, remaining), side="right"))
        taken.append(rest[:fit])
        if fit == rest.size:
            break
        remaining -= float(cum[fit - 1]) if fit else 0.0
        blocked = cost[rest[fit]]
        tail = rest[fit + 1 :]
        rest = tail[cost[tail] < blocked]
        rest = rest[cost[rest] <= remaining + 1e-9 * max(1.0, remaining)]
    return np.concatenate(taken) if taken else np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, repr=False)
class TargetingEvaluation:
    """Held-out value of a plan against baselines (see the module docstring).

    :meth:`to_frame` columns: ``strategy, n_contacts, cost, incremental_conversions, ci_low,
    ci_high, profit, profit_ci_low, profit_ci_high, predicted_incremental_conversions``.
    Strategies: ``model``, ``everyone: <arm>``, ``random: <arm>``.
    """

    table: pd.DataFrame
    plan: TargetingPlan
    ci: float
    n_bootstrap: int
    seed: int

    def to_frame(self) -> pd.DataFrame:
        """Return the comparison table (one row per strategy)."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plan settings and comparison."""
        return {
            "plan": self.plan.to_dict(),
            "ci": self.ci,
            "n_bootstrap": self.n_bootstrap,
            "seed": self.seed,
            "strategies": _records(self.table),
        }

    def __repr__(self) -> str:
        m = self.table.iloc[0]
        return (
            f"TargetingEvaluation(model: contacts={int(m['n_contacts'])}, incremental_conversions="
            f"{m['incremental_conversions']:.4g} [{m['ci_low']:.4g}, {m['ci_high']:.4g}], profit="
            f"{m['profit']:.4g} [{m['profit_ci_low']:.4g}, {m['profit_ci_high']:.4g}])"
        )


def _wmean_diff(w: np.ndarray, y: np.ndarray, a: np.ndarray, c: np.ndarray) -> float:
    wa, wc = float(w[a].sum()), float(w[c].sum())
    if wa <= 0 or wc <= 0:
        return math.nan
    return float(w[a] @ y[a]) / wa - float(w[c] @ y[c]) / wc


def evaluate_targeting(
    plan: TargetingPlan,
    outcome: Any,
    treatment: Any,
    *,
    n_bootstrap: int = 200,
    ci: float = 0.95,
    seed: int = 0,
    promise: Any | None = None,
) -> TargetingEvaluation:
    """Estimate the plan's incremental conversions and profit on held-out RCT rows.

    ``outcome`` and ``treatment`` are the observed outcome and arm of the rows the plan was made
    for (same order). See the module docstring for the estimators and baselines. With a
    ``promise`` (:func:`uplift.promise.promise_plan` of this plan) the ``model`` row also gets
    ``promised_incremental_conversions``, ``promised_ci_low``, ``promised_ci_high``,
    ``promised_profit``, ``promised_profit_ci_low`` and ``promised_profit_ci_high``, so that the
    promise and the held-out estimate sit side by side (NaN on the other rows).
    """
    if not 0.0 < ci < 1.0:
        raise InvalidUpliftOptionError(f"ci must be in (0, 1), got {ci}")
    if n_bootstrap < 0:
        raise InvalidUpliftOptionError(f"n_bootstrap must be >= 0, got {n_bootstrap}")
    y = np.asarray(outcome, dtype=np.float64).ravel()
    tr_raw = pd.Series(np.asarray(treatment).ravel())
    n = len(plan.assignments)
    if y.shape[0] != n or len(tr_raw) != n:
        raise InvalidUpliftDataError(
            f"outcome ({y.shape[0]}) and treatment ({len(tr_raw)}) must have one value per row "
            f"of the plan ({n})"
        )
    if tr_raw.isna().any() or not np.isfinite(y).all():
        raise InvalidUpliftDataError("outcome and treatment must have no missing values")
    tr = tr_raw.astype(str).to_numpy()
    ctrl = tr == plan.control
    if not ctrl.any():
        raise InvalidUpliftDataError(
            f"no held-out row is in the control arm {plan.control!r}; the plan's value cannot be "
            "estimated"
        )
    assigned = plan.assignments["arm"].to_numpy()
    targeted = plan.assignments["targeted"].to_numpy()
    value = plan.value_per_conversion

    # strategies: (name, n_contacts, cost, list of (size, mask_arm, mask_control), predicted)
    strategies: list[tuple[str, int, float, list[tuple[int, np.ndarray, np.ndarray]], float]] = []
    segs = []
    for arm in plan.arms:
        s = targeted & (assigned == arm)
        if s.any():
            segs.append((int(s.sum()), s & (tr == arm), s & ctrl))
            if not (s & (tr == arm)).any() or not (s & ctrl).any():
                warnings.warn(
                    f"the {int(s.sum())} row(s) given arm {arm!r} hold no held-out row observed "
                    f"with {'that arm' if not (s & (tr == arm)).any() else 'the control'}; "
                    "their incremental conversions cannot be estimated",
                    UpliftWarning,
                    stacklevel=2,
                )
    strategies.append(
        ("model", plan.n_contacts, plan.total_cost, segs, plan.expected_incremental_conversions)
    )
    everyone = np.ones(n, dtype=bool)
    for arm in plan.arms:
        cost = plan.cost_per_contact[arm]
        strategies.append(
            (f"everyone: {arm}", n, n * cost, [(n, tr == arm, ctrl & everyone)], math.nan)
        )
    for arm in plan.arms:
        cost = plan.cost_per_contact[arm]
        if plan.budget_type == "contacts":
            k = min(n, math.floor(plan.budget))
        else:
            k = n if cost == 0 else min(n, math.floor(plan.budget / cost))
        strategies.append((f"random: {arm}", k, k * cost, [(k, tr == arm, ctrl)], math.nan))

    def conversions(w: np.ndarray) -> np.ndarray:
        out = np.empty(len(strategies))
        for i, (_, _, _, parts, _) in enumerate(strategies):
            total = 0.0
            for size, m_arm, m_ctl in parts:
                total += size * _wmean_diff(w, y, m_arm, m_ctl)
            out[i] = total
        return out

    point = conversions(np.ones(n))
    reps = np.full((n_bootstrap, len(strategies)), np.nan)
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(tr == g) for g in sorted(set(tr.tolist()))]
    for b in range(n_bootstrap):
        draws = np.concatenate([g[rng.integers(0, g.size, g.size)] for g in groups])
        w = np.bincount(draws, minlength=n).astype(np.float64)
        reps[b] = conversions(w)
    rows = []
    for i, (name, k, cost, _, predicted) in enumerate(strategies):
        lo, hi = _percentile_interval(reps[:, i], ci) if n_bootstrap else (math.nan, math.nan)
        profit_reps = reps[:, i] * value - cost
        plo, phi = _percentile_interval(profit_reps, ci) if n_bootstrap else (math.nan, math.nan)
        rows.append(
            {
                "strategy": name,
                "n_contacts": k,
                "cost": cost,
                "incremental_conversions": point[i],
                "ci_low": lo,
                "ci_high": hi,
                "profit": point[i] * value - cost,
                "profit_ci_low": plo,
                "profit_ci_high": phi,
                "predicted_incremental_conversions": predicted,
            }
        )
    table = pd.DataFrame(rows)
    if promise is not None:
        total = promise.to_frame().iloc[-1]
        pairs = {
            "promised_incremental_conversions": "promised_incremental_conversions",
            "promised_ci_low": "ci_low",
            "promised_ci_high": "ci_high",
            "promised_profit": "promised_profit",
            "promised_profit_ci_low": "profit_ci_low",
            "promised_profit_ci_high": "profit_ci_high",
        }
        for column, source in pairs.items():
            table[column] = np.where(table["strategy"] == "model", float(total[source]), np.nan)
    return TargetingEvaluation(
        table=table, plan=plan, ci=ci, n_bootstrap=n_bootstrap, seed=int(seed)
    )
