"""Attribution runs: params, metrics, artifacts and the registered Markov model in MLflow.

Every test uses a real MLflow sqlite store under a temporary directory and reads runs back with
``MlflowClient``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from attribution import FirstTouch, Journeys, MarkovAttribution
from experiments.attribution_runs import track_attribution_run
from experiments.errors import ExperimentError
from experiments.registry import CHAMPION, DEFAULT_MARKOV_NAME, get_alias_version
from experiments.tracking import TrackingSettings
from tests.experiments.conftest import finished_run

pytestmark = pytest.mark.usefixtures("clean_mlflow_uris")


@pytest.fixture
def worked_example() -> Journeys:
    # the worked example of attribution.markov: RE_A = 0.75, RE_B = 0.5 -> credit 1.2 / 0.8
    return Journeys.from_sequences([["A", "B"], ["B"], ["A"]], [1, 0, 1], [0, 1, 1], [10, 0, 5])


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
    client, run = finished_run(settings, tracked.run_id)
    params, metrics = run.data.params, run.data.metrics
    assert params["models"] == "markov,first_touch"
    assert params["markov.order"] == "1"
    assert params["n_bootstrap"] == "20" and params["ci_level"] == "0.95"
    assert params["data_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    # headline metrics only; per-channel numbers are in the table
    assert metrics["journeys"] == 4 and metrics["conversions"] == 2
    assert metrics["top_share.markov"] == pytest.approx(0.6)
    assert metrics["top_share.first_touch"] == pytest.approx(1.0)  # A > B and A convert
    ci = markov.result_.ci
    assert ci is not None
    assert metrics["ci_width_mean.markov"] == round(
        float(np.mean(ci.conversions_high - ci.conversions_low)), 4
    )
    assert "ci_width_mean.first_touch" not in metrics  # fitted without intervals
    assert not any(k.startswith(("credit.", "share.", "ci_low.")) for k in metrics)
    # hand-computed worked example in the table: credit A = 1.2, B = 0.8; value 7.5 each
    table_file = client.download_artifacts(tracked.run_id, "tables/credit.json", str(tmp_path))
    logged = pd.read_json(table_file, orient="split")
    rows = logged.set_index(["model", "channel"])
    assert rows.loc[("markov", "A"), "conversions"] == pytest.approx(1.2)
    assert rows.loc[("markov", "B"), "conversions"] == pytest.approx(0.8)
    assert rows.loc[("markov", "A"), "value"] == pytest.approx(7.5)
    assert rows.loc[("markov", "A"), "share"] == pytest.approx(0.6)
    assert rows.loc[("markov", "A"), "removal_effect"] == pytest.approx(0.75)
    assert rows.loc[("first_touch", "A"), "conversions"] == pytest.approx(2.0)
    assert rows.loc[("markov", "B"), "ci_high"] == round(float(ci.conversions_high[1]), 4)
    top = {a.path for a in client.list_artifacts(tracked.run_id)}
    assert {"config.yaml", "figures", "report"} <= top
    report = {a.path for a in client.list_artifacts(tracked.run_id, "report")}
    assert {
        "report/attribution.csv",
        "report/attribution.json",
        "report/attribution.md",
        "report/report.html",
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


def test_a_run_with_every_model_stays_readable(settings: TrackingSettings, tmp_path: Path) -> None:
    """13 models and 13 channels: at most 60 metrics, a one-line heading, a colour per model."""
    import matplotlib

    matplotlib.use("Agg")
    from attribution.catalog import MODELS
    from attribution.simulate import SimulationConfig, proxy_covariates, simulate_journeys
    from experiments.attribution_runs import MAX_METRICS, plot_credit

    config = SimulationConfig(n_users=3000, seed=2, covariates=proxy_covariates(0.9))
    sim = simulate_journeys(config)
    journeys = Journeys.from_events(sim.events).with_users(sim.covariates)
    results = [cls(n_bootstrap=0).fit(journeys).result_ for cls in MODELS.values()]
    assert len(results) >= 11
    tracked = track_attribution_run(results, journeys, settings=settings)
    run = MlflowClient(settings.tracking_uri).get_run(tracked.run_id)
    assert len(run.data.metrics) <= MAX_METRICS
    heading = run.data.tags["mlflow.note.content"].splitlines()[0]
    assert heading == f"# Attribution: {len(results)} models"
    ax = plot_credit(results)
    colours = {tuple(c.patches[0].get_facecolor()) for c in ax.containers if c.patches}
    assert len(colours) == len(results)
    assert ax.get_xlabel() == "credit (conversions)"
