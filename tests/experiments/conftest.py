"""Fixtures of the experiments tests: isolated MLflow stores, a simulated campaign, the CLI."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import Run

from experiments.cli import run_cli
from experiments.tracking import TrackingSettings, resolve_tracking


@pytest.fixture
def clean_mlflow_uris(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Never read the caller's MLFLOW_* URIs, and leave no URI behind for other tests."""
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    yield
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised (migrated) empty sqlite store, copied by tests that need a fresh one."""
    root = tmp_path_factory.mktemp("template")
    MlflowClient(*[f"sqlite:///{root / 'mlflow.db'}"] * 2).search_experiments()
    return root / "mlflow.db"


@pytest.fixture
def settings(tmp_path: Path, store_template: Path) -> TrackingSettings:
    """Tracking settings of a fresh store of this test's own (experiment ``test``)."""
    shutil.copy(store_template, tmp_path / "mlflow.db")
    return resolve_tracking(f"sqlite:///{tmp_path / 'mlflow.db'}", "test")


def finished_run(settings: TrackingSettings, run_id: str) -> tuple[MlflowClient, Run]:
    """A client of the store of ``settings`` and its run ``run_id``, checked to have finished."""
    client = MlflowClient(settings.tracking_uri, settings.registry_uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    return client, run


def campaign(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """A randomized campaign with arms control, email and sms.

    Email lifts conversion by 0.3 only when ``x1 > 0.5``, sms by 0.1 for everyone.
    """
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "x1": x1,
            "x2": rng.choice(["a", "b", "c"], n),
            "x3": rng.integers(0, 5, n),
            "treatment": rng.choice(["control", "email", "sms"], n),
        }
    )
    lift = np.where(frame["treatment"] == "email", 0.3 * (x1 > 0.5), 0.0)
    lift += np.where(frame["treatment"] == "sms", 0.1, 0.0)
    frame["conversion"] = (rng.random(n) < 0.05 + lift).astype(int)
    return frame


def command(*parts: str | Path | Sequence[str]) -> list[str]:
    """The arguments of a ``pathlift`` command line written as it is typed.

    A string is split on white space, a path is one argument, and a list is taken as it is
    (for a value holding a space): ``command("attribute", data, "-m markov --bootstrap 0")``.
    """
    argv: list[str] = []
    for part in parts:
        if isinstance(part, Path):
            argv.append(str(part))
        elif isinstance(part, str):
            argv.extend(part.split())
        else:
            argv.extend(part)
    return argv


def pathlift(*parts: str | Path | Sequence[str]) -> int:
    """Run the :func:`command` of ``parts`` in this process; the exit status."""
    return run_cli(command(*parts))
