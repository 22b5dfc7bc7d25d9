"""``pathlift uplift score --engine spark`` with the real registered uplift model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip(
    "pyspark", reason="PySpark is not installed: pip install 'pathlift[spark]' to run Spark tests"
)

from experiments.tracking import resolve_tracking
from experiments.uplift_runs import track_uplift_run
from tests.experiments.conftest import pathlift
from uplift.learners import UpliftModel
from uplift.metrics import evaluate_uplift
from uplift.simulate import simulate_campaign

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_score_parquet_with_registered_champion(tmp_path, capsys, caplog):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    sim = simulate_campaign(3000, seed=2)
    data = sim.uplift_data()
    model = UpliftModel("t", n_estimators=20, seed=0).fit(data)
    evaluation = evaluate_uplift(
        model.predict(data.features), data.outcome, data.treatment, "control", n_bootstrap=20
    )
    track_uplift_run(
        model,
        evaluation,
        data=sim.data,
        settings=resolve_tracking(uri),
        register=True,
        input_example=sim.data[sim.feature_columns].head(5),
    )
    to_score = sim.data[sim.feature_columns].head(500)
    source = tmp_path / "customers.parquet"
    to_score.to_parquet(source)
    out = tmp_path / "scores"
    champion = "--model models:/pathlift-uplift@champion"
    score = ("uplift score", source, champion, "--output", out, "--tracking-uri", [uri])
    code = pathlift(*score)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["n_rows"] == 500
    # MLflow's generic advice to score in a conda environment is not shown without --verbose
    assert not [r for r in caplog.records if 'env_manager="local"' in r.getMessage()]
    scored = pd.read_parquet(out)
    expected = model.predict(to_score)
    assert len(scored) == 500
    merged = scored.sort_values(["age", "tenure_years", "recent_visits"]).reset_index(drop=True)
    local = (
        to_score.join(expected)
        .sort_values(["age", "tenure_years", "recent_visits"])
        .reset_index(drop=True)
    )
    for column in ("uplift_email", "uplift_push", "best_uplift"):
        np.testing.assert_allclose(merged[column], local[column], rtol=1e-6)
    assert (merged["best_arm"] == local["best_arm"]).all()

    # an existing output directory is refused with one line and exit 2
    code = pathlift(*score)
    err = capsys.readouterr().err
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "already exists" in errors[0]
    assert "Traceback" not in err
