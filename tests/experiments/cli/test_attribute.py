"""``pathlift attribute`` end to end on real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.experiments.conftest import command, pathlift


def attribute(*parts: str | Path | list[str]) -> int:
    """``pathlift attribute`` without MLflow tracking (tracking has its own tests below)."""
    return pathlift("attribute", *parts, "--no-track")


HAND_CASE = (
    "path,total_conversions,total_null,total_conversion_value\nA > B,1,0,10\nB,0,1,0\nA,1,1,5\n"
)


@pytest.fixture
def paths_csv(tmp_path):
    f = tmp_path / "paths.csv"
    f.write_text(HAND_CASE)
    return f


def test_markov_order_2_json(paths_csv, tmp_path, capsys):
    out = tmp_path / "out.json"
    code = attribute(
        paths_csv, "--model markov --order 2 --format json --output", out, "--bootstrap 0"
    )
    assert code == 0
    payload = json.loads(out.read_text())
    (model,) = payload["models"]
    assert model["model"] == "markov"
    assert model["params"]["order"] == 2
    rows = {c["channel"]: c for c in model["channels"]}
    assert rows["A"]["conversions"] == pytest.approx(4 / 3)
    assert rows["B"]["value"] == pytest.approx(6.0)
    assert rows["A"]["share"] == pytest.approx(2 / 3)
    assert rows["A"]["removal_effect"] == pytest.approx(1.0)
    assert payload["journeys"]["conversions"] == 2


def test_low_support_caveat_once_on_stderr_and_once_per_note(paths_csv, capsys):
    """The hand case has 2 conversions: both channels have low support. The warning is printed
    once on standard error, however many models, and the table's note names the models."""
    code = attribute(paths_csv, "-m markov -m linear --bootstrap 0")
    assert code == 0
    captured = capsys.readouterr()
    caveat = "A (3 journeys, 2 conversions), B (2 journeys, 1 conversion)"
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and caveat in warnings[0]
    notes = [line for line in captured.out.splitlines() if "low support" in line]
    assert len(notes) == 1 and notes[0].startswith("note (markov, linear): low support")


def test_all_models_csv_and_intervals(paths_csv, capsys):
    code = attribute(paths_csv, "--model all --format csv --bootstrap 50")
    assert code == 0
    frame = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert set(frame["model"]) >= {
        "first_touch",
        "last_touch",
        "last_non_direct",
        "linear",
        "position_based",
        "time_decay",
        "markov",
    }
    assert {"channel", "conversions", "value", "share", "ci_low", "ci_high"} <= set(frame.columns)
    sums = frame.groupby("model")["conversions"].sum()
    assert (sums.round(9) == 2.0).all()


def test_table_side_by_side(paths_csv, capsys):
    assert attribute(paths_csv, "-m first_touch -m markov --bootstrap 0") == 0
    out = capsys.readouterr().out
    assert "first_touch" in out and "markov" in out
    assert "4 journeys (3 unique paths), 2 conversions" in out


def test_events_with_lookback(tmp_path, capsys):
    events = pd.DataFrame(
        {
            "uid": [1, 1, 1, 2, 2],
            "ts": ["2024-01-01", "2024-01-20", "2024-01-21", "2024-01-01", "2024-01-02"],
            "ch": ["email", "search", None, "display", "search"],
            "converted": [0, 0, 1, 0, 0],
            "revenue": [0, 0, 50.0, 0, 0],
        }
    )
    f = tmp_path / "events.parquet"
    events.to_parquet(f)
    code = attribute(
        f,
        "--events --user-col uid --time-col ts --channel-col ch --conversion-col converted",
        "--value-col revenue --lookback 7d -m first_touch --format json --bootstrap 0",
    )
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    rows = {c["channel"]: c for c in payload["models"][0]["channels"]}
    assert rows["search"]["conversions"] == 1.0  # email is 20 days old: outside the lookback
    assert rows["search"]["value"] == 50.0
    assert payload["journeys"]["provenance"]["lookback"] == "7d"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--path-col", "route"], "required column 'route' is missing"),
        (["--order", "two"], "--order must be a positive integer or 'auto'"),
        (["--lookback", "30d"], "--lookback and --max-touches apply to event logs"),
        (["--position-weights", "1,2"], "--position-weights takes three"),
        (["--bootstrap", "5"], "--bootstrap must be 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(paths_csv, capsys, args, message):
    code = attribute(paths_csv, args)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_bad_file_content(tmp_path, capsys):
    f = tmp_path / "bad.csv"
    f.write_text("path,total_conversions,total_null\nA,1,0\nB,x,1\n")
    assert attribute(f) == 2
    assert "row 1 has 'x'" in capsys.readouterr().err


def test_bad_tracking_store_fails_before_fitting(paths_csv, tmp_path, capsys):
    """A file-store URI is refused up front: no report is written, nothing is fitted."""
    out = tmp_path / "report.json"
    code = pathlift("attribute", paths_csv, "--tracking-uri", [tmp_path.as_uri()], "--output", out)
    err = capsys.readouterr().err
    assert code == 2
    assert "is the MLflow file store" in err and err.count("\n") == 1
    assert not out.exists()


def test_failed_run_keeps_previous_output(paths_csv, tmp_path):
    out = tmp_path / "report.json"
    out.write_text("previous good report")
    bad = tmp_path / "bad.csv"
    bad.write_text("path,total_conversions,total_null\nA,0,1\n")
    assert attribute(bad, "--output", out) == 2
    assert out.read_text() == "previous good report"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_console_script(paths_csv):
    exe = Path(sys.executable).parent / "pathlift"
    proc = subprocess.run(
        command(exe, "attribute", paths_csv, "--bootstrap 0 --order auto --no-track"),
        capture_output=True,
        text=True,
        env={**os.environ},
        check=False,
    )
    # 4 journeys are too few to hold some out: a clean one-line error
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: too few journeys")
    proc = subprocess.run(
        command(exe, "attribute", paths_csv, "--bootstrap 0"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "1.20" in proc.stdout and "0.80" in proc.stdout


def test_tracked_run_and_registered_markov(tmp_path, paths_csv, capsys):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path}/store.db"
    code = pathlift(
        "attribute",
        paths_csv,
        "-m markov -m linear --bootstrap 20 --tracking-uri",
        [uri],
        "--experiment cli-test --register",
    )
    assert code == 0, capsys.readouterr().err
    client = MlflowClient(uri, uri)
    (run,) = client.search_runs([client.get_experiment_by_name("cli-test").experiment_id])
    assert run.info.status == "FINISHED"
    assert "top_share.markov" in run.data.metrics
    assert str(client.get_model_version_by_alias("pathlift-markov", "champion").version) == "1"


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_events_engines_agree(tmp_path, capsys, engine):
    events = pd.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 3, 3],
            "timestamp": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-02",
                    "2024-01-03",
                    "2024-01-01",
                    "2024-01-05",
                    "2024-01-02",
                    "2024-01-02",
                ]
            ),
            "channel": ["a", "b", None, "b", None, "a", "c"],
            "conversion": [0, 0, 1, 0, 1, 0, 0],
            "value": [0, 0, 10.0, 0, 5.0, 0, 0],
        }
    )
    f = tmp_path / "events.parquet"
    events.to_parquet(f)
    spill = ("--memory-limit 512MB --temp-directory", tmp_path) if engine == "duckdb" else ()
    code = attribute(f, "--events", *spill, "--engine", engine, "-m all --bootstrap 0 --format csv")
    assert code == 0
    frame = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    linear = frame[frame["model"] == "linear"].set_index("channel")["conversions"]
    assert linear.to_dict() == pytest.approx({"a": 0.5, "b": 1.5, "c": 0.0})
    assert set(frame["model"]) >= {"shapley", "conversion_rate_shapley", "data_driven"}


# ----------------------------------------------------------------------------- CSV delimiters


def _credit(capsys, *parts):
    capsys.readouterr()
    assert attribute(*parts, "--format json --bootstrap 0") == 0, capsys.readouterr().err
    (model,) = json.loads(capsys.readouterr().out)["models"]
    return {r["channel"]: r["conversions"] for r in model["channels"]}


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_path_tables_and_event_logs_with_any_delimiter(tmp_path, capsys, delimiter):
    reference = _credit(capsys, _write(tmp_path / "a.csv", HAND_CASE))
    other = _write(tmp_path / "b.csv", HAND_CASE.replace(",", delimiter))
    assert _credit(capsys, other) == reference
    events = (
        "user_id,timestamp,channel,conversion,value\n"
        "1,2024-01-01,a,0,0\n1,2024-01-02,b,1,10\n2,2024-01-01,b,0,0\n2,2024-01-03,,1,5\n"
        "3,2024-01-01,a,0,0\n"
    )
    comma = _write(tmp_path / "e1.csv", events)
    split = _write(tmp_path / "e2.csv", events.replace(",", delimiter))
    for engine in ("duckdb", "pandas"):
        expected = _credit(capsys, comma, "--events --engine", engine)
        got = _credit(capsys, split, "--events --engine", engine)
        assert got == expected
        assert got["b"] > 0


def _write(path, text):
    path.write_text(text)
    return path


def test_an_explicit_delimiter_and_the_hint_of_a_wrong_one(tmp_path, capsys):
    semi = _write(tmp_path / "p.csv", HAND_CASE.replace(",", ";"))
    assert _credit(capsys, semi, "--delimiter ;")
    assert attribute(semi, "--delimiter ,") == 2
    err = capsys.readouterr().err
    assert "looks delimited by ';'" in err and "--delimiter ';'" in err
    assert attribute(semi, "--delimiter ;;") == 2
    assert "one character" in capsys.readouterr().err


def test_channelattribution_sample_as_shipped(shared_data, capsys):
    """ChannelAttribution's own Data.csv (';'-separated) is read as it comes."""
    credit = _credit(capsys, shared_data("channelattribution_Data.csv"))
    assert len(credit) == 12
    frame = pd.read_csv(shared_data("channelattribution_Data.csv"), sep=";")
    assert sum(credit.values()) == pytest.approx(frame["total_conversions"].sum())
