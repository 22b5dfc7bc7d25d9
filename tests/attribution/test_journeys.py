"""Tests of the Journeys type: path tables, event logs and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from attribution import InvalidJourneysError, Journeys, parse_duration


def path_table(rows):
    return pd.DataFrame(
        rows, columns=["path", "total_conversions", "total_null", "total_conversion_value"]
    )


# ----------------------------------------------------------------------------- path tables


def test_from_paths_codes_counts_and_trimming():
    j = Journeys.from_paths(
        path_table(
            [
                ["search > email", 2, 1, 20.0],
                [" email>search ", 1, 0, 5.0],
                ["display", 0, 3, 0.0],
                ["search>  email", 1, 1, 7.0],  # same path as row 0 after trimming
            ]
        )
    )
    assert j.channels == ("display", "email", "search")
    paths = {j.path(i): (j.conversions[i], j.nulls[i], j.value[i]) for i in range(j.n_paths)}
    assert paths == {
        ("search", "email"): (3, 2, 27.0),
        ("email", "search"): (1, 0, 5.0),
        ("display",): (0, 3, 0.0),
    }
    assert j.n_journeys == 9
    assert j.total_conversions == 4
    assert j.provenance.n_rows == 4
    assert j.provenance.n_journeys == 9


def test_from_paths_custom_columns_and_separator(tmp_path):
    frame = pd.DataFrame({"p": ["a|b", "b"], "conv": [1, 2], "nul": [0, 5], "rev": [3.0, 4.0]})
    csv = tmp_path / "paths.csv"
    frame.to_csv(csv, index=False)
    j = Journeys.from_paths(
        csv, path_col="p", conversions_col="conv", nulls_col="nul", value_col="rev", separator="|"
    )
    assert j.channels == ("a", "b")
    assert j.total_value == 7.0
    parquet = tmp_path / "paths.parquet"
    frame.to_parquet(parquet)
    j2 = Journeys.from_paths(
        parquet,
        path_col="p",
        conversions_col="conv",
        nulls_col="nul",
        value_col="rev",
        separator="|",
    )
    pd.testing.assert_frame_equal(j.to_path_table(), j2.to_path_table())


def test_value_column_optional_by_default():
    frame = pd.DataFrame({"path": ["a", "b"], "total_conversions": [1, 1], "total_null": [0, 0]})
    assert Journeys.from_paths(frame).total_value == 0.0


def test_codes_do_not_depend_on_row_order():
    rows = [["b > a", 1, 0, 1.0], ["c", 0, 1, 0.0], ["a > c", 2, 2, 3.0]]
    j1 = Journeys.from_paths(path_table(rows))
    j2 = Journeys.from_paths(path_table(rows[::-1]))
    assert j1.channels == j2.channels == ("a", "b", "c")
    t1 = j1.to_path_table().sort_values("path").reset_index(drop=True)
    t2 = j2.to_path_table().sort_values("path").reset_index(drop=True)
    pd.testing.assert_frame_equal(t1, t2)


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ([["a", 1, 0, 1.0], [None, 1, 0, 0.0]], r"column 'path' has a missing path at row 1"),
        ([["a", 1, 0, 1.0], ["", 1, 0, 0.0]], r"empty path or an empty channel name at row 1"),
        ([["a > > b", 1, 0, 1.0]], r"empty channel name at row 0 \('a > > b'\)"),
        ([["a", 1, 0, 1.0], ["b", -1, 0, 0.0]], r"'total_conversions'.*row 1 has -1"),
        ([["a", 1, 0, 1.0], ["b", 1, 2.5, 0.0]], r"'total_null'.*row 1 has 2.5"),
        ([["a", 1, 0, 1.0], ["b", 1, 0, "lots"]], r"'total_conversion_value'.*row 1 has 'lots'"),
        ([["a", 0, 1, 0.0], ["b", 0, 2, 0.0]], r"no conversions"),
    ],
)
def test_from_paths_bad_input(rows, match):
    with pytest.raises(InvalidJourneysError, match=match):
        Journeys.from_paths(path_table(rows))


def test_a_separator_that_splits_nothing_warns_with_the_likely_one():
    from attribution.errors import InputWarning

    table = pd.DataFrame(
        {"path": ["a > b", "b", "c>a"], "total_conversions": [1, 2, 3], "total_null": [4, 5, 6]}
    )
    with pytest.warns(
        InputWarning, match=r"no path contains the separator ';'.*pass separator='>'"
    ):
        journeys = Journeys.from_paths(table, separator=";")
    assert journeys.channels == ("a > b", "b", "c>a")  # read as asked, with the warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputWarning)
        Journeys.from_paths(table)  # the right separator
        Journeys.from_paths(table.assign(path=["a", "b", "c"]), separator=";")  # one-touch paths


def test_from_paths_missing_column_suggests_fix():
    frame = pd.DataFrame({"path": ["a"], "conversions": [1], "total_null": [0]})
    with pytest.raises(
        InvalidJourneysError, match=r"'total_conversions' is missing.*conversions_col"
    ):
        Journeys.from_paths(frame)


def test_from_paths_empty_table(tmp_path):
    csv = tmp_path / "empty.csv"
    csv.write_text("path,total_conversions,total_null\n")
    with pytest.raises(InvalidJourneysError, match="empty"):
        Journeys.from_paths(csv)


def test_from_paths_non_numeric_count_column():
    frame = pd.DataFrame(
        {"path": ["a", "b"], "total_conversions": ["1", "x"], "total_null": [0, 0]}
    )
    with pytest.raises(InvalidJourneysError, match=r"'total_conversions'.*row 1 has 'x'"):
        Journeys.from_paths(frame)


def test_is_a_value_error():
    assert issubclass(InvalidJourneysError, ValueError)


# ----------------------------------------------------------------------------- event logs


def events(rows):
    frame = pd.DataFrame(rows, columns=["user_id", "timestamp", "channel", "conversion", "value"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format="mixed")
    return frame


WORKED_EXAMPLE = [
    # the worked example of docs/journeys.md
    ["u1", "2024-03-01 09:00", "display", 0, 0.0],
    ["u1", "2024-03-20 10:00", "search", 0, 0.0],
    ["u1", "2024-03-21 12:00", "email", 0, 0.0],
    ["u1", "2024-03-21 12:30", None, 1, 80.0],
    ["u1", "2024-03-25 08:00", "social", 0, 0.0],
    ["u1", "2024-03-26 08:00", "search", 1, 40.0],
    ["u1", "2024-03-28 19:00", "email", 0, 0.0],
    ["u2", "2024-03-05 10:00", "search", 0, 0.0],
    ["u2", "2024-03-05 10:00", "email", 0, 0.0],  # tie: input order kept
    ["u2", "2024-03-30 10:00", "display", 0, 0.0],
]


def test_worked_example_without_lookback():
    j = Journeys.from_events(events(WORKED_EXAMPLE))
    table = {tuple(p.split(" > ")): (c, n, v) for p, c, n, v in j.to_path_table().itertuples(False)}
    assert table == {
        ("display", "search", "email"): (1, 0, 80.0),
        ("social", "search"): (1, 0, 40.0),
        ("email",): (0, 1, 0.0),
        ("search", "email", "display"): (0, 1, 0.0),
    }
    assert j.provenance.n_users == 2
    assert j.provenance.n_journeys == 4
    assert j.provenance.start == pd.Timestamp("2024-03-01 09:00")
    assert j.provenance.end == pd.Timestamp("2024-03-30 10:00")


def test_worked_example_with_lookback_and_cap():
    j = Journeys.from_events(events(WORKED_EXAMPLE), lookback="7d")
    table = {tuple(p.split(" > ")): (c, n) for p, c, n, _ in j.to_path_table().itertuples(False)}
    # u1's display touch is 20 days before its conversion: dropped;
    # u2's two touches on 03-05 are 25 days before its last touch: dropped
    assert table == {
        ("search", "email"): (1, 0),
        ("social", "search"): (1, 0),
        ("email",): (0, 1),
        ("display",): (0, 1),
    }
    capped = Journeys.from_events(events(WORKED_EXAMPLE), max_touches=1)
    paths = set(capped.to_path_table()["path"])
    assert paths == {"email", "search", "display"}
    assert capped.total_conversions == 2


def test_lookback_boundary_is_inclusive():
    rows = [
        [1, "2024-01-01 00:00", "a", 0, 0.0],
        [1, "2024-01-31 00:00", None, 1, 1.0],  # a is exactly 30 days before: kept
        [2, "2024-01-01 00:00", "b", 0, 0.0],
        [2, "2024-01-31 00:00:01", None, 1, 1.0],  # one second over: dropped
    ]
    j = Journeys.from_events(events(rows), lookback="30d")
    assert j.to_path_table()["path"].tolist() == ["a"]
    assert j.provenance.dropped_conversions == 1
    assert j.provenance.dropped_value == 1.0


def test_ties_keep_input_order_and_timing_is_kept():
    rows = [
        [7, "2024-01-02", "b", 0, 0.0],
        [7, "2024-01-01", "a", 0, 0.0],
        [7, "2024-01-02", "c", 0, 0.0],
        [7, "2024-01-03", None, 1, 9.0],
    ]
    j = Journeys.from_events(events(rows))
    assert j.path(0) == ("a", "b", "c")
    ages = j.timing.touch_age_seconds() / 86400
    np.testing.assert_allclose(ages, [2.0, 1.0, 1.0])
    assert j.timing.converted.tolist() == [True]
    assert j.timing.value.tolist() == [9.0]


def test_conversion_row_with_channel_is_last_touch():
    rows = [[1, "2024-01-01", "a", 0, 0.0], [1, "2024-01-02", "b", 1, 5.0]]
    j = Journeys.from_events(events(rows))
    assert j.path(0) == ("a", "b")
    assert j.conversions.tolist() == [1]


def test_string_and_numeric_timestamps():
    frame = events([[1, "2024-01-01", "a", 0, 0.0], [1, "2024-01-02", None, 1, 1.0]])
    as_text = frame.assign(timestamp=frame["timestamp"].astype(str))
    as_unix = frame.assign(timestamp=frame["timestamp"].astype("int64") // 10**9)
    for f in (as_text, as_unix):
        assert Journeys.from_events(f).path(0) == ("a",)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda f: f.drop(columns="channel"), r"required column 'channel' is missing"),
        (lambda f: f.rename(columns={"user_id": "uid"}), r"'user_id' is missing.*did you mean"),
        (
            lambda f: f.assign(timestamp=["2024-01-01", "not a date", "2024-01-03"]),
            r"unparseable timestamp at row 1 \('not a date'\)",
        ),
        (
            lambda f: f.assign(timestamp=[None, "2024-01-02", "2024-01-03"]),
            r"missing timestamp at row 0",
        ),
        (
            # year 1 fits microseconds but not nanoseconds: refused, never wrapped to 1754
            lambda f: f.assign(timestamp=["2024-01-01", "0001-01-01 00:00:00", "2024-01-03"]),
            r"'timestamp' has a time out of range at row 1 \(0001-01-01 00:00:00\): times "
            r"must lie between 1677-09-21 and 2262-04-11",
        ),
        (lambda f: f.assign(channel=["a", None, None]), r"missing or empty channel at row 1"),
        (lambda f: f.assign(channel=["a", " ", None]), r"missing or empty channel at row 1"),
        (lambda f: f.assign(channel=["a > b", "c", None]), r"channel 'a > b' at row 0.*separator"),
        (lambda f: f.assign(conversion=[0, 2, 1]), r"'conversion' must be 0/1.*row 1"),
        (lambda f: f.assign(conversion=[0, 0, 0], channel=["a", "b", "c"]), r"no conversions"),
        (lambda f: f.assign(value=[0, 0, "ten"]), r"'value' must hold numeric.*row 2"),
        (lambda f: f.assign(value=[0, 0, -3.0]), r"'value' must be finite and non-negative; row 2"),
        (lambda f: f.assign(user_id=[1, None, 1]), r"missing user id at row 1"),
        (lambda f: f.iloc[:0], r"event log is empty"),
    ],
)
def test_from_events_bad_input(mutate, match):
    base = pd.DataFrame(
        {
            "user_id": [1, 1, 1],
            "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03"],
            "channel": ["a", "b", None],
            "conversion": [0, 0, 1],
            "value": [0.0, 0.0, 10.0],
        }
    )
    with pytest.raises(InvalidJourneysError, match=match):
        Journeys.from_events(mutate(base))


def test_bad_options():
    frame = events([[1, "2024-01-01", "a", 0, 0.0], [1, "2024-01-02", None, 1, 1.0]])
    with pytest.raises(InvalidJourneysError, match="cannot read duration '30 days'"):
        Journeys.from_events(frame, lookback="30 days")
    with pytest.raises(InvalidJourneysError, match="max_touches must be a positive integer"):
        Journeys.from_events(frame, max_touches=0)
    with pytest.raises(
        InvalidJourneysError, match=r"no journey has a touch inside the lookback window"
    ):
        Journeys.from_events(frame, lookback="1h")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", pd.Timedelta(days=30)),
        ("2w", pd.Timedelta(weeks=2)),
        ("12h", pd.Timedelta(hours=12)),
        ("90min", pd.Timedelta(minutes=90)),
        ("45s", pd.Timedelta(seconds=45)),
        ("1.5d", pd.Timedelta(hours=36)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


def test_event_log_matches_python_reference():
    """Random logs: the vectorised builder equals a direct per-user Python implementation."""
    rng = np.random.default_rng(42)
    n = 3000
    frame = pd.DataFrame(
        {
            "user_id": rng.integers(0, 300, n),
            "timestamp": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 60 * 24, n), "h"),
            "channel": rng.choice(["a", "b", "c", "d"], n),
            "conversion": (rng.random(n) < 0.08).astype(int),
        }
    )
    frame["value"] = np.where(frame["conversion"] == 1, rng.integers(1, 100, n), 0).astype(float)
    frame.loc[frame["conversion"].eq(1) & (rng.random(n) < 0.5), "channel"] = None
    lookback, cap = pd.Timedelta(days=10), 3

    expected: dict[tuple[str, ...], list[float]] = {}
    for _, g in (
        frame.reset_index().sort_values(["user_id", "timestamp", "index"]).groupby("user_id")
    ):
        current: list[tuple[pd.Timestamp, str]] = []
        for row in g.itertuples():
            if isinstance(row.channel, str):
                current.append((row.timestamp, row.channel))
            if row.conversion == 1:
                kept = [c for t, c in current if row.timestamp - t <= lookback][-cap:]
                if kept:
                    e = expected.setdefault(tuple(kept), [0, 0, 0.0])
                    e[0] += 1
                    e[2] += row.value
                current = []
        if current:
            end = current[-1][0]
            kept = [c for t, c in current if end - t <= lookback][-cap:]
            expected.setdefault(tuple(kept), [0, 0, 0.0])[1] += 1
    j = Journeys.from_events(frame, lookback="10d", max_touches=cap)
    got = {j.path(i): [j.conversions[i], j.nulls[i], j.value[i]] for i in range(j.n_paths)}
    assert got == expected


@pytest.fixture(params=["whole", "streamed"])
def csv_reading(request, monkeypatch):
    """Run a test with CSV files read whole and streamed (as files over the size limit are)."""
    if request.param == "streamed":
        monkeypatch.setattr("attribution._path_table._WHOLE_READ_BYTES", 0)
    return request.param


def test_whole_and_streamed_csv_reads_agree(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    names = np.array(["search", " email", "display ", "push"], dtype=object)
    paths = [" > ".join(rng.choice(names, rng.integers(1, 6))) for _ in range(3000)]
    frame = pd.DataFrame(
        {
            "path": paths,
            "total_conversions": rng.integers(0, 3, 3000),
            "total_null": rng.integers(0, 5, 3000),
            "total_conversion_value": rng.random(3000) * 10,
        }
    )
    csv = tmp_path / "paths.csv"
    frame.to_csv(csv, index=False)
    whole = Journeys.from_paths(csv)
    monkeypatch.setattr("attribution._path_table._WHOLE_READ_BYTES", 0)
    streamed = Journeys.from_paths(csv)
    assert whole.channels == streamed.channels == ("display", "email", "push", "search")
    for name in ("offsets", "touches", "conversions", "nulls"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(streamed, name))
    np.testing.assert_allclose(whole.value, streamed.value)
    assert whole.n_journeys == int(frame["total_conversions"].sum() + frame["total_null"].sum())


def test_errors_in_later_batches_name_the_file_row(tmp_path, csv_reading):
    """Large files are read in batches: row numbers in errors still count from the file start."""
    n = 300_000
    frame = pd.DataFrame(
        {"path": ["a > b"] * n, "total_conversions": [1] * n, "total_null": [0] * n}
    )
    frame.loc[290_000, "total_null"] = -2
    csv = tmp_path / "big.csv"
    frame.to_csv(csv, index=False)
    with pytest.raises(InvalidJourneysError, match=r"'total_null'.*row 290000 has -2"):
        Journeys.from_paths(csv)
    frame.loc[290_000, "total_null"] = 0
    frame.loc[299_999, "path"] = "a >  > b"
    with pytest.raises(InvalidJourneysError, match=r"empty channel name at row 299999"):
        Journeys.from_paths(frame)
    frame.loc[299_999, "path"] = "a > b"
    frame["total_conversions"] = frame["total_conversions"].astype(object)
    frame.loc[250_001, "total_conversions"] = "many"
    frame.to_csv(csv, index=False)
    with pytest.raises(InvalidJourneysError, match=r"'total_conversions'.*row 250001 has 'many'"):
        Journeys.from_paths(csv)


def test_csv_event_log_with_empty_channel_on_conversion_rows(tmp_path):
    csv = tmp_path / "events.csv"
    csv.write_text(
        "user_id,timestamp,channel,conversion,value\n"
        "1,2024-01-01,search,0,0\n1,2024-01-02,,1,20\n2,2024-01-01,email,0,0\n"
    )
    j = Journeys.from_events(csv)
    assert sorted(j.to_path_table()["path"]) == ["email", "search"]
    assert j.total_conversions == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,timestamp,channel,conversion,value\n1,2024-01-01,,0,0\n")
    with pytest.raises(InvalidJourneysError, match="missing or empty channel at row 0"):
        Journeys.from_events(bad)
