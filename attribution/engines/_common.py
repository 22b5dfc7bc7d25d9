"""Input resolution, option checks and result assembly shared by the DuckDB and Spark engines."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from attribution import _io, _validation
from attribution._io import InputFiles
from attribution.errors import InvalidJourneysError
from attribution.journeys import Journeys, JourneyTiming, Provenance, parse_duration

__all__ = [
    "DEFAULT",
    "EventOptions",
    "InputFiles",
    "finish_journeys",
    "parquet_row_bases",
    "path_join",
    "raise_for_checks",
    "require_columns",
    "resolve_files",
    "resolve_options",
    "timing_from_rows",
]

logger = logging.getLogger(__name__)

DEFAULT: Any = object()
_UNKNOWN: Any = object()  # a raw cell value that was not fetched
"""Sentinel: the default value column ``"value"``, which may be absent."""


@dataclass(frozen=True)
class EventOptions:
    """Validated journey-building options shared by the engines."""

    user_col: str
    time_col: str
    channel_col: str
    conversion_col: str
    value_col: Any
    lookback_ns: int | None
    lookback_label: str | None
    max_touches: int | None
    separator: str

    def required(self) -> dict[str, str]:
        """Columns that must exist, keyed by the option naming them."""
        out = {
            "user_col": self.user_col,
            "time_col": self.time_col,
            "channel_col": self.channel_col,
            "conversion_col": self.conversion_col,
        }
        if self.value_col is not DEFAULT and self.value_col is not None:
            out["value_col"] = self.value_col
        return out

    def value_name(self, columns: Sequence[str]) -> str | None:
        """Return the value column actually read (``None``: values are zero)."""
        name = "value" if self.value_col is DEFAULT else self.value_col
        return name if name is not None and name in columns else None


def resolve_options(
    *,
    user_col: str,
    time_col: str,
    channel_col: str,
    conversion_col: str,
    value_col: Any,
    lookback: str | pd.Timedelta | None,
    max_touches: int | None,
    separator: str,
) -> EventOptions:
    """Check the options exactly as :meth:`Journeys.from_events` does."""
    if not isinstance(separator, str) or not separator:
        raise InvalidJourneysError("separator must be a non-empty string, e.g. '>'")
    lookback_td = parse_duration(lookback) if lookback is not None else None
    if max_touches is not None and (
        isinstance(max_touches, bool)
        or not isinstance(max_touches, int | np.integer)
        or max_touches < 1
    ):
        raise InvalidJourneysError(f"max_touches must be a positive integer, got {max_touches!r}")
    return EventOptions(
        user_col=user_col,
        time_col=time_col,
        channel_col=channel_col,
        conversion_col=conversion_col,
        value_col=value_col,
        lookback_ns=None if lookback_td is None else int(lookback_td.value),
        lookback_label=None if lookback is None else str(lookback),
        max_touches=None if max_touches is None else int(max_touches),
        separator=separator,
    )


def resolve_files(
    data: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> InputFiles:
    """Return the input files in input order (:func:`attribution._io.resolve_files`)."""
    return _io.resolve_files(data, what="event log", error=InvalidJourneysError)


def require_columns(columns: Sequence[str], required: Mapping[str, str]) -> None:
    """Raise the reference's missing-column error (with the CLI flag to pass)."""
    _validation.require_columns(columns, required, error=InvalidJourneysError, cli=True)


def path_join(separator: str) -> str:
    """Return the string placed between channels in engine path strings.

    ``" > "`` for the default ``">"``: the separator padded with spaces, which
    :meth:`Journeys.from_paths` trims again (a whitespace-only separator is used as is).
    """
    return separator if not separator.strip() else f" {separator.strip()} "


def parquet_row_bases(files: Sequence[str]) -> list[int]:
    """Global row number of the first row of each Parquet file (cumulative row counts)."""
    import pyarrow.parquet as pq

    bases = [0]
    for f in files:
        try:
            bases.append(bases[-1] + pq.read_metadata(f).num_rows)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InvalidJourneysError(
                f"cannot read {f!r} as Parquet: {' '.join(str(exc).split())}"
            ) from exc
    return bases[:-1]


def raise_for_checks(
    checks: Mapping[str, Any],
    opts: EventOptions,
    value_name: str | None,
    cell: Callable[[str, int], Any] | None = None,
) -> None:
    """Turn the row of :func:`attribution.engines.sql.validation_sql` into the reference's errors.

    ``checks`` maps each ``bad_*`` key to the first offending 0-based row (``None`` when the
    check passed), plus ``n`` and ``n_conversions``. ``cell(column, row)``, when given, fetches
    the offending raw value so that the message can show it.
    """
    if not checks["n"]:
        raise InvalidJourneysError("the event log is empty: it has a header but no rows")
    user, time, channel, conv = opts.user_col, opts.time_col, opts.channel_col, opts.conversion_col
    value = value_name or "value"

    def has(v: Any, fallback: str) -> str:
        return fallback if v is _UNKNOWN else repr(v)

    def paren(v: Any) -> str:
        return "" if v is _UNKNOWN else f" ({v!r})"

    # check -> (column whose raw value is shown, message builder(row, raw value))
    messages: dict[str, tuple[str | None, Callable[[int, Any], str]]] = {
        "bad_user": (
            None,
            lambda r, v: (
                f"column {user!r} has a missing user id at row {r}: fill it or drop the row"
            ),
        ),
        "bad_ts_missing": (
            None,
            lambda r, v: (
                f"column {time!r} has a missing timestamp at row {r}: fill it or drop the row"
            ),
        ),
        "bad_ts": (
            time,
            lambda r, v: (
                f"column {time!r} has an unparseable timestamp at row {r}{paren(v)}: "
                "use ISO 8601 such as '2024-05-01 13:45:00'"
            ),
        ),
        "bad_conv": (
            conv,
            lambda r, v: (
                f"column {conv!r} must be 0/1 or true/false; row {r} has "
                f"{has(v, 'another value')}: mark conversion events with 1 and touches with 0"
            ),
        ),
        "bad_value_type": (
            value,
            lambda r, v: (
                f"column {value!r} must hold numeric conversion values; row {r} has "
                f"{has(v, 'a non-numeric value')}: fix the value or pass value_col=None to ignore "
                "value"
            ),
        ),
        "bad_value_missing": (
            None,
            lambda r, v: (
                f"column {value!r} is missing on conversion row {r}: give every "
                "conversion a value (0 if unknown) or pass value_col=None"
            ),
        ),
        "bad_value_range": (
            value,
            lambda r, v: (
                f"column {value!r} must be finite and non-negative; row {r} has "
                f"{has(v, 'another value')}"
            ),
        ),
        "bad_channel": (
            None,
            lambda r, v: (
                f"column {channel!r} has a missing or empty channel at row {r}, which "
                "is not a conversion: every touch needs a channel name"
            ),
        ),
        "bad_separator": (
            channel,
            lambda r, v: (
                f"column {channel!r} has channel {has(v, '(name not shown)')} at row "
                f"{r}, which contains the path separator {opts.separator!r}: rename the channel or "
                "choose another separator"
            ),
        ),
    }
    for key, (column, message) in messages.items():
        row = checks.get(key)
        if row is None:
            continue
        raw = _UNKNOWN
        if column is not None and cell is not None:
            raw = cell(column, int(row))
        raise InvalidJourneysError(message(int(row), raw))
    if not checks["n_conversions"]:
        raise InvalidJourneysError(
            f"the event log has no conversions (column {conv!r} is never 1): "
            "attribution needs converting journeys"
        )


def finish_journeys(table: pa.Table, opts: EventOptions, source: str) -> Journeys:
    """Build :class:`Journeys` from the engine's path table and fill its provenance.

    ``table`` is the result of :func:`attribution.engines.sql.journey_paths_sql`.
    """
    import pyarrow.compute as pc

    dropped_mask = pc.is_null(table.column("path"))
    dropped = table.filter(dropped_mask)
    kept = table.filter(pc.invert(dropped_mask))

    def total(t: pa.Table, column: str) -> float:
        return float(pc.sum(t.column(column)).as_py() or 0)

    dropped_conversions = int(total(dropped, "total_conversions"))
    dropped_value = total(dropped, "total_conversion_value")
    provenance = Provenance(
        source=source,
        n_rows=int(total(table, "n_rows")),
        n_users=int(total(table, "n_users")),
        n_journeys=int(total(kept, "n_journeys")),
        start=pd.Timestamp(int(pc.min(table.column("start_ts")).as_py())),
        end=pd.Timestamp(int(pc.max(table.column("end_ts")).as_py())),
        lookback=opts.lookback_label,
        max_touches=opts.max_touches,
        dropped_conversions=dropped_conversions,
        dropped_value=dropped_value,
    )
    if dropped_conversions:
        logger.warning(
            "%d conversions (value %.2f) have no touch%s and are not attributed to channels",
            dropped_conversions,
            dropped_value,
            " inside the lookback window" if opts.lookback_label else "",
        )
    if kept.num_rows == 0:
        raise InvalidJourneysError(
            "no journey has a touch inside the lookback window: widen --lookback"
        )
    if total(kept, "total_conversions") == 0:
        raise InvalidJourneysError(
            "the dataset has no conversions (every conversion lost its touches to the lookback "
            "window): attribution needs converting journeys; check the conversion column"
        )
    paths = pa.table(
        {
            "path": pc.cast(kept.column("path"), pa.string()),
            "total_conversions": pc.cast(kept.column("total_conversions"), pa.int64()),
            "total_null": pc.cast(kept.column("total_null"), pa.int64()),
            "total_conversion_value": pc.cast(kept.column("total_conversion_value"), pa.float64()),
        }
    )
    journeys = Journeys.from_paths(paths, separator=opts.separator)
    return dataclasses.replace(journeys, provenance=provenance)


def timing_from_rows(
    rows: pa.Table, journeys: Journeys, join: str, *, untouched: pa.Table | None = None
) -> JourneyTiming:
    """Build :class:`JourneyTiming` from per-journey rows of kept journeys.

    ``rows`` has ``path`` (the path string joined with ``join``), ``end_ts``, ``converted``,
    ``value`` and ``touch_ts`` (list of int64 nanoseconds, in path order), and optionally
    ``user_id``, one row per journey that kept a touch. ``untouched`` has ``user_id`` and
    ``value`` of the converting journeys left without a touch.
    """
    import pyarrow.compute as pc

    paths = np.asarray(rows.column("path").to_numpy(zero_copy_only=False), dtype=object)
    index = pd.Index(journeys.path_strings(join)).get_indexer(paths)
    if np.any(index < 0):  # cannot happen: both come from the same journey rows
        raise InvalidJourneysError("internal error: a journey's path is not among the paths")
    touch_ts = rows.column("touch_ts")
    lengths = np.asarray(pc.list_value_length(touch_ts).to_numpy(), dtype=np.int64)
    flat = pc.list_flatten(touch_ts)
    return JourneyTiming(
        path_index=index.astype(np.int64),
        touch_offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        touch_time=np.asarray(flat.to_numpy(), dtype=np.int64).astype("datetime64[ns]"),
        end_time=np.asarray(rows.column("end_ts").to_numpy(), dtype=np.int64).astype(
            "datetime64[ns]"
        ),
        converted=np.asarray(rows.column("converted").to_numpy(), dtype=np.int64) == 1,
        value=np.asarray(rows.column("value").to_numpy(), dtype=np.float64),
        user=(
            rows.column("user_id").to_numpy(zero_copy_only=False)
            if "user_id" in rows.column_names
            else None
        ),
        untouched_user=(
            None
            if untouched is None
            else untouched.column("user_id").to_numpy(zero_copy_only=False)
        ),
        untouched_value=(
            None
            if untouched is None
            else np.asarray(untouched.column("value").to_numpy(), dtype=np.float64)
        ),
    )
