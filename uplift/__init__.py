"""Uplift modeling for randomized marketing campaigns with several treatment arms.

Data (:class:`UpliftData`), causalml learners on LightGBM with one fixed prediction frame
(:class:`UpliftModel`), held-out evaluation with bootstrap intervals (:func:`evaluate_uplift`),
targeting under a budget (:func:`plan_targeting`, :func:`evaluate_targeting`) and plots.
See ``docs/uplift.md`` for every definition.

The names below are imported on first use (PEP 562): ``import uplift.errors`` or the command
line's ``--help`` do not load LightGBM, causalml or pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from attribution._lazy import lazy_namespace

if TYPE_CHECKING:
    from uplift.data import FeatureSchema, UpliftData, load_frame, load_uplift_data, split_positions
    from uplift.errors import (
        InvalidUpliftDataError,
        InvalidUpliftOptionError,
        MissingFeaturesError,
        ModelStoreError,
        NotFittedError,
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
    "ModelStoreError",
    "NotFittedError",
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

#: public name -> the module that defines it (imported when the name is first used)
_SOURCES: dict[str, str] = {
    "LEARNERS": "uplift.learners",
    "ArmEvaluation": "uplift.metrics",
    "FeatureSchema": "uplift.data",
    "InvalidUpliftDataError": "uplift.errors",
    "InvalidUpliftOptionError": "uplift.errors",
    "MissingFeaturesError": "uplift.errors",
    "ModelStoreError": "uplift.errors",
    "NotFittedError": "uplift.errors",
    "OverlapWarning": "uplift.errors",
    "TargetingEvaluation": "uplift.targeting",
    "TargetingPlan": "uplift.targeting",
    "UpliftData": "uplift.data",
    "UpliftError": "uplift.errors",
    "UpliftEvaluation": "uplift.metrics",
    "UpliftModel": "uplift.learners",
    "UpliftWarning": "uplift.errors",
    "auuc_score": "uplift.metrics",
    "compare_evaluations": "uplift.metrics",
    "evaluate_model": "uplift.metrics",
    "evaluate_targeting": "uplift.targeting",
    "evaluate_uplift": "uplift.metrics",
    "fit_uplift_model": "uplift.learners",
    "gain_curve": "uplift.metrics",
    "load_frame": "uplift.data",
    "load_uplift_data": "uplift.data",
    "plan_targeting": "uplift.targeting",
    "plot_calibration": "uplift.plots",
    "plot_gain": "uplift.plots",
    "plot_qini": "uplift.plots",
    "prediction_columns": "uplift.learners",
    "qini_coefficient": "uplift.metrics",
    "qini_curve": "uplift.metrics",
    "split_positions": "uplift.data",
    "uplift_at_k": "uplift.metrics",
    "uplift_by_decile": "uplift.metrics",
}


# ModelNotFittedError: the deprecated name of NotFittedError (uplift.errors warns)
__getattr__, __dir__ = lazy_namespace(
    __name__, _SOURCES, __all__, globals(), deprecated={"ModelNotFittedError": "uplift.errors"}
)
