"""Batch scoring of a Parquet dataset on Spark with ``mlflow.pyfunc.spark_udf``.

The model is any MLflow pyfunc model whose ``predict`` returns a DataFrame, such as the
registered uplift model (``models:/pathlift-uplift@champion``: columns ``uplift_<arm>`` per arm,
``best_arm``, ``best_uplift``). The UDF runs with ``env_manager="local"`` (the model's
dependencies must be importable where Spark runs Python, which is the case for the project's own
environment), returns one struct per row, and the struct's fields become output columns next to
the input columns.

The output directory is written atomically: Spark writes to a temporary sibling directory that is
renamed into place once the job has succeeded, so a reader never sees a half-written result.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from experiments.errors import ExperimentError, RegistryError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.types import StructType

__all__ = ["ScoringSummary", "score_parquet_with_spark"]

logger = logging.getLogger(__name__)

#: how MLflow's advice to recreate the training environment with conda begins
_LOCAL_ENV_ADVICE = 'Calling `spark_udf()` with `env_manager="local"`'


class _DropLocalEnvAdvice(logging.Filter):
    """Drops MLflow's generic advice against ``env_manager="local"`` (unless ``--verbose``).

    The local Spark engine scores in the driver's own Python, the environment pathlift runs in;
    MLflow's checks of actual requirement mismatches are separate records and still shown.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(_LOCAL_ENV_ADVICE)


PREDICTION_COL = "__prediction"


@dataclass(frozen=True)
class ScoringSummary:
    """What a scoring job wrote.

    Attributes
    ----------
    output_dir
        The Parquet directory written.
    n_rows
        Rows scored (= rows in the input).
    prediction_columns
        Columns added from the model's output, in the model's order.
    means
        Mean of each numeric prediction column, read back from the written output (this reads
        every prediction value, so it also proves they were computed).
    """

    output_dir: Path
    n_rows: int
    prediction_columns: tuple[str, ...]
    means: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dictionary."""
        return {
            "output_dir": str(self.output_dir),
            "n_rows": self.n_rows,
            "prediction_columns": list(self.prediction_columns),
            "means": dict(self.means),
        }

    def __repr__(self) -> str:
        return (
            f"ScoringSummary({self.n_rows:,} rows -> {str(self.output_dir)!r}, "
            f"columns {list(self.prediction_columns)})"
        )


def _message(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text.split(" JVM stacktrace:")[0][:400]


def _output_schema(model_uri: str) -> tuple[StructType | None, list[str] | None]:
    """Output struct type and input column names from the model signature (if it has one)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        info = mlflow.models.get_model_info(model_uri)
    except (MlflowException, OSError) as exc:
        raise RegistryError(
            f"cannot load model {model_uri!r}: {_message(exc)}; check the name, version or alias "
            "(e.g. models:/pathlift-uplift@champion) and the tracking URI"
        ) from exc
    signature = info.signature
    if signature is None:
        return None, None
    outputs = None
    if signature.outputs is not None:
        from pyspark.sql.types import StructField, StructType

        # the UDF's Arrow result is nullable whatever the signature says
        spark_schema = signature.outputs.as_spark_schema()
        outputs = StructType([StructField(f.name, f.dataType, True) for f in spark_schema.fields])
    inputs = signature.inputs.input_names() if signature.inputs is not None else None
    return outputs, [str(n) for n in inputs] if inputs else None


def score_parquet_with_spark(
    input_path: str | os.PathLike[str],
    model_uri: str,
    output_dir: str | os.PathLike[str],
    *,
    spark: SparkSession | None = None,
    result_type: StructType | str | None = None,
    feature_cols: Sequence[str] | None = None,
    keep_columns: Sequence[str] | None = None,
    overwrite: bool = False,
) -> ScoringSummary:
    """Score a Parquet dataset with an MLflow model on Spark and write Parquet.

    Parameters
    ----------
    input_path
        A Parquet file, a directory of Parquet files or a glob.
    model_uri
        An MLflow model URI, e.g. ``models:/pathlift-uplift@champion`` or ``runs:/<id>/model``.
    output_dir
        Directory to create (Parquet part files). Must not exist unless ``overwrite``.
    spark
        Session to run on; default :func:`attribution.engines.spark.local_spark_session`.
    result_type
        The UDF's struct type (a ``StructType`` or a DDL string such as
        ``"uplift_email double, best_arm string, best_uplift double"``). Default: the model
        signature's outputs; a model without a signature needs it.
    feature_cols
        Input columns passed to the model. Default: the signature's input names, else every
        input column.
    keep_columns
        Input columns copied to the output next to the predictions. Default: all.
    overwrite
        Replace an existing ``output_dir`` (only after the new output is complete).

    Returns
    -------
    ScoringSummary
        Output location, row count, prediction columns and their means.

    Raises
    ------
    ExperimentError
        Missing input, missing feature columns, an existing output directory, a model without
        a signature and no ``result_type``, or a failed Spark job (message without the JVM
        stack).
    RegistryError
        The model URI cannot be resolved.
    """
    from attribution.engines.spark import (
        local_spark_session,
        quiet_pandas_version_warning,
        require_pyspark,
    )
    from attribution.errors import InvalidJourneysError

    try:
        require_pyspark()
    except InvalidJourneysError as exc:
        raise ExperimentError(str(exc).replace("engine 'spark'", "Spark scoring")) from exc

    source = os.fspath(input_path)
    if not any(ch in source for ch in "*?[") and not Path(source).exists():
        raise ExperimentError(f"input {source!r} does not exist: pass a Parquet file or directory")
    out = Path(output_dir)
    if out.exists() and not overwrite:
        raise ExperimentError(
            f"output directory {str(out)!r} already exists: choose another --output or pass "
            "overwrite=True (CLI: --overwrite)"
        )
    schema, signature_inputs = _output_schema(model_uri)
    if result_type is None:
        if schema is None:
            raise ExperimentError(
                f"model {model_uri!r} has no output signature: pass result_type, e.g. "
                "'uplift_email double, best_arm string, best_uplift double'"
            )
        result_type = schema
    with quiet_pandas_version_warning():
        return _score(
            source,
            model_uri,
            out,
            spark or local_spark_session(),
            result_type,
            feature_cols,
            keep_columns,
            signature_inputs,
        )


def _score(
    source: str,
    model_uri: str,
    out: Path,
    session: SparkSession,
    result_type: StructType | str,
    feature_cols: Sequence[str] | None,
    keep_columns: Sequence[str] | None,
    signature_inputs: list[str] | None,
) -> ScoringSummary:
    import mlflow.pyfunc
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException
    from pyspark.sql import functions as F

    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:12]}"
    try:
        frame = session.read.parquet(source)
        features = list(feature_cols or signature_inputs or frame.columns)
        missing = [c for c in features if c not in frame.columns]
        if missing:
            raise ExperimentError(
                f"input {source!r} lacks the model's feature column(s) {missing} (available: "
                f"{frame.columns}): score data with the training features"
            )
        kept = list(keep_columns) if keep_columns is not None else list(frame.columns)
        advice = _DropLocalEnvAdvice()
        pyfunc_logger = logging.getLogger("mlflow.pyfunc")
        if not pyfunc_logger.isEnabledFor(logging.INFO):
            pyfunc_logger.addFilter(advice)
        try:
            udf = mlflow.pyfunc.spark_udf(
                session, model_uri, result_type=result_type, env_manager="local"
            )
        finally:
            pyfunc_logger.removeFilter(advice)
        # the uplift signature declares numeric features double: integer columns are widened
        # (exact below 2**53), as the model reads every number as float64
        integral = {"integer", "long", "short", "byte", "float", "decimal"}
        types = {f.name: f.dataType.typeName() for f in frame.schema.fields}
        columns = [
            F.col(c).cast("double").alias(c) if types.get(c) in integral else F.col(c)
            for c in features
        ]
        scored = frame.withColumn(PREDICTION_COL, udf(F.struct(*columns)))
        struct_type = scored.schema[PREDICTION_COL].dataType
        names = [f.name for f in struct_type.fields]  # type: ignore[attr-defined]
        clash = sorted(set(names) & set(kept))
        if clash:
            raise ExperimentError(
                f"prediction column(s) {clash} also exist in the input: drop or rename them, or "
                "pass keep_columns"
            )
        result = scored.select(
            *[F.col(c) for c in kept], *[F.col(f"{PREDICTION_COL}.{n}").alias(n) for n in names]
        )
        result.write.mode("error").parquet(str(tmp))
        written = session.read.parquet(str(tmp))
        numeric = [
            f.name
            for f in struct_type.fields  # type: ignore[attr-defined]
            if f.dataType.typeName() in ("double", "float", "integer", "long", "short")
        ]
        stats = written.agg(
            F.count(F.lit(1)).alias("__n"), *[F.avg(F.col(n)).alias(n) for n in numeric]
        ).collect()[0]
    except (PySparkException, Py4JError, mlflow.exceptions.MlflowException) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExperimentError(f"Spark scoring failed: {_message(exc)}") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:12]}"
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out)
    summary = ScoringSummary(
        output_dir=out,
        n_rows=int(stats["__n"]),
        prediction_columns=tuple(names),
        means={n: float(stats[n]) for n in numeric if stats[n] is not None},
    )
    logger.info("%r", summary)
    return summary
