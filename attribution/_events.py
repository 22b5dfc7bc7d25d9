"""Event log to journeys, vectorised in NumPy (the in-memory reference engine).

The semantics are documented on :meth:`attribution.journeys.Journeys.from_events` and in
``docs/journeys.md``. The DuckDB and Spark engines implement the same definition in SQL and are
tested for identical output against this one. :func:`cut_journeys` validates the columns and
cuts the log into individual journeys (steps 1 to 6); grouping them into unique paths (step 7)
is :meth:`~attribution.journeys.Journeys.from_events`'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from attribution._io import naive_utc
from attribution._validation import first_true, shown
from attribution.errors import InvalidJourneysError

__all__ = ["CutJourneys", "cut_journeys", "journey_end_times"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class CutJourneys:
    """Individual journeys cut from an event log, before grouping into unique paths.

    Attributes
    ----------
    channels
        Channel names, sorted; ``codes`` index them.
    codes, offsets
        Touches of every journey: journey ``j`` owns ``codes[offsets[j]:offsets[j + 1]]`` (int64).
    touch_time
        Timestamp of every touch (``datetime64[ns]``), aligned with ``codes``.
    end_time, converted, value
        Per journey: the end (conversion time, or last touch of a non-converting journey), whether
        it converted and its conversion value.
    n_events, n_users, start, end
        Rows of the log, distinct users, first and last timestamp of the log.
    dropped_conversions, dropped_value
        Converting journeys left without touches (and their value); not in the arrays.
    user
        Per journey: the user key, as in the input column.
    untouched_user, untouched_value
        Per converting journey left without touches: the user key and the conversion value.
    """

    channels: tuple[str, ...]
    codes: np.ndarray
    offsets: np.ndarray
    touch_time: np.ndarray
    end_time: np.ndarray
    converted: np.ndarray
    value: np.ndarray
    n_events: int
    n_users: int
    start: pd.Timestamp
    end: pd.Timestamp
    dropped_conversions: int
    dropped_value: float
    user: np.ndarray
    untouched_user: np.ndarray
    untouched_value: np.ndarray

    @property
    def n_journeys(self) -> int:
        """Number of journeys."""
        return int(self.offsets.shape[0] - 1)


def _timestamps(column: pd.Series, name: str) -> np.ndarray:
    """Return timestamps as int64 nanoseconds (naive UTC), refusing missing or unparseable ones."""
    row = first_true(column.isna().to_numpy())
    if row is not None:
        raise InvalidJourneysError(
            f"column {name!r} has a missing timestamp at row {row}: fill it or drop the row"
        )
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        parsed = column
    elif pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(
        column.dtype
    ):
        parsed = pd.to_datetime(column, unit="s", errors="coerce")
    else:
        # naive times are UTC and times with an offset are converted to UTC, as in the DuckDB
        # and Spark engines (a column may mix both)
        parsed = pd.to_datetime(column, errors="coerce", format="mixed", utc=True)
    row = first_true(parsed.isna().to_numpy())
    if row is not None:
        raise InvalidJourneysError(
            f"column {name!r} has an unparseable timestamp at row {row} "
            f"({shown(column.iloc[row])!r}): use ISO 8601 such as '2024-05-01 13:45:00'"
        )
    return naive_utc(parsed, name, error=InvalidJourneysError).to_numpy().astype(np.int64)


def _conversion_flags(column: pd.Series, name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(column.dtype) and not column.isna().any():
        return column.to_numpy(dtype=bool)
    numeric = pd.to_numeric(column, errors="coerce")
    values = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
    row = first_true(~np.isin(values, (0.0, 1.0)))
    if row is not None:
        raise InvalidJourneysError(
            f"column {name!r} must be 0/1 or true/false; row {row} has "
            f"{shown(column.iloc[row])!r}: mark conversion events with 1 and touches with 0"
        )
    return values == 1.0


def _values(column: pd.Series | None, name: str | None, converted: np.ndarray) -> np.ndarray:
    if column is None:
        return np.zeros(converted.shape[0])
    numeric = pd.to_numeric(column, errors="coerce")
    values = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
    row = first_true(np.isnan(values) & column.notna().to_numpy())
    if row is not None:
        raise InvalidJourneysError(
            f"column {name!r} must hold numeric conversion values; row {row} has "
            f"{shown(column.iloc[row])!r}: fix the value or pass value_col=None to ignore value"
        )
    row = first_true(np.isnan(values) & converted)
    if row is not None:
        raise InvalidJourneysError(
            f"column {name!r} is missing on conversion row {row}: give every conversion a value "
            "(0 if unknown) or pass value_col=None"
        )
    values = np.where(converted, np.nan_to_num(values, nan=0.0), 0.0)
    row = first_true((values < 0) | ~np.isfinite(values))
    if row is not None:
        raise InvalidJourneysError(
            f"column {name!r} must be finite and non-negative; row {row} has {float(values[row])!r}"
        )
    return values


def _channels(
    column: pd.Series, name: str, converted: np.ndarray, separator: str
) -> tuple[np.ndarray, list[str]]:
    """Factorize channel names (trimmed) to sorted codes; -1 marks a conversion-only row."""
    as_str = column.astype("string").str.strip()
    empty = (as_str == "").fillna(False).to_numpy(dtype=bool)
    # CSV readers turn a missing channel into "": on a conversion row both mean "marker only"
    missing = column.isna().to_numpy() | (empty & converted)
    as_str = as_str.mask(pd.Series(missing, index=as_str.index))
    row = first_true((missing & ~converted) | (empty & ~converted))
    if row is not None:
        raise InvalidJourneysError(
            f"column {name!r} has a missing or empty channel at row {row}, which is not a "
            "conversion: every touch needs a channel name"
        )
    codes, uniques = pd.factorize(as_str, sort=True, use_na_sentinel=True)
    names = [str(u) for u in uniques]
    for code, channel in enumerate(names):
        if separator in channel:
            row = int(np.flatnonzero(codes == code)[0])
            raise InvalidJourneysError(
                f"column {name!r} has channel {channel!r} at row {row}, which contains the path "
                f"separator {separator!r}: rename the channel or choose another separator"
            )
    return codes.astype(np.int64), names


def _user_codes(column: pd.Series, name: str) -> tuple[np.ndarray, pd.Index]:
    """Factorize user keys (codes in order of first appearance), refusing a missing one."""
    row = first_true(column.isna().to_numpy())
    if row is not None:
        raise InvalidJourneysError(
            f"column {name!r} has a missing user id at row {row}: fill it or drop the row"
        )
    codes, uniques = pd.factorize(column, sort=False)
    return codes, uniques


def _assign_journeys(
    user_codes: np.ndarray, times: np.ndarray, converted: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order the events and number the journeys (steps 1 to 3 of the definition).

    Returns ``order`` (the event rows sorted by user, then time, ties in input order), the
    journey id of every sorted row (a journey starts at a user's first event and after each
    conversion) and the sorted position of each journey's last event.
    """
    n_events = user_codes.shape[0]
    order = np.lexsort((times, user_codes))
    user_s = user_codes[order]
    conv_s = converted[order]
    new_user = np.ones(n_events, dtype=bool)
    new_user[1:] = user_s[1:] != user_s[:-1]
    after_conversion = np.zeros(n_events, dtype=bool)
    after_conversion[1:] = conv_s[:-1] & ~new_user[1:]
    journey = np.cumsum(new_user | after_conversion) - 1
    last_row = np.empty(int(journey[-1]) + 1, dtype=np.int64)
    last_row[journey] = np.arange(n_events)  # last write wins: the journey's last event
    return order, journey, last_row


def journey_end_times(
    frame: pd.DataFrame, *, user_col: str, time_col: str, conversion_col: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return the end of the journey of every event row, cut exactly as :func:`cut_journeys`.

    A journey's end is its conversion time, or its last event for a journey without conversion.
    Returns the end (int64 nanoseconds, naive UTC) and the conversion flag of every row of
    ``frame``, in input order. Raises :class:`InvalidJourneysError` for a missing user id or an
    unreadable timestamp or conversion flag.
    """
    user_codes, _ = _user_codes(frame[user_col], user_col)
    times = _timestamps(frame[time_col], time_col)
    converted = _conversion_flags(frame[conversion_col], conversion_col)
    order, journey, last_row = _assign_journeys(user_codes, times, converted)
    ends = np.empty(len(frame), dtype=np.int64)
    ends[order] = times[order][last_row][journey]
    return ends, converted


def cut_journeys(
    frame: pd.DataFrame,
    *,
    user_col: str,
    time_col: str,
    channel_col: str,
    conversion_col: str,
    value_col: str | None,
    lookback: pd.Timedelta | None,
    max_touches: int | None,
    separator: str,
) -> CutJourneys:
    """Validate ``frame`` and cut it into journeys (steps 1 to 6 of ``Journeys.from_events``).

    Raises
    ------
    InvalidJourneysError
        A missing user id, an unreadable timestamp, conversion flag, value or channel (the
        message names the column and row), no conversion, or no journey left with a touch.
    """
    user_codes, user_uniques = _user_codes(frame[user_col], user_col)
    times = _timestamps(frame[time_col], time_col)
    converted = _conversion_flags(frame[conversion_col], conversion_col)
    values = _values(frame[value_col] if value_col else None, value_col, converted)
    channel_codes, channel_names = _channels(frame[channel_col], channel_col, converted, separator)
    if not converted.any():
        raise InvalidJourneysError(
            f"the event log has no conversions (column {conversion_col!r} is never 1): "
            "attribution needs converting journeys"
        )
    n_events = len(frame)

    # 1-3. sort, journey ids and each journey's last event
    order, journey, last_row = _assign_journeys(user_codes, times, converted)
    n_journeys = last_row.shape[0]
    user_s = user_codes[order]
    time_s = times[order]
    conv_s = converted[order]
    chan_s = channel_codes[order]
    val_s = values[order]
    journey_converted = conv_s[last_row]
    journey_end = time_s[last_row]
    journey_value = val_s[last_row]

    # 4-5. touches, lookback window and cap
    is_touch = chan_s >= 0
    if lookback is not None:
        is_touch &= (journey_end[journey] - time_s) <= lookback.value
    touch_rows = np.flatnonzero(is_touch)
    touch_journey = journey[touch_rows]
    if max_touches is not None and touch_rows.size:
        counts = np.bincount(touch_journey, minlength=n_journeys)
        ends = np.cumsum(counts)
        rank_from_end = ends[touch_journey] - np.arange(touch_rows.size)  # 1 = last touch
        keep = rank_from_end <= max_touches
        touch_rows, touch_journey = touch_rows[keep], touch_journey[keep]
    lengths = np.bincount(touch_journey, minlength=n_journeys)

    # 6. journeys left without touches
    empty = lengths == 0
    dropped_conversions = int((empty & journey_converted).sum())
    dropped_value = float(journey_value[empty & journey_converted].sum())
    if dropped_conversions:
        logger.warning(
            "%d conversions (value %.2f) have no touch%s and are not attributed to channels",
            dropped_conversions,
            dropped_value,
            " inside the lookback window" if lookback is not None else "",
        )
    kept = ~empty
    if not kept.any():
        raise InvalidJourneysError(
            "no journey has a touch inside the lookback window: widen --lookback"
        )
    lengths = lengths[kept]
    journey_user = user_uniques.take(user_s[last_row]).to_numpy()
    untouched = empty & journey_converted
    return CutJourneys(
        channels=tuple(channel_names),
        codes=chan_s[touch_rows],
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        touch_time=time_s[touch_rows].astype("datetime64[ns]"),
        end_time=journey_end[kept].astype("datetime64[ns]"),
        converted=journey_converted[kept],
        value=journey_value[kept],
        n_events=n_events,
        n_users=len(user_uniques),
        start=pd.Timestamp(int(times.min())),
        end=pd.Timestamp(int(times.max())),
        dropped_conversions=dropped_conversions,
        dropped_value=dropped_value,
        user=journey_user[kept],
        untouched_user=journey_user[untouched],
        untouched_value=journey_value[untouched],
    )
