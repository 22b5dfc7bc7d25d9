"""The report data model: built once from attribution results, rendered in several formats.

:func:`build_report` gathers everything a budget planner reads into one :class:`Report`:
headline numbers, credit per channel per model with intervals, spend/CPA/ROAS, a reallocation
suggestion, the period comparison, calibration with lift tests, data coverage and the MLflow run
the numbers came from. The renderers (:meth:`Report.to_html`, :meth:`Report.to_markdown`,
:meth:`Report.to_json`, :meth:`Report.to_csv`) read only this object, so every format carries
the same numbers.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from attribution._io import json_records, json_value
from attribution.calibration import CalibratedAttribution, LiftTests, calibrate
from attribution.costs import (
    CostTable,
    PeriodComparison,
    Reallocation,
    channel_economics,
    compare_periods,
    suggest_reallocation,
)
from attribution.errors import AttributionError
from attribution.journeys import Provenance
from attribution.result import AttributionResult
from attribution.testplan import TestPlan, plan_lift_tests
from experiments.reports import render

__all__ = ["Report", "ReportError", "build_report"]

logger = logging.getLogger(__name__)


class ReportError(AttributionError):
    """The inputs of a report are inconsistent (e.g. no results, unknown model names)."""


@dataclass(frozen=True, eq=False)
class Report:
    """Everything a report shows, independent of the output format.

    Attributes
    ----------
    title
        Report title.
    created
        Creation time (ISO 8601, UTC).
    channels
        The channel x model table (:func:`attribution.costs.channel_economics` columns), including
        the calibrated model (``"<model>+calibrated"``) when there is one.
    decision
        The report's first sentence: the period covered and the most trustworthy answer in the
        report, naming where it comes from (see :func:`decision_sentence`).
    headline
        Ordered headline numbers: ``{label: (value, kind)}`` with a kind of
        :func:`experiments.reports.render.fmt` (``count``, ``int``, ``money``, ``ratio``,
        ``share`` or ``text``).
    level
        Interval coverage of the attribution results (``None`` without intervals).
    reallocation, comparison, calibration
        Optional sections.
    incrementality
        With the ``causal`` model: conversions of the population, of touched journeys
        (attributed), caused by marketing (incremental total) and the baseline, with intervals.
    test_plan
        With the ``causal`` model: untested channels ranked by the value of a lift test
        (:class:`attribution.testplan.TestPlan`).
    coverage
        Data coverage (:class:`attribution.journeys.Provenance` fields plus period labels).
    previous_coverage
        Coverage of the previous period, when compared.
    mlflow
        The MLflow run the report came from (``run_id``, optional ``experiment_id``, ``url``...).
    notes
        Caveats collected from the models and the analyses.
    """

    title: str
    created: str
    channels: pd.DataFrame = field(repr=False)
    headline: dict[str, tuple[Any, str]] = field(repr=False)
    decision: str = ""
    level: float | None = None
    reallocation: Reallocation | None = None
    comparison: PeriodComparison | None = None
    calibration: CalibratedAttribution | None = None
    incrementality: dict[str, float] | None = None
    test_plan: TestPlan | None = None
    coverage: dict[str, Any] = field(default_factory=dict)
    previous_coverage: dict[str, Any] | None = None
    mlflow: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()

    @property
    def has_costs(self) -> bool:
        """Whether any channel has spend (else the cost columns are left out of the tables)."""
        return "spend" in self.channels and bool(self.channels["spend"].notna().any())

    @property
    def models(self) -> tuple[str, ...]:
        """Model names in table order."""
        return tuple(dict.fromkeys(self.channels["model"]))

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Channel names, sorted."""
        return tuple(sorted(self.channels["channel"].unique()))

    def share_table(self) -> pd.DataFrame:
        """Share of credit: channels as rows, models as columns, plus ``spread``.

        ``spread`` is max - min share across the uncalibrated models: where models disagree.
        """
        pivot = self.channels.pivot(index="channel", columns="model", values="share")
        pivot = pivot.reindex(columns=list(self.models))
        observational = [m for m in self.models if not m.endswith("+calibrated")]
        pivot["spread"] = pivot[observational].max(axis=1) - pivot[observational].min(axis=1)
        pivot.columns.name = None
        return pivot.reset_index()

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-friendly data (NaN and infinite numbers are ``null``)."""
        return {
            "title": self.title,
            "created": self.created,
            "decision": self.decision,
            "headline": {k: json_value(v) for k, (v, _kind) in self.headline.items()},
            "level": self.level,
            "models": list(self.models),
            "channels": json_records(self.channels),
            "shares": json_records(self.share_table()),
            "reallocation": None if self.reallocation is None else self.reallocation.to_dict(),
            "comparison": None if self.comparison is None else self.comparison.to_dict(),
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
            "incrementality": None
            if self.incrementality is None
            else {k: json_value(v) for k, v in self.incrementality.items()},
            "test_plan": None if self.test_plan is None else self.test_plan.to_dict(),
            "coverage": {k: json_value(v) for k, v in self.coverage.items()},
            "previous_coverage": None
            if self.previous_coverage is None
            else {k: json_value(v) for k, v in self.previous_coverage.items()},
            "mlflow": None
            if self.mlflow is None
            else {k: json_value(v) for k, v in self.mlflow.items()},
            "notes": list(self.notes),
        }

    def to_json(self) -> str:
        """Render the JSON document (strict JSON: no NaN or Infinity)."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False, ensure_ascii=False) + "\n"

    def csv_tables(self) -> dict[str, str]:
        """Render the CSV documents by name.

        ``channels`` always; ``comparison``, ``calibration``, ``reallocation`` and ``test_plan``
        when present.
        Numbers at full precision; NaN is empty, infinity ``inf``.
        """
        return render.csv_tables(self)

    def to_csv(self) -> str:
        """Render the channel x model table as CSV (see :meth:`csv_tables` for the others)."""
        return self.csv_tables()["channels"]

    def to_markdown(self) -> str:
        """Render the report as Markdown (GitHub tables)."""
        return render.render_markdown(self)

    def to_html(self) -> str:
        """Render the report as one self-contained HTML page (inline CSS and SVG, no network)."""
        return render.render_html(self)

    def __repr__(self) -> str:
        parts = [f"{len(self.models)} models", f"{len(self.channel_names)} channels"]
        for name in ("reallocation", "comparison", "calibration", "test_plan"):
            if getattr(self, name) is not None:
                parts.append(name)
        return f"Report({self.title!r}, {', '.join(parts)})"


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def _coverage(provenance: Provenance | Mapping[str, Any] | None) -> dict[str, Any]:
    if provenance is None:
        return {}
    if isinstance(provenance, Provenance):
        return provenance.to_dict()
    return dict(provenance)


def _mlflow(run: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if run is None:
        return None
    if isinstance(run, str):
        return {"run_id": run}
    out = dict(run)
    if "run_id" not in out:
        raise ReportError(f"mlflow run info needs a 'run_id' key, got keys {sorted(out)}")
    return out


def _period(coverage: Mapping[str, Any]) -> str | None:
    start, end = coverage.get("start"), coverage.get("end")
    if not start or not end:
        return None
    return f"{str(start)[:10]} to {str(end)[:10]}"


def decision_sentence(
    channels: pd.DataFrame,
    results: Sequence[AttributionResult],
    calibration: CalibratedAttribution | None,
    coverage: Mapping[str, Any],
) -> str:
    """Return the report's lead: the period and the most trustworthy answer, and why.

    The answer comes from, in order of trust: the model calibrated with lift tests (anchored to
    randomized experiments), else the causal model (adjusted for the users' covariates), else
    the mean share of the observational models, which is then called credit, not cause. It
    names the channel with the most conversions by that answer, its conversions and share.
    """
    period = _period(coverage)
    lead = f"{period}: " if period else ""
    names = [r.model for r in results]
    if calibration is not None:
        model = f"{calibration.model}+calibrated"
        source = (
            f"{calibration.model} calibrated with lift tests, the most trustworthy answer in this "
            "report because randomized experiments anchor it"
        )
        verb = "caused"
    elif "causal" in names:
        model = "causal"
        source = (
            "the causal model, the most trustworthy answer in this report because it adjusts for "
            "who would have converted anyway (no lift test calibrates it)"
        )
        verb = "caused"
    else:
        model = None
        source = (
            "the mean share of the models; without lift tests or a causal model this is credit "
            "(who touched converting journeys), not proof of cause"
        )
        verb = "got"
    if model is not None:
        rows = channels[channels["model"] == model].set_index("channel")
        conversions = rows["conversions"].astype(float)
        top = str(conversions.idxmax())
        total = float(conversions.sum())
        amount = float(conversions[top])
        share = amount / total if total > 0 else math.nan
        return (
            f"{lead}{top} {verb} the most conversions, {amount:,.0f} ({share:.0%} of those the "
            f"channels {verb}), by {source}."
        )
    shares = channels.pivot(index="channel", columns="model", values="share")[names]
    mean = shares.mean(axis=1)
    top = str(mean.idxmax())
    return f"{lead}{top} {verb} the largest share of credit, {float(mean[top]):.0%}, by {source}."


def _headline(
    channels: pd.DataFrame,
    results: Sequence[AttributionResult],
    costs: CostTable | None,
    calibration: CalibratedAttribution | None,
    coverage: Mapping[str, Any],
) -> dict[str, tuple[Any, str]]:
    first = results[0]
    conv = float(first.total_conversions)
    value = float(first.total_value)
    out: dict[str, tuple[Any, str]] = {}
    period = _period(coverage)
    if period is not None:
        out["Period"] = (period, "text")
    out["Conversions"] = (conv, "count")
    out["Conversion value"] = (value, "money")
    if costs is not None:
        spend = float(costs.spend().sum())
        out["Spend"] = (spend, "money")
        out["Blended CPA"] = (spend / conv if conv > 0 else math.nan, "money")
        out["Blended ROAS"] = (value / spend if spend > 0 else math.nan, "ratio")
    if coverage.get("n_journeys"):
        out["Journeys"] = (float(coverage["n_journeys"]), "int")
    shares = channels.pivot(index="channel", columns="model", values="share")
    observational = [r.model for r in results]
    spread = shares[observational].max(axis=1) - shares[observational].min(axis=1)
    causal = next((r for r in results if r.model == "causal"), None)
    if calibration is not None:
        top = shares[f"{calibration.model}+calibrated"].sort_values(ascending=False)
        out[f"Top channel ({calibration.model}, calibrated with lift tests)"] = (
            str(top.index[0]),
            "text",
        )
    elif causal is not None:
        top = shares["causal"].sort_values(ascending=False)
        out["Top channel (causal: incremental conversions)"] = (str(top.index[0]), "text")
    else:
        top = shares[observational].mean(axis=1).sort_values(ascending=False)
        out["Top channel (mean share)"] = (str(top.index[0]), "text")
    if causal is not None:
        d = causal.diagnostics
        out["Incremental conversions (causal, all marketing)"] = (d["incremental_total"], "count")
    out["Largest model disagreement"] = (
        f"{spread.idxmax()} ({spread.max():.1%} share spread)",
        "text",
    )
    if calibration is not None:
        out["Baseline (would convert anyway)"] = (calibration.baseline, "count")
    return out


def build_report(
    results: Sequence[AttributionResult],
    *,
    costs: CostTable | None = None,
    provenance: Provenance | Mapping[str, Any] | None = None,
    previous: Sequence[AttributionResult] | None = None,
    costs_previous: CostTable | None = None,
    previous_provenance: Provenance | Mapping[str, Any] | None = None,
    lift_tests: LiftTests | None = None,
    calibration: CalibratedAttribution | None = None,
    calibrate_model: str | None = None,
    calibration_options: Mapping[str, Any] | None = None,
    max_shift: float = 0.10,
    n_moves: int = 1,
    reallocation_model: str | None = None,
    mlflow_run: str | Mapping[str, Any] | None = None,
    plan_tests: bool = True,
    test_plan_options: Mapping[str, Any] | None = None,
    title: str = "Attribution report",
    created: dt.datetime | None = None,
    unknown_cost_channels: Literal["error", "ignore"] = "error",
) -> Report:
    """Assemble a :class:`Report` from fitted results and optional costs, periods and tests.

    Parameters
    ----------
    results
        Results of several models fitted on the same (current-period) journeys.
    costs
        Spend over the current period; enables CPA, ROAS and the reallocation suggestion.
    provenance, previous_provenance
        Data coverage of the current (and previous) journeys, e.g. ``journeys.provenance``.
    previous, costs_previous
        Results (same model names) and spend of the previous period: enables the comparison.
    lift_tests
        Lift tests to calibrate ``calibrate_model`` (default: ``"causal"`` when fitted, then
        ``"markov"``, else the first model) with ``calibration_options`` (see
        :class:`attribution.calibration.Calibrator`; the causal model's default is
        ``untested="transfer"``).
    calibration
        An already calibrated attribution (instead of ``lift_tests``).
    max_shift, n_moves, reallocation_model
        Options of :func:`attribution.costs.suggest_reallocation`. The suggestion uses
        ``reallocation_model`` (default: the calibrated result when there is one, else
        ``"markov"`` when fitted, else the first model).
    mlflow_run
        The MLflow run id, or a mapping with ``run_id`` and e.g. ``experiment_id``, ``url``.
    plan_tests, test_plan_options
        With the ``causal`` model among ``results``: rank the untested channels by the value of
        a lift test (:func:`attribution.testplan.plan_lift_tests`, with these options).
    title, created
        Title and creation time (default now, UTC).
    """
    if isinstance(results, AttributionResult):
        results = [results]
    results = list(results)
    if not results:
        raise ReportError("a report needs at least one attribution result")
    names = [r.model for r in results]
    if len(set(names)) != len(names):
        raise ReportError(f"model names must be distinct, got {names}")
    if calibration is not None and lift_tests is not None:
        raise ReportError("pass either lift_tests or calibration, not both")
    notes: list[str] = []
    for r in results:
        notes.extend(f"{r.model}: {n}" for n in r.notes)

    options = dict(calibration_options or {})
    if lift_tests is None and options.get("negative_controls") and "causal" in names:
        lift_tests = LiftTests.empty()  # negative controls alone calibrate the causal model
    if lift_tests is not None:
        default = "causal" if "causal" in names else "markov" if "markov" in names else names[0]
        target = calibrate_model or default
        if target not in names:
            raise ReportError(
                f"calibrate_model {target!r} is not among the fitted models ({', '.join(names)})"
            )
        if target == "causal":
            options.setdefault("untested", "transfer")
        if provenance is not None and "attribution_period" not in options:
            cov = _coverage(provenance)
            if cov.get("start") and cov.get("end"):
                options["attribution_period"] = (cov["start"], cov["end"])
        calibration = calibrate(results[names.index(target)], lift_tests, **options)
    all_results = list(results)
    if calibration is not None:
        all_results.append(calibration.to_result())
        notes.extend(f"calibration: {w}" for w in calibration.warnings)

    channels = channel_economics(all_results, costs, unknown=unknown_cost_channels)
    reallocation = None
    if costs is not None:
        all_names = [r.model for r in all_results]
        pick = reallocation_model or (
            all_names[-1]
            if calibration is not None
            else ("markov" if "markov" in names else names[0])
        )
        if pick not in all_names:
            raise ReportError(
                f"reallocation_model {pick!r} is not among the models ({', '.join(all_names)})"
            )
        reallocation = suggest_reallocation(
            all_results[all_names.index(pick)],
            costs,
            max_shift=max_shift,
            n_moves=n_moves,
            unknown=unknown_cost_channels,
        )
    comparison = None
    if previous is not None:
        comparison = compare_periods(
            results,
            previous,
            costs,
            costs_previous,
            unknown=unknown_cost_channels,
        )
    coverage = _coverage(provenance)
    if costs is not None and costs.has_periods:
        info = costs.to_dict()
        coverage["spend_periods"] = (
            f"{info['first_period'][:10]} to {info['last_period'][:10]} "
            f"({info['n_periods']} period starts)"
        )
    causal = next((r for r in results if r.model == "causal"), None)
    incrementality: dict[str, float] | None = None
    test_plan = None
    if causal is not None:
        d = causal.diagnostics
        keys: tuple[str, ...] = (
            "population_conversions",
            "attributed_conversions",
            "incremental_total",
            "incremental_total_ci_low",
            "incremental_total_ci_high",
            "baseline",
            "baseline_ci_low",
            "baseline_ci_high",
            "credit_total",
        )
        incrementality = {key: float(d[key]) for key in keys if key in d}
        if plan_tests:
            plan_options = dict(test_plan_options or {})
            plan_options.setdefault("negative_controls", options.get("negative_controls", ()))
            test_plan = plan_lift_tests(
                causal,
                lift_tests=lift_tests if lift_tests is not None and len(lift_tests.frame) else None,
                costs=costs,
                **plan_options,
            )
    level = next((r.ci.level for r in results if r.ci is not None), None)
    created = created or dt.datetime.now(dt.UTC)
    return Report(
        title=title,
        created=created.replace(microsecond=0).isoformat(),
        channels=channels,
        headline=_headline(channels, results, costs, calibration, coverage),
        decision=decision_sentence(channels, results, calibration, coverage),
        level=level,
        reallocation=reallocation,
        comparison=comparison,
        calibration=calibration,
        incrementality=incrementality,
        test_plan=test_plan,
        coverage=coverage,
        previous_coverage=None if previous_provenance is None else _coverage(previous_provenance),
        mlflow=_mlflow(mlflow_run),
        notes=tuple(dict.fromkeys(notes)),
    )
