"""The :class:`Journeys` type: the one input every attribution model reads.

A :class:`Journeys` holds *unique paths*: integer-coded channel sequences with, for each path,
the number of journeys that followed it and converted (``conversions``), the number that did not
(``nulls``) and the total conversion value. Channel ``i`` is named ``channels[i]``; channel names
are sorted so that codes do not depend on row order.

Two builders:

* :meth:`Journeys.from_paths` reads a path table (one row per path, the format of
  ChannelAttribution): ``"search > email > display"``, total conversions, total nulls and total
  conversion value.
* :meth:`Journeys.from_events` reads an event log (one row per touch) and cuts it into journeys;
  the exact semantics are documented on that method and in ``docs/journeys.md``.

Both validate their input once; models downstream trust the type and never re-parse strings.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attribution._kernels import split_encode, unique_sequences
from attribution.errors import InvalidJourneysError

__all__ = ["DEFAULT_SEPARATOR", "JourneyTiming", "Journeys", "Provenance", "parse_duration"]

logger = logging.getLogger(__name__)

DEFAULT_SEPARATOR = " > "

_DEFAULT = object()  # sentinel: "the default column name, which may be absent"


# --------------------------------------------------------------------------------------------
# Small value types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Provenance:
    """Where a :class:`Journeys` came from and what was dropped on the way (data coverage).

    Attributes
    ----------
    source
        ``"paths"`` (path table), ``"events"`` (event log) or an engine-specific label.
    n_rows
        Rows read from the input (path-table rows or events).
    n_users
        Distinct users (event logs only).
    n_journeys
        Journeys after cutting, lookback and caps (converting + non-converting).
    start, end
        First and last timestamp in the event log (event logs only).
    lookback, max_touches
        The lookback window (as given, e.g. ``"30d"``) and the touch cap used, if any.
    dropped_conversions, dropped_value
        Conversions (and their value) left with no touch inside the lookback window; they cannot
        be attributed to any channel and are excluded from the totals.
    """

    source: str = "paths"
    n_rows: int = 0
    n_users: int | None = None
    n_journeys: int = 0
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    lookback: str | None = None
    max_touches: int | None = None
    dropped_conversions: int = 0
    dropped_value: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dictionary."""
        out: dict[str, Any] = dict(self.__dict__)
        for key in ("start", "end"):
            out[key] = None if out[key] is None else pd.Timestamp(out[key]).isoformat()
        return out


@dataclass(frozen=True, eq=False)
class JourneyTiming:
    """Per-journey timestamps, kept when journeys are cut from an event log.

    Unique paths aggregate many journeys; models that need time (time decay, recency features)
    read this table of individual journeys instead.

    Attributes
    ----------
    path_index
        ``(n_journeys,)`` index of each journey's unique path in the parent :class:`Journeys`.
    touch_offsets
        ``(n_journeys + 1,)`` offsets into ``touch_time``: journey ``j`` owns
        ``touch_time[touch_offsets[j]:touch_offsets[j + 1]]``, aligned with the touches of its path.
    touch_time
        Touch timestamps as ``datetime64[ns]``.
    end_time
        Journey end as ``datetime64[ns]``: the conversion time for a converting journey, the last
        touch for a non-converting one.
    converted
        ``(n_journeys,)`` boolean.
    value
        ``(n_journeys,)`` conversion value (0 for non-converting journeys).
    """

    path_index: np.ndarray
    touch_offsets: np.ndarray
    touch_time: np.ndarray
    end_time: np.ndarray
    converted: np.ndarray
    value: np.ndarray

    @property
    def n_journeys(self) -> int:
        """Number of individual journeys."""
        return int(self.path_index.shape[0])

    def touch_age_seconds(self) -> np.ndarray:
        """Seconds between each touch and the end of its journey (``>= 0``)."""
        journey_of_touch = np.repeat(
            np.arange(self.n_journeys), np.diff(self.touch_offsets).astype(np.int64)
        )
        delta = self.end_time[journey_of_touch] - self.touch_time
        return delta.astype("timedelta64[ns]").astype(np.int64) / 1e9


# --------------------------------------------------------------------------------------------
# Journeys
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Journeys:
    """Unique journey paths with their outcomes.

    Parameters
    ----------
    channels
        Channel names; code ``i`` in ``touches`` is ``channels[i]``.
    offsets
        ``(n_paths + 1,)`` int64 offsets: path ``p`` is ``touches[offsets[p]:offsets[p + 1]]``.
    touches
        Channel codes of all paths, concatenated (int32).
    conversions, nulls
        ``(n_paths,)`` int64 counts of converting and non-converting journeys on each path.
    value
        ``(n_paths,)`` float64 total conversion value of each path.
    timing
        Per-journey timestamps when built from an event log, else ``None``.
    provenance
        Where the journeys came from (data coverage for reports).

    Notes
    -----
    The builders guarantee that paths are unique and non-empty, channel names are sorted, and
    counts are non-negative integers. The constructor re-checks shapes, codes and signs.
    Use :meth:`from_paths` or :meth:`from_events` rather than calling it directly.
    """

    channels: tuple[str, ...]
    offsets: np.ndarray
    touches: np.ndarray
    conversions: np.ndarray
    nulls: np.ndarray
    value: np.ndarray
    timing: JourneyTiming | None = None
    provenance: Provenance = field(default_factory=Provenance)

    def __post_init__(self) -> None:
        self._validate_channels()
        self._validate_arrays()

    def _validate_channels(self) -> None:
        if len(self.channels) == 0:
            raise InvalidJourneysError("journeys have no channels: the input has no touches")
        if len(set(self.channels)) != len(self.channels):
            raise InvalidJourneysError("channel names must be unique")
        for name in self.channels:
            if not isinstance(name, str) or not name.strip():
                raise InvalidJourneysError(f"channel names must be non-empty strings, got {name!r}")

    def _validate_arrays(self) -> None:
        n = self.conversions.shape[0]
        if n == 0:
            raise InvalidJourneysError("the dataset is empty: no journeys to attribute")
        if self.offsets.shape != (n + 1,) or self.nulls.shape != (n,) or self.value.shape != (n,):
            raise InvalidJourneysError("offsets, conversions, nulls and value disagree in length")
        if self.offsets[0] != 0 or self.offsets[-1] != self.touches.shape[0]:
            raise InvalidJourneysError("offsets must start at 0 and end at len(touches)")
        if np.any(np.diff(self.offsets) <= 0):
            raise InvalidJourneysError("every path must have at least one touch")
        if self.touches.size and (
            self.touches.min() < 0 or self.touches.max() >= len(self.channels)
        ):
            raise InvalidJourneysError("touch codes must index into channels")
        if np.any(self.conversions < 0) or np.any(self.nulls < 0) or np.any(self.value < 0):
            raise InvalidJourneysError("conversions, nulls and value must be non-negative")
        if np.any(self.conversions + self.nulls == 0):
            raise InvalidJourneysError("every path must have at least one journey")

    # ----------------------------------------------------------------------------- properties

    @property
    def n_paths(self) -> int:
        """Number of unique paths."""
        return int(self.conversions.shape[0])

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return len(self.channels)

    @property
    def n_journeys(self) -> int:
        """Number of journeys (conversions + nulls)."""
        return int(self.conversions.sum() + self.nulls.sum())

    @property
    def total_conversions(self) -> int:
        """Total conversions."""
        return int(self.conversions.sum())

    @property
    def total_value(self) -> float:
        """Total conversion value."""
        return float(self.value.sum())

    @property
    def lengths(self) -> np.ndarray:
        """Number of touches of each path."""
        return np.diff(self.offsets)

    def path_of_touch(self) -> np.ndarray:
        """Index of the path each element of :attr:`touches` belongs to."""
        return np.repeat(np.arange(self.n_paths, dtype=np.int32), self.lengths)

    def path(self, i: int) -> tuple[str, ...]:
        """Channel names of path ``i``."""
        codes = self.touches[self.offsets[i] : self.offsets[i + 1]]
        return tuple(self.channels[c] for c in codes)

    def __repr__(self) -> str:
        src = self.provenance.source
        return (
            f"Journeys({self.n_paths:,} unique paths, {self.n_journeys:,} journeys, "
            f"{self.total_conversions:,} conversions, {self.n_channels} channels, from {src})"
        )

    # ----------------------------------------------------------------------------- exports

    def path_strings(self, separator: str = DEFAULT_SEPARATOR) -> np.ndarray:
        """Paths as strings joined with ``separator`` (object array)."""
        names = pa.array(np.asarray(self.channels, dtype=object)).take(pa.array(self.touches))
        lists = pa.ListArray.from_arrays(pa.array(self.offsets.astype(np.int32)), names)
        return np.asarray(pc.binary_join(lists, separator).to_numpy(zero_copy_only=False))

    def to_path_table(self, separator: str = DEFAULT_SEPARATOR) -> pd.DataFrame:
        """Return the path table (ChannelAttribution column names)."""
        return pd.DataFrame(
            {
                "path": self.path_strings(separator),
                "total_conversions": self.conversions,
                "total_null": self.nulls,
                "total_conversion_value": self.value,
            }
        )

    def with_counts(
        self, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> Journeys:
        """Return the same paths with other counts (a bootstrap replicate), minus empty ones."""
        conversions = np.asarray(conversions, dtype=np.int64)
        nulls = np.asarray(nulls, dtype=np.int64)
        value = np.asarray(value, dtype=np.float64)
        keep = (conversions + nulls) > 0
        if keep.all():
            return Journeys(
                self.channels,
                self.offsets,
                self.touches,
                conversions,
                nulls,
                value,
                provenance=self.provenance,
            )
        lengths = self.lengths[keep]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        touches = self.touches[np.repeat(keep, self.lengths)]
        return Journeys(
            self.channels,
            offsets,
            touches,
            conversions[keep],
            nulls[keep],
            value[keep],
            provenance=self.provenance,
        )

    # ----------------------------------------------------------------------------- builders

    @classmethod
    def from_paths(
        cls,
        data: pd.DataFrame | pa.Table | str | os.PathLike[str],
        *,
        path_col: str = "path",
        conversions_col: str = "total_conversions",
        nulls_col: str = "total_null",
        value_col: Any = _DEFAULT,
        separator: str = ">",
    ) -> Journeys:
        """Build journeys from a path table.

        Parameters
        ----------
        data
            A DataFrame, an Arrow table, or the path of a CSV or Parquet file (``.parquet``/``.pq``
            or a directory of Parquet files are read as Parquet, anything else as CSV).
        path_col
            Column of path strings such as ``"search > email > display"``.
        conversions_col, nulls_col
            Columns of total conversions and total non-converting journeys per path: non-negative
            integers (``3.0`` is accepted, ``2.5`` is not).
        value_col
            Column of total conversion value. By default ``"total_conversion_value"`` is used when
            present and values are zero otherwise; pass ``None`` to ignore value, or a name to
            require that column.
        separator
            The string between channels. Whitespace around channel names is trimmed, so the
            default ``">"`` reads ``"a > b"`` and ``"a>b"`` alike.

        Rows with the same path after trimming are summed. Channel codes follow sorted names.

        Raises
        ------
        InvalidJourneysError
            Missing columns, empty or missing paths, empty channel names, negative or non-integer
            counts, non-numeric values, an empty table or a table with no conversions. The message
            names the column, the first offending row (0-based, in file order) and the fix.
        """
        if not separator:
            raise InvalidJourneysError("separator must be a non-empty string, e.g. '>'")
        value_name = "total_conversion_value" if value_col is _DEFAULT else value_col
        required = {
            "path_col": path_col,
            "conversions_col": conversions_col,
            "nulls_col": nulls_col,
        }
        if value_col is not _DEFAULT and value_col is not None:
            required["value_col"] = value_col

        def read(source: Any) -> tuple[Any, ...]:
            with _PathTableReader(path_col, conversions_col, nulls_col, separator) as reader:
                for batch in _path_batches(source, required, value_name):
                    reader.add(batch, value_name if value_name in batch.schema.names else None)
                if reader.n_rows == 0:
                    raise InvalidJourneysError(
                        "the path table is empty: it has a header but no rows"
                    )
                return (*reader.finish(), reader.n_rows)

        try:
            parsed = read(data)
        except _TypedReadFailed:
            # a cell did not convert: re-read with inferred types so validation names it
            parsed = read(_read_table(data))
        codes, token_offsets, channels, conversions, nulls, value, n_rows = parsed
        keep = (conversions + nulls) > 0
        if not keep.all():
            # rows with no journeys carry no information
            codes, token_offsets = _select_lists(codes, token_offsets, keep)
            conversions, nulls, value = conversions[keep], nulls[keep], value[keep]
        if conversions.size == 0:
            raise InvalidJourneysError(
                f"every row has zero journeys ({conversions_col!r} + {nulls_col!r} == 0)"
            )
        inverse, first = unique_sequences(codes, token_offsets)
        n_unique = first.shape[0]
        journeys = _assemble(
            channels,
            codes,
            token_offsets,
            inverse,
            first,
            conversions=np.bincount(inverse, conversions, n_unique).astype(np.int64),
            nulls=np.bincount(inverse, nulls, n_unique).astype(np.int64),
            value=np.bincount(inverse, value, n_unique),
            provenance=Provenance(
                source="paths",
                n_rows=n_rows,
                n_journeys=int(conversions.sum() + nulls.sum()),
            ),
        )
        _require_conversions(journeys, f"column {conversions_col!r} sums to zero")
        _release_memory()
        return journeys

    @classmethod
    def from_events(
        cls,
        data: pd.DataFrame | str | os.PathLike[str],
        *,
        user_col: str = "user_id",
        time_col: str = "timestamp",
        channel_col: str = "channel",
        conversion_col: str = "conversion",
        value_col: Any = _DEFAULT,
        lookback: str | pd.Timedelta | None = None,
        max_touches: int | None = None,
        separator: str = ">",
    ) -> Journeys:
        """Cut an event log into journeys.

        Each row is one event of one user: a touch (a non-empty ``channel``) and/or a conversion
        (``conversion`` is 1/true). The semantics, step by step:

        1. Events are sorted by ``time_col`` within each user. The sort is stable: events with
           the same timestamp keep their order in the input.
        2. Each conversion closes a journey made of the user's touches since the previous
           conversion (or since the first event). A conversion row that also has a channel is a
           touch at the conversion time, and it is the last touch of the journey it closes.
           A conversion row with a missing channel is only a conversion marker.
        3. The touches after a user's last conversion form one non-converting journey.
        4. ``lookback`` drops touches older than the window: a touch at time ``t`` is kept when
           ``end - t <= lookback``, where ``end`` is the conversion time for a converting journey
           and the journey's last touch for a non-converting one.
        5. ``max_touches`` keeps only the last N touches of each journey.
        6. A converting journey left with no touch is dropped; its conversions and value are
           counted in :attr:`Provenance.dropped_conversions` / ``dropped_value`` and a warning is
           logged (nothing can be credited for it).
        7. Journeys are aggregated by path into unique paths; per-journey timestamps are kept in
           :attr:`Journeys.timing`.

        Parameters
        ----------
        data
            A DataFrame or a CSV/Parquet file path.
        user_col, time_col, channel_col, conversion_col
            Column names. Timestamps may be datetimes or strings parseable by
            :func:`pandas.to_datetime`; numbers are read as Unix seconds. ``conversion_col`` holds
            0/1 or booleans.
        value_col
            Conversion value on conversion rows. By default ``"value"`` is used when present and
            values are zero otherwise; ``None`` ignores value; a name requires the column.
        lookback
            A duration such as ``"30d"``, ``"12h"`` or ``"90min"`` (see :func:`parse_duration`).
        max_touches
            Keep the last ``max_touches`` touches of each journey.
        separator
            Path separator for exports: a channel name containing it is refused.

        Raises
        ------
        InvalidJourneysError
            Missing columns, missing users or timestamps, unparseable timestamps, a missing or
            empty channel on a non-conversion row, a channel containing ``separator``, conversion
            flags other than 0/1, non-numeric or negative values, an empty log or one with no
            conversions.
        """
        frame = _read_events(data)
        value_name = "value" if value_col is _DEFAULT else value_col
        required = {
            "user_col": user_col,
            "time_col": time_col,
            "channel_col": channel_col,
            "conversion_col": conversion_col,
        }
        if value_col is not _DEFAULT and value_col is not None:
            required["value_col"] = value_col
        _require_columns(list(frame.columns), required)
        if len(frame) == 0:
            raise InvalidJourneysError("the event log is empty: it has a header but no rows")
        lookback_td = parse_duration(lookback) if lookback is not None else None
        if max_touches is not None and (
            isinstance(max_touches, bool)
            or not isinstance(max_touches, int | np.integer)
            or max_touches < 1
        ):
            raise InvalidJourneysError(
                f"max_touches must be a positive integer, got {max_touches!r}"
            )
        from attribution._events import build_journeys

        return build_journeys(
            frame,
            user_col=user_col,
            time_col=time_col,
            channel_col=channel_col,
            conversion_col=conversion_col,
            value_col=value_name if value_name in frame.columns else None,
            lookback=lookback_td,
            lookback_label=None if lookback is None else str(lookback),
            max_touches=max_touches,
            separator=separator,
        )

    @classmethod
    def from_sequences(
        cls,
        paths: list[list[str]] | list[tuple[str, ...]],
        conversions: list[int] | np.ndarray,
        nulls: list[int] | np.ndarray,
        value: list[float] | np.ndarray | None = None,
    ) -> Journeys:
        """Build journeys from Python sequences of channel names (small data, tests, examples).

        Examples
        --------
        >>> j = Journeys.from_sequences([["A", "B"], ["B"]], [1, 0], [0, 1], [10, 0])
        >>> j.channels
        ('A', 'B')
        """
        if value is None:
            value = np.zeros(len(paths))
        frame = pd.DataFrame(
            {
                "path": [DEFAULT_SEPARATOR.join(p) for p in paths],
                "total_conversions": conversions,
                "total_null": nulls,
                "total_conversion_value": value,
            }
        )
        for p in paths:
            for name in p:
                if ">" in name:
                    raise InvalidJourneysError(
                        f"channel name {name!r} contains the separator '>': rename the channel"
                    )
        return cls.from_paths(frame)


# --------------------------------------------------------------------------------------------
# Durations
# --------------------------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(w|d|h|min|m|s)\s*$", re.IGNORECASE)
_UNITS = {"w": "W", "d": "D", "h": "h", "min": "min", "m": "min", "s": "s"}


def parse_duration(value: str | pd.Timedelta) -> pd.Timedelta:
    """Parse a duration such as ``"30d"``, ``"2w"``, ``"12h"``, ``"90min"`` or ``"45s"``.

    ``m`` means minutes. Raises :class:`InvalidJourneysError` for anything else or a duration
    that is not positive.
    """
    if isinstance(value, pd.Timedelta):
        td = value
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise InvalidJourneysError(
                f"cannot read duration {value!r}: use a number and a unit, e.g. '30d', '2w', "
                "'12h', '90min'"
            )
        number, unit = match.groups()
        td = pd.Timedelta(float(number), unit=_UNITS[unit.lower()])  # type: ignore[arg-type]
    if td <= pd.Timedelta(0):
        raise InvalidJourneysError(f"duration must be positive, got {value!r}")
    return td


# --------------------------------------------------------------------------------------------
# Helpers shared by the builders (also used by the engines)
# --------------------------------------------------------------------------------------------


def _is_parquet(path: Path) -> bool:
    return path.is_dir() or path.suffix.lower() in {".parquet", ".pq"}


def _read_table(data: pd.DataFrame | pa.Table | str | os.PathLike[str]) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pd.DataFrame):
        try:
            return pa.Table.from_pandas(data, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # mixed-type object columns: keep them as strings so validation can name the row
            columns = {}
            for name in data.columns:
                try:
                    columns[str(name)] = pa.array(data[name], from_pandas=True)
                except (pa.ArrowInvalid, pa.ArrowTypeError):
                    text = data[name].map(lambda v: None if pd.isna(v) else str(v))
                    columns[str(name)] = pa.array(text, type=pa.string())
            return pa.table(columns)
    path = Path(data)
    if not path.exists():
        raise InvalidJourneysError(f"input file {str(path)!r} does not exist")
    try:
        if _is_parquet(path):
            import pyarrow.parquet as pq

            return pq.read_table(path)
        import pyarrow.csv as pacsv

        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidJourneysError(
            f"cannot read {str(path)!r}: {' '.join(str(exc).split())}"
        ) from exc


def _read_events(data: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    table = _read_table(data)
    return table.to_pandas()


def _suggest(name: str, candidates: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _require_columns(columns: list[str], required: dict[str, str]) -> None:
    for option, name in required.items():
        if name not in columns:
            raise InvalidJourneysError(
                f"required column {name!r} is missing (available: {', '.join(map(repr, columns))})"
                f"{_suggest(name, columns)}; pass {option}=<name> (CLI: --{option[:-4]}-col) "
                "to use another column"
            )


def _first_index(mask: np.ndarray | pa.Array) -> int:
    if isinstance(mask, pa.Array | pa.ChunkedArray):
        mask = np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
    return int(np.flatnonzero(mask)[0])


def _as_string_array(column: pa.ChunkedArray, name: str, offset: int = 0) -> pa.Array:
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        if pa.types.is_null(array.type):
            raise InvalidJourneysError(
                f"column {name!r} is empty (all values missing) at row {offset}"
            )
        raise InvalidJourneysError(
            f"column {name!r} must hold path strings such as 'search > email', "
            f"got type {array.type}"
        )
    if array.null_count:
        row = _first_index(pc.is_null(array)) + offset
        raise InvalidJourneysError(
            f"column {name!r} has a missing path at row {row}: fill it or drop the row"
        )
    return array


def _count_column(column: pa.ChunkedArray, name: str, option: str, offset: int = 0) -> np.ndarray:
    array = _numeric_or_none(column)
    if array is None:
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        bad = _first_non_numeric(array)
        raise InvalidJourneysError(
            f"column {name!r} must hold non-negative integer counts; row {bad + offset} has "
            f"{_cell(array, bad)!r}: fix the value or point {option} at the right column"
        )
    values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)
    bad_mask = ~np.isfinite(values) | (values < 0) | (values != np.floor(values))
    if bad_mask.any():
        row = int(np.flatnonzero(bad_mask)[0])
        raise InvalidJourneysError(
            f"column {name!r} must hold non-negative integer counts; row {row + offset} has "
            f"{values[row]:g}: fix or drop that row"
        )
    return values.astype(np.int64)


def _value_column(column: pa.ChunkedArray, name: str, offset: int = 0) -> np.ndarray:
    if pa.types.is_null(column.type):
        return np.zeros(len(column))
    array = _numeric_or_none(column)
    if array is None:
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        bad = _first_non_numeric(array)
        raise InvalidJourneysError(
            f"column {name!r} must hold numeric conversion values; row {bad + offset} has "
            f"{_cell(array, bad)!r}: fix the value or pass value_col=None to ignore value"
        )
    values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)
    bad_mask = ~np.isfinite(values) | (values < 0)
    if bad_mask.any():
        row = int(np.flatnonzero(bad_mask)[0])
        raise InvalidJourneysError(
            f"column {name!r} must hold finite non-negative values; row {row + offset} has "
            f"{values[row]:g}: fix or drop that row"
        )
    return values


def _numeric_or_none(column: pa.Array | pa.ChunkedArray) -> pa.Array | None:
    """Return the column as numbers (text such as '3' converted), or None if a cell is not."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
        return array
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        try:
            return pc.cast(pc.utf8_trim_whitespace(array), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    return None


def _cell(array: pa.Array, row: int) -> Any:
    return array[row].as_py() if row < len(array) else None


def _first_non_numeric(array: pa.Array) -> int:
    as_str = pc.cast(array, pa.string()) if not pa.types.is_string(array.type) else array
    numeric = pc.match_substring_regex(
        pc.utf8_trim_whitespace(as_str), r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
    )
    bad = pc.invert(pc.fill_null(numeric, False))
    mask = np.asarray(bad.to_numpy(zero_copy_only=False), dtype=bool)
    return int(np.flatnonzero(mask)[0]) if mask.any() else 0


class _PathTableReader:
    """Validate and tokenize a path table batch by batch.

    Channel names get provisional codes in order of appearance; :meth:`finish` renumbers them
    by sorted name, with one gather per batch from raw token index to final code. Memory stays
    proportional to the output (codes and counts), not to the text of the file. Splitting and
    dictionary-encoding (:func:`attribution._kernels.split_encode`, which releases the GIL)
    run on a small thread pool, at most one batch per core in flight; results are taken in
    batch order, so codes do not depend on scheduling. Use it as a context manager so the pool
    is shut down on errors too.
    """

    def __init__(self, path_col: str, conversions_col: str, nulls_col: str, separator: str):
        from concurrent.futures import ThreadPoolExecutor

        self.path_col = path_col
        self.conversions_col = conversions_col
        self.nulls_col = nulls_col
        self.separator = separator
        self.n_rows = 0
        self.names: dict[str, int] = {}
        self.mappings: list[np.ndarray] = []
        self.parts: dict[str, list[np.ndarray]] = {
            k: [] for k in ("codes", "lengths", "conversions", "nulls", "value")
        }
        self.workers = max(1, min(os.cpu_count() or 1, 4))
        self.pool = ThreadPoolExecutor(max_workers=self.workers)
        self.pending: list[tuple[Any, pa.Array, int]] = []

    def __enter__(self) -> _PathTableReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def add(self, batch: pa.RecordBatch, value_name: str | None) -> None:
        """Validate and tokenize one batch (row numbers in errors count from the file start)."""
        start = self.n_rows
        n = batch.num_rows
        self.n_rows += n
        if n == 0:
            return
        paths = _as_string_array(batch.column(self.path_col), self.path_col, start)
        conv = _count_column(
            batch.column(self.conversions_col), self.conversions_col, "conversions_col", start
        )
        nulls = _count_column(batch.column(self.nulls_col), self.nulls_col, "nulls_col", start)
        if value_name is not None:
            value = _value_column(batch.column(value_name), value_name, start)
        else:
            value = np.zeros(n)
        self.parts["conversions"].append(conv)
        self.parts["nulls"].append(nulls)
        self.parts["value"].append(value)
        self.pending.append((self.pool.submit(split_encode, paths, self.separator), paths, start))
        if len(self.pending) > self.workers:
            self._collect()

    def _collect(self) -> None:
        """Map the oldest pending batch's tokens to channel codes."""
        future, paths, start = self.pending.pop(0)
        offsets, raw, indices = future.result()
        self.mappings.append(self._mapping(paths, start, offsets, raw, indices))
        self.parts["codes"].append(indices)
        self.parts["lengths"].append(np.diff(offsets))
        _release_memory()

    def _mapping(
        self,
        paths: pa.Array,
        start: int,
        offsets: np.ndarray,
        raw: list[str],
        indices: np.ndarray,
    ) -> np.ndarray:
        """Map a batch's raw tokens to provisional channel codes (names trimmed, none empty)."""
        mapping = np.empty(len(raw), dtype=np.int32)
        for i, token in enumerate(raw):
            name = token.strip()
            if not name:
                position = int(np.flatnonzero(indices == i)[0])
                row = int(np.searchsorted(offsets, position, side="right") - 1)
                raise InvalidJourneysError(
                    f"column {self.path_col!r} has an empty path or an empty channel name at "
                    f"row {row + start} ({paths[row].as_py()!r}): remove empty paths and "
                    f"doubled separators ({self.separator!r})"
                )
            mapping[i] = self.names.setdefault(name, len(self.names))
        return mapping

    def finish(
        self,
    ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
        """Return codes, offsets, sorted channel names, conversions, nulls and value."""
        while self.pending:
            self._collect()
        names = np.array(list(self.names), dtype=object)
        order = np.argsort(names.astype(str), kind="stable")
        remap = np.empty(order.shape[0], dtype=np.int32)
        remap[order] = np.arange(order.shape[0], dtype=np.int32)
        # one gather per batch: raw token index -> sorted channel code
        batches = self.parts.pop("codes")
        codes = np.empty(sum(b.shape[0] for b in batches), dtype=np.int32)
        at = 0
        for mapping, indices in zip(self.mappings, batches, strict=True):
            np.take(remap[mapping], indices, out=codes[at : at + indices.shape[0]])
            at += indices.shape[0]
        self.mappings.clear()
        del batches
        cat = {k: np.concatenate(v) if v else np.zeros(0) for k, v in self.parts.items()}
        self.parts.clear()
        offsets = np.concatenate([[0], np.cumsum(cat["lengths"])]).astype(np.int64)
        return (
            codes,
            offsets,
            tuple(str(n) for n in names[order]),
            cat["conversions"].astype(np.int64),
            cat["nulls"].astype(np.int64),
            cat["value"].astype(np.float64),
        )


def _trim_function() -> Any:
    try:
        import ctypes
        import ctypes.util

        name = ctypes.util.find_library("c")
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        return None


_MALLOC_TRIM = _trim_function()


def _release_memory() -> None:
    """Hand freed heap pages back to the OS (glibc keeps them otherwise, inflating peak RSS)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


#: CSV path tables up to this size are read whole; larger ones are streamed in 16 MB blocks
_WHOLE_READ_BYTES = 256 << 20


class _TypedReadFailed(Exception):
    """A streamed CSV cell did not convert to its column's type."""


def _columns(wanted: list[str], value_name: str | None, available: list[str]) -> list[str]:
    extra = [value_name] if value_name and value_name in available else []
    return list(dict.fromkeys([*wanted, *extra]))


def _path_batches(
    data: pd.DataFrame | pa.Table | str | os.PathLike[str],
    required: dict[str, str],
    value_name: str | None,
) -> Any:
    """Yield record batches holding the needed columns.

    Parquet files and CSV files larger than ``_WHOLE_READ_BYTES`` are streamed; smaller CSV
    files are read whole by Arrow's multi-threaded reader. CSV columns get explicit types; if a
    value does not convert (a typo in a count column, say) :class:`_TypedReadFailed` tells the
    caller to re-read the file with inferred types, so that validation can name the column and
    row.
    """
    wanted = list(dict.fromkeys(required.values()))
    if isinstance(data, (pd.DataFrame, pa.Table)):
        table = _read_table(data)
        _require_columns(table.column_names, required)
        cols = _columns(wanted, value_name, table.column_names)
        yield from table.select(cols).to_batches(max_chunksize=1 << 18)
        return
    path = Path(data)
    if not path.exists():
        raise InvalidJourneysError(f"input file {str(path)!r} does not exist")
    try:
        if _is_parquet(path):
            import pyarrow.dataset as ds

            dataset = ds.dataset(path, format="parquet")
            names = dataset.schema.names
            _require_columns(names, required)
            cols = _columns(wanted, value_name, names)
            yield from dataset.to_batches(columns=cols, batch_size=1 << 18)
            return
        import pyarrow.csv as pacsv

        header = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16))
        names = header.schema.names
        _require_columns(names, required)
        cols = _columns(wanted, value_name, names)
        types = {c: pa.float64() for c in cols}
        types[required["path_col"]] = pa.string()
        read_options = pacsv.ReadOptions(block_size=1 << 24)
        convert_options = pacsv.ConvertOptions(include_columns=cols, column_types=types)
        try:
            if path.stat().st_size <= _WHOLE_READ_BYTES:
                # small enough to hold: Arrow's multi-threaded reader, then tokenization gets
                # both cores instead of competing with the CSV parser
                table = pacsv.read_csv(
                    path,
                    read_options=read_options,
                    convert_options=convert_options,
                    memory_pool=pa.system_memory_pool(),
                )
                yield from table.to_batches()
                return
            yield from pacsv.open_csv(
                path,
                read_options=read_options,
                convert_options=convert_options,
                memory_pool=pa.system_memory_pool(),
            )
        except pa.ArrowInvalid as exc:
            raise _TypedReadFailed from exc
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidJourneysError(
            f"cannot read {str(path)!r}: {' '.join(str(exc).split())}"
        ) from exc


def _select_lists(
    values: np.ndarray, offsets: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.diff(offsets)
    new_values = values[np.repeat(keep, lengths)]
    new_offsets = np.concatenate([[0], np.cumsum(lengths[keep])]).astype(np.int64)
    return new_values, new_offsets


def _assemble(
    channels: tuple[str, ...],
    codes: np.ndarray,
    offsets: np.ndarray,
    inverse: np.ndarray,
    first: np.ndarray,
    *,
    conversions: np.ndarray,
    nulls: np.ndarray,
    value: np.ndarray,
    provenance: Provenance,
    timing: JourneyTiming | None = None,
) -> Journeys:
    """Build :class:`Journeys` from grouped sequences and drop channels that never occur."""
    if first.shape[0] == offsets.shape[0] - 1:  # every sequence is its own group, in order
        new_offsets = offsets.astype(np.int64, copy=False)
        touches = codes.astype(np.int32, copy=False)
    else:
        lengths = np.diff(offsets)[first]
        starts = offsets[first]
        new_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        gather = np.repeat(starts - new_offsets[:-1], lengths) + np.arange(new_offsets[-1])
        touches = codes[gather].astype(np.int32)
    used = np.zeros(len(channels), dtype=bool)
    used[touches] = True
    if not used.all():
        remap = np.cumsum(used) - 1
        touches = remap[touches].astype(np.int32)
        channels = tuple(c for c, u in zip(channels, used, strict=True) if u)
    return Journeys(
        channels=channels,
        offsets=new_offsets,
        touches=touches,
        conversions=conversions,
        nulls=nulls,
        value=value,
        timing=timing,
        provenance=provenance,
    )


def _require_conversions(journeys: Journeys, why: str) -> None:
    if journeys.total_conversions == 0:
        raise InvalidJourneysError(
            f"the dataset has no conversions ({why}): attribution needs converting journeys; "
            "check the conversion column"
        )
