"""Tracking: store resolution, run tags, failure handling and digests.

Every test uses a real MLflow sqlite store under a temporary directory and reads runs back with
``MlflowClient``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from experiments.errors import ExperimentError, TrackingStoreError
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
    assert s.ui_command().startswith(f"{Path(sys.executable).parent}/mlflow ui ")
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


@pytest.mark.slow
def test_ui_command_runs_as_printed(tmp_path: Path) -> None:
    """The printed ``mlflow ui`` line starts the UI from another directory, no venv on PATH."""
    import os
    import shlex

    from tests import servers

    settings = resolve_tracking(f"sqlite:///{tmp_path / 'mlflow.db'}", "ui")
    port = servers.free_port()
    command = settings.ui_command(port=port)
    assert shlex.split(command)[0] == str(Path(sys.executable).parent / "mlflow")
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = "/usr/bin:/bin"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    log = tmp_path / "ui.log"
    server = servers.start(["/bin/sh", "-c", command], log=log, cwd=elsewhere, env=env)
    try:
        servers.wait_until_up(server, f"http://127.0.0.1:{port}/health", log=log)
    finally:
        servers.stop(server)
