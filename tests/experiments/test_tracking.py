"""Tracking: store resolution, run tags, failure handling, digests, attribution runs.

Every test uses a real MLflow sqlite store under a temporary directory and reads runs back with
``MlflowClient``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from attribution import FirstTouch, Journeys, MarkovAttribution
from experiments.attribution_runs import track_attribution_run
from experiments.errors import ExperimentError, TrackingStoreError
from experiments.registry import CHAMPION, DEFAULT_MARKOV_NAME, get_alias_version
from experiments.tracking import (
    TrackingSettings,
    config_hash,
    file_digest,
    find_project_root,
    frame_digest,
    log_dataset,
    metric_key,
    resolve_tracking,
    run_tags,
    tracked_run,
)

pytestmark = pytest.mark.usefixtures("clean_mlflow_uris")


@pytest.fixture(scope="module")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised (migrated) empty sqlite store, copied by tests that need a fresh one."""
    root = tmp_path_factory.mktemp("template")
    MlflowClient(*[f"sqlite:///{root / 'mlflow.db'}"] * 2).search_experiments()
    return root / "mlflow.db"


@pytest.fixture
def settings(tmp_path: Path, store_template: Path) -> TrackingSettings:
    shutil.copy(store_template, tmp_path / "mlflow.db")
    return resolve_tracking(f"sqlite:///{tmp_path / 'mlflow.db'}", "test")


@pytest.fixture
def worked_example() -> Journeys:
    # the worked example of attribution.markov: RE_A = 0.75, RE_B = 0.5 -> credit 1.2 / 0.8
    return Journeys.from_sequences([["A", "B"], ["B"], ["A"]], [1, 0, 1], [0, 1, 1], [10, 0, 5])


# ------------------------------------------------------------------------------ store resolution


def test_project_root_is_nearest_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_project_root(deep) == tmp_path.resolve()
    bare = tmp_path.parent / f"{tmp_path.name}-bare"
    bare.mkdir()
    assert find_project_root(bare) == bare.resolve()


def test_default_store_is_sqlite_in_project_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    s = resolve_tracking(root=tmp_path)
    assert s.tracking_uri == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert s.registry_uri == s.tracking_uri
    assert s.artifact_location == (tmp_path.resolve() / "mlruns").as_uri()
    assert s.artifact_location.startswith("file:///")
    assert s.default_store and s.experiment == "pathlift"
    assert "mlflow ui --backend-store-uri sqlite:///" in s.ui_command()
    assert s.ui_url("7") == "http://127.0.0.1:5000/#/experiments/7/runs"


def test_old_file_store_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "mlruns" / "0").mkdir(parents=True)
    (tmp_path / "mlruns" / "0" / "meta.yaml").write_text("name: Default\n")
    with pytest.raises(TrackingStoreError, match=r"mlruns/0/meta\.yaml.*mv mlruns"):
        resolve_tracking(root=tmp_path)


def test_default_store_accepts_its_own_artifacts(tmp_path: Path, store_template: Path) -> None:
    shutil.copy(store_template, tmp_path / "mlflow.db")
    settings = resolve_tracking(root=tmp_path)
    with tracked_run("first", settings=settings):
        mlflow.log_text("hello", "report/hello.txt")
    assert any((tmp_path / "mlruns").rglob("hello.txt"))  # artifacts under <root>/mlruns
    assert resolve_tracking(root=tmp_path) == settings  # no false alarm on the second run


def test_environment_and_explicit_uri_take_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/env.db")
    s = resolve_tracking(root=tmp_path)
    assert s.tracking_uri.endswith("/env.db") and not s.default_store
    assert s.artifact_location == (tmp_path.resolve() / "mlruns").as_uri()
    s = resolve_tracking("http://127.0.0.1:5999", "exp", root=tmp_path)
    assert s.tracking_uri == "http://127.0.0.1:5999" and s.artifact_location is None
    assert s.ui_url("3") == "http://127.0.0.1:5999/#/experiments/3/runs"


@pytest.mark.parametrize("uri", ["/tmp/mlruns", "file:///tmp/mlruns", "./mlruns"])
def test_file_store_uri_is_refused(uri: str) -> None:
    with pytest.raises(TrackingStoreError, match="file store"):
        resolve_tracking(uri)


# ------------------------------------------------------------------------------ keys and digests


def test_metric_key_is_accepted_by_mlflow(settings: TrackingSettings) -> None:
    key = metric_key("credit", "markov", "Paid Search: Brand (€)")
    assert key == "credit.markov.Paid_Search__Brand__"
    assert re.fullmatch(r"[0-9A-Za-z_\-./]+", key)
    with tracked_run("keys", settings=settings) as run:
        mlflow.log_metric(key, 1.5)
    assert (
        MlflowClient(settings.tracking_uri, settings.registry_uri)
        .get_run(run.info.run_id)
        .data.metrics[key]
        == 1.5
    )


def test_file_digest_matches_hashlib(tmp_path: Path) -> None:
    payload = np.random.default_rng(0).bytes(3_000_000)  # spans several chunks
    path = tmp_path / "blob.bin"
    path.write_bytes(payload)
    assert file_digest(path, chunk_size=1 << 16) == hashlib.sha256(payload).hexdigest()


def test_frame_digest_content_not_index() -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    same = frame.set_axis([10, 11, 12])
    assert frame_digest(frame) == frame_digest(same)
    changed = frame.copy()
    changed.loc[2, "a"] = 4
    assert frame_digest(changed) != frame_digest(frame)
    assert frame_digest(frame[["b", "a"]]) != frame_digest(frame)  # column order matters
    assert frame_digest(frame.astype({"a": "float64"})) != frame_digest(frame)
    assert len(frame_digest(frame)) == 64


def test_config_hash_ignores_key_order() -> None:
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_log_dataset_uses_own_digest(settings: TrackingSettings, tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": np.arange(50), "y": np.linspace(0, 1, 50)})
    csv = tmp_path / "data.csv"
    frame.to_csv(csv, index=False)
    with tracked_run("data", settings=settings) as run:
        info = log_dataset(csv, name="data.csv", frame=frame)
    assert info.sha256 == hashlib.sha256(csv.read_bytes()).hexdigest()
    inputs = (
        MlflowClient(settings.tracking_uri, settings.registry_uri)
        .get_run(run.info.run_id)
        .inputs.dataset_inputs
    )
    assert len(inputs) == 1
    ds = inputs[0].dataset
    assert ds.digest == info.sha256[:32] and ds.name == "data.csv"
    tags = {t.key: t.value for t in inputs[0].tags}
    assert tags["sha256"] == info.sha256 and tags["n_rows"] == "50"
    assert tags["mlflow.data.context"] == "training"
    assert [c["name"] for c in json.loads(ds.schema)["mlflow_colspec"]] == ["x", "y"]


# ------------------------------------------------------------------------------ runs


def test_run_tags(settings: TrackingSettings) -> None:
    with tracked_run("tags", settings=settings, description="# hello") as run:
        pass
    tags = (
        MlflowClient(settings.tracking_uri, settings.registry_uri)
        .get_run(run.info.run_id)
        .data.tags
    )
    assert tags["version.mlflow"] == mlflow.__version__
    assert tags["version.numpy"] == np.__version__
    assert tags["version.pandas"] == pd.__version__
    for key in ("pathlift.version", "version.lightgbm", "version.causalml"):
        assert tags[key] and tags[key] != ""
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", tags["git.commit"])
    assert tags["mlflow.note.content"] == "# hello"
    assert set(run_tags()) <= set(tags)


def test_failed_run_is_marked_with_traceback(settings: TrackingSettings, tmp_path: Path) -> None:
    with pytest.raises(ExperimentError, match="broken on purpose"):
        with tracked_run("fails", settings=settings) as run:
            mlflow.log_param("stage", "before")
            raise ExperimentError("broken on purpose")
    client = MlflowClient(settings.tracking_uri, settings.registry_uri)
    finished = client.get_run(run.info.run_id)
    assert finished.info.status == "FAILED"
    assert finished.data.tags["pathlift.error"] == "ExperimentError: broken on purpose"
    assert "traceback.txt" in [a.path for a in client.list_artifacts(run.info.run_id)]
    text = Path(
        client.download_artifacts(run.info.run_id, "traceback.txt", str(tmp_path))
    ).read_text()
    assert "Traceback" in text and "broken on purpose" in text
    assert mlflow.active_run() is None


def test_interrupted_run_is_killed(settings: TrackingSettings) -> None:
    with pytest.raises(KeyboardInterrupt):
        with tracked_run("interrupted", settings=settings) as run:
            raise KeyboardInterrupt
    assert (
        MlflowClient(settings.tracking_uri, settings.registry_uri)
        .get_run(run.info.run_id)
        .info.status
        == "KILLED"
    )


# ------------------------------------------------------------------------------ attribution runs


def test_attribution_run_params_metrics_artifacts(
    settings: TrackingSettings, worked_example: Journeys, tmp_path: Path
) -> None:
    markov = MarkovAttribution(order=1, n_bootstrap=20, seed=1).fit(worked_example)
    first = FirstTouch(n_bootstrap=0).fit(worked_example)
    source = tmp_path / "paths.csv"
    worked_example.to_path_table().to_csv(source, index=False)
    tracked = track_attribution_run(
        [markov.result_, first.result_],
        worked_example,
        source=source,
        config={"models": ["markov", "first_touch"], "order": 1},
        markov=markov,
        settings=settings,
    )
    client = MlflowClient(settings.tracking_uri, settings.registry_uri)
    run = client.get_run(tracked.run_id)
    assert run.info.status == "FINISHED"
    params, metrics = run.data.params, run.data.metrics
    assert params["models"] == "markov,first_touch"
    assert params["markov.order"] == "1"
    assert params["n_bootstrap"] == "20" and params["ci_level"] == "0.95"
    assert params["data_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    # hand-computed worked example: credit A = 1.2, B = 0.8; value 7.5 each
    assert metrics["credit.markov.A"] == pytest.approx(1.2)
    assert metrics["credit.markov.B"] == pytest.approx(0.8)
    assert metrics["value_credit.markov.A"] == pytest.approx(7.5)
    assert metrics["share.markov.A"] == pytest.approx(0.6)
    assert metrics["removal_effect.markov.A"] == pytest.approx(0.75)
    assert metrics["credit.first_touch.A"] == pytest.approx(2.0)  # A > B and A convert
    assert metrics["journeys"] == 4 and metrics["conversions"] == 2
    ci = markov.result_.ci
    assert ci is not None
    assert metrics["ci_width.markov.B"] == pytest.approx(
        ci.conversions_high[1] - ci.conversions_low[1]
    )
    assert "ci_low.first_touch.A" not in metrics  # fitted without intervals
    top = {a.path for a in client.list_artifacts(tracked.run_id)}
    assert {"config.yaml", "figures", "report"} <= top
    report = {a.path for a in client.list_artifacts(tracked.run_id, "report")}
    assert {
        "report/attribution.csv",
        "report/attribution.json",
        "report/attribution.md",
        "report/transition_matrix.csv",
    } <= report
    figures = {a.path for a in client.list_artifacts(tracked.run_id, "figures")}
    assert figures == {"figures/credit.png", "figures/transition_matrix.png"}
    csv = Path(client.download_artifacts(tracked.run_id, "report/attribution.csv", str(tmp_path)))
    table = pd.read_csv(csv)
    assert set(table["model"]) == {"markov", "first_touch"}
    assert table.loc[table["model"] == "markov", "conversions"].sum() == pytest.approx(2.0)
    note = run.data.tags["mlflow.note.content"]
    assert note.startswith("# Attribution: markov, first_touch")
    assert "**A** gets 1.2 conversions (60.0% of the credit)" in note
    assert run.inputs.dataset_inputs[0].dataset.digest == params["data_sha256"][:32]
    assert tracked.ui_url.endswith(f"/#/experiments/{tracked.experiment_id}/runs/{tracked.run_id}")


def test_attribution_run_rejects_duplicate_models(
    settings: TrackingSettings, worked_example: Journeys
) -> None:
    result = MarkovAttribution(n_bootstrap=0).fit(worked_example).result_
    with pytest.raises(ExperimentError, match="once per run"):
        track_attribution_run([result, result], worked_example, settings=settings)


def test_markov_model_registered_and_served_from_alias(
    settings: TrackingSettings, worked_example: Journeys
) -> None:
    markov = MarkovAttribution(n_bootstrap=0).fit(worked_example)
    tracked = track_attribution_run(
        markov.result_, worked_example, markov=markov, settings=settings, register=True
    )
    assert tracked.model_versions == {DEFAULT_MARKOV_NAME: "1"}
    champion = get_alias_version(DEFAULT_MARKOV_NAME, CHAMPION)
    assert champion is not None and str(champion.version) == "1"
    model = mlflow.pyfunc.load_model(f"models:/{DEFAULT_MARKOV_NAME}@champion")
    rows = pd.DataFrame(
        {"path": ["A > B", "B", "A>B>A", "C > B", "C"], "conversions": [1.0, 2.0, 3.0, 1.0, 4.0]}
    )
    out = model.predict(rows)
    assert list(out.columns) == ["credit_A", "credit_B", "value_A", "value_B", "attributed"]
    # hand-computed: RE_A = 0.75, RE_B = 0.5 -> "A > B" splits 0.6 / 0.4
    np.testing.assert_allclose(out["credit_A"], [0.6, 0.0, 1.8, 0.0, 0.0])
    np.testing.assert_allclose(out["credit_B"], [0.4, 2.0, 1.2, 1.0, 0.0])
    np.testing.assert_allclose(out["attributed"], [1, 1, 1, 1, 0])
    # cross-check: column sums equal MarkovAttribution.attribute on the same journeys
    new = Journeys.from_sequences(
        [["A", "B"], ["B"], ["A", "B", "A"], ["C", "B"], ["C"]],
        [1, 2, 3, 1, 4],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
    )
    expected = markov.attribute(new)
    for channel in ("A", "B"):
        i = expected.channels.index(channel)
        assert out[f"credit_{channel}"].sum() == pytest.approx(expected.conversions[i])
    # integer counts and values are accepted as well
    ints = model.predict(pd.DataFrame({"path": ["A > B"], "conversions": [2], "value": [10]}))
    np.testing.assert_allclose(ints.iloc[0].tolist(), [1.2, 0.8, 6.0, 4.0, 1.0])
    # bad rows get a clear error naming the column
    with pytest.raises(MlflowException, match="path"):
        model.predict(pd.DataFrame({"conversions": [1.0]}))
    with pytest.raises(MlflowException, match="'conversions' must hold finite non-negative"):
        model.predict(pd.DataFrame({"path": ["A"], "conversions": [-1.0]}))
    # same data and config: no second version
    again = track_attribution_run(
        markov.result_, worked_example, markov=markov, settings=settings, register=True
    )
    assert again.model_versions == {DEFAULT_MARKOV_NAME: "1"}
    client = MlflowClient(settings.tracking_uri, settings.registry_uri)
    assert len(client.search_model_versions(f"name='{DEFAULT_MARKOV_NAME}'")) == 1
