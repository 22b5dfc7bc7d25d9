"""DuckDB engine: files, out-of-core runs, timing, input types and the caller's connection.

The journeys themselves (hand-computed cases, random logs, bad input) are tested for every
engine in ``test_engines.py``.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from attribution.engines import journeys_from_events
from attribution.engines.duckdb import journeys_from_events_duckdb
from attribution.errors import InvalidJourneysError
from attribution.journeys import Journeys

from ._cases import (
    assert_same_journeys,
    edge_log,
    path_dict,
    random_log,
)

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


def test_missing_and_unreadable_files_are_domain_errors(tmp_path):
    with pytest.raises(InvalidJourneysError, match="does not exist"):
        journeys_from_events_duckdb(tmp_path / "nope.parquet")
    with pytest.raises(InvalidJourneysError, match="no file matches"):
        journeys_from_events_duckdb(str(tmp_path / "*.parquet"))
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(InvalidJourneysError, match=r"bad\.parquet"):
        journeys_from_events_duckdb(tmp_path / "bad.parquet")


# ----------------------------------------------------------------------------- dispatcher


def test_dispatcher_rejects_unknown_engines_and_options():
    log = edge_log()
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
