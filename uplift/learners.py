"""Uplift models: causalml meta-learners on LightGBM behind one estimator with a fixed output.

:class:`UpliftModel` wraps causalml's S, T, X, R and DR learners (classifier forms for binary
outcomes, regressor forms for continuous ones) with LightGBM base learners, and causalml's
``UpliftRandomForestClassifier`` (binary outcomes only; 25-35x slower to fit than the LightGBM
T-learner). Whatever the learner, :meth:`UpliftModel.predict` returns a DataFrame with

* ``uplift_<arm>`` -- one ``float64`` column per treatment arm, in :attr:`UpliftModel.arms_`
  order (arm names sorted as Python strings; the arm name is used verbatim, spaces included,
  e.g. ``uplift_Mens E-Mail``). The value is the predicted conditional average treatment effect
  ``E[Y | x, T=arm] - E[Y | x, T=control]`` (a difference of probabilities for binary outcomes);
* ``best_arm`` -- the arm with the largest predicted uplift (first in arm order on ties), or the
  control name when no arm has a positive predicted uplift;
* ``best_uplift`` -- the predicted uplift of ``best_arm`` (``0.0`` when it is the control).

Propensity: the X, R and DR learners need ``p_a(x) = P(T=a | x, T in {a, control})``. For a
randomized experiment the known value is used (``UpliftData.pairwise_propensity``, a constant per
arm) -- causalml would otherwise fit its own propensity model, which is much slower at scale and
brings nothing in an RCT. For observational data (``randomized=False``) a LightGBM
:class:`~uplift.propensity.PropensityModel` estimates it (out of fold for training rows) and
warns about poor overlap -- for every learner, since poor overlap undermines all of them.

Reproducibility: every LightGBM model gets ``random_state=seed`` and ``deterministic=True``;
cross-fitting folds (R, DR) and the uplift forest use the same seed. With ``n_jobs=1`` everything
runs single-threaded (the R-learner's cross-validation is forced sequential).

Fast scoring: for the T-learner (and the X and DR learners' effect models), :meth:`predict` does
not call LightGBM's ``predict``; each LightGBM model is compiled once per fitted or loaded model
(lazily, on the first prediction; never saved) into a :class:`uplift._forest.CompiledForest`, a
numba kernel that reproduces LightGBM's prediction bit for bit -- same split decisions, missing
values included, leaf values summed in the same order, same sigmoid -- at about 4x LightGBM's
single-threaded speed. The predictions are exactly those of causalml's ``predict``. It scores with
``n_jobs`` threads (``1``: the calling thread; ``0`` or negative: LightGBM's conventions, ``-1``
all cores). A model it does not support (a categorical split, linear trees, ``rf`` boosting, an
objective other than ``binary`` or ``regression``) makes the learner fall back to causalml's
``predict``.

Saved layout (:meth:`UpliftModel.save`), a directory holding

* one LightGBM model text file per LightGBM model the learner's prediction reads
  (``lgbm-*.txt``), the propensity models of observational data (``propensity-<i>.txt``), the
  out-of-fold arrays of a calibrated model (``out_of_fold.npz``, no object arrays) and the
  same files of its cross-fitting fold models (``fold<k>-*``); the uplift forest alone is a
  pickle (``uplift_forest.joblib``), loaded only when its SHA-256 matches the recorded one;
* ``metadata.json`` -- format name and version, learner name and causalml class, parameters,
  seed, control, arms, outcome type, treatment/outcome column names, feature schema (names,
  kinds, dtypes, training categories), propensity mode and values, prediction columns, training
  row counts, optional ``extra`` (e.g. training data hash and split), package versions, the
  files of the fitted state (``model_files``) and the SHA-256 of every file (``files``); for a
  calibrated model also ``calibration`` (:meth:`uplift.calibration.UpliftCalibration.to_dict`)
  and ``cross_fit`` (learner, folds, parameters).

Calibration: :meth:`UpliftModel.calibrate` (given the out-of-fold predictions of
:func:`uplift.crossfit.cross_fit` on the training data) makes :meth:`UpliftModel.predict` return
calibrated uplift ``alpha_a + beta_a * u_a`` (see :mod:`uplift.calibration`); ``best_arm`` and
``best_uplift`` then follow the calibrated values. ``predict_uplift(frame, calibrated=False)``
returns the learner's own predictions.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import inspect
import io
import json
import logging
import os
import platform
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata as _importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import lightgbm as lgb
import numpy as np
import pandas as pd

from attribution._io import atomic_write_files
from attribution._io import to_jsonable as _jsonable
from attribution._progress import ProgressCallback
from attribution._validation import shown
from attribution.errors import NotFittedError
from uplift._model_files import (
    ModelFiles,
    SavedLearner,
    learner_state,
    lgbm_text,
    load_learner,
)
from uplift.calibration import DEFAULT_CALIBRATION_BINS, UpliftCalibration, fit_calibration
from uplift.catalog import LEARNERS
from uplift.data import FeatureSchema, UpliftData
from uplift.errors import (
    InvalidUpliftDataError,
    InvalidUpliftOptionError,
    ModelStoreError,
    UpliftWarning,
)
from uplift.propensity import PropensityModel

if TYPE_CHECKING:
    from uplift._forest import CompiledForest
    from uplift.crossfit import CrossFit

__all__ = [
    "LEARNERS",
    "METADATA_FILE",
    "UpliftModel",
    "fit_uplift_model",
    "prediction_columns",
]

logger = logging.getLogger(__name__)

METADATA_FILE = "metadata.json"
FORMAT_NAME = "pathlift-uplift-model"
FORMAT_VERSION = 2


def prediction_columns(arms: tuple[str, ...] | list[str]) -> list[str]:
    """Return the prediction columns: ``uplift_<arm>`` per arm, ``best_arm``, ``best_uplift``."""
    return [f"uplift_{a}" for a in arms] + ["best_arm", "best_uplift"]


class ProbabilityLGBMClassifier(lgb.LGBMClassifier):
    """LightGBM classifier whose ``predict`` returns ``P(y = 1)``.

    causalml's DR-learner calls ``predict`` on its outcome models while cross-fitting; with a
    plain classifier that would be the 0/1 class label instead of the outcome probability.
    """

    def predict(self, X: Any, *args: Any, **kwargs: Any) -> np.ndarray:
        """Probability of the positive class."""
        return np.asarray(self.predict_proba(X, *args, **kwargs))[:, 1]


@contextlib.contextmanager
def _sequential_joblib(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    with joblib.parallel_config(backend="sequential"):
        yield


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("pathlift", "causalml", "lightgbm", "scikit-learn", "numpy", "pandas", "joblib"):
        try:
            out[dist] = _importlib_metadata.version(dist)
        except _importlib_metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


class UpliftModel:
    """Uplift model with a fixed prediction shape, saved to and loaded from a directory.

    Parameters
    ----------
    learner
        ``"s"``, ``"t"``, ``"x"``, ``"r"``, ``"dr"`` (causalml meta-learners on LightGBM) or
        ``"uplift_rf"`` (causalml's uplift random forest, binary outcomes only).
    n_estimators, learning_rate, num_leaves, min_child_samples
        LightGBM base-learner settings (every base learner gets the same).
    n_jobs
        LightGBM threads (``num_threads``) and uplift-forest workers. ``1`` is single-threaded.
    seed
        Seed of every random choice (LightGBM, cross-fitting folds, the forest).
    lgbm_params
        Further :class:`lightgbm.LGBMModel` keyword arguments (override the ones above).
    forest_params
        Keyword arguments of ``causalml.inference.tree.UpliftRandomForestClassifier`` (default
        ``n_estimators=10, max_depth=5, min_samples_leaf=100``).
    r_folds
        Cross-fitting folds of the R-learner's outcome model.

    Attributes
    ----------
    learner_
        The fitted causalml learner.
    arms_, control_
        Treatment arms (prediction column order) and the control name.
    schema_
        :class:`~uplift.data.FeatureSchema` of the training features.
    outcome_type_
        ``"binary"`` or ``"continuous"``.
    propensity_
        ``{arm: p_a}`` constants for a randomized experiment, else ``None``.
    propensity_model_
        :class:`~uplift.propensity.PropensityModel` for observational data, else ``None``.
    metadata_
        Everything written to ``metadata.json``.
    calibration_
        :class:`~uplift.calibration.UpliftCalibration` set by :meth:`calibrate` (then
        :meth:`predict` returns calibrated uplift), else ``None``.
    fold_models_
        The cross-fitting fold models given to :meth:`calibrate`, else empty.
    out_of_fold_
        ``{"uplift", "outcome", "treatment", "fold"}`` arrays of the training rows (their
        out-of-fold predicted uplift): what a plan's promise is estimated from
        (:mod:`uplift.promise`); ``None`` without calibration.
    """

    calibration_: UpliftCalibration | None = None
    fold_models_: tuple[UpliftModel, ...] = ()
    out_of_fold_: Mapping[str, np.ndarray] | None = None

    def __init__(
        self,
        learner: str = "t",
        *,
        n_estimators: int = 100,
        learning_rate: float = 0.1,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        n_jobs: int = 1,
        seed: int = 0,
        lgbm_params: Mapping[str, Any] | None = None,
        forest_params: Mapping[str, Any] | None = None,
        r_folds: int = 3,
    ) -> None:
        self.learner = learner
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.n_jobs = n_jobs
        self.seed = seed
        self.lgbm_params = lgbm_params
        self.forest_params = forest_params
        self.r_folds = r_folds

    # ------------------------------------------------------------------ params
    def get_params(self) -> dict[str, Any]:
        """Return the constructor arguments (scikit-learn convention)."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p not in ("self",)]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        state = f", arms={list(self.arms_)!r}" if hasattr(self, "arms_") else ", unfitted"
        return f"UpliftModel({params}{state})"

    # ------------------------------------------------------------------ building
    def _check_options(self, outcome_type: str) -> None:
        if self.learner not in LEARNERS:
            raise InvalidUpliftOptionError(
                f"unknown learner {self.learner!r}; choose one of {list(LEARNERS)!r}"
            )
        if self.learner == "uplift_rf" and outcome_type != "binary":
            raise InvalidUpliftOptionError(
                "learner 'uplift_rf' (causalml's uplift random forest) supports binary outcomes "
                "only; use one of 's', 't', 'x', 'r', 'dr' for a continuous outcome"
            )
        for name in ("n_estimators", "num_leaves", "n_jobs", "r_folds"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or (value < 1 and name != "n_jobs"):
                raise InvalidUpliftOptionError(f"{name} must be a positive integer, got {value!r}")
        if self.r_folds < 2:
            raise InvalidUpliftOptionError(f"r_folds must be at least 2, got {self.r_folds}")
        if not self.learning_rate > 0:
            raise InvalidUpliftOptionError(
                f"learning_rate must be positive, got {self.learning_rate!r}"
            )

    def _lgbm_kwargs(self, cat_indices: list[int], offset: int = 0) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "n_estimators": int(self.n_estimators),
            "learning_rate": float(self.learning_rate),
            "num_leaves": int(self.num_leaves),
            "min_child_samples": int(self.min_child_samples),
            "n_jobs": int(self.n_jobs),
            "random_state": int(self.seed),
            "deterministic": True,
            "verbose": -1,
        }
        if cat_indices:
            kwargs["cat_feature"] = ",".join(str(i + offset) for i in cat_indices)
        kwargs.update(dict(self.lgbm_params or {}))
        return kwargs

    def _build(self, outcome_type: str, control: str, cat_indices: list[int]) -> Any:
        from causalml.inference.meta import (
            BaseDRClassifier,
            BaseDRRegressor,
            BaseRClassifier,
            BaseRRegressor,
            BaseSClassifier,
            BaseSRegressor,
            BaseTClassifier,
            BaseTRegressor,
            BaseXClassifier,
            BaseXRegressor,
        )

        kw = self._lgbm_kwargs(cat_indices)
        binary = outcome_type == "binary"
        name = self.learner
        if name == "uplift_rf":
            from causalml.inference.tree import UpliftRandomForestClassifier

            params: dict[str, Any] = {
                "n_estimators": 10,
                "max_depth": 5,
                "min_samples_leaf": 100,
                "random_state": int(self.seed),
                "n_jobs": int(self.n_jobs),
            }
            params.update(dict(self.forest_params or {}))
            return UpliftRandomForestClassifier(control_name=control, **params)
        if name == "s":
            s_kw = self._lgbm_kwargs(cat_indices, offset=1)  # treatment column is prepended
            if binary:
                return BaseSClassifier(learner=lgb.LGBMClassifier(**s_kw), control_name=control)
            return BaseSRegressor(learner=lgb.LGBMRegressor(**s_kw), control_name=control)
        if name == "t":
            if binary:
                return BaseTClassifier(learner=lgb.LGBMClassifier(**kw), control_name=control)
            return BaseTRegressor(learner=lgb.LGBMRegressor(**kw), control_name=control)
        if name == "x":
            if binary:
                return BaseXClassifier(
                    outcome_learner=lgb.LGBMClassifier(**kw),
                    effect_learner=lgb.LGBMRegressor(**kw),
                    control_name=control,
                )
            return BaseXRegressor(learner=lgb.LGBMRegressor(**kw), control_name=control)
        if name == "r":
            if binary:
                return BaseRClassifier(
                    outcome_learner=lgb.LGBMClassifier(**kw),
                    effect_learner=lgb.LGBMRegressor(**kw),
                    control_name=control,
                    n_fold=int(self.r_folds),
                    random_state=int(self.seed),
                )
            return BaseRRegressor(
                learner=lgb.LGBMRegressor(**kw),
                control_name=control,
                n_fold=int(self.r_folds),
                random_state=int(self.seed),
            )
        # dr
        if binary:
            return BaseDRClassifier(
                control_outcome_learner=ProbabilityLGBMClassifier(**kw),
                treatment_outcome_learner=ProbabilityLGBMClassifier(**kw),
                treatment_effect_learner=lgb.LGBMRegressor(**kw),
                control_name=control,
            )
        return BaseDRRegressor(learner=lgb.LGBMRegressor(**kw), control_name=control)

    # ------------------------------------------------------------------ fit
    def fit(self, data: UpliftData, *, progress: ProgressCallback | None = None) -> UpliftModel:
        """Fit the learner on ``data``.

        Parameters
        ----------
        data
            A validated :class:`~uplift.data.UpliftData`.
        progress
            Called with a short message at each stage (the CLI prints them to stderr).

        Returns
        -------
        UpliftModel
            ``self``, fitted.
        """
        if not isinstance(data, UpliftData):
            raise InvalidUpliftDataError(
                f"fit expects an UpliftData, got {type(data).__name__}; build one with "
                "UpliftData.from_frame(df, treatment_col=..., control=..., outcome_col=...)"
            )
        self._check_options(data.outcome_type)
        _check_training_data(data)
        say = progress or (lambda msg: None)
        t0 = time.perf_counter()

        def stage(msg: str) -> None:
            text = f"[{time.perf_counter() - t0:6.1f}s] {msg}"
            logger.info(text)
            say(text)

        stage(f"encoding {len(data)} rows x {len(data.schema.names)} features")
        X = data.schema.transform(data.features)
        treatment = data.treatment
        y = data.outcome if data.outcome_type == "continuous" else data.outcome.astype(np.int64)
        cat_indices = data.schema.categorical_indices

        propensity_model: PropensityModel | None = None
        constants: dict[str, float] | None = None
        p_train: dict[str, np.ndarray] | None = None
        if data.randomized:
            constants = data.pairwise_propensity()
            if self.learner in ("x", "r", "dr"):
                p_train = {a: np.full(len(data), constants[a]) for a in data.arms}
                stage(
                    "using the known assignment propensity "
                    + ", ".join(f"{a}={p:.4f}" for a, p in constants.items())
                )
        else:
            # estimated for every learner: X/R/DR use it, and the overlap check concerns all
            stage("estimating propensity scores (assignment not randomized)")
            propensity_model = PropensityModel(
                lgbm_params=self._lgbm_kwargs(cat_indices), seed=int(self.seed)
            )
            p_train = propensity_model.fit(X, treatment, data.arms, data.control)

        learner = self._build(data.outcome_type, data.control, cat_indices)
        stage(
            f"fitting {type(learner).__name__} ({self.learner}) on arms "
            f"{list(data.arms)!r} vs control {data.control!r}"
        )
        with _sequential_joblib(self.n_jobs == 1), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*X does not have valid feature names.*")
            if self.learner in ("s", "t"):
                learner.fit(X, treatment=treatment, y=y)
            elif self.learner == "x":
                learner.fit(X, treatment=treatment, y=y, p=p_train)
            elif self.learner == "r":
                learner.fit(X, treatment=treatment, y=y, p=p_train, verbose=False)
            elif self.learner == "dr":
                learner.fit(X, treatment=treatment, y=y, p=p_train, seed=int(self.seed))
            else:
                learner.fit(X, treatment=treatment, y=y)
        fitted_arms = (
            [str(g) for g in learner.classes_[1:]]
            if self.learner == "uplift_rf"
            else [str(g) for g in learner.t_groups]
        )
        if fitted_arms != list(data.arms):  # pragma: no cover - causalml contract
            raise RuntimeError(f"causalml arm order {fitted_arms} differs from {data.arms}")

        self.learner_ = learner
        self.arms_ = tuple(data.arms)
        self.control_ = data.control
        self.schema_ = data.schema
        self.outcome_type_ = data.outcome_type
        self.randomized_ = data.randomized
        self.treatment_col_ = data.treatment_col
        self.outcome_col_ = data.outcome_col
        self.propensity_ = constants
        self.propensity_model_ = propensity_model
        self.calibration_ = None
        self.fold_models_ = ()
        self.out_of_fold_ = None
        self.metadata_ = self._metadata(data)
        stage("done")
        return self

    def calibrate(
        self, crossfit: CrossFit, data: UpliftData, *, n_bins: int = DEFAULT_CALIBRATION_BINS
    ) -> UpliftModel:
        """Calibrate the predictions on the out-of-fold predictions of ``crossfit``.

        ``crossfit`` must come from :func:`uplift.crossfit.cross_fit` on ``data``, the data this
        model was fitted on (same rows, same arms). Fits :attr:`calibration_` (see
        :mod:`uplift.calibration`), keeps the fold models in :attr:`fold_models_` and returns
        ``self``; from then on :meth:`predict` returns calibrated uplift.

        Raises
        ------
        InvalidUpliftDataError
            When ``crossfit`` and ``data`` do not match this model.
        """
        self._check_fitted()
        if tuple(crossfit.arms) != self.arms_ or crossfit.oof.shape[0] != len(data):
            raise InvalidUpliftDataError(
                f"the cross-fit ({crossfit.oof.shape[0]} rows, arms {list(crossfit.arms)!r}) "
                f"does not match the data ({len(data)} rows) or the model's arms "
                f"{list(self.arms_)!r}: cross-fit the data the model was fitted on"
            )
        self.calibration_ = fit_calibration(
            crossfit.oof,
            data.outcome,
            data.treatment,
            control=self.control_,
            arms=self.arms_,
            n_bins=n_bins,
        )
        self.fold_models_ = tuple(crossfit.models)
        self.out_of_fold_ = {
            "uplift": np.asarray(crossfit.oof, dtype=np.float64),
            "outcome": np.asarray(data.outcome, dtype=np.float64),
            "treatment": np.asarray(data.treatment).astype(str),
            "fold": np.asarray(crossfit.folds, dtype=np.int64),
        }
        self.metadata_ = {
            **self.metadata_,
            "calibration": self.calibration_.to_dict(),
            "cross_fit": {
                "learner": crossfit.learner,
                "n_folds": crossfit.n_folds,
                "params": _jsonable(dict(crossfit.params)),
            },
        }
        return self

    def _metadata(self, data: UpliftData) -> dict[str, Any]:
        if self.propensity_model_ is not None:
            mode = "estimated"
        elif data.assignment_probabilities is not None:
            mode = "known"
        else:
            mode = "observed-shares"
        return {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "learner": self.learner,
            "learner_class": type(self.learner_).__name__,
            "params": _jsonable(self.get_params()),
            "seed": int(self.seed),
            "control": self.control_,
            "arms": list(self.arms_),
            "outcome_type": self.outcome_type_,
            "treatment_col": self.treatment_col_,
            "outcome_col": self.outcome_col_,
            "randomized": self.randomized_,
            "propensity": {
                "mode": mode,
                "pairwise": self.propensity_,
                "assignment_probabilities": (
                    dict(data.assignment_probabilities)
                    if data.assignment_probabilities is not None
                    else None
                ),
                "overlap_outside_share": (
                    self.propensity_model_.overlap_ if self.propensity_model_ else None
                ),
            },
            "schema": self.schema_.to_dict(),
            "prediction_columns": prediction_columns(self.arms_),
            "training": {"n_rows": len(data), "arm_counts": data.arm_counts()},
            "versions": _versions(),
            "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }

    # ------------------------------------------------------------------ predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "learner_"):
            raise NotFittedError(
                "this UpliftModel is not fitted yet; call fit(data) or UpliftModel.load(path)"
            )

    @property
    def prediction_columns(self) -> list[str]:
        """Columns returned by :meth:`predict`."""
        self._check_fitted()
        return prediction_columns(self.arms_)

    def predict_uplift(self, frame: pd.DataFrame, *, calibrated: bool = True) -> np.ndarray:
        """Predict uplift as a ``(n_rows, n_arms)`` ``float64`` array (columns in ``arms_`` order).

        With a calibration (:meth:`calibrate`) and ``calibrated=True`` the calibrated uplift
        ``alpha_a + beta_a * u_a`` is returned; ``calibrated=False`` gives the learner's own.

        Raises
        ------
        MissingFeaturesError
            If ``frame`` lacks training feature columns (all are named).
        """
        self._check_fitted()
        if not isinstance(frame, pd.DataFrame):
            raise InvalidUpliftDataError(
                f"predict expects a pandas DataFrame with the feature columns, got "
                f"{type(frame).__name__}"
            )
        raw = self._predict_raw(self.schema_.transform(frame))
        if calibrated and self.calibration_ is not None and raw.shape[0]:
            return self.calibration_.apply(raw)
        return raw

    def _predict_raw(self, X: np.ndarray) -> np.ndarray:
        n = X.shape[0]
        if n == 0:
            return np.empty((0, len(self.arms_)))
        learner = self.learner_
        compiled = self._compiled_scorers()
        if compiled is not None:
            return self._predict_compiled(compiled, X)
        with _sequential_joblib(self.n_jobs == 1), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*X does not have valid feature names.*")
            if isinstance(learner, SavedLearner):
                p = self._predict_propensity(X) if self.learner == "x" else None
                te = learner.predict(X, p=p)
            elif self.learner == "uplift_rf":
                te = learner.predict(X)
            elif self.learner == "r":
                te = learner.predict(X)
            elif self.learner == "x":
                te = learner.predict(X, p=self._predict_propensity(X), verbose=False)
            elif self.learner == "dr":
                # causalml's DR predict also scores every outcome model, which the effect does
                # not need; average the cross-fitted effect models only (same numbers).
                te = np.column_stack(
                    [
                        np.mean([m.predict(X) for m in learner.models_tau[g]], axis=0)
                        for g in learner.t_groups
                    ]
                )
            else:
                te = learner.predict(X, verbose=False)
        return np.asarray(te, dtype=np.float64).reshape(n, len(self.arms_))

    # ------------------------------------------------------------------ compiled scoring
    #: Set to False (on the class or an instance) to always score with causalml's predict.
    _compiled_scoring: bool = True

    def _compiled_scorers(self) -> _CompiledLearner | None:
        """Return the compiled forests of the fitted learner, built once per fitted/loaded learner.

        ``None`` when the learner has no compiled path (S, R, uplift forest), when one of its
        LightGBM models is not supported, or when compilation fails (with a warning).
        """
        if not self._compiled_scoring or self.learner not in ("t", "x", "dr"):
            return None
        learner = self.learner_
        cached = self.__dict__.get("_compiled_cache")
        if cached is not None and cached[0] is learner:
            return cached[1]
        scorers: _CompiledLearner | None
        try:
            scorers = _compile_learner(self.learner, learner)
        except Exception as exc:  # a performance feature: never fail the prediction for it
            warnings.warn(
                f"could not compile the LightGBM models of the {self.learner!r} learner "
                f"({type(exc).__name__}: {exc}); scoring with causalml's predict",
                UpliftWarning,
                stacklevel=3,
            )
            scorers = None
        self._compiled_cache = (learner, scorers)
        return scorers

    def _predict_compiled(self, compiled: _CompiledLearner, X: np.ndarray) -> np.ndarray:
        """Score with the compiled forests: the numbers of the causalml branches, exactly."""
        threads = int(self.n_jobs)
        te = np.empty((X.shape[0], len(compiled.groups)), dtype=np.float64)
        if self.learner == "t":
            # causalml BaseT*.predict: te[:, i] = yhat_t[group] - yhat_c
            yhat_c = compiled.control[0].predict(X, n_threads=threads)
            for i, (model_t,) in enumerate(compiled.treated):
                te[:, i] = model_t.predict(X, n_threads=threads) - yhat_c
        elif self.learner == "x":
            # causalml BaseX*.predict: te[:, i] = p * dhat_c + (1 - p) * dhat_t
            p = self._predict_propensity(X)
            for i, group in enumerate(compiled.groups):
                p_g = np.asarray(p[group])
                dhat_c = compiled.control[i].predict(X, n_threads=threads)
                dhat_t = compiled.treated[i][0].predict(X, n_threads=threads)
                te[:, i] = p_g * dhat_c + (1 - p_g) * dhat_t
        else:
            # DR: the mean of the cross-fitted effect models, as in predict_uplift
            for i, models in enumerate(compiled.treated):
                te[:, i] = np.mean([m.predict(X, n_threads=threads) for m in models], axis=0)
        return te

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_compiled_cache", None)  # rebuilt on the first prediction
        return state

    def _predict_propensity(self, X: np.ndarray) -> dict[str, np.ndarray]:
        if self.propensity_model_ is not None:
            return self.propensity_model_.predict(X)
        if self.propensity_ is None:  # pragma: no cover - set by fit for randomized data
            raise NotFittedError("the model has neither propensity constants nor a model")
        return {a: np.full(X.shape[0], self.propensity_[a]) for a in self.arms_}

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Predict uplift per arm plus the best arm (fixed columns, see the module docstring).

        Parameters
        ----------
        frame
            Rows to score; must hold every training feature column (extra columns are ignored).
            Categorical values not seen in training are treated as missing.

        Returns
        -------
        pandas.DataFrame
            Index of ``frame``; columns :attr:`prediction_columns`.
        """
        te = self.predict_uplift(frame)
        return uplift_frame(te, self.arms_, self.control_, index=frame.index)

    # ------------------------------------------------------------------ persistence
    def _state(self, prefix: str = "") -> tuple[dict[str, Any], dict[str, bytes]]:
        """Return the ``model_files`` metadata entry and the files holding the fitted state.

        Every LightGBM model is its model text, the out-of-fold arrays one ``.npz`` (no object
        arrays), the fold models the same recursively with file names prefixed ``fold<k>-``;
        only the uplift forest is a pickle. File names are prefixed with ``prefix``.
        """
        documents: dict[str, bytes] = {}

        def add(name: str, content: bytes) -> str:
            documents[prefix + name] = content
            return prefix + name

        state: dict[str, Any] = {"learner": learner_state(self.learner, self.learner_, add)}
        pm = self.propensity_model_
        state["propensity_model"] = (
            None
            if pm is None
            else {
                "params": _jsonable(pm.get_params()),
                "overlap": {str(k): float(v) for k, v in pm.overlap_.items()},
                "models": [
                    add(f"propensity-{i}.txt", lgbm_text(pm.models_[arm]))
                    for i, arm in enumerate(self.arms_)
                ],
            }
        )
        if self.out_of_fold_ is not None:
            buffer = io.BytesIO()
            arrays: dict[str, Any] = {k: np.asarray(v) for k, v in self.out_of_fold_.items()}
            np.savez(buffer, **arrays)
            state["out_of_fold"] = add("out_of_fold.npz", buffer.getvalue())
        else:
            state["out_of_fold"] = None
        folds = []
        for k, fold_model in enumerate(self.fold_models_):
            fold_state, fold_documents = fold_model._state(f"{prefix}fold{k}-")
            folds.append({"metadata": fold_model.metadata_, "model_files": fold_state})
            documents.update(fold_documents)
        state["fold_models"] = folds
        return state, documents

    def save(self, path: str | os.PathLike[str], *, extra: Mapping[str, Any] | None = None) -> Path:
        """Write the model into directory ``path`` (created): data files and ``metadata.json``.

        LightGBM models are written as LightGBM model text, arrays as ``.npz`` without object
        arrays, everything else as JSON in ``metadata.json``, which also records the SHA-256 of
        every file (``files``). Only the uplift forest (``learner="uplift_rf"``), a causalml
        object, is pickled (``uplift_forest.joblib``). All files are written to temporary names
        and renamed into place together, so a reader never sees a half-written model.
        ``extra`` is stored under ``"extra"`` in the metadata (e.g. the training data hash).
        """
        self._check_fitted()
        target = Path(path)
        meta = {**self.metadata_, "format_version": FORMAT_VERSION}
        if extra is not None:
            meta["extra"] = _jsonable(dict(extra))
        state, documents = self._state()
        meta["model_files"] = state
        meta["files"] = {name: hashlib.sha256(data).hexdigest() for name, data in documents.items()}
        atomic_write_files(
            target,
            {**documents, METADATA_FILE: json.dumps(meta, indent=2, sort_keys=True).encode()},
        )
        self.metadata_ = meta
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> UpliftModel:
        """Load a model written by :meth:`save`, without unpickling anything but a forest.

        Every file is checked against the SHA-256 recorded in ``metadata.json`` before it is
        read; the uplift forest's pickle is only unpickled when its hash matches.

        Raises
        ------
        ModelStoreError
            If the directory or one of its files is missing, truncated, modified or malformed
            (the message names the file), or written in another format or format version.
        """
        source = Path(path)
        meta_path = source / METADATA_FILE
        if not meta_path.is_file():
            raise ModelStoreError(
                f"{str(meta_path)!r} not found: {str(source)!r} is not a saved uplift model "
                "directory (save one with UpliftModel.save or `pathlift uplift train "
                "--model-dir`)"
            )
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelStoreError(
                f"{str(meta_path)!r} is not valid JSON ({exc}): the file is truncated or was "
                "edited; save the model again"
            ) from exc
        if not isinstance(meta, dict):
            raise ModelStoreError(
                f"{str(meta_path)!r} does not hold a JSON object: save the model again"
            )
        if meta.get("format") != FORMAT_NAME or meta.get("format_version") != FORMAT_VERSION:
            hint = (
                "; version 1 directories hold a pickle, which pathlift no longer loads because "
                "unpickling can run code: train the model again"
                if meta.get("format") == FORMAT_NAME and meta.get("format_version") == 1
                else ""
            )
            raise ModelStoreError(
                f"{str(meta_path)!r} has format {meta.get('format')!r} version "
                f"{meta.get('format_version')!r}; this pathlift reads {FORMAT_NAME!r} version "
                f"{FORMAT_VERSION}{hint}"
            )
        now = _versions()
        for dist in ("causalml", "lightgbm", "scikit-learn"):
            then = (meta.get("versions") or {}).get(dist)
            if then and then != now.get(dist):
                warnings.warn(
                    f"model in {str(source)!r} was saved with {dist} {then}, loading with "
                    f"{now.get(dist)}; predictions may differ",
                    UpliftWarning,
                    stacklevel=2,
                )
        reader = ModelFiles(source, meta.get("files"), meta_path)
        try:
            return cls._from_state(meta, meta["model_files"], reader)
        except ModelStoreError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise ModelStoreError(
                f"{str(meta_path)!r} is malformed ({type(exc).__name__}: {exc}): the file was "
                "edited or written by another program; save the model again"
            ) from exc

    @classmethod
    def _from_state(
        cls, meta: dict[str, Any], state: dict[str, Any], reader: ModelFiles
    ) -> UpliftModel:
        model = cls(**meta["params"])
        model.arms_ = tuple(str(a) for a in meta["arms"])
        model.control_ = str(meta["control"])
        model.schema_ = FeatureSchema.from_dict(meta["schema"])
        model.outcome_type_ = meta["outcome_type"]
        model.randomized_ = bool(meta["randomized"])
        model.treatment_col_ = meta["treatment_col"]
        model.outcome_col_ = meta["outcome_col"]
        pairwise = meta["propensity"]["pairwise"]
        model.propensity_ = {str(k): float(v) for k, v in pairwise.items()} if pairwise else None
        model.learner_ = load_learner(
            model.learner, model.arms_, model.outcome_type_, state["learner"], reader
        )
        pm_state = state.get("propensity_model")
        if pm_state is None:
            model.propensity_model_ = None
        else:
            pm = PropensityModel(**pm_state["params"])
            files = list(pm_state["models"])
            if len(files) != len(model.arms_):
                raise ModelStoreError(
                    f"{str(reader.meta_path)!r} lists {len(files)} propensity models for "
                    f"{len(model.arms_)} arms: save the model again"
                )
            pm.models_ = {a: reader.booster(f) for a, f in zip(model.arms_, files, strict=True)}
            pm.overlap_ = {str(k): float(v) for k, v in pm_state["overlap"].items()}
            model.propensity_model_ = pm
        oof_file = state.get("out_of_fold")
        model.out_of_fold_ = reader.arrays(oof_file) if oof_file else None
        model.fold_models_ = tuple(
            cls._from_state(fold["metadata"], fold["model_files"], reader)
            for fold in state.get("fold_models", [])
        )
        calibration = meta.get("calibration")
        model.calibration_ = UpliftCalibration.from_dict(calibration) if calibration else None
        model.metadata_ = meta
        return model


def _check_training_data(data: UpliftData) -> None:
    """Refuse an outcome with one value; warn about features with one value.

    A constant outcome leaves nothing to learn: every model would predict zero uplift and the
    evaluation would report zeros as if they were findings.
    """
    outcome = np.asarray(data.outcome, dtype=np.float64)
    if outcome.size and np.all(outcome == outcome[0]):
        raise InvalidUpliftDataError(
            f"outcome column {data.outcome_col!r} has the single value {shown(outcome[0])!r} in "
            f"all {outcome.size} training rows: there is no effect to learn; check "
            "--outcome-col / outcome_col, or the filter that produced the data"
        )
    constant = [
        str(name)
        for name in data.features.columns
        if data.features[name].nunique(dropna=False) <= 1
    ]
    if constant:
        everything = len(constant) == data.features.shape[1]
        warnings.warn(
            f"feature(s) {', '.join(map(repr, constant))} have a single value in the training "
            "rows, so they cannot tell customers apart"
            + (
                ": every customer gets the same predicted uplift (the average effect); add "
                "features that vary"
                if everything
                else "; drop them (--feature-cols / feature_cols)"
            ),
            UpliftWarning,
            stacklevel=3,
        )


def uplift_frame(
    te: np.ndarray, arms: tuple[str, ...], control: str, *, index: pd.Index | None = None
) -> pd.DataFrame:
    """Build the fixed prediction frame from a ``(n, n_arms)`` uplift array."""
    te = np.asarray(te, dtype=np.float64)
    n = te.shape[0]
    out = pd.DataFrame(
        {f"uplift_{a}": te[:, j] for j, a in enumerate(arms)},
        index=index if index is not None else pd.RangeIndex(n),
    )
    if n:
        j = np.argmax(te, axis=1)
        best = te[np.arange(n), j]
        positive = best > 0
        names = np.asarray(arms, dtype=object)[j]
        out["best_arm"] = np.where(positive, names, control).astype(object)
        out["best_uplift"] = np.where(positive, best, 0.0)
    else:
        out["best_arm"] = pd.Series([], dtype=object)
        out["best_uplift"] = pd.Series([], dtype=np.float64)
    return out


def fit_uplift_model(
    data: UpliftData, learner: str = "t", *, progress: ProgressCallback | None = None, **params: Any
) -> UpliftModel:
    """One-shot: ``UpliftModel(learner, **params).fit(data)``."""
    return UpliftModel(learner, **params).fit(data, progress=progress)


@dataclass(frozen=True)
class _CompiledLearner:
    """The compiled LightGBM models a learner's predict uses (see :func:`_compile_learner`)."""

    groups: list[str]
    control: list[CompiledForest]
    treated: list[list[CompiledForest]]


def _compile_learner(name: str, learner: Any) -> _CompiledLearner | None:
    """Compile the LightGBM models a learner's predict uses, or ``None`` if one is unsupported.

    ``groups`` are the arms in causalml's order (``learner.t_groups``). T-learner: ``control`` is
    ``[model_c]``, ``treated[i]`` is ``[models_t[group]]``; X-learner: ``control[i]`` and
    ``treated[i][0]`` are the effect models ``models_tau_c[group]`` and ``models_tau_t[group]``;
    DR-learner: ``treated[i]`` holds the cross-fitted effect models ``models_tau[group]``.
    """
    from uplift._forest import CompiledForest

    def one(model: Any) -> CompiledForest | None:
        if not isinstance(model, lgb.LGBMModel | lgb.Booster):
            return None
        return CompiledForest.from_lgbm(model)

    t_groups = list(learner.t_groups)
    control: list[CompiledForest | None]
    treated: list[list[CompiledForest | None]]
    if name == "t":
        control = [one(learner.model_c)]
        treated = [[one(learner.models_t[g])] for g in t_groups]
    elif name == "x":
        control = [one(learner.models_tau_c[g]) for g in t_groups]
        treated = [[one(learner.models_tau_t[g])] for g in t_groups]
    elif name == "dr":
        control = []
        treated = [[one(m) for m in learner.models_tau[g]] for g in t_groups]
    else:  # pragma: no cover - guarded by the caller
        return None
    control_ok = [f for f in control if f is not None]
    treated_ok = [[f for f in fs if f is not None] for fs in treated]
    if len(control_ok) < len(control) or any(
        len(ok) < len(fs) for ok, fs in zip(treated_ok, treated, strict=True)
    ):
        logger.info("learner %r has a LightGBM model the compiled scorer does not support", name)
        return None
    return _CompiledLearner([str(g) for g in t_groups], control_ok, treated_ok)
