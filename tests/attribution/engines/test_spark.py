"""Spark engine (local mode): identical journeys, counts and credits to DuckDB and the reference.

Spark start-up is slow, so one local session serves the whole module and the cases are packed
into a few tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

pytest.importorskip(
    "pyspark", reason="PySpark is not installed: pip install 'pathlift[spark]' to run Spark tests"
)

from attribution.engines import journeys_from_events
from attribution.engines.duckdb import journeys_from_events_duckdb
from attribution.engines.spark import journeys_from_events_spark, local_spark_session
from attribution.errors import InvalidJourneysError
from attribution.journeys import Journeys
from attribution.markov import MarkovAttribution
from attribution.shapley import SimplifiedShapley

from ._cases import (
    EDGE_EXPECTED,
    EDGE_EXPECTED_CAP_2,
    EDGE_EXPECTED_LOOKBACK_1D,
    assert_same_journeys,
    edge_log,
    path_dict,
    random_log,
)

# PySpark warns that it does not fully support pandas 3; the engines hand it Arrow tables.
pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


# tiny test data: compiling generated code costs more than it saves
FAST_SMALL_JOBS = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


@pytest.fixture(scope="module")
def spark():
    session = local_spark_session("local[2]", shuffle_partitions=2, config=FAST_SMALL_JOBS)
    yield session
    session.stop()


def test_edge_log_hand_computed_and_identical_to_duckdb_and_reference(spark):
    log = edge_log()
    for options, expected in [
        ({}, EDGE_EXPECTED),
        ({"lookback": "1d"}, EDGE_EXPECTED_LOOKBACK_1D),
        ({"max_touches": 2}, EDGE_EXPECTED_CAP_2),
    ]:
        got = journeys_from_events_spark(log, spark=spark, **options)
        assert path_dict(got) == expected, options
        assert got.provenance.source == "spark"
        assert got.provenance.dropped_conversions == 1
        assert got.provenance.dropped_value == 7.0
        assert_same_journeys(got, journeys_from_events_duckdb(log, **options))
        assert_same_journeys(got, Journeys.from_events(log, **options))


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


def test_random_logs_and_credits_identical_across_engines(spark):
    log = pd.concat([random_log(seed, 300) for seed in range(3)], ignore_index=True)
    log["user_id"] = log["user_id"] + "-" + (np.arange(len(log)) % 29).astype(str)
    for options in ({"lookback": "6s"}, {"max_touches": 2}):
        got = journeys_from_events_spark(log, spark=spark, **options)
        duck = journeys_from_events_duckdb(log, **options)
        assert_same_journeys(got, duck)
        assert_same_journeys(got, Journeys.from_events(log, **options))
        for model in (MarkovAttribution(order=1, n_bootstrap=0), SimplifiedShapley(n_bootstrap=0)):
            a = type(model)(**model.get_params()).fit(got).result_.to_frame()
            b = type(model)(**model.get_params()).fit(duck).result_.to_frame()
            pd.testing.assert_frame_equal(a, b, rtol=1e-9)


def test_bad_input_and_empty_results_are_the_reference_errors(spark, tmp_path):
    log = edge_log()
    # error rows are positions in input order for every kind of input
    csv = tmp_path / "bad.csv"
    log.assign(conversion=log["conversion"].replace({1: 2})).to_csv(csv, index=False)
    with pytest.raises(InvalidJourneysError, match=r"'conversion' must be 0/1.*row 3 "):
        journeys_from_events_spark(csv, spark=spark)
    frame = log.assign(timestamp=log["timestamp"].astype("datetime64[us]"))
    frame.loc[2, "user_id"] = None
    sdf = spark.createDataFrame(pa.Table.from_pandas(frame, preserve_index=False))
    with pytest.raises(InvalidJourneysError, match=r"missing user id at row 2:"):
        journeys_from_events_spark(sdf, spark=spark)
    with pytest.raises(InvalidJourneysError, match=r"required column 'channel' is missing"):
        journeys_from_events_spark(log.drop(columns="channel"), spark=spark)
    bad = log.assign(channel=log["channel"].where(log.index != 2, "a>b"))
    with pytest.raises(InvalidJourneysError, match=r"has channel 'a>b' at row 2, which contains"):
        journeys_from_events_spark(bad, spark=spark)
    bad = log.assign(conversion=log["conversion"].replace({1: 2}))
    with pytest.raises(
        InvalidJourneysError, match=r"'conversion' must be 0/1 or true/false; row 3 has 2:"
    ):
        journeys_from_events_spark(bad, spark=spark)
    only_markers = pd.DataFrame(
        {
            "user_id": ["u", "u", "v", "v"],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-10", "2024-01-01", "2024-01-09"]),
            "channel": ["a", None, "b", None],
            "conversion": [0, 1, 0, 1],
        }
    )
    with pytest.raises(InvalidJourneysError) as want:
        Journeys.from_events(only_markers, lookback="1d")
    with pytest.raises(InvalidJourneysError) as got:
        journeys_from_events_spark(only_markers, spark=spark, lookback="1d")
    assert str(got.value) == str(want.value)
