"""Spark engine (local mode): files, Spark DataFrames and error rows.

The journeys themselves (hand-computed cases, random logs and credits, bad input) are tested for
every engine in ``test_engines.py``. Spark start-up is slow, so one local session
(``conftest.py``) serves every module.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from attribution.engines import journeys_from_events
from attribution.engines.spark import journeys_from_events_spark
from attribution.errors import InvalidJourneysError
from attribution.journeys import Journeys

from ._cases import assert_same_journeys, edge_log

# PySpark warns that it does not fully support pandas 3; the engines hand it Arrow tables.
pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


def test_files_directory_and_csv_follow_input_order(spark, tmp_path):
    log = edge_log()
    parts = tmp_path / "events"
    parts.mkdir()
    # the rows of the 10:00 tie are split across files: name order decides
    log.iloc[8:].to_parquet(parts / "part-b.parquet")
    log.iloc[:8].to_parquet(parts / "part-a.parquet")  # nanosecond timestamps (pandas default)
    csv = tmp_path / "events.csv"
    log.to_csv(csv, index=False)
    want = Journeys.from_events(log, lookback="1d")
    assert_same_journeys(journeys_from_events_spark(parts, spark=spark, lookback="1d"), want)
    assert_same_journeys(
        journeys_from_events(str(csv), engine="spark", spark=spark, lookback="1d"), want
    )
    # a Spark DataFrame with an explicit order column
    frame = log.assign(
        event_id=np.arange(len(log)), timestamp=log["timestamp"].astype("datetime64[us]")
    )
    shuffled = frame.sample(frac=1.0, random_state=0)
    sdf = spark.createDataFrame(pa.Table.from_pandas(shuffled, preserve_index=False))
    got = journeys_from_events_spark(sdf, spark=spark, lookback="1d", order_col="event_id")
    assert_same_journeys(got, want)


def test_error_rows_are_input_positions_for_files_and_spark_dataframes(spark, tmp_path):
    log = edge_log()
    csv = tmp_path / "bad.csv"
    log.assign(conversion=log["conversion"].replace({1: 2})).to_csv(csv, index=False)
    with pytest.raises(InvalidJourneysError, match=r"'conversion' must be 0/1.*row 3 "):
        journeys_from_events_spark(csv, spark=spark)
    frame = log.assign(timestamp=log["timestamp"].astype("datetime64[us]"))
    frame.loc[2, "user_id"] = None
    sdf = spark.createDataFrame(pa.Table.from_pandas(frame, preserve_index=False))
    with pytest.raises(InvalidJourneysError, match=r"missing user id at row 2:"):
        journeys_from_events_spark(sdf, spark=spark)
