r"""Period-over-period comparison and splitting an event log into periods.

Period flag rule (:func:`compare_periods`): a change in credit, CPA or ROAS is flagged when the
two periods' percentile intervals do not overlap. This is conservative: for two independent
estimates with equal standard errors, non-overlapping 95% intervals correspond to a two-sided
p-value below about 0.006, so a flagged change is very unlikely to be noise, while some real
changes go unflagged. CPA and ROAS are defined in :mod:`attribution.costs.economics`.

:func:`split_events` and :func:`period_journeys` split an event log into the previous and the
current period by the end time of each journey.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from attribution._events import journey_end_times
from attribution._io import json_records, read_frame
from attribution._validation import require_columns
from attribution.costs.economics import _check_results, channel_economics
from attribution.costs.table import (
    CostTable,
    InvalidCostsError,
    _as_timestamp,
)
from attribution.errors import InvalidJourneysError
from attribution.journeys import Journeys
from attribution.result import AttributionResult


def _intervals_disjoint(a_lo: Any, a_hi: Any, b_lo: Any, b_hi: Any) -> np.ndarray:
    a_lo, a_hi, b_lo, b_hi = (np.asarray(x, dtype=float) for x in (a_lo, a_hi, b_lo, b_hi))
    known = ~(np.isnan(a_lo) | np.isnan(a_hi) | np.isnan(b_lo) | np.isnan(b_hi))
    with np.errstate(invalid="ignore"):
        disjoint = (a_hi < b_lo) | (b_hi < a_lo)
    return np.asarray(known & disjoint, dtype=bool)


@dataclass(frozen=True, eq=False)
class PeriodComparison:
    """Current period against the previous one, per model and channel.

    Attributes
    ----------
    table
        One row per (model, channel) over the union of both periods' channels. Columns:
        ``model, channel``; for each of ``conversions, share, cpa, roas``: ``<m>_previous``,
        ``<m>_current``, ``<m>_change`` (current - previous); the credit intervals
        ``conversions_previous_low/high``, ``conversions_current_low/high``; and the flags
        ``conversions_flag``, ``cpa_flag``, ``roas_flag`` (the two periods' intervals do not
        overlap). A channel absent from a period has credit 0 there (interval ``[0, 0]``).
    rule
        The flag rule in words.
    """

    table: pd.DataFrame = field(repr=False)
    rule: str = (
        "a change is flagged when the two periods' percentile intervals do not overlap "
        "(conservative: about p < 0.006 at 95% for equal standard errors)"
    )

    @property
    def flagged(self) -> pd.DataFrame:
        """Rows with at least one flag."""
        mask = self.table[["conversions_flag", "cpa_flag", "roas_flag"]].any(axis=1)
        return self.table.loc[mask].reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of :attr:`table`."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dictionary: rule and records."""
        return {
            "rule": self.rule,
            "rows": json_records(self.table),
        }

    def __repr__(self) -> str:
        models = self.table["model"].nunique()
        return (
            f"PeriodComparison({models} models, {self.table['channel'].nunique()} channels, "
            f"{len(self.flagged)} flagged rows)"
        )


def compare_periods(
    current: Sequence[AttributionResult] | AttributionResult,
    previous: Sequence[AttributionResult] | AttributionResult,
    costs_current: CostTable | None = None,
    costs_previous: CostTable | None = None,
    *,
    unknown: Literal["error", "ignore"] = "error",
) -> PeriodComparison:
    """Change in credit, share, CPA and ROAS per model and channel between two periods.

    Results are matched by model name (every current model needs a previous one). The flag rule
    is stated in the module docstring: intervals that do not overlap.
    """
    cur = _check_results(current, "compare_periods (current)")
    prev = {r.model: r for r in _check_results(previous, "compare_periods (previous)")}
    missing = [r.model for r in cur if r.model not in prev]
    if missing:
        raise InvalidCostsError(
            f"compare_periods: model {missing[0]!r} has no result for the previous period "
            f"(previous models: {', '.join(prev)}): fit the same models on both periods"
        )
    econ_cur = channel_economics(cur, costs_current, unknown=unknown)
    econ_prev = channel_economics([prev[r.model] for r in cur], costs_previous, unknown=unknown)
    keys = ["model", "channel"]
    merged = econ_prev.merge(econ_cur, on=keys, how="outer", suffixes=("_previous", "_current"))
    order = {r.model: i for i, r in enumerate(cur)}
    merged = merged.sort_values(
        by=["model", "channel"], key=lambda s: s.map(order) if s.name == "model" else s
    ).reset_index(drop=True)
    for side in ("previous", "current"):
        for col in ("conversions", "conversions_low", "conversions_high", "share"):
            name = f"{col}_{side}"
            merged[name] = merged[name].fillna(0.0)
    out = merged[keys].copy()
    for metric in ("conversions", "share", "cpa", "roas"):
        out[f"{metric}_previous"] = merged[f"{metric}_previous"]
        out[f"{metric}_current"] = merged[f"{metric}_current"]
        out[f"{metric}_change"] = merged[f"{metric}_current"] - merged[f"{metric}_previous"]
    for side in ("previous", "current"):
        out[f"conversions_{side}_low"] = merged[f"conversions_low_{side}"]
        out[f"conversions_{side}_high"] = merged[f"conversions_high_{side}"]
    for metric in ("conversions", "cpa", "roas"):
        out[f"{metric}_flag"] = _intervals_disjoint(
            merged[f"{metric}_low_previous"],
            merged[f"{metric}_high_previous"],
            merged[f"{metric}_low_current"],
            merged[f"{metric}_high_current"],
        )
    return PeriodComparison(out)


# --------------------------------------------------------------------------------------------
# Splitting an event log into periods
# --------------------------------------------------------------------------------------------


def split_events(
    events: pd.DataFrame | str | os.PathLike[str],
    boundary: Any,
    *,
    start: Any = None,
    end: Any = None,
    user_col: str = "user_id",
    time_col: str = "timestamp",
    conversion_col: str = "conversion",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split an event log into (previous, current) by the end time of each journey.

    Journeys are cut by the same code as :meth:`attribution.journeys.Journeys.from_events`
    (:func:`attribution._events.journey_end_times`: per user, in time order, a conversion closes
    a journey; the touches after the last conversion form one open journey). A journey's end is
    its conversion time, or its last event for an open journey. A journey belongs to the
    previous period when its end is in ``[start, boundary)`` and to the current period when it
    is in ``[boundary, end)``; all of its events go with it, so a current-period journey keeps
    touches from before the boundary (the lookback window still applies when journeys are
    built). Journeys outside both periods are dropped.
    """
    frame = read_frame(events, what="event log", error=InvalidJourneysError)
    require_columns(
        frame.columns,
        {"user_col": user_col, "time_col": time_col, "conversion_col": conversion_col},
        error=InvalidJourneysError,
        what="the event log",
        cli=True,
    )
    if len(frame) == 0:
        raise InvalidJourneysError("the event log is empty: it has a header but no rows")
    cut = _as_timestamp(boundary, "period boundary").value
    lo = None if start is None else _as_timestamp(start, "start").value
    hi = None if end is None else _as_timestamp(end, "end").value
    if lo is not None and lo >= cut:
        raise InvalidCostsError("start must be before the period boundary")
    if hi is not None and hi <= cut:
        raise InvalidCostsError("end must be after the period boundary")
    journey_end, converted = journey_end_times(
        frame, user_col=user_col, time_col=time_col, conversion_col=conversion_col
    )
    in_prev = journey_end < cut
    if lo is not None:
        in_prev &= journey_end >= lo
    in_cur = journey_end >= cut
    if hi is not None:
        in_cur &= journey_end < hi
    previous = frame.loc[in_prev]
    current = frame.loc[in_cur]
    for mask, name in ((in_prev, "previous"), (in_cur, "current")):
        if not converted[mask].any():
            raise InvalidJourneysError(
                f"the {name} period has no conversions (boundary {pd.Timestamp(cut)}): move the "
                "boundary so that both periods contain converting journeys"
            )
    return previous, current


def period_journeys(
    events: pd.DataFrame | str | os.PathLike[str],
    boundary: Any,
    *,
    start: Any = None,
    end: Any = None,
    user_col: str = "user_id",
    time_col: str = "timestamp",
    channel_col: str = "channel",
    conversion_col: str = "conversion",
    **kwargs: Any,
) -> tuple[Journeys, Journeys]:
    """Build (previous, current) :class:`Journeys` split by journey end time.

    See :func:`split_events` for the rule; ``kwargs`` (``value_col``, ``lookback``,
    ``max_touches``...) go to :meth:`Journeys.from_events`.
    """
    previous, current = split_events(
        events,
        boundary,
        start=start,
        end=end,
        user_col=user_col,
        time_col=time_col,
        conversion_col=conversion_col,
    )
    return (
        Journeys.from_events(
            previous,
            user_col=user_col,
            time_col=time_col,
            channel_col=channel_col,
            conversion_col=conversion_col,
            **kwargs,
        ),
        Journeys.from_events(
            current,
            user_col=user_col,
            time_col=time_col,
            channel_col=channel_col,
            conversion_col=conversion_col,
            **kwargs,
        ),
    )
