"""Faults: an MLflow server that does not answer, our own bugs, and generated malformed tables.

* A tracking server that accepts the connection but never answers (a listening socket nobody
  reads) and one that refuses it: the command fails within 20 s with exit 2 and one line naming
  the URI, before reading the input.
* An exception that is not a domain error (a bug of ours) exits 1 and names its type.
* Hypothesis-generated malformed path tables, event logs (DuckDB and pandas engines) and uplift
  tables: whatever the bytes, a command
  exits 0 or 2 (never 1: no unhandled exception), prints at most one ``error:`` line and no
  traceback, and a refused command changes no file.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments.cli import HTTP_RETRY_DEFAULTS, cli, run_cli
from tests.experiments.conftest import command
from tests.hostile.conftest import tree_digest, uplift_train


def run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = run_cli(argv)
    return code, err.getvalue()


def assert_no_crash(workdir: Path, argv: list[str]) -> None:
    """``argv`` exits 0 or 2 with at most one error line and no traceback; a refusal (2)
    changes no file."""
    before = tree_digest(workdir)
    code, err = run(argv)
    assert code in (0, 2), err
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("error")]) <= 1
    if code == 2:
        assert tree_digest(workdir) == before


# ------------------------------------------------------------------------------ MLflow server


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections (kernel backlog) but never answers a request."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def test_a_server_that_never_answers_fails_within_20_seconds(workdir: Path, silent_server):
    before = tree_digest(workdir)
    t0 = time.monotonic()
    code, err = run(["attribute", "paths.csv", "--tracking-uri", silent_server])
    elapsed = time.monotonic() - t0
    assert code == 2 and elapsed < 20, (code, elapsed, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the MLflow tracking")
    assert silent_server in lines[0] and "--no-track" in lines[0]
    assert tree_digest(workdir) == before


def test_a_refused_connection_fails_before_any_training(workdir: Path):
    t0 = time.monotonic()
    code, err = run(uplift_train("camp.csv", "--tracking-uri http://127.0.0.1:9"))
    assert code == 2 and time.monotonic() - t0 < 20
    assert "reading" not in err  # refused before the data was read
    assert err.strip().splitlines() == [
        "error: cannot reach the MLflow tracking server 'http://127.0.0.1:9' within 5 s "
        "([Errno 111] Connection refused): start it, fix --tracking-uri / MLFLOW_TRACKING_URI, "
        "or pass --no-track"
    ]


def test_mlflow_http_retries_are_capped_unless_the_environment_says_otherwise(monkeypatch):
    for name in HTTP_RETRY_DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "3")
    run(["--help"])
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "2"
    assert os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] == "3"


# ------------------------------------------------------------------------------ warnings


def test_a_wrong_separator_is_one_warning_line_with_the_fix(workdir: Path):
    code, err = run(["attribute", "paths.csv", "--separator", ";", "--no-track"])
    assert code == 0
    lines = [line for line in err.splitlines() if "separator" in line]
    assert lines == [
        "warning: no path contains the separator ';', but 2 of 5 channel names contain '>' "
        "(e.g. 'search > email'): each whole path was read as one channel; pass separator='>' "
        "(CLI: --separator '>') if '>' separates the channels"
    ]


# ------------------------------------------------------------------------------ our bugs


def test_a_bug_exits_1_naming_the_exception(monkeypatch):
    import click

    @click.command("explode")
    def explode() -> None:
        raise KeyError("internal state")

    monkeypatch.setitem(cli.commands, "explode", explode)
    code, err = run(["explode"])
    assert code == 1 and err.strip() == "error: KeyError: 'internal state'"


# ------------------------------------------------------------------------------ generated tables

#: examples share the test's working directory (function-scoped), and a command may be slow
IN_WORKDIR = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

CELLS = st.one_of(
    st.none(),
    st.integers(-5, 50),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.sampled_from(["search > email", "email", ">", "a >> b", "=cmd()", "1e309", "NaN", ""]),
)
HEADERS = st.lists(
    st.sampled_from(
        ["path", "total_conversions", "total_null", "total_conversion_value", "paht", "x", ""]
    ),
    min_size=1,
    max_size=5,
)


def _csv_text(header: list[str], rows: list[list[object]]) -> str:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row[: len(header)]])
    return buffer.getvalue()


TABLES = HEADERS.flatmap(
    lambda header: st.tuples(
        st.just(header),
        st.lists(st.lists(CELLS, min_size=len(header), max_size=len(header)), max_size=8),
    )
)


@settings(IN_WORKDIR, max_examples=60)
@given(table=TABLES, raw=st.binary(max_size=64), use_raw=st.booleans())
def test_generated_path_tables_never_crash(workdir: Path, table, raw, use_raw):
    header, rows = table
    data = raw if use_raw else _csv_text(header, rows).encode()
    (workdir / "gen.csv").write_bytes(data)
    assert_no_crash(workdir, command("attribute gen.csv --no-track --format json -o out.csv"))


UPLIFT_CELLS = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from(["control", "email", "sms", "", "yes", "1.5"]),
)


@settings(IN_WORKDIR, max_examples=40)
@given(
    rows=st.lists(st.lists(UPLIFT_CELLS, min_size=4, max_size=4), min_size=0, max_size=40),
    header=st.permutations(["x1", "x2", "treatment", "conversion"]),
)
def test_generated_uplift_tables_never_crash(workdir: Path, rows, header):
    (workdir / "gen.csv").write_text(_csv_text(list(header), rows))
    tiny = "--min-rows-per-arm 1 --n-estimators 3 --no-calibrate --n-bootstrap 0 --no-track"
    assert_no_crash(workdir, uplift_train("gen.csv", tiny, "--model-dir model"))


EVENT_CELLS = st.one_of(
    st.none(),
    st.integers(-2, 3),
    st.sampled_from(
        [
            "u1",
            "u2",
            "",
            "search",
            "email",
            "2024-01-01 10:00:00",
            "2024-01-02T00:30:00+02:00",
            "2024-13-45",
            "yes",
            "1.5",
            "NaN",
        ]
    ),
)


@settings(IN_WORKDIR, max_examples=40)
@given(
    rows=st.lists(st.lists(EVENT_CELLS, min_size=4, max_size=4), min_size=0, max_size=12),
    header=st.permutations(["user_id", "timestamp", "channel", "conversion"]),
    engine=st.sampled_from(["duckdb", "pandas"]),
)
def test_generated_event_logs_never_crash(workdir: Path, rows, header, engine):
    (workdir / "gen.csv").write_text(_csv_text(list(header), rows))
    argv = command("attribute gen.csv --events --engine", engine, "--no-track -o out.csv")
    assert_no_crash(workdir, argv)
