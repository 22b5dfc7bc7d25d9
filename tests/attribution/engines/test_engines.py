"""One set of journey tests run against every engine: the NumPy reference, DuckDB and Spark.

Each engine must give the hand-computed journeys of ``_cases.edge_log``, the reference's
journeys on random logs, and the reference's error (same type and message) on bad input. The
reference (``engine="pandas"``) is :meth:`Journeys.from_events`, which cuts journeys with
:func:`attribution._events.cut_journeys`; engine-specific behaviour (files, memory limits,
connections, Spark DataFrames) is tested in ``test_duckdb.py`` and ``test_spark.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.engines import journeys_from_events
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

Build = Callable[..., Journeys]

ENGINES = [
    pytest.param("pandas", id="pandas"),
    pytest.param("duckdb", id="duckdb"),
    # PySpark warns that it does not fully support pandas 3; the engines hand it Arrow tables
    pytest.param(
        "spark",
        id="spark",
        marks=[
            pytest.mark.spark,
            pytest.mark.slow,
            pytest.mark.filterwarnings("ignore::FutureWarning"),
        ],
    ),
]


@pytest.fixture(params=ENGINES)
def build(request: pytest.FixtureRequest) -> Build:
    """``build(data, **options)``: journeys from ``data`` with the engine under test."""
    engine = request.param
    extra: dict[str, Any] = {}
    if engine == "spark":
        extra["spark"] = request.getfixturevalue("spark")

    def run(data: Any, **options: Any) -> Journeys:
        return journeys_from_events(data, engine=engine, **extra, **options)

    run.engine = engine  # type: ignore[attr-defined]
    return run


# ----------------------------------------------------------------------------- hand-computed


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, EDGE_EXPECTED),
        ({"lookback": "1d"}, EDGE_EXPECTED_LOOKBACK_1D),
        ({"max_touches": 2}, EDGE_EXPECTED_CAP_2),
    ],
)
def test_edge_log_matches_hand_computed_paths_and_reference(build, options, expected):
    log = edge_log()
    got = build(log, **options)
    assert path_dict(got) == expected
    assert got.provenance.source == ("events" if build.engine == "pandas" else build.engine)
    assert got.provenance.n_rows == 15
    assert got.provenance.n_users == 4
    assert got.provenance.n_journeys == sum(c + n for c, n, _ in expected.values())
    assert got.provenance.dropped_conversions == 1  # B's second marker closes an empty journey
    assert got.provenance.dropped_value == 7.0
    assert got.provenance.start == pd.Timestamp("2024-01-01 07:00")
    assert got.provenance.end == pd.Timestamp("2024-01-03 01:00")
    assert (got.timing is None) == (build.engine != "pandas")
    assert_same_journeys(got, Journeys.from_events(log, **options))


def test_ties_follow_input_order_not_channel_name(build):
    log = pd.DataFrame(
        {
            "user_id": [1, 1, 1],
            "timestamp": ["2024-01-01 10:00", "2024-01-01 10:00", "2024-01-01 10:00"],
            "channel": ["zeta", "alpha", None],
            "conversion": [0, 0, 1],
        }
    )
    assert path_dict(build(log)) == {"zeta > alpha": (1, 0, 0.0)}
    swapped = log.iloc[[1, 0, 2]].reset_index(drop=True)
    assert path_dict(build(swapped)) == {"alpha > zeta": (1, 0, 0.0)}


def test_lookback_boundary_is_inclusive_to_the_nanosecond(build):
    end = pd.Timestamp("2024-03-01 00:00:00")
    log = pd.DataFrame(
        {
            "user_id": ["u"] * 3,
            "timestamp": [
                end - pd.Timedelta("2h") - pd.Timedelta(1, "us"),
                end - pd.Timedelta("2h"),
                end,
            ],
            "channel": ["old", "edge", None],
            "conversion": [0, 0, 1],
        }
    )
    got = build(log, lookback="2h")
    assert path_dict(got) == {"edge": (1, 0, 0.0)}
    assert_same_journeys(got, Journeys.from_events(log, lookback="2h"))


def test_separator_other_than_default_round_trips(build):
    log = edge_log()
    log["channel"] = log["channel"].str.replace("search", "paid > search")
    got = build(log, separator="|")
    want = Journeys.from_events(log, separator="|")
    assert got.channels == want.channels
    assert "paid > search" in got.channels
    assert got.n_paths == want.n_paths
    assert sorted(map(tuple, (got.path(i) for i in range(got.n_paths)))) == sorted(
        want.path(i) for i in range(want.n_paths)
    )


# ----------------------------------------------------------------------------- random logs


def test_random_logs_and_credits_match_the_reference(build):
    log = pd.concat([random_log(seed, 300) for seed in range(3)], ignore_index=True)
    log["user_id"] = log["user_id"] + "-" + (np.arange(len(log)) % 29).astype(str)
    for options in ({"lookback": "6s"}, {"max_touches": 2}):
        got = build(log, **options)
        want = Journeys.from_events(log, **options)
        assert_same_journeys(got, want)
        # point credits (bootstrap intervals resample paths in storage order, which engines
        # differ on)
        for model in (MarkovAttribution(order=1, n_bootstrap=0), SimplifiedShapley(n_bootstrap=0)):
            a = type(model)(**model.get_params()).fit(got).result_.to_frame()
            b = type(model)(**model.get_params()).fit(want).result_.to_frame()
            pd.testing.assert_frame_equal(a, b, rtol=1e-9)
            assert a["conversions"].sum() == pytest.approx(want.total_conversions)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    lookback=st.sampled_from([None, "3s", "8s"]),
    max_touches=st.sampled_from([None, 1, 2]),
)
def test_small_random_logs_match_the_reference_or_its_error(seed, lookback, max_touches):
    """DuckDB only: Spark takes seconds per job, too slow for a property test."""
    log = random_log(seed)
    options = {"lookback": lookback, "max_touches": max_touches}
    try:
        want = Journeys.from_events(log, **options)
    except InvalidJourneysError as exc:
        with pytest.raises(InvalidJourneysError) as got_exc:
            journeys_from_events(log, engine="duckdb", **options)
        assert str(got_exc.value) == str(exc)
        return
    assert_same_journeys(journeys_from_events(log, engine="duckdb", **options), want)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.drop(columns="channel"), r"required column 'channel' is missing"),
        (lambda d: d.assign(user_id=d["user_id"].where(d.index != 3)), r"missing user id at row 3"),
        (
            lambda d: d.assign(timestamp=d["timestamp"].astype(str).where(d.index != 4, "soon")),
            r"'timestamp' has an unparseable timestamp at row 4 \('soon'\)",
        ),
        (
            lambda d: d.assign(conversion=d["conversion"].replace({1: 2})),
            r"'conversion' must be 0/1 or true/false; row 3 has 2:",
        ),
        (
            lambda d: d.assign(channel=d["channel"].where(d.index != 5, "  ")),
            r"missing or empty channel at row 5",
        ),
        (
            lambda d: d.assign(channel=d["channel"].where(d.index != 2, "a>b")),
            r"has channel 'a>b' at row 2, which contains the path separator '>'",
        ),
        (
            lambda d: d.assign(value=d["value"].where(d.index != 6, -1.0)),
            r"'value' must be finite and non-negative; row 6 has -1.0",
        ),
        (
            lambda d: d.assign(conversion=0, channel=d["channel"].fillna("x")),
            r"no conversions \(column 'conversion' is never 1\)",
        ),
        (lambda d: d.iloc[:0], r"the event log is empty"),
    ],
)
def test_bad_input_names_column_row_and_fix(build, mutate, match):
    log = mutate(edge_log())
    with pytest.raises(InvalidJourneysError, match=match) as got:
        build(log)
    with pytest.raises(InvalidJourneysError) as want:
        Journeys.from_events(log)
    assert type(got.value) is type(want.value)


def test_lookback_that_excludes_every_touch_raises_the_reference_error(build, caplog):
    log = pd.DataFrame(
        {
            "user_id": ["u", "u", "v", "v"],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-10", "2024-01-01", "2024-01-09"]),
            "channel": ["a", None, "b", None],
            "conversion": [0, 1, 0, 1],
        }
    )
    with pytest.raises(InvalidJourneysError) as want:
        Journeys.from_events(log, lookback="1d")
    with caplog.at_level(logging.WARNING), pytest.raises(InvalidJourneysError) as got:
        build(log, lookback="1d")
    assert str(got.value) == str(want.value)
    assert "no journey has a touch inside the lookback window" in str(got.value)
    assert "2 conversions" in caplog.text


def test_bad_options_are_domain_errors(build):
    with pytest.raises(InvalidJourneysError, match="max_touches"):
        build(edge_log(), max_touches=0)
    with pytest.raises(InvalidJourneysError, match="duration"):
        build(edge_log(), lookback="soon")


# ----------------------------------------------------------------------------- one rule per input
#: user a touched by email, then converting after a search
TWO_TOUCHES = pd.DataFrame(
    {
        "user_id": ["a", "a"],
        "timestamp": ["2024-01-01 00:00:00", "2024-01-02 00:00:00"],
        "channel": ["email", "search"],
        "conversion": [0, 1],
    }
)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # a conversion row needs no channel: the journey converts
        pytest.param(
            "a,2024-01-01 00:00:00,email,0\n"
            "a,2024-01-02 00:00:00,,1\n"
            "b,2024-01-01 00:00:00,search,0\n",
            {"email": (1, 0, 0.0), "search": (0, 1, 0.0)},
            id="empty-channel-on-a-conversion-row-is-a-conversion",
        ),
        # a column mixing naive and offset times: naive is UTC, an offset time is converted;
        # 00:30+02:00 is 22:30 UTC the day before, so search (22:30) comes before email (23:00)
        pytest.param(
            "a,2024-01-01 23:00:00,email,0\n"
            "a,2024-01-02T00:30:00+02:00,search,0\n"
            "a,2024-01-02 01:00,,1\n",
            {"search > email": (1, 0, 0.0)},
            id="naive-times-are-utc-and-offsets-are-converted",
        ),
    ],
)
def test_event_file_rules(build, tmp_path, rows, expected):
    """How the rows of a CSV event file read, the same for every engine."""
    (tmp_path / "e.csv").write_text("user_id,timestamp,channel,conversion\n" + rows)
    journeys = build(str(tmp_path / "e.csv"))
    assert path_dict(journeys) == expected


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_file_missing_a_column_is_a_schema_mismatch(build, tmp_path, kind):
    log = TWO_TOUCHES
    (tmp_path / "logs").mkdir()
    for name, frame in (("a", log), ("b", log.drop(columns=["channel"]))):
        target = tmp_path / "logs" / f"{name}.{kind}"
        if kind == "csv":
            frame.to_csv(target, index=False)
        else:
            frame.to_parquet(target)
    with pytest.raises(
        InvalidJourneysError, match=r"b\.(csv|parquet)' lacks column\(s\) 'channel'"
    ):
        build(str(tmp_path / "logs"))


def test_a_directory_of_parquet_and_csv_is_refused(build, tmp_path):
    log = TWO_TOUCHES
    (tmp_path / "logs").mkdir()
    log.to_csv(tmp_path / "logs" / "a.csv", index=False)
    log.to_parquet(tmp_path / "logs" / "b.parquet")
    with pytest.raises(InvalidJourneysError, match="mixes Parquet and CSV"):
        build(str(tmp_path / "logs"))
