r"""Learner selection by cross-fitted, held-out uplift value (``--learner auto``).

Candidates
----------
By default (:func:`default_candidates`) each LightGBM meta-learner ``s``, ``t``, ``x``, ``dr``,
``r`` with each point of a small grid (:data:`DEFAULT_GRID`)::

    _1: n_estimators=100, learning_rate=0.05, num_leaves=15, min_child_samples=100  (regularised)
    _2: n_estimators=100, learning_rate=0.1,  num_leaves=31, min_child_samples=20   (the defaults)

plus ``uplift_rf`` (causalml's uplift forest with its pathlift defaults) for a binary outcome:
11 candidates, named ``s_1, s_2, t_1, ..., r_2, uplift_rf``.

Score
-----
The training rows (never the evaluation split) are cut into ``n_folds`` folds stratified by arm
(:func:`uplift.crossfit.fold_ids`). For candidate ``c`` and fold ``k`` a model is fitted on the
other folds and scores the rows of fold ``k``; the fold value ``v_ck`` is

* ``metric="qini"``: the mean over arms of the Qini coefficient (:mod:`uplift.metrics`) of those
  predictions on the fold's rows of the arm and the control;
* ``metric="profit"`` (when a value per conversion is given): the held-out profit per customer
  of the fold's unconstrained plan -- each customer gets the arm with the largest
  ``value * uplift - cost``, if positive (:func:`uplift.targeting.plan_targeting` with a budget
  of every row) -- estimated by :func:`uplift.targeting.evaluate_targeting` on the fold and
  divided by the fold's rows.

The candidate's value is the mean of its fold values ``v_c = mean_k v_ck`` (with ``se_c`` =
their standard deviation over ``sqrt(n_folds)``, a rough guide: the folds share training
rows). The chosen candidate is the one with the largest ``v_c`` (the first in candidate order on
ties); it is then refitted on all training rows by the caller (:mod:`uplift.workflow`), and its
out-of-fold predictions are reused for calibration.

Pruning (``prune=True``, successive halving): every candidate is fitted and scored on the first
fold; only the ``ceil(n / 2)`` best by that fold's value go on to the other folds. Pruned
candidates keep their first-fold value in the table (``pruned=True``) and cannot be chosen.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from uplift.crossfit import CrossFit, fit_fold, fold_ids
from uplift.data import UpliftData
from uplift.errors import InvalidUpliftOptionError
from uplift.metrics import qini_coefficient

if TYPE_CHECKING:
    from uplift.learners import UpliftModel

__all__ = [
    "DEFAULT_GRID",
    "Candidate",
    "LearnerSelection",
    "default_candidates",
    "select_learner",
]

SelectionMetric = Literal["qini", "profit"]

#: LightGBM settings tried with every meta-learner (see the module docstring).
DEFAULT_GRID: tuple[Mapping[str, Any], ...] = (
    {"n_estimators": 100, "learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 100},
    {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20},
)
_META = ("s", "t", "x", "dr", "r")


@dataclass(frozen=True)
class Candidate:
    """One learner configuration: ``UpliftModel(learner, **params)``."""

    name: str
    learner: str
    params: Mapping[str, Any] = field(default_factory=dict)


def default_candidates(
    outcome_type: str, *, learners: Sequence[str] | None = None
) -> list[Candidate]:
    """Return the default candidates (module docstring), optionally only of ``learners``."""
    from uplift.learners import LEARNERS

    wanted = list(learners) if learners is not None else [*_META, "uplift_rf"]
    unknown = [name for name in wanted if name not in LEARNERS]
    if unknown:
        raise InvalidUpliftOptionError(
            f"unknown learner(s) {unknown!r} for selection; choose among {list(LEARNERS)!r}"
        )
    out: list[Candidate] = []
    for name in wanted:
        if name == "uplift_rf":
            if outcome_type == "binary":
                out.append(Candidate("uplift_rf", "uplift_rf", {}))
            continue
        for i, grid in enumerate(DEFAULT_GRID, start=1):
            out.append(Candidate(f"{name}_{i}", name, dict(grid)))
    if not out:
        raise InvalidUpliftOptionError(
            f"no candidate learner for a {outcome_type} outcome among {wanted!r} (uplift_rf "
            "needs a binary outcome)"
        )
    return out


@dataclass(frozen=True, repr=False)
class LearnerSelection:
    """Result of :func:`select_learner`.

    Attributes
    ----------
    table
        One row per candidate: ``candidate, learner, params`` (JSON text), ``value`` (mean fold
        value), ``se``, ``fold_1 ... fold_K`` (NaN where pruned), ``n_folds_scored``,
        ``pruned``, ``chosen``, ``seconds`` (fitting and scoring), sorted by value (best first).
    best
        The chosen :class:`Candidate`.
    crossfit
        The chosen candidate's :class:`~uplift.crossfit.CrossFit` (out-of-fold predictions and
        fold models), for calibration.
    metric, n_folds, seed, seconds
        Settings and total wall time.
    """

    table: pd.DataFrame
    best: Candidate
    crossfit: CrossFit
    metric: str
    n_folds: int
    seed: int
    seconds: float
    value_per_conversion: float | None = None

    def to_frame(self) -> pd.DataFrame:
        """Return the candidate table."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings, the choice and the table."""
        from uplift.metrics import _records

        return {
            "metric": self.metric,
            "n_folds": self.n_folds,
            "seed": self.seed,
            "seconds": self.seconds,
            "chosen": {
                "candidate": self.best.name,
                "learner": self.best.learner,
                "params": dict(self.best.params),
            },
            "candidates": _records(self.table),
        }

    def __repr__(self) -> str:
        row = self.table[self.table["chosen"]].iloc[0]
        return (
            f"LearnerSelection(chose {self.best.name!r} by cross-fitted {self.metric} "
            f"{row['value']:.4g} over {len(self.table)} candidates, {self.n_folds} folds, "
            f"{self.seconds:.1f}s)"
        )


def _fold_value(
    model: UpliftModel,
    fold: UpliftData,
    metric: str,
    value_per_conversion: float | None,
    cost_per_contact: float | Mapping[str, float],
) -> float:
    from uplift.targeting import evaluate_targeting, plan_targeting

    if metric == "qini":
        u = model.predict_uplift(fold.features, calibrated=False)
        values = []
        for j, arm in enumerate(model.arms_):
            mask = (fold.treatment == arm) | (fold.treatment == fold.control)
            values.append(
                qini_coefficient(u[mask, j], fold.outcome[mask], fold.treatment[mask] == arm)
            )
        return float(np.mean(values))
    if value_per_conversion is None:  # guarded by select_learner
        raise InvalidUpliftOptionError("metric 'profit' needs value_per_conversion")
    plan = plan_targeting(
        model.predict(fold.features),
        control=fold.control,
        budget=len(fold),
        value_per_conversion=value_per_conversion,
        cost_per_contact=cost_per_contact,
    )
    table = evaluate_targeting(plan, fold.outcome, fold.treatment, n_bootstrap=0).to_frame()
    profit = float(table.loc[table["strategy"] == "model", "profit"].iloc[0])
    return profit / len(fold) if math.isfinite(profit) else -math.inf


def select_learner(
    data: UpliftData,
    *,
    candidates: Sequence[Candidate] | None = None,
    n_folds: int = 3,
    metric: SelectionMetric | None = None,
    value_per_conversion: float | None = None,
    cost_per_contact: float | Mapping[str, float] = 0.0,
    prune: bool = True,
    seed: int = 0,
    n_jobs: int = 1,
    progress: Callable[[str], None] | None = None,
) -> LearnerSelection:
    """Choose a learner by its cross-fitted held-out value on ``data`` (module docstring).

    Parameters
    ----------
    data
        The training rows only (the evaluation split must stay out of the selection).
    candidates
        Default :func:`default_candidates` for the data's outcome type.
    n_folds
        Cross-fitting folds (at least 2).
    metric
        ``"qini"`` or ``"profit"``; default ``"profit"`` when ``value_per_conversion`` is given,
        else ``"qini"``.
    value_per_conversion, cost_per_contact
        Economics of the ``"profit"`` metric (as in :func:`uplift.targeting.plan_targeting`).
    prune
        Successive halving after the first fold.
    seed
        Seed of the folds and of every model.
    n_jobs
        LightGBM threads of every model.
    progress
        Called with one message per fitted fold model.

    Raises
    ------
    InvalidUpliftOptionError
        An unknown metric, ``"profit"`` without a value per conversion, an empty candidate
        list, duplicate candidate names or ``uplift_rf`` for a continuous outcome.
    """
    t0 = time.perf_counter()
    say = progress or (lambda message: None)
    if metric is None:
        metric = "profit" if value_per_conversion is not None else "qini"
    if metric not in ("qini", "profit"):
        raise InvalidUpliftOptionError(
            f"selection metric must be 'qini' or 'profit', got {metric!r}"
        )
    if metric == "profit" and value_per_conversion is None:
        raise InvalidUpliftOptionError(
            "selection by profit needs value_per_conversion (and cost_per_contact); or select "
            "by metric='qini'"
        )
    cands = list(candidates) if candidates is not None else default_candidates(data.outcome_type)
    if not cands:
        raise InvalidUpliftOptionError("no candidate learners to select from")
    names = [c.name for c in cands]
    if len(set(names)) != len(names):
        raise InvalidUpliftOptionError(f"candidate names must be unique, got {names!r}")
    if data.outcome_type != "binary" and any(c.learner == "uplift_rf" for c in cands):
        raise InvalidUpliftOptionError(
            "candidate 'uplift_rf' needs a binary outcome; drop it for a continuous outcome"
        )
    folds = fold_ids(data.treatment, n_folds=n_folds, seed=seed)
    n = len(cands)
    values = np.full((n, n_folds), np.nan)
    seconds = np.zeros(n)
    oof = [np.full((len(data), len(data.arms)), np.nan) for _ in cands]
    models: list[list[UpliftModel]] = [[] for _ in cands]
    active = list(range(n))
    for k in range(n_folds):
        for i in active:
            c = cands[i]
            say(f"selection: {c.name} ({c.learner}), fold {k + 1} of {n_folds}")
            start = time.perf_counter()
            params = {**dict(c.params), "seed": int(seed), "n_jobs": int(n_jobs)}
            model, held = fit_fold(data, folds, k, c.learner, params)
            fold = data.subset(held)
            oof[i][held] = model.predict_uplift(fold.features, calibrated=False)
            values[i, k] = _fold_value(model, fold, metric, value_per_conversion, cost_per_contact)
            models[i].append(model)
            seconds[i] += time.perf_counter() - start
        if k == 0 and prune and len(active) > 2:
            keep = math.ceil(len(active) / 2)
            ranked = sorted(active, key=lambda j: (-values[j, 0], j))
            active = sorted(ranked[:keep])
            dropped = [cands[j].name for j in ranked[keep:]]
            say(f"selection: pruned after fold 1: {', '.join(dropped)}")
    complete = np.isfinite(values).all(axis=1)
    mean = np.where(complete, values.mean(axis=1), np.nan)
    best_i = max(np.flatnonzero(complete), key=lambda j: (mean[j], -j))
    rows = []
    for i, c in enumerate(cands):
        scored = values[i][np.isfinite(values[i])]
        rows.append(
            {
                "candidate": c.name,
                "learner": c.learner,
                "params": _params_text(c.params),
                "value": float(mean[i]) if complete[i] else float(scored.mean()),
                "se": float(scored.std(ddof=1) / math.sqrt(scored.size))
                if scored.size > 1
                else math.nan,
                **{f"fold_{k + 1}": float(values[i, k]) for k in range(n_folds)},
                "n_folds_scored": int(scored.size),
                "pruned": not bool(complete[i]),
                "chosen": i == best_i,
                "seconds": float(seconds[i]),
            }
        )
    table = pd.DataFrame(rows)
    table = table.sort_values(["pruned", "value"], ascending=[True, False], kind="stable")
    best = cands[best_i]
    crossfit = CrossFit(
        learner=best.learner,
        params={**dict(best.params), "seed": int(seed), "n_jobs": int(n_jobs)},
        folds=folds,
        oof=oof[best_i],
        models=models[best_i],
        arms=tuple(data.arms),
        seconds=float(seconds[best_i]),
    )
    result = LearnerSelection(
        table=table.reset_index(drop=True),
        best=best,
        crossfit=crossfit,
        metric=metric,
        n_folds=int(n_folds),
        seed=int(seed),
        seconds=time.perf_counter() - t0,
        value_per_conversion=value_per_conversion,
    )
    say(repr(result))
    return result


def _params_text(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"
