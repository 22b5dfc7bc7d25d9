"""Serving: ``mlflow models serve -m models:/<name>@champion`` answers on loopback.

The test registers an uplift model in a temporary store, starts the MLflow scoring server as a
subprocess on 127.0.0.1 (the venv's ``bin`` on ``PATH``: the server execs ``uvicorn``), posts
1000 rows and compares the answer with local predictions, then checks that bad requests get a
4xx with a message. The server is always terminated.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.registry import CHAMPION, DEFAULT_UPLIFT_NAME, get_alias_version
from experiments.tracking import resolve_tracking
from experiments.uplift_runs import track_uplift_run
from tests.experiments.conftest import campaign
from uplift.data import UpliftData
from uplift.learners import UpliftModel
from uplift.metrics import evaluate_model

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("clean_mlflow_uris")]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(url: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_serve_champion_uplift_model(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    mlflow_cli = shutil.which("mlflow", path=str(bin_dir)) or shutil.which("mlflow")
    if mlflow_cli is None:
        pytest.skip("the mlflow command is not installed next to this Python")
    settings = resolve_tracking(f"sqlite:///{tmp_path / 'mlflow.db'}", "serving")
    frame = campaign(1500, seed=0)
    data = UpliftData.from_frame(
        frame, treatment_col="treatment", control="control", outcome_col="conversion"
    )
    train, test = data.split(test_size=0.3, seed=0)
    model = UpliftModel("t", n_estimators=15, num_leaves=7).fit(train)
    evaluation = evaluate_model(model, test, n_bootstrap=0)
    tracked = track_uplift_run(model, evaluation, data=frame, settings=settings, register=True)
    assert str(get_alias_version(DEFAULT_UPLIFT_NAME, CHAMPION).version) == "1"
    assert tracked.model_versions == {DEFAULT_UPLIFT_NAME: "1"}

    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
        "MLFLOW_REGISTRY_URI": settings.registry_uri,
    }
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [
            mlflow_cli,
            "models",
            "serve",
            "-m",
            f"models:/{DEFAULT_UPLIFT_NAME}@champion",
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "--workers",
            "1",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240  # a loaded 2-core machine starts slowly
        while True:
            if server.poll() is not None:
                pytest.fail(f"server exited: {(tmp_path / 'server.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/ping", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not ready: {(tmp_path / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)

        rows = campaign(1000, seed=9)[["x1", "x2", "x3"]]
        body = json.dumps(
            {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
        )
        status, text = post(f"{base}/invocations", body.encode())
        assert status == 200, text
        served = pd.DataFrame(json.loads(text)["predictions"])
        local = model.predict(rows)
        assert served.shape == (1000, 4)
        assert list(served.columns) == ["uplift_email", "uplift_sms", "best_arm", "best_uplift"]
        np.testing.assert_allclose(served["uplift_email"], local["uplift_email"], rtol=1e-9)
        np.testing.assert_allclose(served["best_uplift"], local["best_uplift"], rtol=1e-9)
        assert served["best_arm"].tolist() == local["best_arm"].tolist()

        # a fraction sent for a feature that was an integer column is not truncated
        fraction = json.dumps(
            {"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [[0.2, "a", 3.7]]}}
        )
        status, text = post(f"{base}/invocations", fraction.encode())
        assert status == 200, text
        expected = model.predict(pd.DataFrame({"x1": [0.2], "x2": ["a"], "x3": [3.7]}))
        got = pd.DataFrame(json.loads(text)["predictions"])
        np.testing.assert_allclose(got["uplift_email"], expected["uplift_email"], rtol=1e-9)

        # a missing feature column: 4xx naming the column
        missing = json.dumps(
            {"dataframe_split": json.loads(rows[["x1", "x3"]].to_json(orient="split", index=False))}
        )
        status, text = post(f"{base}/invocations", missing.encode())
        assert 400 <= status < 500
        assert "x2" in json.loads(text)["message"]
        # a number column holding text: 4xx naming the column
        text_rows = rows.head(3).astype({"x1": str}).assign(x1=["abc", "1", "2"])
        wrong = json.dumps(
            {"dataframe_split": json.loads(text_rows.to_json(orient="split", index=False))}
        )
        status, text = post(f"{base}/invocations", wrong.encode())
        assert 400 <= status < 500
        assert "x1" in json.loads(text)["message"]
        # malformed JSON: 4xx with a message
        status, text = post(f"{base}/invocations", b"{not json")
        assert 400 <= status < 500 and json.loads(text)["message"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
        log.close()
