"""Uplift modeling for randomized marketing campaigns with several treatment arms.

Data (:class:`UpliftData`), causalml learners on LightGBM with one fixed prediction frame
(:class:`UpliftModel`), held-out evaluation with bootstrap intervals (:func:`evaluate_uplift`),
targeting under a budget (:func:`plan_targeting`, :func:`evaluate_targeting`) and plots.
See ``docs/uplift.md`` for every definition.
"""

from __future__ import annotations

from uplift.data import FeatureSchema, UpliftData, load_frame, load_uplift_data, split_positions
from uplift.errors import (
    InvalidUpliftDataError,
    InvalidUpliftOptionError,
    MissingFeaturesError,
    ModelNotFittedError,
    ModelStoreError,
    OverlapWarning,
    UpliftError,
    UpliftWarning,
)
from uplift.learners import LEARNERS, UpliftModel, fit_uplift_model, prediction_columns
from uplift.metrics import (
    ArmEvaluation,
    UpliftEvaluation,
    auuc_score,
    compare_evaluations,
    evaluate_model,
    evaluate_uplift,
    gain_curve,
    qini_coefficient,
    qini_curve,
    uplift_at_k,
    uplift_by_decile,
)
from uplift.plots import plot_calibration, plot_gain, plot_qini
from uplift.targeting import (
    TargetingEvaluation,
    TargetingPlan,
    evaluate_targeting,
    plan_targeting,
)

__all__ = [
    "LEARNERS",
    "ArmEvaluation",
    "FeatureSchema",
    "InvalidUpliftDataError",
    "InvalidUpliftOptionError",
    "MissingFeaturesError",
    "ModelNotFittedError",
    "ModelStoreError",
    "OverlapWarning",
    "TargetingEvaluation",
    "TargetingPlan",
    "UpliftData",
    "UpliftError",
    "UpliftEvaluation",
    "UpliftModel",
    "UpliftWarning",
    "auuc_score",
    "compare_evaluations",
    "evaluate_model",
    "evaluate_targeting",
    "evaluate_uplift",
    "fit_uplift_model",
    "gain_curve",
    "load_frame",
    "load_uplift_data",
    "plan_targeting",
    "plot_calibration",
    "plot_gain",
    "plot_qini",
    "prediction_columns",
    "qini_coefficient",
    "qini_curve",
    "split_positions",
    "uplift_at_k",
    "uplift_by_decile",
]
