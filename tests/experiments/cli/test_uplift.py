"""End-to-end tests of ``pathlift uplift`` on real temporary files."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.experiments.conftest import command, pathlift
from tests.uplift.conftest import make_frame


def train_args(csv_path, control="ctl"):
    """``pathlift uplift train`` on the test campaign: arms A and B against control ``ctl``."""
    return command(
        "uplift train", csv_path, "--treatment-col arm --control", [control], "--outcome-col y"
    )


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "campaign.csv"
    make_frame(2400, seed=2).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model_dir(csv_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "m"
    code = pathlift(
        train_args(csv_path),
        "--learner x --n-estimators 20 --model-dir",
        out,
        "--n-bootstrap 20 --format csv --output",
        out.parent / "train.csv",
    )
    assert code == 0
    return out


def test_train_writes_model_and_evaluation(model_dir, capsys):
    table = pd.read_csv(model_dir.parent / "train.csv")
    assert set(table["arm"]) == {"A", "B"}
    assert {"metric", "value", "ci_low", "ci_high", "random_baseline"} <= set(table.columns)
    # held-out split of 30% stratified by arm
    assert table["n"].max() < 2400 * 0.3
    meta = json.loads((model_dir / "metadata.json").read_text())
    assert meta["learner"] == "x" and meta["extra"]["training_data"]["test_size"] == 0.3


def test_train_progress_on_stderr_and_json_on_stdout(csv_path, capsys):
    code = pathlift(
        train_args(csv_path), "--learner t --n-estimators 10 --n-bootstrap 10 --format json"
    )
    out, err = capsys.readouterr()
    assert code == 0
    payload = json.loads(out)
    assert payload["learner"] == "t" and len(payload["metrics"]) == 14
    assert "fitting BaseTClassifier" in err and "training on" in err


def test_train_with_a_bad_tracking_store_fails_before_fitting(csv_path, tmp_path, capsys):
    """A file-store URI is refused before the data is read: no model directory is written."""
    out = tmp_path / "m"
    code = pathlift(
        train_args(csv_path), "--model-dir", out, "--tracking-uri", [(tmp_path / "mlruns").as_uri()]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "is the MLflow file store" in err and err.count("\n") == 1
    assert "reading" not in err and not out.exists()


def test_evaluate_uses_held_out_rows_of_the_training_file(csv_path, model_dir, capsys):
    evaluate = ("uplift evaluate", csv_path, "--model-dir", model_dir)
    code = pathlift(*evaluate, "--n-bootstrap 20 --format json")
    out, err = capsys.readouterr()
    assert code == 0
    assert "held-out rows" in err
    metrics = json.loads(out)["metrics"]
    train_table = pd.read_csv(model_dir.parent / "train.csv")
    assert {m["n"] for m in metrics} == set(train_table["n"])
    code = pathlift(
        *evaluate,
        "--n-bootstrap 0 --all-rows --deciles --format table --plot",
        model_dir.parent / "evaluate.png",
    )
    out, _ = capsys.readouterr()
    assert code == 0 and "observed_uplift" in out.splitlines()[0]
    assert (model_dir.parent / "evaluate.png").stat().st_size > 1000
    assert "calibration_error" in {m["metric"] for m in metrics}


def test_target_with_and_without_outcomes(csv_path, model_dir, tmp_path, capsys):
    plan_csv = tmp_path / "plan.csv"
    code = pathlift(
        "uplift target",
        csv_path,
        "--model-dir",
        model_dir,
        "--budget 200 --value-per-conversion 20 --cost-per-contact A=0.5 --cost-per-contact B=0.2",
        "--plan-output",
        plan_csv,
        "--n-bootstrap 20 --format csv",
    )
    out, _ = capsys.readouterr()
    assert code == 0
    from io import StringIO

    table = pd.read_csv(StringIO(out))
    assert table["strategy"].tolist() == [
        "model",
        "everyone: A",
        "everyone: B",
        "random: A",
        "random: B",
    ]
    plan = pd.read_csv(plan_csv)
    assert len(plan) <= 200 and set(plan["arm"]) <= {"A", "B"}
    assert plan["priority"].tolist() == list(range(1, len(plan) + 1))

    fresh = tmp_path / "fresh.csv"
    make_frame(300, seed=8).drop(columns=["arm", "y"]).to_csv(fresh, index=False)
    code = pathlift(
        "uplift target",
        fresh,
        "--model-dir",
        model_dir,
        "--budget 50 --budget-type money --value-per-conversion 20 --cost-per-contact 0.5",
        "--format json",
    )
    out, _ = capsys.readouterr()
    assert code == 0
    summary = json.loads(out)["summary"]
    assert summary[-1]["arm"] == "total" and summary[-1]["cost"] <= 50


def test_bad_input_gives_one_line_error_and_status_2(csv_path, model_dir, tmp_path, capsys):
    code = pathlift(train_args(csv_path, control="No E-Mail"))
    _, err = capsys.readouterr()
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: control arm 'No E-Mail' not found")

    missing = tmp_path / "missing.csv"
    make_frame(100, seed=8).drop(columns=["region"]).to_csv(missing, index=False)
    code = pathlift("uplift evaluate", missing, "--model-dir", model_dir)
    _, err = capsys.readouterr()
    assert code == 2
    assert err.strip().splitlines()[-1].startswith("error: the frame to score lacks 1 feature")
    assert "'region'" in err

    code = pathlift("uplift evaluate", csv_path, "--model-dir", tmp_path / "nope")
    _, err = capsys.readouterr()
    assert code == 2 and "not a saved uplift model directory" in err
    assert len(err.strip().splitlines()) == 1

    code = pathlift(
        "uplift target", csv_path, "--model-dir", model_dir, "--budget -3 --value-per-conversion 1"
    )
    _, err = capsys.readouterr()
    assert code == 2 and "budget must be a positive number" in err


def test_train_is_tracked_and_registered(csv_path, tmp_path, capsys):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path}/store.db"
    learner = "--learner t --n-estimators 10 --n-bootstrap 20"
    args = (train_args(csv_path), learner, "--tracking-uri", [uri], "--experiment uplift-cli")
    assert pathlift(*args, "--register") == 0, capsys.readouterr().err
    client = MlflowClient(uri, uri)
    (run,) = client.search_runs([client.get_experiment_by_name("uplift-cli").experiment_id])
    assert run.info.status == "FINISHED"
    assert any(key.startswith("qini.") for key in run.data.metrics)
    assert str(client.get_model_version_by_alias("pathlift-uplift", "champion").version) == "1"


def test_train_auto_records_the_selection_and_calibration(csv_path, tmp_path, capsys):
    """``--learner auto``: the candidates, the choice and the calibration land in MLflow."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path}/store.db"
    out = tmp_path / "auto"
    learner = "--learner auto --auto-learners s,t --n-folds 2 --n-bootstrap 20"
    args = (train_args(csv_path), learner, "--model-dir", out, "--format json")
    assert pathlift(*args, "--tracking-uri", [uri], "--experiment uplift-auto") == 0
    stdout, err = capsys.readouterr()
    payload = json.loads(stdout)
    chosen = payload["selection"]["chosen"]
    assert chosen["candidate"] in {"s_1", "s_2", "t_1", "t_2"}
    assert len(payload["selection"]["candidates"]) == 4
    assert payload["learner"] == chosen["learner"] and payload["calibration"]["n_bins"] == 10
    assert "candidates (cross-fitted on the training rows)" in err
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["params"]["num_leaves"] == chosen["params"]["num_leaves"]
    assert meta["cross_fit"]["n_folds"] == 2 and len(meta["calibration"]["arms"]) == 2
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("uplift-auto").experiment_id])
    assert run.data.params["selection.chosen"] == chosen["candidate"]
    assert run.data.params["selection.metric"] == "qini"
    assert run.data.params["calibration"] == "linear, out-of-fold score bins"
    assert {f"selection.value.{c}" for c in ("s_1", "s_2", "t_1", "t_2")} <= set(run.data.metrics)
    assert {"calibration_error.A", "calibration_error_raw.A", "calibration.beta.A"} <= set(
        run.data.metrics
    )
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "selection")}
    assert artifacts == {"selection/candidates.csv", "selection/candidates.json"}
    figures = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
    assert "figures/calibration.png" in figures
    note = run.data.tags["mlflow.note.content"]
    assert "**Learner selection.**" in note and "**Calibration.**" in note
    assert run.info.run_name == f"uplift: auto -> {chosen['candidate']}"


def test_curve_with_per_customer_costs(csv_path, model_dir, tmp_path, capsys):
    """``uplift curve``: the maq budget path with a per-customer cost column, and a plot."""
    frame = pd.read_csv(csv_path)
    frame["handling"] = 0.1 + 0.05 * (frame["region"] == "north")
    data = tmp_path / "with_cost.csv"
    frame.to_csv(data, index=False)
    png = tmp_path / "curve.png"
    curve = ("uplift curve", data, "--model-dir", model_dir)
    code = pathlift(
        *curve,
        "--cost-per-contact A=0.5 --cost-per-contact B=0.2 --cost-col handling",
        "--value-per-conversion 20 --n-bootstrap 20 --grid-size 11 --plot",
        png,
        "--format json",
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    payload = json.loads(out)
    assert len(payload["curve"]) == 11 and payload["curve"][0]["spend"] == 0.0
    assert {"spend_total", "profit_total", "profit_total_ci_low"} <= set(payload["recommendation"])
    assert png.stat().st_size > 1000 and "MultiArmQini(" in err
    code = pathlift(*curve, "--cost-per-contact 1 --cost-col nope")
    _, err = capsys.readouterr()
    assert code == 2 and "cost column(s) ['nope'] not found" in err
