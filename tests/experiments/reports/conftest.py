"""Hand-made attribution results and the weekly report built from them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from attribution.calibration import LiftTests
from attribution.costs import CostTable
from attribution.journeys import Provenance
from attribution.result import AttributionResult, ConfidenceIntervals
from experiments.reports import Report, build_report


def credit(
    model: str,
    conversions: Sequence[float],
    channels: Sequence[str],
    *,
    value_per_conversion: float,
    spread: float | np.ndarray,
    notes: tuple[str, ...] = (),
) -> AttributionResult:
    """Credit of ``model``: conversions +- ``spread`` and their value +- 10% (95%, 200 draws)."""
    conv = np.array(conversions, dtype=float)
    value = conv * value_per_conversion
    return AttributionResult(
        model=model,
        params={},
        channels=tuple(channels),
        conversions=conv,
        value=value,
        total_conversions=float(conv.sum()),
        total_value=float(value.sum()),
        ci=ConfidenceIntervals(
            conv - spread, conv + spread, value * 0.9, value * 1.1, 0.95, 200, "poisson", 0
        ),
        notes=notes,
    )


def weekly_report(
    current: list[AttributionResult],
    previous: list[AttributionResult],
    *,
    costs: Mapping[str, float],
    week: str,
    lift_tests: Mapping[str, tuple[float, float, float]],
    coverage: tuple[int, int, int, str, str],
    mlflow_run: dict[str, str],
    title: str,
) -> Report:
    """The report of ``current`` against ``previous``, both weeks costing ``costs`` (per channel).

    ``lift_tests``: channel -> (incremental conversions, ci_low, ci_high); ``coverage``: the
    event log's rows, users, journeys, first and last time (read with a 30-day lookback).
    """
    cost_table = CostTable.from_frame(
        pd.DataFrame({"channel": list(costs), "period": week, "cost": list(costs.values())})
    )
    tests = LiftTests.from_frame(
        pd.DataFrame(
            [(channel, *numbers) for channel, numbers in lift_tests.items()],
            columns=["channel", "incremental_conversions", "ci_low", "ci_high"],
        )
    )
    n_rows, n_users, n_journeys, start, end = coverage
    provenance = Provenance(
        source="events",
        n_rows=n_rows,
        n_users=n_users,
        n_journeys=n_journeys,
        start=pd.Timestamp(start),
        end=pd.Timestamp(end),
        lookback="30d",
    )
    return build_report(
        current,
        costs=cost_table,
        previous=previous,
        costs_previous=cost_table,
        lift_tests=tests,
        calibration_options={"n_draws": 400},
        provenance=provenance,
        mlflow_run=mlflow_run,
        title=title,
    )
