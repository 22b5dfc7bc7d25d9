"""Spark engine: the journey SQL of :mod:`attribution.engines.sql` on Apache Spark.

Requires the optional extra ``pathlift[spark]`` (PySpark and Java 17). Only the unique-path table
is collected to the driver; the event log stays distributed. See ``docs/scale.md`` for what is
shuffled and how the job scales on a cluster.

Input order (which breaks timestamp ties):

* pandas DataFrame or Arrow table: row order;
* Parquet files, directories and globs: files sorted by full path, then row order within each
  file (Spark's ``_metadata.row_index``), i.e. one global row number as in DuckDB;
* CSV files: files sorted by path, then Spark's read order within each file (ordered byte
  ranges of the file);
* a Spark DataFrame: the column named by ``order_col`` if given, else partition order
  (``monotonically_increasing_id``).

Spark timestamps have microsecond precision; naive timestamps are read in the session time zone
(``spark.sql.session.timeZone``, UTC in :func:`local_spark_session`). Parquet files written with
nanosecond timestamps are read as integer nanoseconds.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from attribution import _io
from attribution._validation import first_true
from attribution.engines import _common
from attribution.engines._common import DEFAULT, EventOptions, InputFiles
from attribution.engines.sql import SPARK, journey_paths_sql, validation_sql
from attribution.errors import InvalidJourneysError
from attribution.journeys import Journeys

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import SparkSession

__all__ = [
    "QUIET_LOG4J2",
    "journeys_from_events_spark",
    "local_spark_session",
    "quiet_pandas_version_warning",
    "require_pyspark",
]

logger = logging.getLogger(__name__)

_counter = itertools.count()
_INTEGRAL = ("ByteType", "ShortType", "IntegerType", "LongType")
_FRACTIONAL = ("FloatType", "DoubleType", "DecimalType")


@contextlib.contextmanager
def quiet_pandas_version_warning() -> Iterator[None]:
    """Silence PySpark's warning that it does not fully support pandas 3.

    The engines hand Spark Arrow tables, not pandas frames, so the warning does not apply.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
        )
        yield


def require_pyspark() -> None:
    """Raise :class:`InvalidJourneysError` with the install hint when PySpark is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise InvalidJourneysError(
            "engine 'spark' needs PySpark: pip install 'pathlift[spark]' (and Java 17)"
        ) from exc


#: Log4j 2 configuration of a quiet driver JVM: errors only, no start-up notices
QUIET_LOG4J2 = Path(__file__).with_name("spark_log4j2.properties")

#: what the JDK prints on standard error before any log configuration applies, because Spark's
#: launcher always adds the incubating vector module (the JDK has no switch to silence it)
_JVM_START_NOTICES = ("WARNING: Using incubator modules:",)


def local_spark_session(
    master: str = "local[2]",
    *,
    shuffle_partitions: int = 4,
    app_name: str = "pathlift",
    config: Mapping[str, str] | None = None,
) -> SparkSession:
    """Return a local Spark session bound to 127.0.0.1 with the UI disabled.

    Parameters
    ----------
    master
        Spark master, e.g. ``"local[2]"``.
    shuffle_partitions
        ``spark.sql.shuffle.partitions`` (Spark's default of 200 is slow for local work).
    app_name
        Application name.
    config
        Further Spark settings.

    Notes
    -----
    The session time zone is UTC so that naive timestamps mean what they mean in the reference
    engine. ``PYSPARK_PYTHON`` defaults to the running interpreter, so Python workers see the
    same packages (needed by model scoring with ``env_manager="local"``). ``getOrCreate``
    semantics: an active session is reused and re-configured.

    Spark's own log lines are shown only when the ``pyspark`` logger is enabled for INFO (as
    with ``pathlift --verbose`` or ``logging.basicConfig(level=logging.INFO)``). Otherwise a
    driver JVM started here logs errors only, from its start (:data:`QUIET_LOG4J2`, unless the
    caller gives a Log4j configuration of their own in ``spark.driver.extraJavaOptions``,
    ``SPARK_SUBMIT_OPTS`` or ``$SPARK_CONF_DIR/log4j2.properties``), and the JDK's notice about
    the incubating vector module is left off its standard error.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    # Python workers (UDFs, model scoring) run this interpreter and environment unless the
    # caller chose another one; PySpark reads the variable when the context starts.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings = {
        "spark.master": master,
        "spark.app.name": app_name,
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        **(config or {}),
    }
    quiet = not logging.getLogger("pyspark").isEnabledFor(logging.INFO)
    if quiet and not _caller_configures_log4j(settings):
        options = settings.get("spark.driver.extraJavaOptions", "")
        settings["spark.driver.extraJavaOptions"] = (
            f"{options} -Dlog4j2.configurationFile={QUIET_LOG4J2.as_uri()}".strip()
        )
    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    with quiet_pandas_version_warning():
        if quiet:
            _launch_driver_without_notices(settings)
        spark = builder.getOrCreate()
    if quiet:
        spark.sparkContext.setLogLevel("ERROR")
    return spark


def _caller_configures_log4j(settings: Mapping[str, str]) -> bool:
    """Whether the caller chose the driver's Log4j configuration (which then applies as is)."""
    options = " ".join(
        [settings.get("spark.driver.extraJavaOptions", ""), os.environ.get("SPARK_SUBMIT_OPTS", "")]
    )
    conf_dir = os.environ.get("SPARK_CONF_DIR")
    return "log4j2.configurationFile" in options or bool(
        conf_dir and os.path.isfile(os.path.join(conf_dir, "log4j2.properties"))
    )


def _launch_driver_without_notices(settings: Mapping[str, str]) -> None:
    """Start the driver JVM with the JDK's start-up notice left off its standard error.

    Does nothing when PySpark already has a JVM (one JVM serves every context of the process) or
    is told to connect to one (``PYSPARK_GATEWAY_PORT``). Otherwise the JVM is launched as
    PySpark would launch it, with the same settings, except that its standard error goes through
    a thread that passes on every line but :data:`_JVM_START_NOTICES`; errors (a missing Java,
    Log4j's ERROR lines, a crash) still reach standard error.
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    # PySpark keeps its JVM gateway in class attributes and launches one the first time a
    # context is created; registering this one first makes every context use it
    with SparkContext._lock:
        if SparkContext._gateway is not None or "PYSPARK_GATEWAY_PORT" in os.environ:
            return
        conf = SparkConf(loadDefaults=False).setAll(list(settings.items()))
        gateway = launch_gateway(conf, popen_kwargs={"stderr": subprocess.PIPE})
        if gateway.proc is not None and gateway.proc.stderr is not None:
            threading.Thread(
                target=_pass_on_errors,
                args=(gateway.proc.stderr,),
                name="spark-driver-stderr",
                daemon=True,
            ).start()
        SparkContext._ensure_initialized(gateway=gateway)


def _pass_on_errors(stream: IO[bytes]) -> None:
    """Copy the JVM's standard error to ours, line by line, without the start-up notices."""
    for line in iter(stream.readline, b""):
        if line.decode(errors="replace").startswith(_JVM_START_NOTICES):
            continue
        sys.stderr.write(line.decode(errors="replace"))
        sys.stderr.flush()


def _type_name(dtype: Any) -> str:
    return type(dtype).__name__


def _time_expr(col: str, dtype: Any, ns_long: bool) -> str:
    name = _type_name(dtype)
    if ns_long and name == "LongType":
        return col
    if name == "TimestampType":
        return f"unix_micros({col}) * 1000"
    if name in ("TimestampNTZType", "DateType"):
        return f"unix_micros(CAST({col} AS TIMESTAMP)) * 1000"
    if name in _INTEGRAL:
        return f"CAST({col} AS BIGINT) * 1000000000"
    if name in _FRACTIONAL:  # Unix seconds with a fraction
        value = f"CAST({col} AS DOUBLE)"
        whole = f"try_cast({value} AS BIGINT)"
        return f"{whole} * 1000000000 + try_cast(round(({value} - {whole}) * 1e9) AS BIGINT)"
    if name == "StringType":
        return f"unix_micros(try_cast({col} AS TIMESTAMP)) * 1000"
    return "CAST(NULL AS BIGINT)"


def _conversion_expr(col: str, dtype: Any) -> str:
    name = _type_name(dtype)
    if name == "BooleanType":
        return f"CAST({col} AS INT)"
    if name in _INTEGRAL or name in _FRACTIONAL:
        number = f"CAST({col} AS DOUBLE)"
    else:
        number = f"try_cast({col} AS DOUBLE)"
    return f"CASE WHEN {number} = 1 THEN 1 WHEN {number} = 0 THEN 0 END"


def _value_expr(col: str | None, dtype: Any) -> str:
    if col is None:
        return "CAST(0.0 AS DOUBLE)"
    name = _type_name(dtype)
    if name in _INTEGRAL or name in _FRACTIONAL or name == "BooleanType":
        return f"CAST({col} AS DOUBLE)"
    if name == "StringType":
        return f"try_cast(trim({col}) AS DOUBLE)"
    return "CAST(NULL AS DOUBLE)"


def typed_events_sql(
    raw: str, schema: Mapping[str, Any], opts: EventOptions, value_name: str | None, ns_long: bool
) -> str:
    """Project the raw view (with an ``rn`` column) onto the typed-event columns."""
    q = SPARK.ident
    time, channel, conv = q(opts.time_col), q(opts.channel_col), q(opts.conversion_col)
    value = q(value_name) if value_name else None
    return f"""
SELECT {q(opts.user_col)} AS user_id,
       {_time_expr(time, schema[opts.time_col], ns_long)} AS ts,
       {time} IS NULL AS ts_missing,
       rn,
       {SPARK.trim(f"CAST({channel} AS STRING)")} AS channel,
       {_conversion_expr(conv, schema[opts.conversion_col])} AS conv,
       {_value_expr(value, schema[value_name] if value_name else None)} AS value_num,
       {"false" if value is None else f"{value} IS NULL"} AS value_missing
FROM {raw}
"""  # noqa: S608


def _from_pandas(spark: SparkSession, frame: pd.DataFrame, opts: EventOptions) -> SparkDataFrame:
    """Ship a pandas frame with its row order; timestamps become int64 nanoseconds first.

    Timestamps are parsed by the reference parser so that every accepted spelling (and every
    error message) matches :meth:`Journeys.from_events` exactly.
    """
    from attribution._events import _timestamps

    columns = list(frame.columns)
    _common.require_columns(columns, opts.required())
    if len(frame) == 0:
        raise InvalidJourneysError("the event log is empty: it has a header but no rows")
    users = frame[opts.user_col]
    row = first_true(users.isna().to_numpy())
    if row is not None:
        raise InvalidJourneysError(
            f"column {opts.user_col!r} has a missing user id at row {row}: fill it or drop the row"
        )
    value_name = opts.value_name(columns)
    keep = [opts.user_col, opts.channel_col, opts.conversion_col]
    if value_name:
        keep.append(value_name)
    table = pa.Table.from_pandas(frame[keep], preserve_index=False)
    times = _timestamps(frame[opts.time_col], opts.time_col)
    table = table.append_column(opts.time_col, pa.array(times, type=pa.int64()))
    table = table.append_column("rn", pa.array(np.arange(len(frame), dtype=np.int64)))
    table = pa.table(
        {
            name: pa.array(col.to_pylist(), type=pa.string())
            if pa.types.is_large_string(col.type) or pa.types.is_string_view(col.type)
            else col
            for name, col in zip(table.column_names, table.columns, strict=True)
        }
    )
    try:
        return spark.createDataFrame(table)
    except Exception as exc:  # PySpark raises several unrelated types for unsupported data
        raise InvalidJourneysError(
            f"cannot send the event frame to Spark: {_spark_message(exc)}; give each column "
            "one type"
        ) from exc


def _file_keys(df: SparkDataFrame, files: Sequence[str]) -> tuple[Any, list[Any]]:
    """Map each input file to a key comparable with ``_metadata.file_path``, cheaply per row.

    Spark reports ``file:/dir/a%20b.parquet`` for ``/dir/a b.parquet``. The keys are Spark's own
    spellings (from ``inputFiles()``), so rows are matched by plain string equality; if a file
    cannot be matched that way, the row's path is decoded instead (slower, same result).
    """
    from urllib.parse import unquote, urlparse

    from pyspark.sql import functions as F

    spelled: dict[str, str] = {}
    for uri in df.inputFiles():
        parsed = urlparse(uri)
        if parsed.scheme in ("", "file"):
            spelled[os.path.abspath(unquote(parsed.path))] = "file:" + parsed.path
    if all(f in spelled for f in files):
        return F.col("_metadata.file_path"), [F.lit(spelled[f]) for f in files]
    decoded = F.url_decode(
        F.replace(
            F.regexp_replace(F.col("_metadata.file_path"), "^file:/*", "/"),
            F.lit("+"),
            F.lit("%2B"),
        )
    )
    return decoded, [F.lit(f) for f in files]


def _from_files(spark: SparkSession, files: InputFiles) -> tuple[SparkDataFrame, bool]:
    """Read the files with a global ``rn``; return the frame and whether time is int64 ns."""
    from pyspark.sql import functions as F

    ns_long = False
    if files.kind == "parquet":
        import pyarrow.parquet as pq

        schema = pq.read_schema(files.files[0])
        ns_long = any(
            pa.types.is_timestamp(field.type) and field.type.unit == "ns" for field in schema
        )
        bases = _common.parquet_row_bases(files.files)
        if ns_long:
            spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
        df = spark.read.parquet(*files.files)
        path, keys = _file_keys(df, files.files)
        mapping = F.create_map(
            *itertools.chain.from_iterable(
                (k, F.lit(b).cast("bigint")) for k, b in zip(keys, bases, strict=True)
            )
        )
        df = df.withColumn("rn", mapping[path] + F.col("_metadata.row_index"))
        return df, ns_long
    sep = _io.csv_delimiter(files.files[0])
    df = spark.read.csv(list(files.files), header=True, inferSchema=True, sep=sep)
    path, keys = _file_keys(df, files.files)
    index = F.create_map(*itertools.chain.from_iterable((k, F.lit(i)) for i, k in enumerate(keys)))
    df = df.withColumn(
        "rn",
        F.struct(index[path].alias("file"), F.monotonically_increasing_id().alias("row")),
    )
    return df, False


def _spark_message(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text.split(" JVM stacktrace:")[0][:500]


def journeys_from_events_spark(
    data: Any,
    *,
    user_col: str = "user_id",
    time_col: str = "timestamp",
    channel_col: str = "channel",
    conversion_col: str = "conversion",
    value_col: Any = DEFAULT,
    lookback: str | pd.Timedelta | None = None,
    max_touches: int | None = None,
    separator: str = ">",
    spark: SparkSession | None = None,
    order_col: str | None = None,
) -> Journeys:
    """Cut an event log into journeys with Spark; same result as :meth:`Journeys.from_events`.

    Parameters
    ----------
    data
        A pandas DataFrame, an Arrow table, a Spark DataFrame, or local CSV/Parquet files,
        directories or globs (as for the DuckDB engine).
    user_col, time_col, channel_col, conversion_col, value_col, lookback, max_touches, separator
        As in :meth:`Journeys.from_events`.
    spark
        The session to run on; default :func:`local_spark_session` (``local[2]``).
    order_col
        For a Spark DataFrame: a column giving input order (ties in time are broken by it).

    Returns
    -------
    Journeys
        With ``provenance.source == "spark"`` and ``timing`` ``None``.

    Raises
    ------
    InvalidJourneysError
        The checks of :meth:`Journeys.from_events`, naming the column, the first offending row
        (0-based, in input order) and the fix; Spark read errors are reported the same way.
    """
    require_pyspark()

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
    with quiet_pandas_version_warning():
        return _run(data, opts, spark, order_col)


def _run(
    data: Any, opts: EventOptions, spark: SparkSession | None, order_col: str | None
) -> Journeys:
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException
    from pyspark.sql import DataFrame as SparkDataFrame

    session = spark if spark is not None else local_spark_session()
    ns_long = False
    dense = True  # is rn already the 0-based row position?
    views: list[str] = []
    previous_nanos = str(session.conf.get("spark.sql.legacy.parquet.nanosAsLong", "false"))
    try:
        if isinstance(data, SparkDataFrame):
            from pyspark.sql import functions as F

            if order_col is not None and order_col not in data.columns:
                raise InvalidJourneysError(
                    f"order_col {order_col!r} is not a column of the DataFrame (available: "
                    f"{', '.join(map(repr, data.columns))})"
                )
            rn = F.col(order_col) if order_col else F.monotonically_increasing_id()
            df = data.withColumn("rn", rn)
            dense = False
        elif isinstance(data, pd.DataFrame | pa.Table):
            frame = data.to_pandas() if isinstance(data, pa.Table) else data
            df = _from_pandas(session, frame, opts)
            ns_long = True
        else:
            files = _common.resolve_files(data)
            df, ns_long = _from_files(session, files)
            dense = files.kind == "parquet"
        schema = {field.name: field.dataType for field in df.schema.fields}
        columns = [c for c in schema if c != "rn"]
        _common.require_columns(columns, opts.required())
        value_name = opts.value_name(columns)
        raw = f"pathlift_raw_{os.getpid()}_{next(_counter)}"
        df.createOrReplaceTempView(raw)
        views.append(raw)
        typed = f"({typed_events_sql(raw, schema, opts, value_name, ns_long)})"
        row = session.sql(validation_sql(SPARK, typed, separator=opts.separator)).collect()[0]
        checks = row.asDict()
        if checks["n"] and checks.get("n_unordered"):
            raise InvalidJourneysError(
                "could not number the input rows (a file path did not map back to the input "
                "list): pass the files as local paths"
            )
        if not dense:
            checks = {
                k: _row_position(session, typed, v) if k.startswith("bad_") else v
                for k, v in checks.items()
            }

        def cell(column: str, row: int) -> Any:
            found = session.sql(
                f"SELECT {SPARK.ident(column)} AS v FROM {raw} WHERE rn = {int(row)}"  # noqa: S608
            ).collect()
            return found[0]["v"] if found else None

        _common.raise_for_checks(checks, opts, value_name, cell if dense else None)
        events = f"""(
    SELECT user_id, ts, rn, channel, conv,
           CASE WHEN conv = 1 THEN value_num ELSE 0.0 END AS value
    FROM {typed}
)"""  # noqa: S608
        sql = journey_paths_sql(
            SPARK,
            events,
            lookback_ns=opts.lookback_ns,
            max_touches=opts.max_touches,
            join=_common.path_join(opts.separator),
        )
        result = session.sql(sql)
        table = result.toArrow() if hasattr(result, "toArrow") else _to_arrow(result)
    except (PySparkException, Py4JError) as exc:
        raise InvalidJourneysError(
            f"Spark cannot read the event log: {_spark_message(exc)}"
        ) from exc
    finally:
        for view in views:
            session.catalog.dropTempView(view)
        session.conf.set("spark.sql.legacy.parquet.nanosAsLong", previous_nanos)
    return _common.finish_journeys(table, opts, "spark")


def _to_arrow(result: SparkDataFrame) -> pa.Table:
    return pa.Table.from_pandas(result.toPandas(), preserve_index=False)


def _row_position(session: SparkSession, typed: str, rn: Any) -> int | None:
    """Turn a first-offending ``rn`` (an order key) into a 0-based position in input order.

    Counts the rows ordered before it; only run on the error path.
    """
    if rn is None:
        return None
    if hasattr(rn, "asDict"):  # CSV: struct(file, row)
        file, row = int(rn["file"]), int(rn["row"])
        where = f"t.rn.file < {file} OR (t.rn.file = {file} AND t.rn.row < {row})"
        count = session.sql(
            f"SELECT COUNT(*) AS n FROM {typed} AS t WHERE {where}"  # noqa: S608
        ).collect()[0]["n"]
    else:
        count = session.sql(
            f"SELECT COUNT(*) AS n FROM {typed} AS t WHERE t.rn < :bad",  # noqa: S608
            args={"bad": rn},
        ).collect()[0]["n"]
    return int(count)
