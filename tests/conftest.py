"""Suite-wide fixtures."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

#: the real public data sets next to the checkout (``../shared/data``)
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

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


@pytest.fixture(scope="session")
def shared_data() -> Callable[[str], Path]:
    """``shared_data(name)``: the path of a real data set in ``../shared/data``.

    Where the folder is absent the test is skipped, except under ``CI=true``, where the data
    must be present and its absence fails the test (a skip there would hide a test that never
    ran).
    """

    def find(name: str) -> Path:
        path = SHARED_DATA / name
        if not path.is_file():
            if os.environ.get("CI") == "true":
                pytest.fail(f"CI=true but the shared data set {path} is missing")
            pytest.skip(f"shared data set {path} not found")
        return path

    return find
