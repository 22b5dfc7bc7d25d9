"""Registry: uplift pyfunc models, registration, aliases, duplicate detection, locking, uplift runs.

Real MLflow sqlite stores under temporary directories; runs and versions read back with
``MlflowClient``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from experiments.errors import RegistryError
from experiments.registry import (
    CHALLENGER,
    CHAMPION,
    DEFAULT_UPLIFT_NAME,
    TAG_CONFIG,
    TAG_DATA,
    alias_lock,
    conform_to_signature,
    default_lock_dir,
    find_versions,
    get_alias_version,
    load_model,
    log_uplift_model,
    model_uri,
    register_model,
    set_alias,
)
from experiments.tracking import TrackingSettings, tracked_run
from experiments.uplift_runs import evaluation_metrics, track_uplift_run, uplift_metric_name
from tests.experiments.conftest import campaign, finished_run
from uplift.data import UpliftData
from uplift.learners import UpliftModel
from uplift.metrics import evaluate_model

pytestmark = pytest.mark.usefixtures("clean_mlflow_uris")


@pytest.fixture(scope="module")
def fitted() -> tuple[UpliftModel, UpliftData, UpliftData, pd.DataFrame]:
    frame = campaign()
    data = UpliftData.from_frame(
        frame, treatment_col="treatment", control="control", outcome_col="conversion"
    )
    train, test = data.split(test_size=0.3, seed=0)
    model = UpliftModel("t", n_estimators=15, num_leaves=7).fit(train)
    return model, train, test, frame


def test_uplift_pyfunc_roundtrip_via_alias(settings: TrackingSettings, fitted) -> None:
    model, _train, test, frame = fitted
    with tracked_run("log", settings=settings):
        info = log_uplift_model(model, frame)
    version = register_model(
        info.model_uri, DEFAULT_UPLIFT_NAME, tags={TAG_DATA: "d1", TAG_CONFIG: "c1"}, alias=CHAMPION
    )
    assert str(version.version) == "1" and version.tags[TAG_DATA] == "d1"
    loaded = load_model(DEFAULT_UPLIFT_NAME)  # models:/pathlift-uplift@champion
    rows = test.features.reset_index(drop=True).astype({"x3": float})  # numbers are double
    served = loaded.predict(rows)
    local = model.predict(rows).reset_index(drop=True)
    assert list(served.columns) == ["uplift_email", "uplift_sms", "best_arm", "best_uplift"]
    pd.testing.assert_frame_equal(served, local, check_dtype=False)
    # signature: the feature columns in, the fixed prediction columns out
    meta = loaded.metadata
    assert meta.get_input_schema().input_names() == ["x1", "x2", "x3"]
    assert meta.get_output_schema().input_names() == list(local.columns)
    assert meta.saved_input_example_info is not None
    # extra columns are ignored, a missing feature is a clear error
    pd.testing.assert_frame_equal(
        loaded.predict(rows.assign(other=1)),
        local,
        check_dtype=False,
    )
    with pytest.raises(MlflowException, match="x2"):
        loaded.predict(rows.drop(columns=["x2"]))
    # serving's dtype rules: numeric features are double in the signature, so an integer
    # column trained as int64 is never truncated; int64 input in Python is refused, named
    assert meta.get_input_schema().input_types()[2].name == "double"
    with pytest.raises(MlflowException, match="x3"):
        loaded.predict(test.features.reset_index(drop=True))
    conformed = conform_to_signature(loaded, test.features.reset_index(drop=True))
    assert conformed["x3"].dtype == np.float64 and conformed["x2"].dtype == rows["x2"].dtype
    pd.testing.assert_frame_equal(loaded.predict(conformed), local, check_dtype=False)


def test_served_json_keeps_fractions_of_integer_features(settings: TrackingSettings, fitted):
    """The scoring server's JSON parsing: 3.7 sent for x3 (int64 in training) stays 3.7."""
    from mlflow.pyfunc.scoring_server import infer_and_parse_data

    model, _train, _test, frame = fitted
    assert frame["x3"].dtype.kind == "i"
    with tracked_run("log", settings=settings):
        info = log_uplift_model(model, frame)
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    body = {"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [[0.5, "a", 3.7]]}}
    parsed = infer_and_parse_data(body, loaded.metadata.get_input_schema())
    assert parsed["x3"].tolist() == [3.7]
    served = loaded.predict(parsed)
    expected = model.predict(pd.DataFrame({"x1": [0.5], "x2": ["a"], "x3": [3.7]}))
    assert served["uplift_email"].tolist() == expected["uplift_email"].tolist()


def test_aliases_and_duplicates(settings: TrackingSettings, fitted) -> None:
    model, _train, _test, frame = fitted
    with tracked_run("log", settings=settings):
        info = log_uplift_model(model, frame)
    v1 = register_model(info.model_uri, "m", tags={TAG_DATA: "d", TAG_CONFIG: "c"})
    v2 = register_model(info.model_uri, "m", tags={TAG_DATA: "d", TAG_CONFIG: "other"})
    v3 = register_model(info.model_uri, "m", tags={TAG_DATA: "d", TAG_CONFIG: "c"})
    found = find_versions("m", data_sha256="d", config_sha256="c")
    assert [str(v.version) for v in found] == [str(v3.version), str(v1.version)]
    assert find_versions("m", data_sha256="x", config_sha256="c") == []
    assert find_versions("no-such-model", data_sha256="d", config_sha256="c") == []
    assert get_alias_version("m", CHAMPION) is None
    set_alias("m", CHAMPION, v1.version)
    set_alias("m", CHALLENGER, v2.version)
    assert str(get_alias_version("m", CHAMPION).version) == "1"
    assert str(get_alias_version("m", CHALLENGER).version) == "2"
    assert model_uri("m") == "models:/m@champion"
    with pytest.raises(RegistryError, match="no alias 'champion'"):
        load_model("never-registered")


def test_alias_lock_is_exclusive(tmp_path: Path) -> None:
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with alias_lock("model", tmp_path):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(10)
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="another job holds it"):
        with alias_lock("model", tmp_path, timeout=0.3):
            pass
    assert time.monotonic() - start >= 0.3
    with alias_lock("other-model", tmp_path, timeout=0.3):  # one lock per model name
        pass
    release.set()
    thread.join(10)
    with alias_lock("model", tmp_path, timeout=1.0) as path:  # free again
        assert path.name == "model.lock"


def test_default_lock_dir_next_to_sqlite(settings: TrackingSettings, tmp_path: Path) -> None:
    assert default_lock_dir(settings) == tmp_path.resolve() / ".pathlift-locks"


def test_uplift_run_logs_evaluation_and_registers(settings: TrackingSettings, fitted) -> None:
    model, _train, test, frame = fitted
    evaluation = evaluate_model(model, test, n_bootstrap=20, seed=3)
    tracked = track_uplift_run(
        model,
        evaluation,
        data=frame,
        n_test=len(test),
        config={"learner": "t"},
        settings=settings,
        register=True,
    )
    client, run = finished_run(settings, tracked.run_id)
    params, metrics = run.data.params, run.data.metrics
    assert params["learner"] == "t" and params["n_estimators"] == "15"
    assert params["arms"] == "email,sms" and params["control"] == "control"
    assert params["n_test"] == str(len(test)) and params["eval.n_bootstrap"] == "20"
    for arm in ("email", "sms"):
        ev = evaluation.arms[arm]
        assert metrics[f"qini.{arm}"] == pytest.approx(ev.metrics["qini"])
        lo, hi = ev.intervals["qini"]
        assert metrics[f"qini.{arm}.ci_low"] == pytest.approx(lo)
        assert metrics[f"qini.{arm}.ci_width"] == pytest.approx(hi - lo)
        assert metrics[f"uplift_at_30pct.{arm}"] == pytest.approx(ev.metrics["uplift@30%"])
        assert metrics[f"auuc.{arm}"] == pytest.approx(ev.metrics["auuc"])
    assert metrics["qini.mean"] == pytest.approx(
        np.mean([evaluation.value(a, "qini") for a in ("email", "sms")])
    )
    report = {a.path for a in client.list_artifacts(tracked.run_id, "report")}
    assert {
        "report/evaluation.csv",
        "report/evaluation.json",
        "report/deciles.csv",
        "report/curves.csv",
        "report/uplift.md",
    } <= report
    figures = {a.path for a in client.list_artifacts(tracked.run_id, "figures")}
    assert figures == {
        "figures/qini.png",
        "figures/gain.png",
        "figures/deciles.png",
        "figures/calibration.png",
    }
    assert run.data.tags["mlflow.note.content"].startswith("# Uplift: t-learner, 2 arm(s)")
    assert tracked.model_versions == {DEFAULT_UPLIFT_NAME: "1"}
    assert str(get_alias_version(DEFAULT_UPLIFT_NAME, CHAMPION).version) == "1"
    served = mlflow.pyfunc.load_model(f"models:/{DEFAULT_UPLIFT_NAME}@champion")
    rows = test.features.head(20).reset_index(drop=True).astype({"x3": float})
    np.testing.assert_allclose(
        served.predict(rows)["uplift_email"], model.predict(rows)["uplift_email"]
    )
    # same data and model configuration: the version is reused, not duplicated
    again = track_uplift_run(model, evaluation, data=frame, settings=settings, register=True)
    assert again.model_versions == {DEFAULT_UPLIFT_NAME: "1"}
    # forced: a new version, which becomes challenger (a champion exists)
    forced = track_uplift_run(
        model, evaluation, data=frame, settings=settings, register=True, force=True
    )
    assert forced.model_versions == {DEFAULT_UPLIFT_NAME: "2"}
    assert str(get_alias_version(DEFAULT_UPLIFT_NAME, CHALLENGER).version) == "2"
    assert str(get_alias_version(DEFAULT_UPLIFT_NAME, CHAMPION).version) == "1"


def test_metric_names_are_valid_keys(fitted) -> None:
    model, _train, test, _frame = fitted
    assert uplift_metric_name("uplift@10%") == "uplift_at_10pct"
    assert uplift_metric_name("uplift@12.5%") == "uplift_at_12_5pct"
    metrics = evaluation_metrics(evaluate_model(model, test, n_bootstrap=0))
    assert "qini.email" in metrics and "qini.email.ci_low" not in metrics  # NaN dropped
    assert all(np.isfinite(v) for v in metrics.values())


def test_uplift_run_logs_targeting_plan(settings: TrackingSettings, fitted, tmp_path: Path) -> None:
    from uplift.targeting import evaluate_targeting, plan_targeting

    model, _train, test, _frame = fitted
    evaluation = evaluate_model(model, test, n_bootstrap=0)
    predictions = model.predict(test.features)
    plan = plan_targeting(
        predictions, control="control", budget=100, value_per_conversion=20.0, cost_per_contact=1.0
    )
    targeting = evaluate_targeting(plan, test.outcome, test.treatment, n_bootstrap=20)
    tracked = track_uplift_run(
        model, evaluation, data=test.features, plan=plan, targeting=targeting, settings=settings
    )
    client = MlflowClient(settings.tracking_uri, settings.registry_uri)
    metrics = client.get_run(tracked.run_id).data.metrics
    assert metrics["plan.n_contacts"] == plan.n_contacts <= 100
    assert metrics["plan.cost"] == pytest.approx(plan.total_cost)
    assert metrics["plan.expected_profit"] == pytest.approx(plan.expected_profit)
    report = {a.path for a in client.list_artifacts(tracked.run_id, "report")}
    assert {
        "report/targeting_plan.csv",
        "report/targeting_plan.json",
        "report/targeting_evaluation.csv",
    } <= report
    csv = client.download_artifacts(tracked.run_id, "report/targeting_plan.csv", str(tmp_path))
    table = pd.read_csv(csv)
    assert table.iloc[-1]["arm"] == "total" and table.iloc[-1]["n_contacts"] == plan.n_contacts
    assert tracked.model_versions == {}
