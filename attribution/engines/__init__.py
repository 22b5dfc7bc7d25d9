"""Scale engines: event logs to :class:`~attribution.journeys.Journeys` in DuckDB or Spark.

The heavy step of attribution (event log to journeys to unique paths) runs in a SQL engine; the
math after aggregation works on the small unique-path table. Both engines run the one SQL
definition in :mod:`attribution.engines.sql` and give the same :class:`Journeys` as the
in-memory reference :meth:`Journeys.from_events` (``engine="pandas"``), apart from
``provenance.source`` and :attr:`Journeys.timing` (per-journey timestamps), which DuckDB returns
only with ``keep_timing=True`` and Spark does not return.

* ``"duckdb"`` (default): in-process, out of core with ``memory_limit`` and ``temp_directory``;
* ``"spark"``: Apache Spark (``pip install 'pathlift[spark]'``), local or on a cluster;
* ``"pandas"``: the NumPy reference, for frames that fit in memory.

Examples
--------
>>> from attribution.engines import journeys_from_events
>>> journeys = journeys_from_events("events/*.parquet", engine="duckdb", lookback="30d")
... # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal

import pandas as pd
import pyarrow as pa

from attribution.engines._common import DEFAULT
from attribution.errors import InvalidJourneysError
from attribution.journeys import Journeys

__all__ = ["ENGINES", "journeys_from_events"]

ENGINES = ("duckdb", "spark", "pandas")
"""Engine names accepted by :func:`journeys_from_events` (and ``--engine`` on the CLI)."""


def journeys_from_events(
    data: pd.DataFrame | pa.Table | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    engine: Literal["duckdb", "spark", "pandas"] = "duckdb",
    user_col: str = "user_id",
    time_col: str = "timestamp",
    channel_col: str = "channel",
    conversion_col: str = "conversion",
    value_col: Any = DEFAULT,
    lookback: str | pd.Timedelta | None = None,
    max_touches: int | None = None,
    separator: str = ">",
    **engine_options: Any,
) -> Journeys:
    """Cut an event log into journeys with the chosen engine.

    Parameters
    ----------
    data
        A DataFrame, an Arrow table, a CSV/Parquet file, a directory, a glob or a list of files
        (a Spark DataFrame too for ``engine="spark"``). Files are read in path order; see
        ``docs/scale.md`` for what *input order* means for ties.
    engine
        ``"duckdb"``, ``"spark"`` or ``"pandas"`` (the in-memory reference).
    user_col, time_col, channel_col, conversion_col, value_col, lookback, max_touches, separator
        As in :meth:`Journeys.from_events`.
    **engine_options
        DuckDB: ``memory_limit``, ``temp_directory``, ``threads``, ``connection``,
        ``keep_timing``. Spark: ``spark`` (a ``SparkSession``; default: a local session),
        ``order_col``.

    Returns
    -------
    Journeys
        The same unique paths, counts and values for every engine.

    Raises
    ------
    InvalidJourneysError
        Bad input (see :meth:`Journeys.from_events`), an unknown engine or engine option, or
        PySpark missing for ``engine="spark"``.
    """
    common: dict[str, Any] = {
        "user_col": user_col,
        "time_col": time_col,
        "channel_col": channel_col,
        "conversion_col": conversion_col,
        "value_col": value_col,
        "lookback": lookback,
        "max_touches": max_touches,
        "separator": separator,
    }
    allowed = {
        "duckdb": {"memory_limit", "temp_directory", "threads", "connection", "keep_timing"},
        "spark": {"spark", "order_col"},
        "pandas": set(),
    }
    if engine not in allowed:
        raise InvalidJourneysError(
            f"unknown engine {engine!r}: choose one of {', '.join(map(repr, ENGINES))}"
        )
    unknown = sorted(set(engine_options) - allowed[engine])
    if unknown:
        raise InvalidJourneysError(
            f"option(s) {', '.join(unknown)} do not apply to engine {engine!r}; it accepts "
            f"{', '.join(sorted(allowed[engine])) or 'no extra options'}"
        )
    if engine == "duckdb":
        from attribution.engines.duckdb import journeys_from_events_duckdb

        return journeys_from_events_duckdb(data, **common, **engine_options)
    if engine == "spark":
        from attribution.engines.spark import journeys_from_events_spark

        return journeys_from_events_spark(data, **common, **engine_options)
    if not isinstance(data, pd.DataFrame | str | os.PathLike):
        if isinstance(data, pa.Table):
            data = data.to_pandas()
        else:
            raise InvalidJourneysError(
                "engine 'pandas' reads one DataFrame or one file: use engine='duckdb' for "
                "directories, globs and lists of files"
            )
    if value_col is DEFAULT:
        common.pop("value_col")
    return Journeys.from_events(data, **common)
