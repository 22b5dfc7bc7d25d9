"""Suite-wide fixtures."""

from __future__ import annotations

import os

import pytest

_ENV = {
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


@pytest.fixture(scope="session", autouse=True)
def _isolated_mlflow_store(tmp_path_factory):
    """The whole session writes to a temporary MLflow store, never the project's mlflow.db.

    Session scope so that module- and session-scoped fixtures are covered too; tests that
    inspect runs use a store of their own under ``tmp_path``.
    """
    root = tmp_path_factory.mktemp("mlflow-session")
    saved = {
        k: os.environ.get(k)
        for k in (*_ENV, "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_NAME")
    }
    os.environ.update(_ENV)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root}/mlflow.db"
    os.environ.pop("MLFLOW_REGISTRY_URI", None)
    os.environ.pop("MLFLOW_EXPERIMENT_NAME", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
