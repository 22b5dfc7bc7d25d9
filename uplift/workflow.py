"""Split, (select,) fit, calibrate and evaluate: the one training pipeline.

:func:`train_and_evaluate` is what ``pathlift uplift train``, ``pathlift demo`` and
``pathlift retrain`` run:

1. split the data into training and held-out rows, stratified by arm
   (:func:`uplift.data.split_positions` with ``test_size`` and ``split_seed``);
2. with ``learner="auto"``, choose the learner and its LightGBM settings by cross-fitted
   held-out value on the **training rows only** (:func:`uplift.selection.select_learner`);
   otherwise, when ``calibrate``, cross-fit the given learner on the training rows
   (:func:`uplift.crossfit.cross_fit`);
3. fit the chosen configuration on all training rows;
4. when ``calibrate``, calibrate it on the out-of-fold predictions of step 2
   (:meth:`uplift.learners.UpliftModel.calibrate`);
5. evaluate it on the held-out rows (:func:`uplift.metrics.evaluate_model`), and record the
   calibration error of the uncalibrated predictions on the same rows for comparison.

The held-out rows are used in step 5 only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from uplift.calibration import DEFAULT_CALIBRATION_BINS
from uplift.crossfit import CrossFit, cross_fit
from uplift.data import UpliftData, split_positions
from uplift.errors import InvalidUpliftOptionError
from uplift.learners import LEARNERS, UpliftModel
from uplift.metrics import DEFAULT_KS, UpliftEvaluation, evaluate_model, evaluate_uplift
from uplift.selection import Candidate, LearnerSelection, SelectionMetric, select_learner

__all__ = ["TrainingResult", "train_and_evaluate"]


@dataclass(frozen=True, repr=False)
class TrainingResult:
    """What :func:`train_and_evaluate` produced.

    Attributes
    ----------
    model
        The fitted (and, with ``calibrate``, calibrated) model.
    evaluation
        Its held-out evaluation.
    train, test
        Training and held-out data; ``train_rows`` / ``test_rows`` their positions in the input.
    selection
        The learner selection (``learner="auto"``), else ``None``.
    crossfit
        The cross-fit used for calibration, else ``None``.
    raw_calibration_error
        ``{arm: calibration_error}`` of the uncalibrated predictions on the held-out rows (only
        for a calibrated model).
    seconds
        Wall time of each step: ``selection``, ``cross_fit``, ``fit``, ``evaluate``, ``total``.
    """

    model: UpliftModel
    evaluation: UpliftEvaluation
    train: UpliftData
    test: UpliftData
    train_rows: np.ndarray
    test_rows: np.ndarray
    selection: LearnerSelection | None = None
    crossfit: CrossFit | None = None
    raw_calibration_error: Mapping[str, float] = field(default_factory=dict)
    seconds: Mapping[str, float] = field(default_factory=dict)

    def __repr__(self) -> str:
        chosen = f", selected {self.selection.best.name!r}" if self.selection else ""
        return (
            f"TrainingResult({self.model.learner}-learner{chosen}, calibrated="
            f"{self.model.calibration_ is not None}, {len(self.train)} training / "
            f"{len(self.test)} held-out rows, {self.seconds.get('total', 0.0):.1f}s)"
        )


def train_and_evaluate(
    data: UpliftData,
    *,
    learner: str = "t",
    params: Mapping[str, Any] | None = None,
    test_size: float = 0.3,
    seed: int = 0,
    split_seed: int | None = None,
    eval_seed: int | None = None,
    calibrate: bool = True,
    n_folds: int = 3,
    calibration_bins: int = DEFAULT_CALIBRATION_BINS,
    candidates: Sequence[Candidate] | None = None,
    selection_metric: SelectionMetric | None = None,
    value_per_conversion: float | None = None,
    cost_per_contact: float | Mapping[str, float] = 0.0,
    prune: bool = True,
    ks: Sequence[float] = DEFAULT_KS,
    n_bootstrap: int = 200,
    ci: float = 0.95,
    n_jobs: int = 1,
    progress: Callable[[str], None] | None = None,
) -> TrainingResult:
    """Run the training pipeline (see the module docstring).

    Parameters
    ----------
    data
        The whole dataset; it is split here.
    learner
        A learner name (:data:`uplift.learners.LEARNERS`) or ``"auto"``.
    params
        :class:`~uplift.learners.UpliftModel` keyword arguments of a fixed learner (ignored by
        ``"auto"``, whose candidates carry their own).
    test_size, split_seed
        Held-out share and the split's seed (default ``seed``).
    seed
        Seed of the folds and of every model.
    eval_seed
        Seed of the evaluation bootstrap (default ``seed``).
    calibrate
        Calibrate the model on cross-fitted out-of-fold predictions.
    n_folds, calibration_bins
        Cross-fitting folds (selection and calibration) and calibration bins.
    candidates, selection_metric, value_per_conversion, cost_per_contact, prune
        Selection settings (:func:`uplift.selection.select_learner`).
    ks, n_bootstrap, ci
        Evaluation settings (:func:`uplift.metrics.evaluate_uplift`).
    n_jobs
        LightGBM threads.
    progress
        Called with progress messages.
    """
    say = progress or (lambda message: None)
    t0 = time.perf_counter()
    if learner != "auto" and learner not in LEARNERS:
        raise InvalidUpliftOptionError(
            f"unknown learner {learner!r}; choose one of {[*LEARNERS, 'auto']!r}"
        )
    # every option is checked before the first model is fitted
    if not 0.0 < ci < 1.0:
        raise InvalidUpliftOptionError(f"ci must be in (0, 1), got {ci}")
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int) or n_bootstrap < 0:
        raise InvalidUpliftOptionError(f"n_bootstrap must be an integer >= 0, got {n_bootstrap!r}")
    if not 0.0 < test_size < 1.0:
        raise InvalidUpliftOptionError(f"test_size must be in (0, 1), got {test_size}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidUpliftOptionError(f"seed must be an integer >= 0, got {seed!r}")
    if (calibrate or learner == "auto") and (not isinstance(n_folds, int) or n_folds < 2):
        raise InvalidUpliftOptionError(
            f"n_folds must be at least 2 for calibration and learner selection, got {n_folds!r}"
        )
    if learner != "auto":
        UpliftModel(learner, **{"n_jobs": int(n_jobs), **dict(params or {})})._check_options(
            data.outcome_type
        )
    seconds: dict[str, float] = {}
    train_rows, test_rows = split_positions(
        data.treatment, test_size=test_size, seed=seed if split_seed is None else split_seed
    )
    train, test = data.subset(train_rows), data.subset(test_rows)
    say(f"training on {len(train)} rows, holding out {len(test)}")
    selection: LearnerSelection | None = None
    crossfit: CrossFit | None = None
    if learner == "auto":
        t = time.perf_counter()
        selection = select_learner(
            train,
            candidates=candidates,
            n_folds=n_folds,
            metric=selection_metric,
            value_per_conversion=value_per_conversion,
            cost_per_contact=cost_per_contact,
            prune=prune,
            seed=seed,
            n_jobs=n_jobs,
            progress=say,
        )
        seconds["selection"] = time.perf_counter() - t
        crossfit = selection.crossfit
        chosen, model_params = selection.best.learner, dict(crossfit.params)
    else:
        chosen = learner
        model_params = {"n_jobs": int(n_jobs), **dict(params or {}), "seed": int(seed)}
        if calibrate:
            t = time.perf_counter()
            crossfit = cross_fit(
                train, chosen, params=model_params, n_folds=n_folds, seed=seed, progress=say
            )
            seconds["cross_fit"] = time.perf_counter() - t
    t = time.perf_counter()
    model = UpliftModel(chosen, **model_params).fit(train, progress=say)
    seconds["fit"] = time.perf_counter() - t
    raw_errors: dict[str, float] = {}
    if calibrate and crossfit is not None:
        model.calibrate(crossfit, train, n_bins=calibration_bins)
        say(repr(model.calibration_))
    t = time.perf_counter()
    say(f"evaluating on {len(test)} held-out rows ({n_bootstrap} bootstrap replicates)")
    eval_kwargs: dict[str, Any] = {
        "ks": tuple(ks),
        "n_bootstrap": n_bootstrap,
        "ci": ci,
        "seed": seed if eval_seed is None else eval_seed,
    }
    evaluation = evaluate_model(model, test, **eval_kwargs)
    if model.calibration_ is not None:
        raw = evaluate_uplift(
            {
                a: u
                for a, u in zip(
                    model.arms_,
                    model.predict_uplift(test.features, calibrated=False).T,
                    strict=True,
                )
            },
            test.outcome,
            test.treatment,
            test.control,
            ks=(),
            n_bootstrap=0,
        )
        raw_errors = {a: raw.value(a, "calibration_error") for a in raw.arms}
    seconds["evaluate"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0
    return TrainingResult(
        model=model,
        evaluation=evaluation,
        train=train,
        test=test,
        train_rows=train_rows,
        test_rows=test_rows,
        selection=selection,
        crossfit=crossfit,
        raw_calibration_error=raw_errors,
        seconds=seconds,
    )
