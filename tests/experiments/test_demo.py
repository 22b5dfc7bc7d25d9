"""``pathlift demo`` end to end on a small simulation, in a temporary MLflow store."""

from __future__ import annotations

import json

import pytest
from mlflow import MlflowClient

from tests.experiments.conftest import pathlift


@pytest.mark.slow
def test_demo_tracks_registers_and_reports(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    out = tmp_path / "report"
    demo = ("demo --tracking-uri", [uri], "--out", out, "--users 8000 --customers 6000")
    code = pathlift(*demo, "--bootstrap 20")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    stdout = captured.out
    assert "mlflow ui --backend-store-uri" in stdout
    assert "/#/experiments/" in stdout and stdout.count("/runs") >= 1
    for name in ("report.html", "report.md", "report.json", "report.csv"):
        assert (out / name).stat().st_size > 0
        assert str(out / name) in stdout

    client = MlflowClient(uri, uri)
    runs = client.search_runs(
        [client.get_experiment_by_name("pathlift-demo").experiment_id],
        order_by=["attributes.start_time ASC"],
    )
    assert [r.info.run_name for r in runs] == ["demo: attribution suite", "demo: uplift T-learner"]
    assert all(r.info.status == "FINISHED" for r in runs)
    attribution, uplift = runs
    assert attribution.data.tags.get("mlflow.note.content")
    assert "uplift_model" in {a.path for a in client.list_artifacts(uplift.info.run_id)} or (
        uplift.data.tags.get("pathlift.registered.pathlift-uplift") == "1"
    )
    artifacts = {a.path for a in client.list_artifacts(attribution.info.run_id, "report")}
    assert "report/report.html" in artifacts
    report = json.loads((out / "report.json").read_text())
    assert report["mlflow"]["run_id"] == attribution.info.run_id
    # the causal model, calibrated by transfer with direct as a negative control
    assert report["calibration"]["model"] == "causal"
    assert report["calibration"]["untested"] == "transfer"
    assert report["incrementality"]["incremental_total"] > 0
    assert report["test_plan"]["channels"]
    assert "causal" in report["models"]
    for name in ("pathlift-markov", "pathlift-uplift"):
        assert str(client.get_model_version_by_alias(name, "champion").version) == "1"

    # a second run on the same data and config reuses the registered versions
    assert pathlift(*demo, "--bootstrap 20") == 0
    for name in ("pathlift-markov", "pathlift-uplift"):
        assert [str(v.version) for v in client.search_model_versions(f"name='{name}'")] == ["1"]
