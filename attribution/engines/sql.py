"""The one SQL definition of journey building, rendered for DuckDB and for Spark SQL.

The semantics are those of :meth:`attribution.journeys.Journeys.from_events` (the NumPy reference
in :mod:`attribution._events`). They are written here once, as a chain of named CTE steps over a
*typed event* relation with the columns

==========  ===================================================================================
``user_id``  the user key (any type, never NULL after validation)
``ts``       event time as BIGINT nanoseconds since the Unix epoch (UTC)
``rn``       the event's 0-based position in the input ("input order"), BIGINT, unique
``channel``  the trimmed channel name, NULL on a conversion-only row
``conv``     1 for a conversion row, else 0
``value``    the conversion value on conversion rows, 0 elsewhere
==========  ===================================================================================

Steps (:func:`journey_rows_sql` then :func:`path_aggregate_sql`; :func:`journey_paths_sql` is
both as one statement):

``numbered``
    ``journey = SUM(conv) OVER (PARTITION BY user_id ORDER BY ts, rn ROWS UNBOUNDED PRECEDING)
    - conv``: the number of conversions strictly before the event in the stable (time, input
    order) sort, i.e. the index of the journey the event belongs to. A conversion row belongs to
    the journey it closes; the events after a user's last conversion share one trailing index.
``journeys``
    One row per ``(user_id, journey)``: ``end_ts = MAX(ts)`` (the conversion time of a converting
    journey, the last touch of a trailing one), ``converted = MAX(conv)`` (a journey holds at most
    one conversion, its last event), ``value = SUM(value)`` and the touches as an array of
    ``(ts, rn, channel)`` structs sorted explicitly with ``array_sort`` (structs compare field by
    field, and ``rn`` is unique, so the order is total and deterministic in both engines; neither
    engine's plain list aggregate guarantees order).
``cut``
    The lookback window keeps touches with ``end_ts - ts <= lookback`` (boundary kept) and the cap
    keeps the last ``max_touches`` touches of the sorted array.
path aggregate
    Journeys grouped by their path string (channels joined with ``" > "``): conversions, nulls and
    value per unique path. Journeys left without touches fall into the group whose path is NULL:
    its conversions and value are the dropped conversions and dropped value. The same pass sums
    the provenance counters (events, users = journeys with index 0, first and last timestamp).

Only four small things differ between the engines, and they are the :class:`Dialect` methods:
the struct constructor, lambda syntax, the array map/join functions and array slicing (plus
identifier and string-literal quoting). Everything else is the same text.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DUCKDB",
    "PATH_JOIN",
    "SPARK",
    "Dialect",
    "journey_paths_sql",
    "journey_rows_sql",
    "path_aggregate_sql",
    "validation_sql",
]

PATH_JOIN = " > "
"""Separator between channel names in the path strings the engines return."""

# whitespace trimmed from channel names: exactly the characters Python's ``str.strip`` removes
_TRIM_CHARS = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())


@dataclass(frozen=True)
class Dialect:
    """The few spellings that differ between DuckDB and Spark SQL."""

    name: str

    @property
    def is_spark(self) -> bool:
        """Whether this is the Spark SQL dialect."""
        return self.name == "spark"

    def ident(self, name: str) -> str:
        """Quote an identifier."""
        if self.is_spark:
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def literal(self, text: str) -> str:
        """Quote a string literal (Spark SQL reads backslash escapes, DuckDB does not)."""
        if self.is_spark:
            escaped = text.replace("\\", "\\\\").replace("'", "\\'")
            escaped = escaped.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
            return "'" + escaped + "'"
        return "'" + text.replace("'", "''") + "'"

    def struct(self, *fields: str) -> str:
        """Return a struct of the named columns, fields in the given order."""
        if self.is_spark:
            return "named_struct(" + ", ".join(f"'{f}', {f}" for f in fields) + ")"
        return "struct_pack(" + ", ".join(f"{f} := {f}" for f in fields) + ")"

    def lam(self, var: str, body: str) -> str:
        """Return a one-argument lambda."""
        return f"{var} -> {body}" if self.is_spark else f"lambda {var}: {body}"

    def array_map(self, array: str, var: str, body: str) -> str:
        """Apply ``body`` to every element."""
        fn = "transform" if self.is_spark else "list_transform"
        return f"{fn}({array}, {self.lam(var, body)})"

    def array_filter(self, array: str, var: str, body: str) -> str:
        """Keep the elements for which ``body`` is true."""
        return f"filter({array}, {self.lam(var, body)})"

    def array_join(self, array: str, sep: str) -> str:
        """Join an array of strings."""
        fn = "array_join" if self.is_spark else "array_to_string"
        return f"{fn}({array}, {self.literal(sep)})"

    def array_last(self, array: str, n: int) -> str:
        """Return the last ``n`` elements (all of them when the array is shorter)."""
        size = f"CAST(cardinality({array}) AS BIGINT)"
        start = f"greatest({size} - {int(n)} + 1, 1)"
        if self.is_spark:
            return f"slice({array}, {start}, {int(n)})"
        return f"list_slice({array}, {start}, {size})"

    def trim(self, expr: str) -> str:
        """Trim whitespace (as Python's ``str.strip``) from both ends."""
        if self.is_spark:
            return f"trim(BOTH {self.literal(_TRIM_CHARS)} FROM {expr})"
        return f"trim({expr}, {self.literal(_TRIM_CHARS)})"

    def contains(self, expr: str, needle: str) -> str:
        """Whether ``expr`` contains the literal ``needle``."""
        return f"contains({expr}, {self.literal(needle)})"


DUCKDB = Dialect("duckdb")
SPARK = Dialect("spark")


def journey_rows_sql(
    dialect: Dialect,
    events: str,
    *,
    lookback_ns: int | None,
    max_touches: int | None,
    join: str = PATH_JOIN,
) -> str:
    """Return the query from typed events to one row per journey (the first three steps).

    Output columns: ``user_id``, ``journey`` (index within the user), ``path`` (NULL when the
    journey has no touch left), ``converted``, ``value``, ``n_events``, ``start_ts``, ``end_ts``
    and ``touch_ts`` (the kept touches' times, in path order).
    """
    touch = dialect.struct("ts", "rn", "channel")
    kept = "touches"
    if lookback_ns is not None:
        kept = dialect.array_filter(kept, "x", f"end_ts - x.ts <= {int(lookback_ns)}")
    if max_touches is not None:
        kept = dialect.array_last(f"({kept})", max_touches)
    channels = dialect.array_map("kept", "x", "x.channel")
    touch_ts = dialect.array_map("kept", "x", "x.ts")
    path = dialect.array_join("channels", join)
    return f"""
WITH numbered AS (
    SELECT user_id, ts, rn, channel, conv, value,
           SUM(conv) OVER (
               PARTITION BY user_id ORDER BY ts, rn
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
           ) - conv AS journey
    FROM {events}
),
journeys AS (
    SELECT user_id, journey,
           MIN(ts) AS start_ts,
           MAX(ts) AS end_ts,
           MAX(conv) AS converted,
           SUM(value) AS value,
           COUNT(*) AS n_events,
           array_sort(array_agg({touch}) FILTER (WHERE channel IS NOT NULL)) AS touches
    FROM numbered
    GROUP BY user_id, journey
),
cut AS (
    SELECT user_id, journey, start_ts, end_ts, converted, value, n_events,
           coalesce(cardinality(kept), 0) AS n_touches,
           {channels} AS channels,
           {touch_ts} AS touch_ts
    FROM (SELECT *, {kept} AS kept FROM journeys) AS windowed
)
SELECT user_id, journey, CASE WHEN n_touches > 0 THEN {path} END AS path,
       converted, value, n_events, start_ts, end_ts, touch_ts
FROM cut
"""  # noqa: S608


def path_aggregate_sql(journey_rows: str) -> str:
    """Return the last step: journeys (a relation or subquery) grouped into unique paths.

    Output columns: ``path`` (NULL for the group of journeys left without touches),
    ``total_conversions``, ``total_null``, ``total_conversion_value``, ``n_rows`` (events),
    ``n_users``, ``n_journeys``, ``start_ts``, ``end_ts``. The text is the same in both dialects.
    """
    return f"""
SELECT path,
       SUM(converted) AS total_conversions,
       SUM(1 - converted) AS total_null,
       SUM(value) AS total_conversion_value,
       SUM(n_events) AS n_rows,
       SUM(CASE WHEN journey = 0 THEN 1 ELSE 0 END) AS n_users,
       COUNT(*) AS n_journeys,
       MIN(start_ts) AS start_ts,
       MAX(end_ts) AS end_ts
FROM {journey_rows} AS journeys
GROUP BY path
"""  # noqa: S608


def journey_paths_sql(
    dialect: Dialect,
    events: str,
    *,
    lookback_ns: int | None,
    max_touches: int | None,
    join: str = PATH_JOIN,
) -> str:
    """Return the whole query from typed events to unique paths (see :func:`path_aggregate_sql`).

    It is :func:`journey_rows_sql` followed by :func:`path_aggregate_sql`, as one statement.
    """
    rows = journey_rows_sql(
        dialect, events, lookback_ns=lookback_ns, max_touches=max_touches, join=join
    )
    return path_aggregate_sql(f"({rows})")


def validation_sql(
    dialect: Dialect, typed: str, *, separator: str, collect_channels: bool = False
) -> str:
    """Return a one-row query of input checks over the typed relation.

    ``typed`` must have the typed-event columns plus ``ts_missing`` (the raw time was NULL),
    ``conv_raw_missing``, ``value_num`` (NULL when not numeric), ``value_missing`` (the raw value
    was NULL) and ``channel`` (trimmed, NULL when missing). Each ``bad_*`` column is the first
    offending ``rn`` (NULL when the check passes); ``n`` counts rows, ``n_conversions``
    conversion rows and ``n_unordered`` rows whose input position is unknown (always 0 unless a
    file could not be mapped to its place in the input list). With ``collect_channels`` a
    ``channels`` column lists the distinct channel names (DuckDB uses it to encode channels as an
    ``ENUM``, which makes the later sort and aggregation fixed-width).
    """
    sep = dialect.contains("channel", separator)
    channels = (
        ",\n       array_agg(DISTINCT channel) FILTER (WHERE channel IS NOT NULL) AS channels"
        if collect_channels
        else ""
    )
    return f"""
SELECT COUNT(*) AS n,
       SUM(CASE WHEN conv = 1 THEN 1 ELSE 0 END) AS n_conversions,
       MIN(CASE WHEN user_id IS NULL THEN rn END) AS bad_user,
       MIN(CASE WHEN ts_missing THEN rn END) AS bad_ts_missing,
       MIN(CASE WHEN ts IS NULL AND NOT ts_missing THEN rn END) AS bad_ts,
       MIN(CASE WHEN conv IS NULL THEN rn END) AS bad_conv,
       MIN(CASE WHEN value_num IS NULL AND NOT value_missing THEN rn END) AS bad_value_type,
       MIN(CASE WHEN conv = 1 AND value_missing THEN rn END) AS bad_value_missing,
       MIN(CASE WHEN conv = 1
                 AND NOT (value_num >= 0 AND value_num < CAST('Infinity' AS DOUBLE))
                THEN rn END) AS bad_value_range,
       MIN(CASE WHEN (channel IS NULL AND conv = 0) OR channel = '' THEN rn END) AS bad_channel,
       MIN(CASE WHEN {sep} THEN rn END) AS bad_separator,
       SUM(CASE WHEN rn IS NULL THEN 1 ELSE 0 END) AS n_unordered{channels}
FROM {typed}
"""  # noqa: S608
