"""Cost tables: validated spend per channel and period.

A cost table has one row per channel and period, where ``period`` is the first instant of the
period (a day, an ISO week, a month...). :meth:`CostTable.between` keeps the rows whose period
start falls in ``[start, end)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from attribution._io import naive_utc, read_frame
from attribution._validation import first_true, require_columns
from attribution.errors import AttributionError


class InvalidCostsError(AttributionError):
    """A cost table, cost column or cost/attribution join is invalid."""


def _read_frame(data: pd.DataFrame | str | os.PathLike[str], what: str) -> pd.DataFrame:
    return read_frame(data, what=what, error=InvalidCostsError)


def _require(frame: pd.DataFrame, columns: Mapping[str, str | None], what: str) -> None:
    require_columns(frame.columns, columns, error=InvalidCostsError, what=what)


def _parse_periods(column: pd.Series, name: str) -> pd.Series:
    row = first_true(column.isna().to_numpy())
    if row is not None:
        raise InvalidCostsError(
            f"column {name!r} has a missing period at row {row}: give every cost row the start "
            "date of its period"
        )
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        parsed = column
    else:
        parsed = pd.to_datetime(column.astype(str), errors="coerce", format="mixed")
    row = first_true(parsed.isna().to_numpy())
    if row is not None:
        raise InvalidCostsError(
            f"column {name!r} has an unparseable period at row {row} ({column.iloc[row]!r}): "
            "use the period's first day in ISO 8601, e.g. '2024-05-06'"
        )
    return naive_utc(parsed, name, error=InvalidCostsError)


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
        row = first_true((channel.isna() | (channel == "")).fillna(True).to_numpy(dtype=bool))
        if row is not None:
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
        row = first_true(no_channel & (cost != 0))
        if row is not None:
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
    row = first_true(~np.isfinite(values))
    if row is not None:
        raise InvalidCostsError(
            f"column {name!r} must hold finite numeric costs; row {row} has "
            f"{column.iloc[row]!r}: fix the value (0 if there was no spend)"
        )
    row = first_true(values < 0)
    if row is not None:
        raise InvalidCostsError(
            f"column {name!r} must be non-negative; row {row} has {float(values[row])!r}: spend "
            "cannot be negative (book refunds in the period they reduce)"
        )
    return values
