r"""Causal attribution: covariate-adjusted incremental conversions of each channel.

Credit is not cause. Path models share the conversions of the journeys a channel touched; a
channel that reaches people who would have converted anyway (paid search, direct, affiliates)
gets their conversions too. The ``causal`` model estimates, for each channel, the conversions it
*caused* among the journeys it touched, adjusting for what is known about the users before any
exposure (a user table of covariates) and for the other channels of the journey.

Definitions
-----------
The **population** is one unit per journey: the journeys of the event log (every user's touched
journeys), the converting journeys left without a touch, and one non-converting journey for each
user of the user table without any event (a user no channel reached). ``Y`` is conversion (or
value), ``T_c`` whether the journey touched channel ``c``, ``X`` the user's covariates.

**Credit** of channel ``c`` (its incremental conversions):

.. math::  \theta_c = \sum_{i: T_{ic} = 1} \big(Y_i - Y_i(\text{journey } i \text{ without } c)\big)

-- the conversions among the journeys ``c`` touched minus the conversions those journeys would
have had with ``c`` removed and everything else the same. It is the simulator's
``incremental_conversions`` (removal effect) restricted to touched journeys, which is all of it.
In value the same with ``Y`` the conversion value.

**Estimate.** The doubly robust (AIPW) estimator of a total effect on the treated
(:mod:`uplift.effects`) with, for channel ``c``,

* ``W_c`` = the covariates, the presence of every *other* channel, and the journey's number of
  touches of other channels (its length without ``c``);
* the untreated outcome ``m0_c(W_c)``: one LightGBM model of ``Y`` on (covariates, presence of
  every channel, length) fitted to all journeys, evaluated with ``c`` removed (its presence set
  to 0 and its touches taken off the length);
* the propensity ``e_c(W_c) = P(T_c = 1 | W_c)``: a LightGBM classifier per channel.

Every model is cross-fitted: users are split into ``n_folds`` folds and each journey gets
predictions from models fitted on the other folds (a user's journeys stay in one fold).
Propensities are clipped to ``[clip, 1 - clip]``.

**Baseline**: conversions that no channel explains, ``B = Y_total - Delta`` with ``Delta`` the
AIPW estimate of the effect of *all* marketing on the touched journeys
(``sum_{touched} (Y_i - Y_i(no touch))``): treatment "touched at all", untreated outcome the
outcome model with every channel removed, propensity a classifier of "touched" on the covariates.
``Y_total`` counts every conversion of the population, untouched ones included; ``Delta`` is the
**incremental total** (conversions caused by marketing as a whole), reported beside the
**attributed total** (conversions of touched journeys, what path models share out) and the sum of
the channels' credits (which differs from ``Delta`` when channels interact).

**Bounds.** A channel's credit lies in ``[0, S_c]``, ``S_c`` being the conversions (value) of the
journeys it touched. An estimate outside is set to the nearest bound, with a warning that names
the channel and the unbounded estimate (reported in the ``incremental_unbounded`` extra).

**Intervals** (``n_bootstrap > 0``): a multiplier bootstrap of the AIPW terms with Poisson(1)
(or multinomial) weights per *user* (:func:`uplift.effects.multiplier_bootstrap`); nuisance
models are not refitted (valid for cross-fitted AIPW to first order). Each replicate is bounded
by its own support, and the percentile interval is then clamped to ``[0, S_c]``. The baseline
and the incremental total get intervals the same way.

**Overlap.** A touched journey whose propensity exceeds ``overlap_limit`` has almost no untouched
look-alike; its counterfactual rests on the outcome model's extrapolation. The share of such
journeys is the ``overlap_outside`` extra; a channel with more than 5% gets a warning.

**Unmeasured confounding.** The model assumes the covariates capture every common cause of
exposure and conversion. :mod:`attribution.sensitivity` quantifies the bias when they do not
(``result.sensitivity``), and :mod:`attribution.calibration` uses lift tests to remove it from
the untested channels.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Self

import numpy as np

from attribution._io import to_jsonable
from attribution._progress import ProgressCallback, counter
from attribution.base import AttributionModel
from attribution.errors import AttributionWarning, InvalidModelOptionError, LowSupportWarning
from attribution.journeys import Journeys
from attribution.result import AttributionResult, ConfidenceIntervals, Credit
from attribution.sensitivity import (
    LAMBDA_GRID,
    SensitivityCurve,
    confounding_bias,
    selection_slope,
)
from attribution.support import (
    ChannelSupport,
    bound_interval,
    channel_support,
    check_within_support,
    low_support_message,
)

__all__ = ["CausalAttribution", "causal_attribution"]

logger = logging.getLogger(__name__)

#: share of a channel's touched journeys beyond ``overlap_limit`` that triggers a warning
OVERLAP_WARN_SHARE = 0.05


@dataclass(frozen=True, eq=False)
class _Units:
    """One row per journey of the population (module docstring)."""

    user_row: np.ndarray  # (n,) row of the user in journeys.users.frame
    counts: np.ndarray  # (n, C) int32 touches per channel
    converted: np.ndarray  # (n,) float64 0/1
    value: np.ndarray  # (n,) float64
    n_touched: int  # rows [0, n_touched) are touched journeys
    n_untouched_conversions: int
    n_users_without_events: int

    @property
    def presence(self) -> np.ndarray:
        return self.counts > 0

    @property
    def touched(self) -> np.ndarray:
        out = np.zeros(self.converted.shape[0], dtype=bool)
        out[: self.n_touched] = True
        return out


def _units(journeys: Journeys) -> _Units:
    """Assemble the population from the journeys' timing records and the user table."""
    timing, users = journeys.timing, journeys.users
    if timing is None or timing.user is None or users is None:
        raise InvalidModelOptionError(
            "the causal model needs user covariates: cut the journeys from an event log and "
            "attach a user table (Journeys.with_users, CLI: --users USERS.csv); a path table "
            "has no users"
        )
    n_ch = journeys.n_channels
    path_counts = np.zeros((journeys.n_paths, n_ch), dtype=np.int32)
    np.add.at(path_counts, (journeys.path_of_touch(), journeys.touches), 1)
    touched_rows = users.positions(timing.user)
    untouched_users = (
        timing.untouched_user if timing.untouched_user is not None else np.empty(0, dtype=object)
    )
    untouched_rows = users.positions(untouched_users) if untouched_users.size else np.empty(0, int)
    if (touched_rows < 0).any() or (untouched_rows < 0).any():  # with_users checked this
        raise InvalidModelOptionError("users of the journeys are missing from the user table")
    seen = np.zeros(users.n_users, dtype=bool)
    seen[touched_rows] = True
    seen[untouched_rows] = True
    silent_rows = np.flatnonzero(~seen)
    n_t, n_u, n_s = touched_rows.shape[0], untouched_rows.shape[0], silent_rows.shape[0]
    counts = np.zeros((n_t + n_u + n_s, n_ch), dtype=np.int32)
    counts[:n_t] = path_counts[timing.path_index]
    untouched_value = (
        timing.untouched_value if timing.untouched_value is not None else np.zeros(n_u)
    )
    return _Units(
        user_row=np.concatenate([touched_rows, untouched_rows, silent_rows]).astype(np.int64),
        counts=counts,
        converted=np.concatenate(
            [timing.converted.astype(np.float64), np.ones(n_u), np.zeros(n_s)]
        ),
        value=np.concatenate([timing.value, untouched_value, np.zeros(n_s)]),
        n_touched=n_t,
        n_untouched_conversions=n_u,
        n_users_without_events=n_s,
    )


class _Scorer:
    """Predictions of a fitted LightGBM model, compiled when the model allows it."""

    def __init__(self, model: Any, *, proba: bool) -> None:
        from uplift._forest import CompiledForest

        self.model = model
        self.proba = proba
        self.compiled = CompiledForest.from_lgbm(model)

    def __call__(self, X: np.ndarray, n_threads: int) -> np.ndarray:
        if self.compiled is not None:
            return self.compiled.predict(np.ascontiguousarray(X), n_threads=n_threads)
        if self.proba:
            return np.asarray(self.model.predict_proba(X))[:, 1]
        return np.asarray(self.model.predict(X))


@dataclass
class _Nuisance:
    """Cross-fitted predictions for every unit (``(n,)`` or ``(n, C)``)."""

    fitted: np.ndarray  # m(X, observed journey), conversions
    fitted_value: np.ndarray
    removed: np.ndarray  # (n, C) m with channel c removed (meaningful where present)
    removed_value: np.ndarray
    none: np.ndarray  # m with every channel removed
    none_value: np.ndarray


class CausalAttribution(AttributionModel):
    """Covariate-adjusted incremental conversions of each channel (see the module docstring).

    Parameters
    ----------
    n_folds
        Cross-fitting folds (users are split, at least 2).
    n_estimators, learning_rate, num_leaves, min_child_samples
        LightGBM settings of every outcome and propensity model.
    lgbm_params
        Further :class:`lightgbm.LGBMModel` arguments (override the ones above).
    clip
        Propensities are clipped to ``[clip, 1 - clip]``.
    overlap_limit
        A touched journey with propensity above this has no untouched look-alike (overlap).
    n_jobs
        LightGBM and scoring threads.
    n_bootstrap, ci, bootstrap_method, seed
        Multiplier-bootstrap intervals (see :class:`attribution.base.AttributionModel`);
        ``seed`` also seeds the folds and LightGBM.

    Attributes
    ----------
    result_ : AttributionResult
        Credit (incremental conversions and value) per channel with extras
        ``incremental_unbounded``, ``exposed_journeys``, ``overlap_outside`` and
        ``selection_slope``; diagnostics ``population_conversions``, ``attributed_conversions``,
        ``incremental_total`` (with ``_ci_low``/``_ci_high``), ``baseline`` (with intervals),
        ``credit_total``, ``outcome_auc`` (cross-fitted), ``n_units``, ``n_users``,
        ``n_users_without_events``, ``n_untouched_conversions``; and ``sensitivity``.
    timings_ : dict
        Seconds spent in each stage.
    """

    name = "causal"

    def __init__(
        self,
        *,
        n_folds: int = 3,
        n_estimators: int = 150,
        learning_rate: float = 0.08,
        num_leaves: int = 31,
        min_child_samples: int = 50,
        lgbm_params: Mapping[str, Any] | None = None,
        clip: float = 0.01,
        overlap_limit: float = 0.98,
        n_jobs: int = 1,
        **bootstrap: Any,
    ) -> None:
        super().__init__(**bootstrap)
        self.n_folds = n_folds
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.lgbm_params = lgbm_params
        self.clip = clip
        self.overlap_limit = overlap_limit
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------------------ checks

    def _validate_params(self, journeys: Journeys) -> None:
        for name in ("n_folds", "n_estimators", "num_leaves", "min_child_samples", "n_jobs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise InvalidModelOptionError(f"{name} must be a positive integer, got {value!r}")
        if self.n_folds < 2:
            raise InvalidModelOptionError(f"n_folds must be at least 2, got {self.n_folds}")
        if not (isinstance(self.learning_rate, int | float) and self.learning_rate > 0):
            raise InvalidModelOptionError(
                f"learning_rate must be a positive number, got {self.learning_rate!r}"
            )
        if not (isinstance(self.clip, int | float) and 0 < self.clip < 0.5):
            raise InvalidModelOptionError(f"clip must be in (0, 0.5), got {self.clip!r}")
        if not (isinstance(self.overlap_limit, int | float) and 0.5 < self.overlap_limit < 1):
            raise InvalidModelOptionError(
                f"overlap_limit must be in (0.5, 1), got {self.overlap_limit!r}"
            )

    def _lgbm(self, seed: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "n_estimators": int(self.n_estimators),
            "learning_rate": float(self.learning_rate),
            "num_leaves": int(self.num_leaves),
            "min_child_samples": int(self.min_child_samples),
            "n_jobs": int(self.n_jobs),
            "random_state": seed,
            "deterministic": True,
            "verbose": -1,
        }
        params.update(dict(self.lgbm_params or {}))
        return params

    # ------------------------------------------------------------------------------ base class

    def _prepare(self, journeys: Journeys) -> Any:  # pragma: no cover - fit is overridden
        raise NotImplementedError

    def _credit(
        self, prepared: Any, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> Credit:  # pragma: no cover - fit is overridden
        raise NotImplementedError

    # ------------------------------------------------------------------------------ fit

    def fit(self, journeys: Journeys, *, progress: ProgressCallback | None = None) -> Self:
        """Fit on journeys with users attached (:meth:`Journeys.with_users`); set ``result_``.

        Parameters
        ----------
        journeys
            Journeys cut from an event log, with a user table attached.
        progress
            Optional callback ``progress(message)``, called with ``"stages <done>/<total>"`` as
            the stages (outcome models, one propensity model per channel, bootstrap) complete.

        Raises
        ------
        InvalidModelOptionError
            Bad options, journeys without users (a path table), or a channel that touches every
            journey of the population (no journey without it to compare with).
        """
        self._check_input(journeys, builders="from_events")
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        units = _units(journeys)
        users = journeys.users
        assert users is not None  # checked by _units
        channels = journeys.channels
        n_ch = len(channels)
        presence = units.presence
        everywhere = [channels[c] for c in range(n_ch) if presence[:, c].all()]
        if everywhere:
            raise InvalidModelOptionError(
                f"channel(s) {', '.join(everywhere)} touch every journey of the population: "
                "there is no journey without them to compare with"
            )
        seed = 0 if self.seed is None else int(self.seed)
        from uplift.effects import group_folds

        folds = group_folds(units.user_row, int(self.n_folds), seed)
        covariates = users.matrix()[units.user_row]
        categorical = users.schema.categorical_indices
        timings["assemble"] = time.perf_counter() - clock
        steps = n_ch + 3
        done = 0
        count = counter(progress, "stages")

        def tick(stage: str, started: float) -> None:
            nonlocal done
            timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - started
            done += 1
            if count is not None:
                count(done, steps)

        clock = time.perf_counter()
        nuisance = self._outcomes(units, covariates, categorical, folds, seed)
        tick("outcome models", clock)

        from uplift.effects import att_dr_terms, cross_fit_propensity

        lgbm = self._lgbm(seed)
        length = units.counts.sum(axis=1).astype(np.float64)
        conv_terms = np.empty((units.converted.shape[0], n_ch))
        value_terms = np.empty_like(conv_terms)
        propensity = np.empty_like(conv_terms)
        for c in range(n_ch):
            clock = time.perf_counter()
            others = np.delete(presence, c, axis=1).astype(np.float64)
            features = np.column_stack([covariates, others, length - units.counts[:, c]])
            e = cross_fit_propensity(
                features,
                presence[:, c],
                folds,
                lgbm_params=lgbm,
                categorical=categorical,
                clip=float(self.clip),
            )
            propensity[:, c] = e
            treated = presence[:, c]
            m0 = np.where(treated, nuisance.removed[:, c], nuisance.fitted)
            m0_value = np.where(treated, nuisance.removed_value[:, c], nuisance.fitted_value)
            conv_terms[:, c] = att_dr_terms(units.converted, treated, m0, e)
            value_terms[:, c] = att_dr_terms(units.value, treated, m0_value, e)
            tick("propensity models", clock)

        clock = time.perf_counter()
        touched = units.touched
        has_untouched = not touched.all()
        if has_untouched:
            p_touched = cross_fit_propensity(
                covariates,
                touched,
                folds,
                lgbm_params=lgbm,
                categorical=categorical,
                clip=float(self.clip),
            )
        else:
            p_touched = np.full(touched.shape[0], 1.0 - float(self.clip))
        m_none = np.where(touched, nuisance.none, nuisance.fitted)
        m_none_value = np.where(touched, nuisance.none_value, nuisance.fitted_value)
        if has_untouched:
            all_terms = att_dr_terms(units.converted, touched, m_none, p_touched)
            all_value_terms = att_dr_terms(units.value, touched, m_none_value, p_touched)
        else:
            all_terms = np.where(touched, units.converted - m_none, 0.0)
            all_value_terms = np.where(touched, units.value - m_none_value, 0.0)
        tick("baseline", clock)

        clock = time.perf_counter()
        bounds = channel_support(journeys)
        support, support_value = bounds.conversions, bounds.value
        raw = conv_terms.sum(axis=0)
        raw_value = value_terms.sum(axis=0)
        credit, credit_value = check_within_support(
            np.clip(raw, 0.0, support),
            np.clip(raw_value, 0.0, support_value),
            bounds,
            model=self.name,
            context="point estimate",
        )
        population = float(units.converted.sum())
        population_value = float(units.value.sum())
        incremental_total = float(all_terms.sum())
        ci: ConfidenceIntervals | None = None
        extra_ci: dict[str, float] = {}
        if self.n_bootstrap:
            ci, extra_ci = self._bootstrap(
                units, presence, conv_terms, value_terms, all_terms, bounds, credit, credit_value
            )
        tick("bootstrap", clock)

        # overlap and selection diagnostics, the sensitivity curves
        clock = time.perf_counter()
        overlap = np.array(
            [
                float(np.mean(propensity[presence[:, c], c] > float(self.overlap_limit)))
                for c in range(n_ch)
            ]
        )
        index = _logit(m_none)
        outcome_slope = float(index.std())
        standardised = (index - index.mean()) / (outcome_slope if outcome_slope > 0 else 1.0)
        slopes = np.array([selection_slope(standardised, presence[:, c]) for c in range(n_ch)])
        bias = np.zeros((n_ch, LAMBDA_GRID.shape[0]))
        for c in range(n_ch):
            treated = presence[:, c]
            bias[c] = confounding_bias(
                nuisance.removed[treated, c],
                propensity[treated, c],
                exposure_slope=float(slopes[c]),
                outcome_slope=outcome_slope,
            )
        per_conversion = np.divide(support_value, support, out=np.zeros(n_ch), where=support > 0)
        sensitivity = SensitivityCurve(
            channels=channels,
            lambdas=LAMBDA_GRID.copy(),
            conversions=bias,
            value=bias * per_conversion[:, None],
            selection_slope=slopes,
            outcome_slope=outcome_slope,
        )
        tick("sensitivity", clock)

        notes = self._warnings(channels, raw, bounds, overlap, units)
        diagnostics = {
            "population_conversions": population,
            "population_value": population_value,
            "attributed_conversions": float(units.converted[touched].sum()),
            "incremental_total": incremental_total,
            "incremental_total_value": float(all_value_terms.sum()),
            "baseline": population - incremental_total,
            "credit_total": float(credit.sum()),
            "outcome_auc": _auc(nuisance.fitted, units.converted),
            "n_units": float(units.converted.shape[0]),
            "n_users": float(users.n_users),
            "n_users_without_events": float(units.n_users_without_events),
            "n_untouched_conversions": float(units.n_untouched_conversions),
            **extra_ci,
        }
        self.timings_ = timings
        self.journeys_ = journeys
        self.fitted_objects_: dict[str, Any] = {}
        self.propensity_ = propensity
        self.result_ = AttributionResult(
            model=self.name,
            params=to_jsonable(
                {k: v for k, v in self.model_params().items() if k != "lgbm_params"}
            ),
            channels=channels,
            conversions=credit,
            value=credit_value,
            total_conversions=float(journeys.total_conversions),
            total_value=journeys.total_value,
            extras={
                "incremental_unbounded": raw,
                "exposed_journeys": presence.sum(axis=0).astype(np.float64),
                "overlap_outside": overlap,
                "selection_slope": slopes,
            },
            ci=ci,
            notes=notes,
            diagnostics=diagnostics,
            sensitivity=sensitivity,
            support=bounds,
        )
        return self

    # ------------------------------------------------------------------------------ stages

    def _outcomes(
        self,
        units: _Units,
        covariates: np.ndarray,
        categorical: list[int],
        folds: np.ndarray,
        seed: int,
    ) -> _Nuisance:
        """Cross-fitted outcome models (conversion and value) and their counterfactuals."""
        import lightgbm as lgb

        n, n_ch = units.counts.shape
        n_cov = covariates.shape[1]
        presence = units.presence
        length = units.counts.sum(axis=1).astype(np.float64)
        features = np.column_stack([covariates, presence.astype(np.float64), length])
        out = _Nuisance(
            fitted=np.empty(n),
            fitted_value=np.empty(n),
            removed=np.zeros((n, n_ch)),
            removed_value=np.zeros((n, n_ch)),
            none=np.empty(n),
            none_value=np.empty(n),
        )
        params = self._lgbm(seed)
        threads = int(self.n_jobs)
        cat: list[int] | Literal["auto"] = categorical or "auto"
        for k in np.unique(folds):
            test = np.flatnonzero(folds == k)
            train = folds != k
            conv_model = lgb.LGBMClassifier(**params)
            conv_model.fit(
                features[train], units.converted[train].astype(np.int64), categorical_feature=cat
            )
            value_model = lgb.LGBMRegressor(**params)
            value_model.fit(features[train], units.value[train], categorical_feature=cat)
            scorers = (
                _Scorer(conv_model, proba=True),
                _Scorer(value_model, proba=False),
            )
            rows = features[test]
            out.fitted[test] = scorers[0](rows, threads)
            out.fitted_value[test] = scorers[1](rows, threads)
            for c in range(n_ch):
                sel = test[presence[test, c]]
                if sel.size == 0:
                    continue
                edited = features[sel].copy()
                edited[:, n_cov + c] = 0.0
                edited[:, -1] -= units.counts[sel, c]
                out.removed[sel, c] = scorers[0](edited, threads)
                out.removed_value[sel, c] = scorers[1](edited, threads)
            edited = rows.copy()
            edited[:, n_cov:] = 0.0
            out.none[test] = scorers[0](edited, threads)
            out.none_value[test] = scorers[1](edited, threads)
        return out

    def _bootstrap(
        self,
        units: _Units,
        presence: np.ndarray,
        conv_terms: np.ndarray,
        value_terms: np.ndarray,
        all_terms: np.ndarray,
        bounds: ChannelSupport,
        credit: np.ndarray,
        credit_value: np.ndarray,
    ) -> tuple[ConfidenceIntervals, dict[str, float]]:
        """Multiplier-bootstrap intervals of the credits, the incremental total and baseline."""
        from uplift.effects import multiplier_bootstrap

        n_ch = presence.shape[1]
        conv_support_terms = presence * units.converted[:, None]
        value_support_terms = presence * units.value[:, None]
        terms = np.column_stack(
            [
                conv_terms,
                value_terms,
                conv_support_terms,
                value_support_terms,
                all_terms,
                units.converted,
            ]
        )
        n_users = int(units.user_row.max()) + 1
        draws = multiplier_bootstrap(
            terms,
            units.user_row,
            n_users,
            n_replicates=int(self.n_bootstrap),
            seed=self.seed,
            method=self.bootstrap_method,
        )
        conv = draws[:, :n_ch]
        value = draws[:, n_ch : 2 * n_ch]
        conv = np.clip(conv, 0.0, draws[:, 2 * n_ch : 3 * n_ch])
        value = np.clip(value, 0.0, draws[:, 3 * n_ch : 4 * n_ch])
        incremental = draws[:, 4 * n_ch]
        baseline = draws[:, 4 * n_ch + 1] - incremental
        level = float(self.ci)
        lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
        conv_lo, conv_hi, widened = bound_interval(
            np.percentile(conv, lo, axis=0),
            np.percentile(conv, hi, axis=0),
            point=credit,
            caps=bounds.conversions,
        )
        value_lo, value_hi, widened_value = bound_interval(
            np.percentile(value, lo, axis=0),
            np.percentile(value, hi, axis=0),
            point=credit_value,
            caps=bounds.value,
        )
        ci = ConfidenceIntervals(
            conversions_low=conv_lo,
            conversions_high=conv_hi,
            value_low=value_lo,
            value_high=value_hi,
            level=level,
            n_replicates=int(self.n_bootstrap),
            method=self.bootstrap_method,
            seed=self.seed,
            widened=widened | widened_value,
        )
        extra = {
            "incremental_total_ci_low": float(np.percentile(incremental, lo)),
            "incremental_total_ci_high": float(np.percentile(incremental, hi)),
            "baseline_ci_low": float(np.percentile(baseline, lo)),
            "baseline_ci_high": float(np.percentile(baseline, hi)),
        }
        return ci, extra

    def _warnings(
        self,
        channels: tuple[str, ...],
        raw: np.ndarray,
        bounds: ChannelSupport,
        overlap: np.ndarray,
        units: _Units,
    ) -> tuple[str, ...]:
        support = bounds.conversions
        notes: list[str] = []
        for c, name in enumerate(channels):
            if raw[c] < 0:
                notes.append(
                    f"{name}: the estimate is negative ({raw[c]:,.1f} conversions): its journeys "
                    "converted less than comparable journeys without it; credit is set to 0"
                )
            elif raw[c] > support[c]:
                notes.append(
                    f"{name}: the estimate ({raw[c]:,.1f}) exceeds the {support[c]:,.0f} "
                    "conversions of the journeys it touched; credit is set to that bound"
                )
            if overlap[c] > OVERLAP_WARN_SHARE:
                notes.append(
                    f"{name}: {overlap[c]:.0%} of the journeys it touched have an exposure "
                    f"propensity above {self.overlap_limit:g} (poor overlap): their "
                    "counterfactual rests on extrapolation; its interval understates that"
                )
        if units.n_users_without_events == 0:
            notes.append(
                "the user table has no user without events, so the untouched users who did not "
                "convert are missing: the baseline (and any channel whose comparison rests on "
                "untouched journeys) is biased or extrapolated; include every user of the "
                "population in the user table"
            )
        for note in notes:
            logger.warning("causal attribution: %s", note)
            warnings.warn(note, AttributionWarning, stacklevel=3)
        low = low_support_message(bounds)
        if low is not None:
            notes.append(low)
            warnings.warn(low, LowSupportWarning, stacklevel=3)
        return tuple(notes)


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    out: np.ndarray = np.log(q) - np.log1p(-q)
    return out


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half); ``nan`` for one class."""
    positive = label > 0.5
    n_pos = int(positive.sum())
    n_neg = label.shape[0] - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def causal_attribution(journeys: Journeys, **params: Any) -> AttributionResult:
    """Fit :class:`CausalAttribution` on ``journeys`` (with users attached); return its result."""
    return CausalAttribution(**params).fit(journeys).result_
