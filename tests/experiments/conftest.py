"""Fixtures for the experiments tests."""

from __future__ import annotations

from collections.abc import Iterator

import mlflow
import pytest


@pytest.fixture
def clean_mlflow_uris(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Never read the caller's MLFLOW_* URIs, and leave no URI behind for other tests."""
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    yield
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)  # type: ignore[arg-type]
