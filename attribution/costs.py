r"""Spend, CPA and ROAS joined to attribution credit; reallocation; period-over-period comparison.

Definitions
-----------
For one attribution result (one model) and channel ``c`` with attributed conversions ``x_c``
(percentile bootstrap interval ``[x_lo, x_hi]``), attributed value ``v_c`` (interval
``[v_lo, v_hi]``) and spend ``s_c`` over the same period (spend is a known quantity, it carries
no interval):

* ``CPA_c = s_c / x_c`` (cost per attributed conversion). Its interval is
  ``[s_c / x_hi, s_c / x_lo]``: the bounds swap because ``s / x`` decreases in ``x``. Because the
  map is monotone, this is exactly the percentile interval of ``s_c / x`` over the bootstrap
  replicates whenever every replicate credits ``x > 0``. When ``x_lo <= 0`` the upper bound is
  ``+inf`` (unbounded). ``CPA`` is undefined (NaN) when ``x_c <= 0``; ``CPA = 0`` when ``s_c = 0``.
* ``ROAS_c = v_c / s_c`` (attributed value per unit of spend), interval
  ``[v_lo / s_c, v_hi / s_c]``; undefined (NaN) when ``s_c = 0``.

Periods: a cost table has one row per channel and period, where ``period`` is the first instant
of the period (a day, an ISO week, a month...). :meth:`CostTable.between` keeps the rows whose
period start falls in ``[start, end)``.

Reallocation rule (:func:`suggest_reallocation`): among channels with positive spend and a
defined metric (ROAS, or conversions per unit of spend when the results carry no value), pair
the lowest-ranked channel with the highest-ranked, the second-lowest with the second-highest, and
so on (``n_moves`` pairs, a channel is used once). Each move shifts
``amount = max_shift * min(spend_from, spend_to)`` (``max_shift`` defaults to 10%) from the
source to the target, so that neither channel's budget changes by more than ``max_shift`` of
itself: constant returns are only plausible for small relative changes on both sides. Under the
stated assumption of **constant returns within the cap** (the next unit of spend returns what
the average unit returned), the expected change is ``amount * (metric_to - metric_from)``, with
the range ``amount * (metric_to_lo - metric_from_hi)`` to
``amount * (metric_to_hi - metric_from_lo)``. A warning is raised when the two channels' metric
intervals overlap (the data cannot rank them).

Period flag rule (:func:`compare_periods`): a change in credit, CPA or ROAS is flagged when the
two periods' percentile intervals do not overlap. This is conservative: for two independent
estimates with equal standard errors, non-overlapping 95% intervals correspond to a two-sided
p-value below about 0.006, so a flagged change is very unlikely to be noise, while some real
changes go unflagged.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from attribution.errors import AttributionError, InvalidJourneysError
from attribution.journeys import Journeys
from attribution.result import AttributionResult

__all__ = [
    "CONSTANT_RETURNS",
    "CostTable",
    "InvalidCostsError",
    "PeriodComparison",
    "Reallocation",
    "channel_economics",
    "compare_periods",
    "period_journeys",
    "split_events",
    "suggest_reallocation",
]

logger = logging.getLogger(__name__)

CONSTANT_RETURNS = (
    "constant returns within the cap: each extra unit of spend on a channel returns what its "
    "average unit returned in this period, and each unit removed loses the same"
)

ECONOMICS_COLUMNS = (
    "model",
    "channel",
    "conversions",
    "conversions_low",
    "conversions_high",
    "share",
    "value",
    "value_low",
    "value_high",
    "spend",
    "cpa",
    "cpa_low",
    "cpa_high",
    "roas",
    "roas_low",
    "roas_high",
)


class InvalidCostsError(AttributionError):
    """A cost table, cost column or cost/attribution join is invalid."""


# --------------------------------------------------------------------------------------------
# Cost table
# --------------------------------------------------------------------------------------------


def _read_frame(data: pd.DataFrame | str | os.PathLike[str], what: str) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    path = Path(data)
    if not path.exists():
        raise InvalidCostsError(f"{what} file {str(path)!r} does not exist")
    try:
        if path.suffix.lower() in (".parquet", ".pq") or path.is_dir():
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise InvalidCostsError(f"cannot read {what} file {str(path)!r}: {exc}") from exc


def _require(frame: pd.DataFrame, columns: Mapping[str, str | None], what: str) -> None:
    for option, name in columns.items():
        if name is not None and name not in frame.columns:
            raise InvalidCostsError(
                f"{what} has no column {name!r} ({option}); columns are "
                f"{list(map(str, frame.columns))}: pass {option}= with the right name"
            )


def _parse_periods(column: pd.Series, name: str) -> pd.Series:
    if column.isna().any():
        row = int(np.flatnonzero(column.isna().to_numpy())[0])
        raise InvalidCostsError(
            f"column {name!r} has a missing period at row {row}: give every cost row the start "
            "date of its period"
        )
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        parsed = column
    else:
        parsed = pd.to_datetime(column.astype(str), errors="coerce", format="mixed")
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidCostsError(
            f"column {name!r} has an unparseable period at row {row} ({column.iloc[row]!r}): "
            "use the period's first day in ISO 8601, e.g. '2024-05-06'"
        )
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.astype("datetime64[ns]")


def _as_timestamp(value: Any, what: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InvalidCostsError(f"{what} {value!r} is not a date: use e.g. '2024-05-01'") from exc
    if pd.isna(stamp):
        raise InvalidCostsError(f"{what} must be a date, got {value!r}")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp


@dataclass(frozen=True, eq=False)
class CostTable:
    """Validated spend per channel and period.

    Attributes
    ----------
    frame
        Columns ``channel`` (str), ``period`` (``datetime64[ns]``, the first instant of the
        period; ``NaT`` for a table without periods) and ``cost`` (float, finite, ``>= 0``), one
        row per (channel, period): duplicate rows of the input are summed.

    Build it with :meth:`from_frame` (a table, CSV or Parquet file) or :meth:`from_events` (cost
    columns of an event log).
    """

    frame: pd.DataFrame = field(repr=False)

    def __post_init__(self) -> None:
        missing = {"channel", "period", "cost"} - set(self.frame.columns)
        if missing:
            raise InvalidCostsError(
                f"CostTable.frame needs columns channel, period, cost; missing {sorted(missing)}: "
                "build it with CostTable.from_frame"
            )

    # ------------------------------------------------------------------------- builders

    @classmethod
    def from_frame(
        cls,
        data: pd.DataFrame | str | os.PathLike[str],
        *,
        channel_col: str = "channel",
        period_col: str | None = "period",
        cost_col: str = "cost",
    ) -> CostTable:
        """Build a cost table from a DataFrame or a CSV/Parquet file.

        Parameters
        ----------
        data
            One row per channel and period (rows with the same channel and period are summed).
        channel_col, cost_col
            Channel names (trimmed; must be non-empty) and spend (finite, ``>= 0``).
        period_col
            Start of each row's period (a date). ``None``: the table has no periods and covers
            whatever the attribution covers.

        Raises
        ------
        InvalidCostsError
            Missing columns, missing or empty channel names, unparseable periods, non-numeric,
            negative or infinite costs, an empty table. The message names the column and the
            first offending row.
        """
        frame = _read_frame(data, "cost table")
        _require(
            frame,
            {"channel_col": channel_col, "period_col": period_col, "cost_col": cost_col},
            "the cost table",
        )
        if len(frame) == 0:
            raise InvalidCostsError("the cost table is empty: it has a header but no rows")
        channel = frame[channel_col].astype("string").str.strip()
        bad = (channel.isna() | (channel == "")).fillna(True).to_numpy(dtype=bool)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InvalidCostsError(
                f"column {channel_col!r} has a missing or empty channel at row {row}: every cost "
                "row needs a channel name"
            )
        cost = _cost_values(frame[cost_col], cost_col)
        if period_col is None:
            period = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
        else:
            period = _parse_periods(frame[period_col], period_col)
        tidy = pd.DataFrame(
            {
                "channel": channel.astype(str).to_numpy(),
                "period": period.to_numpy(),
                "cost": cost,
            }
        )
        grouped = tidy.groupby(["channel", "period"], dropna=False, sort=True, as_index=False)[
            "cost"
        ].sum()
        return cls(pd.DataFrame(grouped).reset_index(drop=True))

    @classmethod
    def from_events(
        cls,
        events: pd.DataFrame | str | os.PathLike[str],
        *,
        channel_col: str = "channel",
        time_col: str = "timestamp",
        cost_col: str = "cost",
        period: Literal["day", "week", "month"] | None = "week",
    ) -> CostTable:
        """Sum a per-touch cost column of an event log into a cost table.

        Rows without a channel (conversion markers) must have zero or missing cost. Periods are
        days, ISO weeks (starting Monday) or calendar months, each labelled by its first day;
        ``period=None`` gives one total per channel.
        """
        frame = _read_frame(events, "event log")
        _require(
            frame,
            {"channel_col": channel_col, "time_col": time_col, "cost_col": cost_col},
            "the event log",
        )
        if period not in ("day", "week", "month", None):
            raise InvalidCostsError(
                f"period must be 'day', 'week', 'month' or None, got {period!r}"
            )
        cost_raw = frame[cost_col]
        channel = frame[channel_col].astype("string").str.strip()
        no_channel = (channel.isna() | (channel == "")).fillna(True).to_numpy(dtype=bool)
        cost = _cost_values(cost_raw.fillna(0.0), cost_col)
        orphan = no_channel & (cost != 0)
        if orphan.any():
            row = int(np.flatnonzero(orphan)[0])
            raise InvalidCostsError(
                f"column {cost_col!r} has cost {float(cost[row])!r} on row {row}, which has no "
                "channel: spend must belong to a channel"
            )
        keep = ~no_channel
        if period is None:
            periods = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")[keep]
        else:
            times = _parse_periods(frame[time_col][keep], time_col)
            days = pd.DatetimeIndex(times).normalize()
            if period == "week":
                days = days - pd.to_timedelta(days.day_of_week, unit="D")
            elif period == "month":
                days = days - pd.to_timedelta(days.day - 1, unit="D")
            periods = pd.Series(days, index=times.index)
        table = pd.DataFrame(
            {
                "channel": channel[keep].astype(str).to_numpy(),
                "period": periods.to_numpy(),
                "cost": cost[keep],
            }
        )
        if table.empty:
            raise InvalidCostsError(f"the event log has no touch rows to take {cost_col!r} from")
        return cls.from_frame(table)

    # ------------------------------------------------------------------------- queries

    @property
    def channels(self) -> tuple[str, ...]:
        """Channel names with a cost row, sorted."""
        return tuple(sorted(self.frame["channel"].unique()))

    @property
    def has_periods(self) -> bool:
        """Whether rows carry period start dates."""
        return bool(self.frame["period"].notna().any())

    def between(self, start: Any = None, end: Any = None) -> CostTable:
        """Rows whose period start is in ``[start, end)`` (either bound may be ``None``)."""
        if not self.has_periods:
            raise InvalidCostsError(
                "the cost table has no periods, so it cannot be split by date: give it a period "
                "column (the first day of each period)"
            )
        mask = np.ones(len(self.frame), dtype=bool)
        if start is not None:
            mask &= (self.frame["period"] >= _as_timestamp(start, "start")).to_numpy()
        if end is not None:
            mask &= (self.frame["period"] < _as_timestamp(end, "end")).to_numpy()
        return CostTable(self.frame.loc[mask].reset_index(drop=True))

    def spend(self) -> pd.Series:
        """Total spend per channel (float Series indexed by channel)."""
        return self.frame.groupby("channel", sort=True)["cost"].sum().astype(float)

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of the tidy table (``channel``, ``period``, ``cost``)."""
        return self.frame.copy()

    def to_dict(self) -> dict[str, Any]:
        """Spend per channel and the covered periods (JSON-friendly)."""
        periods = self.frame["period"].dropna()
        return {
            "spend": {k: float(v) for k, v in self.spend().items()},
            "first_period": None if periods.empty else periods.min().isoformat(),
            "last_period": None if periods.empty else periods.max().isoformat(),
            "n_periods": int(periods.nunique()),
        }

    def __repr__(self) -> str:
        n_periods = int(self.frame["period"].nunique())
        return (
            f"CostTable({len(self.channels)} channels, {n_periods} periods, "
            f"total spend {float(self.frame['cost'].sum()):,.2f})"
        )


def _cost_values(column: pd.Series, name: str) -> np.ndarray:
    numeric = pd.to_numeric(column, errors="coerce")
    values = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidCostsError(
            f"column {name!r} must hold finite numeric costs; row {row} has "
            f"{column.iloc[row]!r}: fix the value (0 if there was no spend)"
        )
    negative = values < 0
    if negative.any():
        row = int(np.flatnonzero(negative)[0])
        raise InvalidCostsError(
            f"column {name!r} must be non-negative; row {row} has {float(values[row])!r}: spend "
            "cannot be negative (book refunds in the period they reduce)"
        )
    return values


# --------------------------------------------------------------------------------------------
# Economics: credit joined to spend
# --------------------------------------------------------------------------------------------


def _check_results(
    results: Sequence[AttributionResult] | AttributionResult, what: str
) -> list[AttributionResult]:
    if isinstance(results, AttributionResult):
        return [results]
    out = list(results)
    if not out:
        raise InvalidCostsError(f"{what}: no attribution results given; fit at least one model")
    for item in out:
        if not isinstance(item, AttributionResult):
            raise InvalidCostsError(
                f"{what}: expected AttributionResult objects, got {type(item).__name__}"
            )
    names = [r.model for r in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidCostsError(
            f"{what}: model {dupes[0]!r} appears twice; give each result a distinct model name"
        )
    return out


def _spend_for(costs: CostTable | None, channels: Sequence[str], unknown: str) -> dict[str, float]:
    if costs is None:
        return {c: math.nan for c in channels}
    spend = costs.spend()
    extra = sorted(set(spend.index) - set(channels))
    if extra and unknown == "error":
        raise InvalidCostsError(
            f"the cost table has channel {extra[0]!r}, which the attribution does not know "
            f"(channels: {', '.join(channels)}): rename it to match the event log, drop it, or "
            "pass unknown='ignore'"
        )
    if extra:
        logger.warning("cost rows of channels %s are ignored: no attributed journeys", extra)
    return {c: float(spend.get(c, 0.0)) for c in channels}


def _safe_div(num: Any, den: Any) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(num, dtype=float) / np.asarray(den, dtype=float)


def _cpa(spend: np.ndarray, credit: np.ndarray) -> np.ndarray:
    """``spend / credit``: NaN where credit <= 0 (unless spend is 0 and credit > 0)."""
    out = _safe_div(spend, credit)
    out = np.where(credit > 0, out, np.nan)
    return np.where(np.isnan(spend), np.nan, out)


def _cpa_upper(spend: np.ndarray, credit_low: np.ndarray) -> np.ndarray:
    """Upper CPA bound: ``spend / credit_low``, ``+inf`` when ``credit_low <= 0``."""
    out = np.where(credit_low > 0, _safe_div(spend, credit_low), np.inf)
    out = np.where(spend == 0, 0.0, out)
    return np.where(np.isnan(spend) | np.isnan(credit_low), np.nan, out)


def _roas(value: np.ndarray, spend: np.ndarray) -> np.ndarray:
    out = np.where(spend > 0, _safe_div(value, spend), np.nan)
    return np.where(np.isnan(spend), np.nan, out)


def channel_economics(
    results: Sequence[AttributionResult] | AttributionResult,
    costs: CostTable | None,
    *,
    unknown: Literal["error", "ignore"] = "error",
) -> pd.DataFrame:
    """Attributed credit, spend, CPA and ROAS per model and channel, side by side.

    Parameters
    ----------
    results
        Results of one or several models fitted on the same journeys (distinct model names).
    costs
        Spend over the period the journeys cover (use :meth:`CostTable.between` to cut it);
        ``None`` gives NaN spend, CPA and ROAS.
    unknown
        What to do with cost rows of channels no result knows: ``"error"`` (default) or
        ``"ignore"`` (logged). Channels without cost rows have spend 0.

    Returns
    -------
    pandas.DataFrame
        One row per (model, channel), models in the given order, channels in each result's
        order. Columns: ``model, channel, conversions, conversions_low, conversions_high, share,
        value, value_low, value_high, spend, cpa, cpa_low, cpa_high, roas, roas_low,
        roas_high``. Interval columns are NaN for results fitted without bootstrap. See the
        module docstring for the CPA/ROAS interval definitions.
    """
    checked = _check_results(results, "channel_economics")
    if unknown not in ("error", "ignore"):
        raise InvalidCostsError(f"unknown must be 'error' or 'ignore', got {unknown!r}")
    all_channels = sorted({c for r in checked for c in r.channels})
    spend_map = _spend_for(costs, all_channels, unknown)
    frames = []
    for result in checked:
        n = len(result.channels)
        conv = np.asarray(result.conversions, dtype=float)
        value = np.asarray(result.value, dtype=float)
        if result.ci is not None:
            c_lo, c_hi = result.ci.conversions_low, result.ci.conversions_high
            v_lo, v_hi = result.ci.value_low, result.ci.value_high
        else:
            c_lo = c_hi = v_lo = v_hi = np.full(n, np.nan)
        c_lo, c_hi = np.asarray(c_lo, dtype=float), np.asarray(c_hi, dtype=float)
        v_lo, v_hi = np.asarray(v_lo, dtype=float), np.asarray(v_hi, dtype=float)
        spend = np.array([spend_map[c] for c in result.channels], dtype=float)
        frames.append(
            pd.DataFrame(
                {
                    "model": result.model,
                    "channel": list(result.channels),
                    "conversions": conv,
                    "conversions_low": c_lo,
                    "conversions_high": c_hi,
                    "share": np.asarray(result.share, dtype=float),
                    "value": value,
                    "value_low": v_lo,
                    "value_high": v_hi,
                    "spend": spend,
                    "cpa": _cpa(spend, conv),
                    "cpa_low": np.where(np.isnan(c_hi), np.nan, _cpa(spend, c_hi)),
                    "cpa_high": _cpa_upper(spend, c_lo),
                    "roas": _roas(value, spend),
                    "roas_low": _roas(v_lo, spend),
                    "roas_high": _roas(v_hi, spend),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    return out[list(ECONOMICS_COLUMNS)]


# --------------------------------------------------------------------------------------------
# Reallocation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Reallocation:
    """A capped budget move suggested from one model's attributed returns.

    Attributes
    ----------
    model
        The attribution result the suggestion is based on.
    metric
        ``"roas"`` (value per unit of spend) or ``"conversions_per_spend"`` (``1 / CPA``).
    max_shift
        Cap on the move relative to each channel's spend:
        ``amount = max_shift * min(spend_from, spend_to)``.
    moves
        One row per move: ``from_channel, to_channel, amount, from_metric, from_low, from_high,
        to_metric, to_low, to_high, expected_change, expected_low, expected_high,
        expected_conversions, intervals_overlap``. ``expected_change`` is in value for ROAS
        and in conversions otherwise; ``expected_conversions`` is always in conversions.
    assumption
        The assumption under which the expected change holds (constant returns within the cap).
    warnings
        Overlapping intervals, attributed-not-incremental caveats, or why nothing is suggested.
    """

    model: str
    metric: str
    max_shift: float
    moves: pd.DataFrame = field(repr=False)
    assumption: str = CONSTANT_RETURNS
    warnings: tuple[str, ...] = ()

    @property
    def expected_change(self) -> float:
        """Total expected change (sum over moves) in the metric's unit."""
        return float(self.moves["expected_change"].sum()) if len(self.moves) else 0.0

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of :attr:`moves`."""
        return self.moves.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dictionary."""
        return {
            "model": self.model,
            "metric": self.metric,
            "max_shift": self.max_shift,
            "assumption": self.assumption,
            "expected_change": self.expected_change,
            "moves": [
                {k: _plain(v) for k, v in row.items()}
                for row in self.moves.to_dict(orient="records")
            ],
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        moves = "; ".join(
            f"{r.from_channel} -> {r.to_channel}: {r.amount:,.2f}" for r in self.moves.itertuples()
        )
        return (
            f"Reallocation(model={self.model!r}, metric={self.metric!r}, "
            f"max_shift={self.max_shift:g}, moves=[{moves}], "
            f"expected_change={self.expected_change:,.2f}, {len(self.warnings)} warnings)"
        )


MOVE_COLUMNS = (
    "from_channel",
    "to_channel",
    "amount",
    "from_metric",
    "from_low",
    "from_high",
    "to_metric",
    "to_low",
    "to_high",
    "expected_change",
    "expected_low",
    "expected_high",
    "expected_conversions",
    "intervals_overlap",
)


def suggest_reallocation(
    result: AttributionResult,
    costs: CostTable,
    *,
    max_shift: float = 0.10,
    n_moves: int = 1,
    metric: Literal["auto", "roas", "conversions_per_spend"] = "auto",
    unknown: Literal["error", "ignore"] = "error",
) -> Reallocation:
    """Suggest moving a capped share of budget from the lowest- to the highest-return channels.

    Parameters
    ----------
    result
        One model's (or a calibrated) attribution result.
    costs
        Spend over the same period.
    max_shift
        Cap in ``(0, 0.5]`` (default 10%): each move is ``max_shift * min(spend_from,
        spend_to)``, so neither budget changes by more than that share of itself.
    n_moves
        Number of (source, target) pairs; the k-th lowest channel pairs with the k-th highest.
    metric
        ``"roas"``, ``"conversions_per_spend"`` (``1 / CPA``) or ``"auto"`` (ROAS when the
        result carries value, else conversions per spend).

    Returns
    -------
    Reallocation
        The moves with their expected change under :data:`CONSTANT_RETURNS`, and warnings.
        See the module docstring for the rule and the range of the expected change.
    """
    if not isinstance(result, AttributionResult):
        raise InvalidCostsError(
            f"suggest_reallocation expects one AttributionResult, got {type(result).__name__}"
        )
    if not isinstance(costs, CostTable):
        raise InvalidCostsError(
            "suggest_reallocation needs a CostTable (CostTable.from_frame / from_events)"
        )
    if isinstance(max_shift, bool) or not isinstance(max_shift, int | float):
        raise InvalidCostsError(f"max_shift must be a number in (0, 0.5], got {max_shift!r}")
    if not 0 < max_shift <= 0.5:
        raise InvalidCostsError(
            f"max_shift must be in (0, 0.5], got {max_shift!r}: the constant-returns assumption "
            "only holds for small moves"
        )
    if isinstance(n_moves, bool) or not isinstance(n_moves, int) or n_moves < 1:
        raise InvalidCostsError(f"n_moves must be a positive integer, got {n_moves!r}")
    if metric not in ("auto", "roas", "conversions_per_spend"):
        raise InvalidCostsError(
            f"metric must be 'auto', 'roas' or 'conversions_per_spend', got {metric!r}"
        )
    if metric == "auto":
        metric = "roas" if float(np.sum(result.value)) > 0 else "conversions_per_spend"
    econ = channel_economics([result], costs, unknown=unknown)
    spend = econ["spend"].to_numpy()
    if metric == "roas":
        point, low, high = econ["roas"], econ["roas_low"], econ["roas_high"]
    else:
        point = pd.Series(_safe_div(econ["conversions"], spend))
        low = pd.Series(_safe_div(econ["conversions_low"], spend))
        high = pd.Series(_safe_div(econ["conversions_high"], spend))
    table = pd.DataFrame(
        {
            "channel": econ["channel"],
            "spend": spend,
            "metric": point.to_numpy(),
            "low": low.to_numpy(),
            "high": high.to_numpy(),
            "cps": _safe_div(econ["conversions"], spend),
            "cps_low": _safe_div(econ["conversions_low"], spend),
            "cps_high": _safe_div(econ["conversions_high"], spend),
        }
    )
    eligible = table[(table["spend"] > 0) & np.isfinite(table["metric"])]
    eligible = eligible.sort_values(["metric", "channel"], kind="stable").reset_index(drop=True)
    warnings: list[str] = []
    rows = []
    k = min(n_moves, len(eligible) // 2)
    if len(eligible) < 2:
        warnings.append(
            f"no reallocation suggested: fewer than two channels have spend and a defined {metric}"
        )
    for i in range(k):
        src = eligible.iloc[i]
        dst = eligible.iloc[len(eligible) - 1 - i]
        if not dst["metric"] > src["metric"]:
            warnings.append(
                f"no move from {src['channel']!r} to {dst['channel']!r}: equal {metric}"
            )
            continue
        amount = float(max_shift * min(src["spend"], dst["spend"]))
        change = amount * (dst["metric"] - src["metric"])
        lo = amount * (dst["low"] - src["high"])
        hi = amount * (dst["high"] - src["low"])
        overlap = bool(np.isnan(src["high"]) or np.isnan(dst["low"]) or dst["low"] <= src["high"])
        if overlap:
            warnings.append(
                f"the {metric} intervals of {src['channel']!r} "
                f"[{src['low']:.4g}, {src['high']:.4g}] and {dst['channel']!r} "
                f"[{dst['low']:.4g}, {dst['high']:.4g}] overlap (or are unknown): the data cannot "
                "tell which returns more; treat this move as a hypothesis to test"
            )
        rows.append(
            {
                "from_channel": str(src["channel"]),
                "to_channel": str(dst["channel"]),
                "amount": amount,
                "from_metric": float(src["metric"]),
                "from_low": float(src["low"]),
                "from_high": float(src["high"]),
                "to_metric": float(dst["metric"]),
                "to_low": float(dst["low"]),
                "to_high": float(dst["high"]),
                "expected_change": float(change),
                "expected_low": float(lo),
                "expected_high": float(hi),
                "expected_conversions": float(amount * (dst["cps"] - src["cps"])),
                "intervals_overlap": overlap,
            }
        )
    if "calibrated" not in result.model:
        warnings.append(
            "returns are attributed, not measured: observational attribution over-credits "
            "channels that reach people who would convert anyway; calibrate with lift tests "
            "before moving budget"
        )
    moves = pd.DataFrame(rows, columns=list(MOVE_COLUMNS))
    return Reallocation(
        model=result.model,
        metric=metric,
        max_shift=float(max_shift),
        moves=moves,
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# Period comparison
# --------------------------------------------------------------------------------------------


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
            "rows": [
                {k: _plain(v) for k, v in row.items()}
                for row in self.table.to_dict(orient="records")
            ],
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

    Journeys are cut exactly as :meth:`attribution.journeys.Journeys.from_events` cuts them
    (per user, in time order, a conversion closes a journey; the touches after the last
    conversion form one open journey). A journey's end is its conversion time, or its last event
    for an open journey. A journey belongs to the previous period when its end is in
    ``[start, boundary)`` and to the current period when it is in ``[boundary, end)``; all of
    its events go with it, so a current-period journey keeps touches from before the boundary
    (the lookback window still applies when journeys are built). Journeys outside both periods
    are dropped.
    """
    from attribution._events import _conversion_flags, _timestamps

    frame = events if isinstance(events, pd.DataFrame) else _read_frame(events, "event log")
    for option, name in {
        "user_col": user_col,
        "time_col": time_col,
        "conversion_col": conversion_col,
    }.items():
        if name not in frame.columns:
            raise InvalidJourneysError(
                f"the event log has no column {name!r} ({option}); columns are "
                f"{list(map(str, frame.columns))}"
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
    times = _timestamps(frame[time_col], time_col)
    converted = _conversion_flags(frame[conversion_col], conversion_col)
    users = frame[user_col]
    if users.isna().any():
        row = int(np.flatnonzero(users.isna().to_numpy())[0])
        raise InvalidJourneysError(
            f"column {user_col!r} has a missing user id at row {row}: fill it or drop the row"
        )
    user_codes, _ = pd.factorize(users, sort=False)
    order = np.lexsort((times, user_codes))
    user_s, conv_s = user_codes[order], converted[order]
    n = len(frame)
    new_user = np.ones(n, dtype=bool)
    new_user[1:] = user_s[1:] != user_s[:-1]
    after = np.zeros(n, dtype=bool)
    after[1:] = conv_s[:-1] & ~new_user[1:]
    journey = np.cumsum(new_user | after) - 1
    last = np.empty(int(journey[-1]) + 1, dtype=np.int64)
    last[journey] = np.arange(n)
    end_sorted = times[order][last][journey]
    journey_end = np.empty(n, dtype=np.int64)
    journey_end[order] = end_sorted
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


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
