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

import dataclasses
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from attribution._io import read_frame
from attribution._lazy import preload
from attribution._memory import release_memory
from attribution._path_table import read_path_table
from attribution._validation import require_columns, shown
from attribution.errors import InvalidCovariatesError, InvalidJourneysError

if TYPE_CHECKING:
    # pandas, the event-log cutter and the covariates are imported where they are used, so
    # that a path table read from a file never imports pandas
    import pandas as pd

    from attribution._events import CutJourneys
    from attribution.covariates import UserCovariates

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
            if out[key] is not None:
                import pandas as pd

                out[key] = pd.Timestamp(out[key]).isoformat()
        return out


@dataclass(frozen=True, eq=False)
class JourneyTiming:
    """Per-journey records (timestamps, users), kept when journeys are cut from an event log.

    Unique paths aggregate many journeys; models that need time (time decay, recency features)
    or users (the ``causal`` model) read this table of individual journeys instead.

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
    user
        ``(n_journeys,)`` user key of each journey (as in the event log), or ``None`` when the
        engine did not return it.
    untouched_user, untouched_value
        User key and conversion value of every converting journey left without a touch (they
        are not among the paths; see :attr:`Provenance.dropped_conversions`), or ``None``.
    """

    path_index: np.ndarray
    touch_offsets: np.ndarray
    touch_time: np.ndarray
    end_time: np.ndarray
    converted: np.ndarray
    value: np.ndarray
    user: np.ndarray | None = None
    untouched_user: np.ndarray | None = None
    untouched_value: np.ndarray | None = None

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
    users
        Pre-exposure covariates of the users (:meth:`with_users`), else ``None``.

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
    users: UserCovariates | None = None

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
        import pandas as pd

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

    def with_users(
        self,
        users: UserCovariates | pd.DataFrame | str | os.PathLike[str],
        *,
        user_col: str | None = None,
        covariate_cols: Sequence[str] | None = None,
    ) -> Journeys:
        """Return these journeys with the users' pre-exposure covariates attached.

        Parameters
        ----------
        users
            A :class:`~attribution.covariates.UserCovariates`, or a user table (DataFrame, CSV or
            Parquet file) to validate with :meth:`UserCovariates.from_frame
            <attribution.covariates.UserCovariates.from_frame>`.
        user_col
            Key column of the user table (default ``"user_id"``); only for a table.
        covariate_cols
            Covariate columns of the table (default: all but the key); only for a table.

        Every user of the event log must have a row; users of the table without any event are
        users no channel reached (the ``causal`` model counts them as untouched, non-converting
        journeys).

        Raises
        ------
        InvalidCovariatesError
            The journeys were not cut from an event log with their users (a path table has no
            users), the table is invalid, or users of the event log have no row in it.
        """
        if self.timing is None or self.timing.user is None:
            source = (
                "a path table carries"
                if self.provenance.source == "paths"
                else "these journeys carry"
            )
            raise InvalidCovariatesError(
                f"{source} no user ids, so user covariates cannot be attached: cut the "
                "journeys from an event log (Journeys.from_events, or engine 'pandas' or "
                "'duckdb' with keep_timing=True)"
            )
        from attribution.covariates import UserCovariates

        if not isinstance(users, UserCovariates):
            users = UserCovariates.from_frame(
                users, user_col=user_col or "user_id", covariate_cols=covariate_cols
            )
        elif user_col is not None or covariate_cols is not None:
            raise InvalidCovariatesError(
                "user_col and covariate_cols apply to a user table, not to UserCovariates"
            )
        for label, keys in (
            ("journeys", self.timing.user),
            ("conversions without touches", self.timing.untouched_user),
        ):
            if keys is None or keys.size == 0:
                continue
            missing = users.positions(keys) < 0
            if missing.any():
                import pandas as pd

                unknown = pd.unique(keys[missing])
                raise InvalidCovariatesError(
                    f"{len(unknown):,} user(s) of the event log ({label}) have no row in the user "
                    f"table, e.g. {shown(unknown[0])!r}; add them to the user table (with the "
                    f"same {users.user_col!r} values) or drop their events"
                )
        return dataclasses.replace(self, users=users)

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

        # numba's kernels load on another thread while Arrow reads the file
        preload("attribution._kernels")
        table = read_path_table(data, required=required, value_name=value_name, separator=separator)
        from attribution._kernels import unique_sequences

        codes, token_offsets = table.codes, table.offsets
        conversions, nulls, value = table.conversions, table.nulls, table.value
        inverse, first = unique_sequences(codes, token_offsets)
        n_unique = first.shape[0]
        journeys = _assemble(
            table.channels,
            codes,
            token_offsets,
            inverse,
            first,
            conversions=np.bincount(inverse, conversions, n_unique).astype(np.int64),
            nulls=np.bincount(inverse, nulls, n_unique).astype(np.int64),
            value=np.bincount(inverse, value, n_unique),
            provenance=Provenance(
                source="paths",
                n_rows=table.n_rows,
                n_journeys=int(conversions.sum() + nulls.sum()),
            ),
        )
        _require_conversions(journeys, f"column {conversions_col!r} sums to zero")
        release_memory()
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
        from attribution._events import cut_journeys

        frame = read_frame(data, error=InvalidJourneysError)
        value_name = "value" if value_col is _DEFAULT else value_col
        required = {
            "user_col": user_col,
            "time_col": time_col,
            "channel_col": channel_col,
            "conversion_col": conversion_col,
        }
        if value_col is not _DEFAULT and value_col is not None:
            required["value_col"] = value_col
        require_columns(frame.columns, required, error=InvalidJourneysError, cli=True)
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
        cut = cut_journeys(
            frame,
            user_col=user_col,
            time_col=time_col,
            channel_col=channel_col,
            conversion_col=conversion_col,
            value_col=value_name if value_name in frame.columns else None,
            lookback=lookback_td,
            max_touches=max_touches,
            separator=separator,
        )
        return _group_journeys(
            cut, lookback=None if lookback is None else str(lookback), max_touches=max_touches
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
        import pandas as pd

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
    import pandas as pd

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
# Assembly shared by the builders
# --------------------------------------------------------------------------------------------


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


def _group_journeys(cut: CutJourneys, *, lookback: str | None, max_touches: int | None) -> Journeys:
    """Group individual journeys into unique paths (step 7 of :meth:`Journeys.from_events`)."""
    from attribution._kernels import unique_sequences

    inverse, first = unique_sequences(cut.codes, cut.offsets)
    n_unique = first.shape[0]
    timing = JourneyTiming(
        path_index=inverse,
        touch_offsets=cut.offsets,
        touch_time=cut.touch_time,
        end_time=cut.end_time,
        converted=cut.converted,
        value=cut.value,
        user=cut.user,
        untouched_user=cut.untouched_user,
        untouched_value=cut.untouched_value,
    )
    provenance = Provenance(
        source="events",
        n_rows=cut.n_events,
        n_users=cut.n_users,
        n_journeys=cut.n_journeys,
        start=cut.start,
        end=cut.end,
        lookback=lookback,
        max_touches=max_touches,
        dropped_conversions=cut.dropped_conversions,
        dropped_value=cut.dropped_value,
    )
    journeys = _assemble(
        cut.channels,
        cut.codes.astype(np.int32),
        cut.offsets,
        inverse,
        first,
        conversions=np.bincount(inverse, cut.converted, n_unique).astype(np.int64),
        nulls=np.bincount(inverse, ~cut.converted, n_unique).astype(np.int64),
        value=np.bincount(inverse, cut.value, n_unique),
        provenance=provenance,
        timing=timing,
    )
    _require_conversions(journeys, "every conversion lost its touches to the lookback window")
    return journeys


def _require_conversions(journeys: Journeys, why: str) -> None:
    if journeys.total_conversions == 0:
        raise InvalidJourneysError(
            f"the dataset has no conversions ({why}): attribution needs converting journeys; "
            "check the conversion column"
        )
