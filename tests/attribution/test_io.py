"""The shared file helpers: atomic writes, JSON values and the table reader.

Every package reads tables and writes files through these, so their rules are tested once here.
"""

from __future__ import annotations

import json
import math
import os
import stat

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution._io import (
    atomic_write,
    atomic_write_files,
    atomic_write_text,
    check_destination,
    csv_delimiter,
    csv_text,
    escape_formula,
    json_records,
    json_value,
    read_frame,
    read_table,
    resolve_files,
    to_jsonable,
    use_delimiter,
)


class _Refused(ValueError):
    """A caller's domain error."""


# ----------------------------------------------------------------------------- atomic writes


@pytest.fixture
def umask():
    """``umask(mask)`` sets the process umask for the test; the previous one is restored."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


def test_atomic_write_replaces_the_file_readable_by_all(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "sub" / "out.txt"
    atomic_write_text(target, "first\n")
    atomic_write_text(target, "second\n")
    assert target.read_text() == "second\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_written_files_honour_the_umask_like_open(tmp_path, umask, mask, mode):
    umask(mask)
    with open(tmp_path / "plain.txt", "w") as handle:  # what open() gives, for comparison
        handle.write("x")
    assert stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == mode
    assert stat.S_IMODE(atomic_write_text(tmp_path / "out.txt", "x").stat().st_mode) == mode
    paths = atomic_write_files(tmp_path / "docs", {"a.md": "x", "b.bin": b"y"})
    assert {stat.S_IMODE(p.stat().st_mode) for p in paths.values()} == {mode}


def test_a_failing_block_keeps_the_previous_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "model.bin"
    with atomic_write(target, "wb") as handle:
        handle.write(b"good")
    with pytest.raises(RuntimeError, match="half way"), atomic_write(target, "wb") as handle:
        handle.write(b"partial")
        raise RuntimeError("half way")
    assert target.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["model.bin"]


def test_atomic_write_files_is_all_or_nothing(tmp_path, monkeypatch):
    atomic_write_files(tmp_path, {"a.txt": "old a", "b.txt": "old b"})
    calls = []
    real_fsync = os.fsync

    def fsync_fails_second_time(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise OSError("disk full")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_fails_second_time)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_files(tmp_path, {"a.txt": "new a", "b.txt": "new b"})
    assert (tmp_path / "a.txt").read_text() == "old a"  # written first, yet not moved in
    assert (tmp_path / "b.txt").read_text() == "old b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    monkeypatch.setattr(os, "fsync", real_fsync)
    paths = atomic_write_files(tmp_path, {"a.txt": "new a", "c.bin": b"\x00\x01"})
    assert paths == {"a.txt": tmp_path / "a.txt", "c.bin": tmp_path / "c.bin"}
    assert (tmp_path / "c.bin").read_bytes() == b"\x00\x01"


# ----------------------------------------------------------------------------- JSON values


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.int64(2), 2),
        (np.float32(0.5), 0.5),
        (np.bool_(True), True),
        (math.nan, None),
        (np.float64("inf"), None),
        (-math.inf, None),
        (None, None),
        (pd.NaT, None),
        (pd.Timestamp("2024-05-01 13:45"), "2024-05-01T13:45:00"),
        ("text", "text"),
        (3, 3),
    ],
)
def test_json_value(value, expected):
    got = json_value(value)
    assert got == expected
    assert type(got) is type(expected)


def test_to_jsonable_walks_mappings_and_sequences_into_strict_json():
    value = {
        1: (np.int64(1), [np.float64("nan"), {"t": pd.Timestamp("2024-01-02")}]),
        "other": pd.Timedelta("1D"),
    }
    got = to_jsonable(value)
    assert got == {"1": [1, [None, {"t": "2024-01-02T00:00:00"}]], "other": "1 days 00:00:00"}
    json.dumps(got, allow_nan=False)  # strict JSON


def test_json_records_of_a_frame():
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, np.nan], 3: ["x", None]})
    assert json_records(frame) == [{"a": 1, "b": 0.5, "3": "x"}, {"a": 2, "b": None, "3": None}]


# ----------------------------------------------------------------------------- reading tables

FRAME = pd.DataFrame({"user": ["u1", "u2", "u3"], "n": [1, 2, 3], "when": ["2024-01-01"] * 3})


def test_frames_and_arrow_tables_are_used_as_given():
    assert read_frame(FRAME) is FRAME
    table = read_table(FRAME)
    assert read_table(table) is table
    assert table.column_names == ["user", "n", "when"]


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.parquet", "t.pq", "t.txt"])
def test_one_file_by_its_name(tmp_path, name):
    path = tmp_path / name
    if name.endswith((".parquet", ".pq")):
        FRAME.to_parquet(path)
    else:
        FRAME.to_csv(path, index=False, compression="gzip" if name.endswith(".gz") else None)
    got = read_frame(path)
    assert got["user"].tolist() == ["u1", "u2", "u3"]
    assert got["n"].tolist() == [1, 2, 3]


def test_csv_empty_fields_are_missing_and_iso_times_are_timestamps(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("user,channel,when\nu1,,2024-01-01 10:00\nu2,email,2024-01-02 11:30\n")
    got = read_frame(path)
    assert got["channel"].isna().tolist() == [True, False]
    assert pd.api.types.is_datetime64_any_dtype(got["when"])


def test_a_directory_is_read_recursively_in_path_order_without_partition_columns(tmp_path):
    root = tmp_path / "events"
    (root / "day=2").mkdir(parents=True)
    (root / "day=1").mkdir()
    FRAME.iloc[2:].to_parquet(root / "day=2" / "part-0.parquet")
    FRAME.iloc[:2].to_parquet(root / "day=1" / "part-9.parquet")
    (root / "_SUCCESS").write_text("")
    got = read_frame(root)
    assert got["user"].tolist() == ["u1", "u2", "u3"]  # day=1/... sorts before day=2/...
    assert list(got.columns) == ["user", "n", "when"]
    # the same rule for a glob and for a list of files
    assert read_frame(str(root / "**" / "*.parquet"))["user"].tolist() == ["u1", "u2", "u3"]
    files = [root / "day=2" / "part-0.parquet", root / "day=1" / "part-9.parquet"]
    assert read_frame(files)["user"].tolist() == ["u1", "u2", "u3"]


def test_a_directory_without_parquet_files_reads_its_csv_files(tmp_path):
    FRAME.iloc[1:].to_csv(tmp_path / "b.csv", index=False)
    FRAME.iloc[:1].assign(n=1.5).to_csv(tmp_path / "a.csv", index=False)
    got = read_frame(tmp_path)
    assert got["user"].tolist() == ["u1", "u2", "u3"]
    assert got["n"].tolist() == [1.5, 2.0, 3.0]  # integer and float files widen to float


def test_a_path_holding_glob_characters_is_read_as_a_path(tmp_path):
    path = tmp_path / "[2024] events.csv"
    FRAME.to_csv(path, index=False)
    assert len(read_frame(path)) == 3


def test_input_problems_raise_the_callers_error_naming_the_file(tmp_path):
    options = {"what": "cost table", "error": _Refused}
    with pytest.raises(_Refused, match=r"cost table file '.*nope\.csv' does not exist"):
        read_frame(tmp_path / "nope.csv", **options)
    with pytest.raises(_Refused, match=r"has no \.parquet or \.csv files"):
        read_frame(tmp_path, **options)
    with pytest.raises(_Refused, match="no file matches"):
        read_frame(str(tmp_path / "*.parquet"), **options)
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(_Refused, match=r"cannot read cost table file '.*bad\.parquet'"):
        read_frame(tmp_path / "bad.parquet", **options)
    FRAME.to_csv(tmp_path / "good.csv", index=False)
    with pytest.raises(_Refused, match="mixes Parquet and CSV"):
        resolve_files([tmp_path / "good.csv", tmp_path / "bad.parquet"], **options)
    with pytest.raises(_Refused, match="no cost table files given"):
        resolve_files([], **options)


# ----------------------------------------------------------------------------- CSV text


def test_csv_text_escapes_formula_cells_and_keeps_numbers():
    frame = pd.DataFrame(
        {
            "channel": ['=HYPERLINK("http://x","y")', "email", "-cmd", "@SUM(A1)", "+1", None],
            "credit": [-0.5, 1.0, 2.0, 3.0, 4.0, 5.0],
            "kind": pd.Categorical(["=a", "b", "c", "d", "e", "f"]),
            "=total": [1, 2, 3, 4, 5, 6],
        }
    )
    text = csv_text(frame)
    assert text.splitlines() == [
        "channel,credit,kind,'=total",
        '"\'=HYPERLINK(""http://x"",""y"")",-0.5,\'=a,1',
        "email,1.0,b,2",
        "'-cmd,2.0,c,3",
        "'@SUM(A1),3.0,d,4",
        "'+1,4.0,e,5",
        ",5.0,f,6",
    ]
    assert frame["channel"].iloc[0].startswith("=")  # the caller's frame is not changed
    indexed = csv_text(frame.set_index("channel")[["credit"]], index=True)
    assert indexed.splitlines()[1] == '"\'=HYPERLINK(""http://x"",""y"")",-0.5'


def test_escape_formula_only_touches_text():
    assert escape_formula("\tx") == "'\tx" and escape_formula("\rx") == "'\rx"
    assert escape_formula(-1.5) == -1.5 and escape_formula("a=b") == "a=b"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=8), min_size=1, max_size=6))
def test_no_written_text_cell_can_start_a_formula(cells):
    import csv
    import io

    frame = pd.DataFrame({"name": cells, "value": np.arange(len(cells), dtype=float) - 2})
    rows = list(csv.reader(io.StringIO(csv_text(frame))))
    for row, original in zip(rows[1:], cells, strict=False):
        assert not row[0].startswith(("=", "+", "-", "@", "\t", "\r"))
        assert row[0] in (original, "'" + original) or original.strip() == ""
    assert len(rows) == len(cells) + 1  # no row split by a line break inside a cell


# ----------------------------------------------------------------------------- before any work


def test_check_destination_refuses_paths_that_cannot_be_written_and_creates_nothing(tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(_Refused, match=r"--output '.*adir' is a directory: give a file path"):
        check_destination(tmp_path / "adir", what="--output", error=_Refused)
    with pytest.raises(_Refused, match=r"is a file, not a directory: give a directory path"):
        check_destination(tmp_path / "afile", kind="directory", error=_Refused)
    with pytest.raises(_Refused, match=r"afile' is a file, not a directory; choose another"):
        check_destination(tmp_path / "afile" / "deep" / "out.csv", error=_Refused)
    with pytest.raises(_Refused, match=r"the path is empty"):
        check_destination("", error=_Refused)
    fine = tmp_path / "new" / "deeper" / "out.csv"
    assert check_destination(fine, error=_Refused) == fine
    assert check_destination(tmp_path / "adir", kind="directory", error=_Refused).is_dir()
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_files_of_one_input_must_share_their_columns(tmp_path):
    frame = pd.DataFrame({"a": [1], "b": [2]})
    (tmp_path / "mixed").mkdir()
    frame.to_csv(tmp_path / "mixed" / "1.csv", index=False)
    frame.to_parquet(tmp_path / "mixed" / "2.parquet")
    with pytest.raises(_Refused, match=r"mixes Parquet and CSV files \(1 .parquet, 1 .csv"):
        resolve_files(tmp_path / "mixed", error=_Refused)
    (tmp_path / "csv").mkdir()
    frame.to_csv(tmp_path / "csv" / "1.csv", index=False)
    frame[["b", "a"]].to_csv(tmp_path / "csv" / "2.csv", index=False)
    with pytest.raises(_Refused, match=r"2.csv' has the columns in another order"):
        resolve_files(tmp_path / "csv", what="event log", error=_Refused)
    frame.assign(c=3).to_csv(tmp_path / "csv" / "2.csv", index=False)
    with pytest.raises(_Refused, match=r"the event log files do not share one schema.*extra"):
        resolve_files(tmp_path / "csv", what="event log", error=_Refused)
    (tmp_path / "pq").mkdir()  # Parquet columns are matched by name: order does not matter
    frame.to_parquet(tmp_path / "pq" / "1.parquet")
    frame[["b", "a"]].to_parquet(tmp_path / "pq" / "2.parquet")
    assert len(resolve_files(tmp_path / "pq", error=_Refused).files) == 2
    (tmp_path / "dup.csv").write_text("a,b,a\n1,2,3\n")
    with pytest.raises(_Refused, match=r"column 'a' appears 2 times in the header"):
        resolve_files(tmp_path / "dup.csv", error=_Refused)


# ----------------------------------------------------------------------------- CSV delimiters


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("path,total_conversions\na > b,1\n", ","),
        ("path;total_conversions;total_null\na > b;1;2\nc;0;3\n", ";"),
        ("user\tchannel\n1\temail\n", "\t"),
        ("a|b\n1|2\n", "|"),
        # commas inside quotes do not count; the semicolon splits every line alike
        ('name;value\n"Smith, J.";1\n"Doe, A.";2\n', ";"),
        # a decimal comma on some lines only: the consistent semicolon wins
        ("a;b\n1,5;2\n3;4\n", ";"),
        ("only\n1\n", ","),
    ],
)
def test_the_delimiter_is_detected(tmp_path, text, delimiter):
    path = tmp_path / "t.csv"
    path.write_text(text)
    assert csv_delimiter(path) == delimiter
    table = read_table(path)
    assert table.num_columns == text.splitlines()[0].count(delimiter) + 1


def test_detection_reads_compressed_files(tmp_path):
    import gzip

    path = tmp_path / "t.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("a;b\n1;2\n")
    assert csv_delimiter(path) == ";"
    assert read_frame(path).to_dict("list") == {"a": [1], "b": [2]}


def test_an_explicit_delimiter_overrides_detection(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a;b;c,d\n1;2;3,4\n")
    assert csv_delimiter(path) == ";"  # both split every line alike; ';' splits more
    with use_delimiter(","):
        assert list(read_frame(path).columns) == ["a;b;c", "d"]
    with use_delimiter("tab"):
        assert csv_delimiter(path) == "\t"
    assert csv_delimiter(path) == ";"
    with pytest.raises(ValueError, match="one character"), use_delimiter(";;"):
        pass
