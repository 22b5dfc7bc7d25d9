"""Causal attribution from the command line: simulate, attribute, report and plan-tests."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.experiments.conftest import pathlift


def on_events(dataset: Path, *, users: bool = True) -> tuple[Path | str, ...]:
    """The simulated event log (``--events``) and, with ``users``, its user table."""
    with_users = ("--users", dataset / "users.csv") if users else ()
    return (dataset / "events.parquet", "--events", *with_users)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "data"
    code = pathlift(
        "simulate", out, "--users 15000 --seed 3 --lift-test email --lift-test paid_search"
    )
    assert code == 0
    return out


def test_simulate_writes_a_dataset_with_truth(dataset: Path) -> None:
    names = {p.name for p in dataset.iterdir()}
    assert names == {
        "events.parquet",
        "paths.csv",
        "users.csv",
        "costs.csv",
        "truth.csv",
        "lift_tests.csv",
        "config.json",
    }
    users = pd.read_csv(dataset / "users.csv")
    assert list(users.columns) == ["user_id", "crm_score", "segment", "tenure_years", "region"]
    assert len(users) == 15_000
    # the path table holds the event log's journeys (untouched conversions are not journeys)
    from attribution import Journeys

    paths = Journeys.from_paths(dataset / "paths.csv")
    events = Journeys.from_events(dataset / "events.parquet")
    assert paths.n_journeys == events.n_journeys
    assert paths.total_conversions == events.total_conversions
    assert paths.total_value == pytest.approx(events.total_value)
    truth = pd.read_csv(dataset / "truth.csv")
    assert {"channel", "incremental_conversions", "shapley"} <= set(truth.columns)
    tests = pd.read_csv(dataset / "lift_tests.csv")
    assert sorted(tests["channel"]) == ["email", "paid_search"]
    config = json.loads((dataset / "config.json").read_text())
    assert config["config"]["n_users"] == 15_000
    assert config["config"]["covariates"][0]["intent_correlation"] == 0.9


def test_simulate_refuses_to_overwrite_and_unknown_channels(dataset: Path, capsys) -> None:
    before = (dataset / "users.csv").read_bytes()
    assert pathlift("simulate", dataset, "--users 100") == 2
    err = capsys.readouterr().err
    assert "already holds" in err and "--force" in err
    assert (dataset / "users.csv").read_bytes() == before
    fresh = dataset.parent / "other"
    assert pathlift("simulate", fresh, "--lift-test tv") == 2
    assert "'tv' is not a simulated channel" in capsys.readouterr().err
    assert not fresh.exists()


def test_attribute_causal_json(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "credit.json"
    code = pathlift(
        "attribute",
        *on_events(dataset),
        "-m causal --bootstrap 30 --format json --output",
        out,
        "--no-track",
    )
    assert code == 0
    payload = json.loads(out.read_text())
    (model,) = payload["models"]
    assert model["model"] == "causal"
    d = model["diagnostics"]
    assert d["baseline"] == pytest.approx(d["population_conversions"] - d["incremental_total"])
    assert d["n_users"] == 15_000
    for row in model["channels"]:
        assert 0 <= row["ci_low"] <= row["conversions"] <= row["ci_high"]
        assert row["conversions"] <= row["support_conversions"]
    assert len(model["sensitivity"]["lambdas"]) == 81


def test_attribute_table_reports_what_marketing_caused(dataset: Path, capsys) -> None:
    code = pathlift(
        "attribute",
        *on_events(dataset),
        "--covariates crm_score,segment -m all --bootstrap 0 --no-track",
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "causal: marketing caused" in text and "baseline" in text
    # the table is wrapped into blocks of columns that fit 120 characters
    headers = [line.split() for line in text.splitlines() if line.startswith("channel ")]
    models = [name for header in headers for name in header[1:]]
    assert "causal" in models and "markov" in models
    table = [line for line in text.splitlines() if not line.startswith(("note", "causal:"))]
    assert max(map(len, table)) <= 120


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-m", "causal"], "needs a user table of pre-exposure covariates: add --users"),
        (["-m", "causal", "--users", "missing.csv"], "--users file 'missing.csv' does not exist"),
        (["-m", "causal", "--users", "USERS", "--engine", "spark"], "spark engine returns no"),
    ],
)
def test_attribute_causal_bad_input_is_one_line(dataset, extra, message, capsys) -> None:
    args = [a.replace("USERS", str(dataset / "users.csv")) for a in extra]
    code = pathlift("attribute", *on_events(dataset, users=False), args, "--no-track")
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_attribute_users_need_an_event_log(dataset, tmp_path, capsys) -> None:
    paths = tmp_path / "paths.csv"
    paths.write_text("path,total_conversions,total_null\na > b,1,2\n")
    code = pathlift("attribute", paths, "--users", dataset / "users.csv", "-m causal --no-track")
    assert code == 2
    assert "--users needs an event log (--events)" in capsys.readouterr().err


def test_report_calibrates_the_causal_model_by_transfer(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    code = pathlift(
        "report",
        *on_events(dataset),
        "-m causal -m markov --cost-col cost --lift-tests",
        dataset / "lift_tests.csv",
        "--negative-control direct --bootstrap 30 --out",
        out,
    )
    assert code == 0
    calibration = pd.read_csv(out / "report_calibration.csv")
    assert {"channel", "calibrated"} <= set(calibration.columns)
    assert calibration.set_index("channel").loc["direct", "calibrated"] == 0.0
    plan = pd.read_csv(out / "report_test_plan.csv")
    ranked = plan.dropna(subset=["rank"])
    assert "direct" not in set(ranked["channel"]) and "email" not in set(ranked["channel"])
    report = json.loads((out / "report.json").read_text())
    assert report["calibration"]["untested"] == "transfer"
    assert report["calibration"]["negative_controls"] == ["direct"]


def test_report_transfer_needs_the_causal_model(dataset: Path, tmp_path: Path, capsys) -> None:
    code = pathlift(
        "report",
        *on_events(dataset, users=False),
        "-m markov --lift-tests",
        dataset / "lift_tests.csv",
        "--untested transfer --out",
        tmp_path / "r",
    )
    assert code == 2
    assert "calibrate the causal model" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_plan_tests(dataset: Path, fmt: str, capsys) -> None:
    code = pathlift(
        "plan-tests",
        dataset / "events.parquet",
        "--users",
        dataset / "users.csv",
        "--lift-tests",
        dataset / "lift_tests.csv",
        "--negative-control direct --cost-col cost --bootstrap 30 --format",
        fmt,
    )
    assert code == 0
    out = capsys.readouterr().out
    if fmt == "json":
        payload = json.loads(out)
        ranked = [c for c in payload["channels"] if c["rank"] is not None]
        assert {c["channel"] for c in ranked} == {"affiliate", "app_push", "display", "social"}
        assert all(0 < c["holdout_needed"] <= 0.5 for c in payload["channels"])
    else:
        assert out.startswith("what to test next")
        assert "already tested or negative controls: " in out


def test_plan_tests_refuses_bad_options_before_fitting(dataset: Path, capsys) -> None:
    code = pathlift(
        "plan-tests",
        dataset / "events.parquet",
        "--users",
        dataset / "users.csv",
        "--costs",
        dataset / "costs.csv",
        "--cost-col cost",
    )
    assert code == 2
    assert "either --costs or --cost-col" in capsys.readouterr().err
