"""From an event log (or journeys) to a :class:`~experiments.reports.model.Report` in one call.

Used by ``pathlift report`` and by the demo; the same steps are available one by one in
:mod:`attribution.costs`, :mod:`attribution.calibration` and :func:`build_report`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from attribution.calibration import LiftTests
from attribution.catalog import DEFAULT_REPORT_MODELS, USER_MODELS, build_models
from attribution.costs import CostTable, InvalidCostsError, period_journeys
from attribution.covariates import UserCovariates
from attribution.errors import InvalidJourneysError
from attribution.journeys import Journeys
from attribution.result import AttributionResult
from attribution.testplan import TestPlan, plan_lift_tests
from experiments.reports.model import Report, ReportError, build_report

__all__ = [
    "DEFAULT_MODELS",
    "fit_models",
    "lift_tests_from_mlflow_run",
    "report_from_events",
    "report_from_journeys",
    "test_plan_from_events",
]

logger = logging.getLogger(__name__)

#: models a report fits by default: the usual heuristics and the Markov removal effect
#: (:data:`attribution.catalog.DEFAULT_REPORT_MODELS`, which the command line lists)
DEFAULT_MODELS: tuple[str, ...] = DEFAULT_REPORT_MODELS


def fit_models(
    journeys: Journeys,
    models: Sequence[str] = DEFAULT_MODELS,
    *,
    n_bootstrap: int = 200,
    seed: int | None = 0,
) -> list[AttributionResult]:
    """Fit each named model (see :data:`attribution.catalog.MODELS`) with bootstrap intervals."""
    built = build_models(models, n_bootstrap=n_bootstrap, seed=seed, has_users=True)
    return [model.fit(journeys).result_ for model in built]


def lift_tests_from_mlflow_run(
    run_id: str,
    channels: Mapping[str, str],
    *,
    population: float | Mapping[str, float],
    tracking_uri: str | None = None,
    metric: str = "ate",
    period_start: Any = None,
    period_end: Any = None,
    population_share: float = 1.0,
) -> LiftTests:
    """Read lift tests from a pathlift uplift run logged in MLflow.

    The uplift run logs, per arm, the held-out average treatment effect ``ate.<arm>`` with its
    bootstrap interval ``ate.<arm>.ci_low`` / ``ate.<arm>.ci_high`` and the interval level as the
    parameter ``eval.ci`` (see :func:`experiments.uplift_runs.evaluation_metrics`). Incremental
    conversions are ``ate * population`` (``population``: customers the increments refer to, one
    number or a mapping by arm), as in :meth:`LiftTests.from_uplift`.

    Parameters
    ----------
    run_id
        The uplift run.
    channels
        Arm name -> channel name.
    tracking_uri
        MLflow tracking URI (default: MLflow's current one).
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from attribution.calibration import InvalidLiftTestError
    from experiments.tracking import metric_key

    client = MlflowClient(tracking_uri)
    try:
        run = client.get_run(run_id)
    except MlflowException as exc:
        raise InvalidLiftTestError(f"cannot read MLflow run {run_id!r}: {exc.message}") from exc
    metrics, params = run.data.metrics, run.data.params
    try:
        level = float(params.get("eval.ci", 0.95))
    except ValueError as exc:
        raise InvalidLiftTestError(f"run {run_id}: parameter eval.ci is not a number") from exc
    effects = {}
    for arm in channels:
        key = metric_key(metric, arm)
        keys = (key, f"{key}.ci_low", f"{key}.ci_high")
        missing = [k for k in keys if k not in metrics]
        if missing:
            raise InvalidLiftTestError(
                f"MLflow run {run_id} has no metric {missing[0]!r} for arm {arm!r}: is it an "
                "uplift run with an evaluation (pathlift uplift)?"
            )
        effects[arm] = (metrics[key], metrics[keys[1]], metrics[keys[2]])
    return LiftTests.from_arm_effects(
        effects,
        channels,
        population=population,
        level=level,
        source=f"mlflow run {run_id}",
        period_start=period_start,
        period_end=period_end,
        population_share=population_share,
    )


def _costs(costs: CostTable | pd.DataFrame | str | os.PathLike[str] | None) -> CostTable | None:
    if costs is None or isinstance(costs, CostTable):
        return costs
    return CostTable.from_frame(costs)


def _lift(tests: LiftTests | pd.DataFrame | str | os.PathLike[str] | None) -> LiftTests | None:
    if tests is None or isinstance(tests, LiftTests):
        return tests
    return LiftTests.from_frame(tests)


def _event_costs(
    events: pd.DataFrame,
    costs: CostTable | pd.DataFrame | str | os.PathLike[str] | None,
    cost_col: str | None,
    *,
    channel_col: str,
    time_col: str,
) -> CostTable | None:
    """Return the cost table given, or one summed from the log's per-touch ``cost_col``."""
    table = _costs(costs)
    if table is None and cost_col is not None:
        table = CostTable.from_events(
            events, channel_col=channel_col, time_col=time_col, cost_col=cost_col
        )
    return table


def report_from_journeys(
    journeys: Journeys,
    *,
    previous_journeys: Journeys | None = None,
    costs: CostTable | pd.DataFrame | str | os.PathLike[str] | None = None,
    costs_previous: CostTable | None = None,
    lift_tests: LiftTests | pd.DataFrame | str | os.PathLike[str] | None = None,
    models: Sequence[str] = DEFAULT_MODELS,
    n_bootstrap: int = 200,
    seed: int | None = 0,
    **report_options: Any,
) -> Report:
    """Fit ``models`` on ``journeys`` (and ``previous_journeys``) and build the report.

    ``report_options`` go to :func:`~experiments.reports.model.build_report` (e.g.
    ``calibrate_model``, ``calibration_options``, ``max_shift``, ``mlflow_run``, ``title``).
    """
    results = fit_models(journeys, models, n_bootstrap=n_bootstrap, seed=seed)
    previous = None
    if previous_journeys is not None:
        previous = fit_models(previous_journeys, models, n_bootstrap=n_bootstrap, seed=seed)
    return build_report(
        results,
        costs=_costs(costs),
        provenance=journeys.provenance,
        previous=previous,
        costs_previous=costs_previous,
        previous_provenance=None if previous_journeys is None else previous_journeys.provenance,
        lift_tests=_lift(lift_tests),
        **report_options,
    )


def report_from_events(
    events: pd.DataFrame | str | os.PathLike[str],
    *,
    costs: CostTable | pd.DataFrame | str | os.PathLike[str] | None = None,
    cost_col: str | None = None,
    lift_tests: LiftTests | pd.DataFrame | str | os.PathLike[str] | None = None,
    split_date: Any = None,
    period_start: Any = None,
    period_end: Any = None,
    models: Sequence[str] = DEFAULT_MODELS,
    n_bootstrap: int = 200,
    seed: int | None = 0,
    user_col: str = "user_id",
    time_col: str = "timestamp",
    channel_col: str = "channel",
    conversion_col: str = "conversion",
    journey_options: Mapping[str, Any] | None = None,
    users: UserCovariates | pd.DataFrame | str | os.PathLike[str] | None = None,
    covariate_cols: Sequence[str] | None = None,
    **report_options: Any,
) -> Report:
    """Build a report from an event log.

    Parameters
    ----------
    events
        The event log (DataFrame or CSV/Parquet path), as for :meth:`Journeys.from_events`.
    costs
        A cost table (``channel, period, cost``); or ``cost_col`` names a per-touch cost column
        of the event log summed into weekly periods (:meth:`CostTable.from_events`).
    lift_tests
        Lift-test results (:class:`LiftTests` or a table/file for :meth:`LiftTests.from_frame`).
    split_date
        Compare two periods: journeys ending in ``[period_start, split_date)`` form the previous
        period and those ending in ``[split_date, period_end)`` the current one (see
        :func:`attribution.costs.split_events`); cost rows go by their period start the same
        way. Without it the whole log is one period.
    journey_options
        Extra options of :meth:`Journeys.from_events` (``value_col``, ``lookback``,
        ``max_touches``).
    users, covariate_cols
        A user table of pre-exposure covariates keyed by ``user_col`` (a
        :class:`~attribution.covariates.UserCovariates`, a DataFrame or a file) and its
        covariate columns (default all but the key): needed by the ``causal`` model and attached
        to the journeys of every period.
    report_options
        Options of :func:`~experiments.reports.model.build_report`.
    """
    if isinstance(events, str | os.PathLike):
        from attribution._io import read_frame

        events = read_frame(events, what="event log", error=InvalidJourneysError)
    options = dict(journey_options or {})
    if users is not None and not isinstance(users, UserCovariates):
        users = UserCovariates.from_frame(users, user_col=user_col, covariate_cols=covariate_cols)
    needs_users = USER_MODELS & set(models)
    if needs_users and users is None:
        raise ReportError(
            f"model(s) {', '.join(sorted(needs_users))} need a user table of pre-exposure "
            "covariates: pass users= (CLI: --users USERS.csv)"
        )

    def attach(journeys: Journeys) -> Journeys:
        return journeys if users is None else journeys.with_users(users)

    table = _event_costs(events, costs, cost_col, channel_col=channel_col, time_col=time_col)
    if split_date is None:
        if period_start is not None or period_end is not None:
            raise InvalidCostsError(
                "period_start/period_end need split_date (the start of the current period)"
            )
        journeys = Journeys.from_events(
            events,
            user_col=user_col,
            time_col=time_col,
            channel_col=channel_col,
            conversion_col=conversion_col,
            **options,
        )
        return report_from_journeys(
            attach(journeys),
            costs=table,
            lift_tests=lift_tests,
            models=models,
            n_bootstrap=n_bootstrap,
            seed=seed,
            **report_options,
        )
    previous, current = period_journeys(
        events,
        split_date,
        start=period_start,
        end=period_end,
        user_col=user_col,
        time_col=time_col,
        channel_col=channel_col,
        conversion_col=conversion_col,
        **options,
    )
    options_cal = dict(report_options.pop("calibration_options", None) or {})
    if "attribution_period" not in options_cal:
        # the current period is defined by journey end times in [split_date, end)
        end = period_end if period_end is not None else current.provenance.end
        options_cal["attribution_period"] = (split_date, end)
    report_options["calibration_options"] = options_cal
    cost_now = cost_before = None
    if table is not None:
        cost_now = table.between(split_date, period_end)
        cost_before = table.between(period_start, split_date)
    return report_from_journeys(
        attach(current),
        previous_journeys=attach(previous),
        costs=cost_now,
        costs_previous=cost_before,
        lift_tests=lift_tests,
        models=models,
        n_bootstrap=n_bootstrap,
        seed=seed,
        **report_options,
    )


def test_plan_from_events(
    events: pd.DataFrame | str | os.PathLike[str],
    users: UserCovariates | pd.DataFrame | str | os.PathLike[str],
    *,
    covariate_cols: Sequence[str] | None = None,
    lift_tests: LiftTests | pd.DataFrame | str | os.PathLike[str] | None = None,
    negative_controls: Sequence[str] = (),
    costs: CostTable | pd.DataFrame | str | os.PathLike[str] | None = None,
    cost_col: str | None = None,
    holdout_fraction: float = 0.1,
    target_precision: float = 0.25,
    n_bootstrap: int = 100,
    seed: int | None = 0,
    user_col: str = "user_id",
    time_col: str = "timestamp",
    channel_col: str = "channel",
    conversion_col: str = "conversion",
    lookback: str | None = None,
) -> TestPlan:
    """Which channel's lift test would teach the most: the plan behind ``pathlift plan-tests``.

    Fits the ``causal`` model on the event log with the user table of pre-exposure covariates,
    then ranks the untested channels with :func:`attribution.testplan.plan_lift_tests` (lift
    tests already run, negative controls, spend from ``costs`` or the per-touch ``cost_col``;
    see ``docs/causal.md``).
    """
    if isinstance(events, str | os.PathLike):
        from attribution._io import read_frame

        events = read_frame(events, what="event log", error=InvalidJourneysError)
    if not isinstance(users, UserCovariates):
        users = UserCovariates.from_frame(users, user_col=user_col, covariate_cols=covariate_cols)
    table = _event_costs(events, costs, cost_col, channel_col=channel_col, time_col=time_col)
    journeys = Journeys.from_events(
        events,
        user_col=user_col,
        time_col=time_col,
        channel_col=channel_col,
        conversion_col=conversion_col,
        lookback=lookback,
    ).with_users(users)
    model = build_models(["causal"], n_bootstrap=n_bootstrap, seed=seed)[0]
    return plan_lift_tests(
        model.fit(journeys).result_,
        lift_tests=_lift(lift_tests),
        negative_controls=negative_controls,
        costs=table,
        holdout_fraction=holdout_fraction,
        target_precision=target_precision,
        seed=seed,
    )
