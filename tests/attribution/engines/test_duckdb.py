"""DuckDB engine: hand-computed journeys, parity with the NumPy reference, files, bad input."""

from __future__ import annotations

import logging

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.engines import journeys_from_events
from attribution.engines.duckdb import journeys_from_events_duckdb
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

# ----------------------------------------------------------------------------- hand-computed


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, EDGE_EXPECTED),
        ({"lookback": "1d"}, EDGE_EXPECTED_LOOKBACK_1D),
        ({"max_touches": 2}, EDGE_EXPECTED_CAP_2),
    ],
)
def test_edge_log_matches_hand_computed_paths_and_reference(options, expected):
    log = edge_log()
    got = journeys_from_events_duckdb(log, **options)
    assert path_dict(got) == expected
    assert got.provenance.source == "duckdb"
    assert got.provenance.n_rows == 15
    assert got.provenance.n_users == 4
    assert got.provenance.n_journeys == sum(c + n for c, n, _ in expected.values())
    assert got.provenance.dropped_conversions == 1  # B's second marker closes an empty journey
    assert got.provenance.dropped_value == 7.0
    assert got.provenance.start == pd.Timestamp("2024-01-01 07:00")
    assert got.provenance.end == pd.Timestamp("2024-01-03 01:00")
    assert got.timing is None
    assert_same_journeys(got, Journeys.from_events(log, **options))


def test_ties_follow_input_order_not_channel_name():
    log = pd.DataFrame(
        {
            "user_id": [1, 1, 1],
            "timestamp": ["2024-01-01 10:00", "2024-01-01 10:00", "2024-01-01 10:00"],
            "channel": ["zeta", "alpha", None],
            "conversion": [0, 0, 1],
        }
    )
    assert path_dict(journeys_from_events_duckdb(log)) == {"zeta > alpha": (1, 0, 0.0)}
    swapped = log.iloc[[1, 0, 2]].reset_index(drop=True)
    assert path_dict(journeys_from_events_duckdb(swapped)) == {"alpha > zeta": (1, 0, 0.0)}


def test_lookback_boundary_is_inclusive_to_the_nanosecond():
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
    got = journeys_from_events_duckdb(log, lookback="2h")
    assert path_dict(got) == {"edge": (1, 0, 0.0)}
    assert_same_journeys(got, Journeys.from_events(log, lookback="2h"))


def test_separator_other_than_default_round_trips():
    log = edge_log()
    log["channel"] = log["channel"].str.replace("search", "paid > search")
    got = journeys_from_events_duckdb(log, separator="|")
    want = Journeys.from_events(log, separator="|")
    assert got.channels == want.channels
    assert "paid > search" in got.channels
    assert got.n_paths == want.n_paths
    assert sorted(map(tuple, (got.path(i) for i in range(got.n_paths)))) == sorted(
        want.path(i) for i in range(want.n_paths)
    )


# ----------------------------------------------------------------------------- property test


@pytest.fixture(scope="module")
def connection():
    con = duckdb.connect()
    yield con
    con.close()


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    lookback=st.sampled_from([None, "3s", "8s"]),
    max_touches=st.sampled_from([None, 1, 2]),
)
def test_random_logs_match_reference(connection, seed, lookback, max_touches):
    log = random_log(seed)
    options = {"lookback": lookback, "max_touches": max_touches}
    try:
        want = Journeys.from_events(log, **options)
    except InvalidJourneysError as exc:
        with pytest.raises(InvalidJourneysError) as got_exc:
            journeys_from_events_duckdb(log, connection=connection, **options)
        assert str(got_exc.value) == str(exc)
        return
    got = journeys_from_events_duckdb(log, connection=connection, **options)
    assert_same_journeys(got, want)


# ----------------------------------------------------------------------------- credits


def test_markov_and_shapley_credit_identical_to_reference():
    log = pd.concat([random_log(seed, 400) for seed in range(3)], ignore_index=True)
    log["user_id"] = log["user_id"] + "-" + (np.arange(len(log)) % 37).astype(str)
    want = Journeys.from_events(log, lookback="10s")
    got = journeys_from_events_duckdb(log, lookback="10s")
    # point credits (bootstrap intervals resample paths in storage order, which engines differ on)
    for model in (MarkovAttribution(order=1, n_bootstrap=0), SimplifiedShapley(n_bootstrap=0)):
        a = type(model)(**model.get_params()).fit(got).result_.to_frame()
        b = type(model)(**model.get_params()).fit(want).result_.to_frame()
        pd.testing.assert_frame_equal(a, b, rtol=1e-9)
        assert a["conversions"].sum() == pytest.approx(want.total_conversions)


# ----------------------------------------------------------------------------- files


def test_parquet_directory_and_glob_use_file_name_then_row_order(tmp_path):
    log = edge_log()
    # the first file in name order holds the *later* rows of the tie at 10:00 ...
    parts = tmp_path / "events"
    parts.mkdir()
    log.iloc[8:].to_parquet(parts / "part-b.parquet")
    log.iloc[:8].to_parquet(parts / "part-a.parquet")
    want = Journeys.from_events(log)
    assert_same_journeys(journeys_from_events_duckdb(parts), want)
    assert_same_journeys(journeys_from_events_duckdb(str(parts / "part-*.parquet")), want)
    assert_same_journeys(journeys_from_events_duckdb(str(tmp_path / "**" / "*.parquet")), want)
    # ... so naming them the other way round changes the tie order
    (parts / "part-a.parquet").rename(parts / "part-c.parquet")
    swapped = journeys_from_events_duckdb(parts)
    assert path_dict(swapped) != path_dict(want)


def test_csv_file_matches_reference(tmp_path):
    log = edge_log()
    path = tmp_path / "events.csv"
    log.to_csv(path, index=False)
    # empty CSV fields are missing channels (conversion markers)
    assert_same_journeys(
        journeys_from_events_duckdb(path, lookback="1d"),
        Journeys.from_events(log, lookback="1d"),
    )


def test_out_of_core_with_memory_limit_gives_the_same_journeys(tmp_path):
    log = pd.concat([random_log(seed, 5000) for seed in range(20)], ignore_index=True)
    log["user_id"] = log["user_id"] + "-" + (np.arange(len(log)) % 5000).astype(str)
    path = tmp_path / "big.parquet"
    log.to_parquet(path)
    got = journeys_from_events_duckdb(
        path, memory_limit="40MB", temp_directory=tmp_path / "spill", threads=1
    )
    assert_same_journeys(got, Journeys.from_events(log))


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
def test_bad_input_names_column_row_and_fix(mutate, match):
    log = mutate(edge_log())
    with pytest.raises(InvalidJourneysError, match=match) as got:
        journeys_from_events_duckdb(log)
    with pytest.raises(InvalidJourneysError) as want:
        Journeys.from_events(log)
    assert type(got.value) is type(want.value)


def test_lookback_that_excludes_every_touch_raises_the_reference_error(caplog):
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
        journeys_from_events_duckdb(log, lookback="1d")
    assert str(got.value) == str(want.value)
    assert "no journey has a touch inside the lookback window" in str(got.value)
    assert "2 conversions" in caplog.text


def test_missing_files_and_bad_options_are_domain_errors(tmp_path):
    with pytest.raises(InvalidJourneysError, match="does not exist"):
        journeys_from_events_duckdb(tmp_path / "nope.parquet")
    with pytest.raises(InvalidJourneysError, match="no file matches"):
        journeys_from_events_duckdb(str(tmp_path / "*.parquet"))
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(InvalidJourneysError, match=r"bad\.parquet"):
        journeys_from_events_duckdb(tmp_path / "bad.parquet")
    with pytest.raises(InvalidJourneysError, match="max_touches"):
        journeys_from_events_duckdb(edge_log(), max_touches=0)
    with pytest.raises(InvalidJourneysError, match="duration"):
        journeys_from_events_duckdb(edge_log(), lookback="soon")


# ----------------------------------------------------------------------------- dispatcher


def test_dispatcher_engines_agree_and_reject_unknown_options():
    log = edge_log()
    a = journeys_from_events(log, engine="duckdb", lookback="1d")
    b = journeys_from_events(log, engine="pandas", lookback="1d")
    assert_same_journeys(a, b)
    assert b.timing is not None  # the reference keeps per-journey times
    with pytest.raises(InvalidJourneysError, match="unknown engine 'polars'"):
        journeys_from_events(log, engine="polars")  # type: ignore[arg-type]
    with pytest.raises(InvalidJourneysError, match="do not apply to engine 'pandas'"):
        journeys_from_events(log, engine="pandas", memory_limit="1GB")


# ----------------------------------------------------------------------------- timing


def _journey_records(journeys):
    t = journeys.timing
    paths = journeys.path_strings(" > ")
    out = []
    for j in range(t.n_journeys):
        touches = t.touch_time[t.touch_offsets[j] : t.touch_offsets[j + 1]]
        out.append(
            (
                str(paths[t.path_index[j]]),
                int(t.end_time[j].astype(np.int64)),
                bool(t.converted[j]),
                float(t.value[j]),
                tuple(touches.astype(np.int64).tolist()),
            )
        )
    return sorted(out)


@pytest.mark.parametrize("options", [{}, {"lookback": "1d", "max_touches": 2}])
def test_keep_timing_gives_the_reference_per_journey_timestamps(options):
    log = edge_log()
    got = journeys_from_events_duckdb(log, keep_timing=True, **options)
    want = Journeys.from_events(log, **options)
    assert_same_journeys(got, want)
    assert got.timing is not None
    assert got.timing.n_journeys == want.timing.n_journeys == got.provenance.n_journeys
    assert _journey_records(got) == _journey_records(want)
    np.testing.assert_allclose(
        np.sort(got.timing.touch_age_seconds()), np.sort(want.timing.touch_age_seconds())
    )


# ----------------------------------------------------------------------------- input types


def test_arrow_input_string_timestamps_with_offsets_and_unix_seconds():
    import pyarrow as pa

    log = edge_log()
    want = Journeys.from_events(log, lookback="1d")
    # ISO strings with an offset: the same instants, written in another zone
    shifted = log.assign(
        timestamp=(log["timestamp"] + pd.Timedelta("2h")).dt.strftime("%Y-%m-%dT%H:%M:%S+02:00")
    )
    assert_same_journeys(journeys_from_events_duckdb(shifted, lookback="1d"), want)
    seconds = log.assign(timestamp=log["timestamp"].astype("datetime64[s]").astype(np.int64))
    assert_same_journeys(journeys_from_events_duckdb(seconds, lookback="1d"), want)
    table = pa.Table.from_pandas(log, preserve_index=False)
    assert_same_journeys(journeys_from_events_duckdb(table, lookback="1d"), want)


def test_separator_with_quotes_is_quoted_safely():
    log = edge_log()
    log["channel"] = log["channel"].str.replace("search", "paid > search")
    got = journeys_from_events_duckdb(log, separator="'")
    want = Journeys.from_events(log, separator="'")
    assert got.channels == want.channels
    bad = log.assign(channel=log["channel"].where(log.index != 4, "o'clock"))
    with pytest.raises(
        InvalidJourneysError,
        match=r"has channel \"o'clock\" at row 4, which contains the path separator",
    ):
        journeys_from_events_duckdb(bad, separator="'")


def test_callers_connection_is_left_clean_even_after_an_error():
    con = duckdb.connect()
    journeys_from_events_duckdb(edge_log(), connection=con, keep_timing=True)
    with pytest.raises(InvalidJourneysError):
        journeys_from_events_duckdb(edge_log().assign(conversion=7), connection=con)
    leftovers = con.execute(
        "SELECT type_name FROM duckdb_types() WHERE type_name LIKE '%pathlift%' "
        "UNION ALL SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '%pathlift%' "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE view_name LIKE '%pathlift%'"
    ).fetchall()
    assert leftovers == []
    assert journeys_from_events_duckdb(edge_log(), connection=con).n_paths == 7
