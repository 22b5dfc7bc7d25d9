"""Cross-fitting: every training row scored by a model that did not see it.

:func:`fold_ids` assigns the rows of an :class:`~uplift.data.UpliftData` to ``n_folds`` folds,
stratified by arm: within each arm (arms in sorted order) the rows are permuted with
``numpy.random.default_rng(seed)`` and the row at permuted position ``j`` goes to fold
``j mod n_folds``. :func:`cross_fit` fits one :class:`~uplift.learners.UpliftModel` per fold on
the other folds and predicts the fold: the **out-of-fold** (OOF) predictions. They serve three
purposes:

* learner selection (:mod:`uplift.selection`) scores each candidate on the held-out fold of each
  of its fold models;
* calibration (:mod:`uplift.calibration`) regresses observed on predicted uplift over the OOF
  predictions;
* honest plans (:mod:`uplift.promise`) use the fold models as refits of the model on other data
  to measure how much the plan's value depends on the training sample.

None of it touches rows outside the data given (the evaluation split stays untouched).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from uplift.data import UpliftData
from uplift.errors import InvalidUpliftOptionError

if TYPE_CHECKING:
    from uplift.learners import UpliftModel

__all__ = ["CrossFit", "cross_fit", "fit_fold", "fold_ids"]


def fold_ids(treatment: np.ndarray, *, n_folds: int = 3, seed: int = 0) -> np.ndarray:
    """Fold of every row, stratified by arm (see the module docstring)."""
    if isinstance(n_folds, bool) or not isinstance(n_folds, int | np.integer) or n_folds < 2:
        raise InvalidUpliftOptionError(f"n_folds must be an integer >= 2, got {n_folds!r}")
    treatment = np.asarray(treatment)
    rng = np.random.default_rng(seed)
    out = np.empty(treatment.shape[0], dtype=np.int64)
    for arm in sorted(set(treatment.tolist())):
        rows = np.flatnonzero(treatment == arm)
        if rows.size < n_folds:
            raise InvalidUpliftOptionError(
                f"arm {arm!r} has {rows.size} row(s), fewer than the {n_folds} folds; lower "
                "n_folds or collect more data"
            )
        perm = rng.permutation(rows)
        out[perm] = np.arange(perm.size) % n_folds
    return out


def fit_fold(
    data: UpliftData,
    folds: np.ndarray,
    k: int,
    learner: str,
    params: Mapping[str, Any],
) -> tuple[UpliftModel, np.ndarray]:
    """Fit ``UpliftModel(learner, **params)`` without fold ``k``; return it and its fold rows."""
    from uplift.learners import UpliftModel

    train_rows = np.flatnonzero(folds != k)
    held_rows = np.flatnonzero(folds == k)
    model = UpliftModel(learner, **dict(params)).fit(data.subset(train_rows))
    return model, held_rows


@dataclass(frozen=True, repr=False)
class CrossFit:
    """Out-of-fold predictions of one learner configuration.

    Attributes
    ----------
    learner, params
        The configuration (``UpliftModel(learner, **params)``).
    folds
        Fold of every row of the data (``fold_ids``).
    oof
        ``(n_rows, n_arms)`` uplift of every row predicted by the model of its fold (raw, not
        calibrated).
    models
        The fold models; ``models[k]`` was fitted on every fold but ``k``.
    arms
        Column order of ``oof``.
    seconds
        Wall time of the fits and predictions.
    """

    learner: str
    params: Mapping[str, Any]
    folds: np.ndarray
    oof: np.ndarray
    models: list[UpliftModel] = field(default_factory=list)
    arms: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def n_folds(self) -> int:
        """Number of folds."""
        return len(self.models)

    def __repr__(self) -> str:
        return (
            f"CrossFit({self.learner!r}, {self.n_folds} folds, {self.oof.shape[0]} rows, "
            f"{self.seconds:.1f}s)"
        )


def cross_fit(
    data: UpliftData,
    learner: str = "t",
    *,
    params: Mapping[str, Any] | None = None,
    n_folds: int = 3,
    seed: int = 0,
    folds: np.ndarray | None = None,
    progress: Callable[[str], None] | None = None,
) -> CrossFit:
    """Fit ``n_folds`` models and predict each row with the model of its fold.

    Parameters
    ----------
    data
        The training data (never the evaluation split).
    learner, params
        ``UpliftModel(learner, **params)``.
    n_folds, seed
        Folds from :func:`fold_ids` (ignored when ``folds`` is given).
    folds
        Precomputed fold of every row.
    progress
        Called with one message per fold.
    """
    t0 = time.perf_counter()
    params = dict(params or {})
    if folds is None:
        folds = fold_ids(data.treatment, n_folds=n_folds, seed=seed)
    k_all = sorted(set(np.asarray(folds).tolist()))
    oof = np.full((len(data), len(data.arms)), np.nan)
    models = []
    for k in k_all:
        if progress is not None:
            progress(f"cross-fitting {learner!r}: fold {k + 1} of {len(k_all)}")
        model, held = fit_fold(data, folds, k, learner, params)
        oof[held] = model.predict_uplift(data.features.iloc[held], calibrated=False)
        models.append(model)
    return CrossFit(
        learner=learner,
        params=params,
        folds=np.asarray(folds),
        oof=oof,
        models=models,
        arms=tuple(data.arms),
        seconds=time.perf_counter() - t0,
    )
