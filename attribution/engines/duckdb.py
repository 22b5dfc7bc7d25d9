"""DuckDB engine: event logs (DataFrames, CSV, Parquet files, directories, globs) to journeys.

DuckDB runs in-process and out of core: with ``memory_limit`` set, sorts, windows and
aggregations spill to ``temp_directory``, so event logs larger than memory can be processed.
The query is :func:`attribution.engines.sql.journey_paths_sql`; only the unique-path table
(one row per distinct path) comes back to Python.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from attribution import _io
from attribution.engines import _common
from attribution.engines._common import DEFAULT, EventOptions, InputFiles
from attribution.engines.sql import (
    DUCKDB,
    journey_paths_sql,
    journey_rows_sql,
    path_aggregate_sql,
    validation_sql,
)
from attribution.errors import InvalidJourneysError
from attribution.journeys import Journeys

__all__ = ["journeys_from_events_duckdb"]

logger = logging.getLogger(__name__)

_SOURCE = "__pathlift_events"
_JOURNEYS = "__pathlift_journeys"
_CHANNELS = "__pathlift_channels"
_CHANNEL_TYPE = "__pathlift_channel"
_INTEGER_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}
_FLOAT_TYPES = {"FLOAT", "DOUBLE"}


def _is_numeric(dtype: str) -> bool:
    return dtype in _INTEGER_TYPES or dtype in _FLOAT_TYPES or dtype.startswith("DECIMAL")


def _time_expr(col: str, dtype: str) -> str:
    """Event time as BIGINT nanoseconds since the epoch (UTC); NULL when unparseable."""
    if dtype.startswith("TIMESTAMP"):
        return f"epoch_ns({col})"
    if dtype == "DATE":
        return f"epoch_ns(CAST({col} AS TIMESTAMP))"
    if dtype in _INTEGER_TYPES:
        return f"try_cast({col} AS BIGINT) * 1000000000"
    if _is_numeric(dtype):  # Unix seconds with a fraction
        whole = f"trunc(CAST({col} AS DOUBLE))"
        return (
            f"try_cast({whole} AS BIGINT) * 1000000000 "
            f"+ try_cast(round((CAST({col} AS DOUBLE) - {whole}) * 1e9) AS BIGINT)"
        )
    if dtype == "VARCHAR":
        return f"epoch_ns(try_cast({col} AS TIMESTAMPTZ))"
    return "CAST(NULL AS BIGINT)"


def _conversion_expr(col: str, dtype: str) -> str:
    if dtype == "BOOLEAN":
        return f"CAST({col} AS INTEGER)"
    number = col if _is_numeric(dtype) else f"try_cast({col} AS DOUBLE)"
    return f"CASE WHEN {number} = 1 THEN 1 WHEN {number} = 0 THEN 0 END"


def _value_expr(col: str | None, dtype: str | None) -> str:
    if col is None or dtype is None:
        return "CAST(0.0 AS DOUBLE)"
    if _is_numeric(dtype) or dtype == "BOOLEAN":
        return f"CAST({col} AS DOUBLE)"
    if dtype == "VARCHAR":
        return f"try_cast(trim({col}) AS DOUBLE)"
    return "CAST(NULL AS DOUBLE)"


def typed_events_sql(
    raw: str, schema: dict[str, str], opts: EventOptions, value_name: str | None
) -> str:
    """Project the raw relation (with an ``rn`` column) onto the typed-event columns."""
    q = DUCKDB.ident
    user, time, channel, conv = (
        q(opts.user_col),
        q(opts.time_col),
        q(opts.channel_col),
        q(opts.conversion_col),
    )
    value = q(value_name) if value_name else None
    value_dtype = schema[value_name] if value_name else None
    return f"""
SELECT {user} AS user_id,
       {_time_expr(time, schema[opts.time_col])} AS ts,
       {time} IS NULL AS ts_missing,
       rn,
       {DUCKDB.trim(f"CAST({channel} AS VARCHAR)")} AS channel,
       {_conversion_expr(conv, schema[opts.conversion_col])} AS conv,
       {_value_expr(value, value_dtype)} AS value_num,
       {"false" if value is None else f"{value} IS NULL"} AS value_missing
FROM {raw}
"""  # noqa: S608


def _raw_source(con: duckdb.DuckDBPyConnection, data: Any) -> tuple[str, InputFiles | None]:
    """Register or describe the input; return a relation with an ``rn`` column."""
    if isinstance(data, pd.DataFrame | pa.Table):
        con.register(_SOURCE, data)
        return f"(SELECT *, row_number() OVER () - 1 AS rn FROM {_SOURCE})", None  # noqa: S608
    files = _common.resolve_files(data)
    listing = "[" + ", ".join(DUCKDB.literal(f) for f in files.files) + "]"
    if files.kind == "parquet":
        bases = _common.parquet_row_bases(files.files)
        base_list = "[" + ", ".join(f"{b}::BIGINT" for b in bases) + "]"
        return (
            f"(SELECT * EXCLUDE (file_row_number), "  # noqa: S608
            f"{base_list}[CAST(file_index AS BIGINT) + 1] + file_row_number AS rn "
            f"FROM read_parquet({listing}, file_row_number = true))",
            files,
        )
    delim = DUCKDB.literal(_io.csv_delimiter(files.files[0]))
    return (
        f"(SELECT *, row_number() OVER () - 1 AS rn "  # noqa: S608
        f"FROM read_csv({listing}, header = true, delim = {delim}))",
        files,
    )


def _configure(
    con: duckdb.DuckDBPyConnection,
    memory_limit: str | None,
    temp_directory: str | os.PathLike[str] | None,
    threads: int | None,
) -> None:
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    settings: list[tuple[str, str]] = []
    if memory_limit is not None:
        settings.append(("memory_limit", DUCKDB.literal(str(memory_limit))))
    if temp_directory is not None:
        settings.append(("temp_directory", DUCKDB.literal(os.fspath(temp_directory))))
    if threads is not None:
        settings.append(("threads", str(int(threads))))
    for name, literal in settings:
        try:
            con.execute(f"SET {name} = {literal}")
        except duckdb.Error as exc:
            raise InvalidJourneysError(
                f"invalid DuckDB {name} {literal}: {_duckdb_message(exc)}; give e.g. "
                "memory_limit='3GB', a temp_directory path, threads=4"
            ) from exc


def check_settings(
    *,
    memory_limit: str | None = None,
    temp_directory: str | os.PathLike[str] | None = None,
    threads: int | None = None,
) -> None:
    """Apply the engine settings to a throwaway connection: a bad value fails before any work.

    Raises
    ------
    InvalidJourneysError
        DuckDB refuses a setting (e.g. ``memory_limit="lots"``); the message names it.
    """
    con = duckdb.connect()
    try:
        _configure(con, memory_limit, temp_directory, threads)
    finally:
        con.close()


def _duckdb_message(exc: Exception) -> str:
    return " ".join(str(exc).split())[:500]


def journeys_from_events_duckdb(
    data: pd.DataFrame | pa.Table | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    user_col: str = "user_id",
    time_col: str = "timestamp",
    channel_col: str = "channel",
    conversion_col: str = "conversion",
    value_col: Any = DEFAULT,
    lookback: str | pd.Timedelta | None = None,
    max_touches: int | None = None,
    separator: str = ">",
    memory_limit: str | None = None,
    temp_directory: str | os.PathLike[str] | None = None,
    threads: int | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
    keep_timing: bool = False,
) -> Journeys:
    """Cut an event log into journeys with DuckDB; same result as :meth:`Journeys.from_events`.

    Parameters
    ----------
    data
        A pandas DataFrame or Arrow table, or a CSV/Parquet file, a directory of them, a glob
        (``"events/**/*.parquet"``) or a list of those. *Input order*, which breaks timestamp
        ties, is the row order of a frame, or for files the files sorted by full path and then
        the rows of each file (see :func:`attribution.engines._common.resolve_files`).
    user_col, time_col, channel_col, conversion_col, value_col, lookback, max_touches, separator
        As in :meth:`Journeys.from_events`. String timestamps must be ISO 8601 (an offset such as
        ``+02:00`` is converted to UTC; naive strings are UTC); numbers are Unix seconds.
    memory_limit
        DuckDB ``memory_limit`` such as ``"2GB"``; above it DuckDB spills to ``temp_directory``.
    temp_directory
        Where DuckDB spills (default: DuckDB's own, ``.tmp`` next to a database or in the
        working directory).
    threads
        DuckDB worker threads (default: all cores).
    connection
        An existing DuckDB connection to run on (settings above are applied to it).
    keep_timing
        Also return per-journey timestamps (:attr:`Journeys.timing`, as the reference does), for
        models that use time. The journey table (one row per journey) is materialised in DuckDB
        and fetched; journeys are ordered by user id, then time.

    Returns
    -------
    Journeys
        With ``provenance.source == "duckdb"``; ``timing`` is ``None`` unless ``keep_timing``.

    Raises
    ------
    InvalidJourneysError
        The same checks as :meth:`Journeys.from_events`, each naming the column, the first
        offending row (0-based, in input order) and the fix; unreadable files and DuckDB read
        errors are reported the same way.
    """
    opts = _common.resolve_options(
        user_col=user_col,
        time_col=time_col,
        channel_col=channel_col,
        conversion_col=conversion_col,
        value_col=value_col,
        lookback=lookback,
        max_touches=max_touches,
        separator=separator,
    )
    own = connection is None
    con = duckdb.connect() if connection is None else connection
    try:
        _configure(con, memory_limit, temp_directory, threads)
        return _run(con, data, opts, keep_timing=keep_timing)
    finally:
        if own:
            con.close()
        else:  # leave the caller's connection as it was
            for statement in (
                f"DROP TABLE IF EXISTS {_JOURNEYS}",
                f"DROP TYPE IF EXISTS {_CHANNEL_TYPE}",
                f"DROP VIEW IF EXISTS {_SOURCE}",
                f"DROP VIEW IF EXISTS {_CHANNELS}",
            ):
                try:
                    con.execute(statement)
                except duckdb.Error:  # already gone or never created
                    logger.debug("cleanup statement failed: %s", statement)


def _run(
    con: duckdb.DuckDBPyConnection, data: Any, opts: EventOptions, *, keep_timing: bool
) -> Journeys:
    try:
        raw, files = _raw_source(con, data)
        described = con.execute(f"DESCRIBE SELECT * FROM {raw}").fetchall()  # noqa: S608
    except duckdb.Error as exc:
        if isinstance(data, str | os.PathLike):
            where = repr(os.fspath(data))
        elif isinstance(data, pd.DataFrame | pa.Table):
            where = "the event frame"
        else:
            where = "the input files"
        raise InvalidJourneysError(f"cannot read {where}: {_duckdb_message(exc)}") from exc
    schema = {str(row[0]): str(row[1]) for row in described}
    columns = [c for c in schema if c != "rn"]
    _common.require_columns(columns, opts.required())
    value_name = opts.value_name(columns)
    typed = f"({typed_events_sql(raw, schema, opts, value_name)})"
    try:
        cursor = con.execute(
            validation_sql(DUCKDB, typed, separator=opts.separator, collect_channels=True)
        )
        names = [d[0] for d in cursor.description]
        checks = dict(zip(names, cursor.fetchall()[0], strict=True))
    except duckdb.Error as exc:
        raise InvalidJourneysError(f"cannot read the event log: {_duckdb_message(exc)}") from exc

    def cell(column: str, row: int) -> Any:
        found = con.execute(
            f"SELECT {DUCKDB.ident(column)} FROM {raw} WHERE rn = {int(row)}"  # noqa: S608
        ).fetchall()
        return found[0][0] if found else None

    _common.raise_for_checks(checks, opts, value_name, cell)
    # channels as an ENUM: fixed-width codes make the window sort and the list aggregation
    # cheaper than strings; paths are rendered back to names
    names = sorted(checks["channels"] or [])
    con.register(_CHANNELS, pa.table({"name": pa.array(names, type=pa.string())}))
    con.execute(
        f"CREATE OR REPLACE TYPE {_CHANNEL_TYPE} AS ENUM (SELECT name FROM {_CHANNELS})"  # noqa: S608
    )
    events = f"""(
    SELECT user_id, ts, rn, CAST(channel AS {_CHANNEL_TYPE}) AS channel, conv,
           CASE WHEN conv = 1 THEN value_num ELSE 0.0 END AS value
    FROM {typed}
)"""  # noqa: S608
    join = _common.path_join(opts.separator)
    shape: dict[str, Any] = {
        "lookback_ns": opts.lookback_ns,
        "max_touches": opts.max_touches,
        "join": join,
    }
    rows: pa.Table | None = None
    untouched: pa.Table | None = None
    try:
        if keep_timing:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {_JOURNEYS} AS "
                + journey_rows_sql(DUCKDB, events, **shape)
            )
            table = con.sql(path_aggregate_sql(_JOURNEYS)).to_arrow_table()
            rows = con.sql(
                f"SELECT user_id, path, end_ts, converted, value, touch_ts "  # noqa: S608
                f"FROM {_JOURNEYS} WHERE path IS NOT NULL ORDER BY user_id, journey"
            ).to_arrow_table()
            untouched = con.sql(
                f"SELECT user_id, value FROM {_JOURNEYS} "  # noqa: S608
                "WHERE path IS NULL AND converted = 1 ORDER BY user_id, journey"
            ).to_arrow_table()
            con.execute(f"DROP TABLE {_JOURNEYS}")
        else:
            table = con.sql(journey_paths_sql(DUCKDB, events, **shape)).to_arrow_table()
    except duckdb.OutOfMemoryException as exc:
        raise InvalidJourneysError(
            f"DuckDB ran out of memory: {_duckdb_message(exc)}; raise memory_limit or set "
            "temp_directory to a disk with free space"
        ) from exc
    except duckdb.Error as exc:
        raise InvalidJourneysError(f"cannot read the event log: {_duckdb_message(exc)}") from exc
    if files is not None:
        logger.info("read %d %s file(s) with DuckDB", len(files.files), files.kind)
    journeys = _common.finish_journeys(table, opts, "duckdb")
    if rows is not None:
        timing = _common.timing_from_rows(rows, journeys, join, untouched=untouched)
        journeys = dataclasses.replace(journeys, timing=timing)
    return journeys
