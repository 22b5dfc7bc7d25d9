"""Fixtures of the hostile-input suite: valid inputs, a saved model, and a run that hashes files.

Every case runs a ``pathlift`` command in-process (:func:`experiments.cli.run_cli`) in a fresh
working directory that holds the valid inputs, a saved uplift model and outputs left by earlier
runs (``out.csv``, ``report/``, ``sim/``). The case passes when the command exits with the
expected status, prints exactly one ``error: ...`` line matching the expected message and no
traceback, and every file of the directory is byte-for-byte as it was (SHA-256 of every file,
and the same set of files).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import shlex
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.cli import run_cli
from tests.experiments.conftest import campaign, command

#: what a case writes into its working directory: name -> bytes, text or a writer(path)
Files = Mapping[str, bytes | str | Callable[[Path], None]]


@dataclass(frozen=True)
class Case:
    """One hostile input: the command, extra files, the exit status and the message.

    ``argv`` is the command's arguments, or the command line as typed (split like a shell).
    """

    id: str
    argv: tuple[str, ...] | str
    match: str
    files: Files = field(default_factory=dict)
    code: int = 2

    def __post_init__(self) -> None:
        if isinstance(self.argv, str):
            object.__setattr__(self, "argv", tuple(shlex.split(self.argv)))

    def param(self) -> object:
        return pytest.param(self, id=self.id)


def events_frame(n_users: int = 40, seed: int = 0) -> pd.DataFrame:
    """A small valid event log: user_id, timestamp, channel, conversion."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        t = pd.Timestamp("2024-01-01") + pd.Timedelta(hours=int(rng.integers(0, 200)))
        for _ in range(int(rng.integers(1, 4))):
            t += pd.Timedelta(hours=int(rng.integers(1, 30)))
            rows.append((f"u{user}", t, str(rng.choice(["search", "email", "social"])), 0))
        if rng.random() < 0.4:
            rows.append((f"u{user}", t + pd.Timedelta(hours=1), "search", 1))
    frame = pd.DataFrame(rows, columns=["user_id", "timestamp", "channel", "conversion"])
    frame["timestamp"] = frame["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return frame


def users_frame(events: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """One row of pre-exposure covariates per user of ``events``."""
    rng = np.random.default_rng(seed)
    users = events["user_id"].drop_duplicates().to_numpy()
    return pd.DataFrame({"user_id": users, "score": rng.normal(size=users.size)})


def uplift_train(data: str | Path, *options: str | Path) -> list[str]:
    """``uplift train`` of a campaign table like ``camp.csv``: its arms against ``control``."""
    columns = "--treatment-col treatment --control control --outcome-col conversion"
    return command("uplift train", data, columns, *options)


PATHS = pd.DataFrame(
    {
        "path": ["search > email", "email", "social > search > email", "social", "search"],
        "total_conversions": [30, 12, 20, 3, 25],
        "total_null": [50, 40, 30, 60, 45],
    }
)


@pytest.fixture(scope="session")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Valid inputs every case starts from, and a calibrated uplift model trained on camp.csv."""
    root = tmp_path_factory.mktemp("hostile-inputs")
    PATHS.to_csv(root / "paths.csv", index=False)
    events = events_frame()
    events.to_csv(root / "events.csv", index=False)
    users_frame(events).to_csv(root / "users.csv", index=False)
    campaign(900, seed=1).to_csv(root / "camp.csv", index=False)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        small = "--n-estimators 10 --num-leaves 7 --n-folds 2 --n-bootstrap 0 --no-track"
        code = run_cli(uplift_train(root / "camp.csv", small, "--model-dir", root / "model"))
    assert code == 0, err.getvalue()
    # outputs of earlier runs, which a failed command must leave alone
    (root / "out.csv").write_text("channel,credit\nold,1\n")
    (root / "report").mkdir()
    (root / "report" / "report.html").write_text("<p>old report</p>")
    (root / "sim").mkdir()
    (root / "sim" / "users.csv").write_text("user_id\nold\n")
    (root / "afile").write_text("a file, not a directory\n")
    return root


def tree_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every file below ``root`` by relative path (directories as ``<dir>``)."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        out[rel] = "<dir>" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def write_files(root: Path, files: Files) -> None:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(target)
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)


@pytest.fixture
def workdir(inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the inputs as the working directory, with no MLflow URI in the env."""
    work = tmp_path / "work"
    shutil.copytree(inputs, work)
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(work)
    return work


def run_hostile(work: Path, case: Case) -> str:
    """Run ``case`` in ``work``; assert status, one error line, no traceback, no file changed."""
    write_files(work, case.files)
    before = tree_digest(work)
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = run_cli(list(case.argv))
    stderr = err.getvalue()
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.lower().startswith("error")]
    assert code == case.code, f"exit {code}, expected {case.code}:\n{stderr}"
    assert len(errors) == 1, stderr
    assert re.search(case.match, errors[0]), f"{errors[0]!r} does not match {case.match!r}"
    assert tree_digest(work) == before, "the failed command changed files"
    return errors[0]
