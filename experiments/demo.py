"""The main job: ``pathlift demo``.

On a fresh clone, with no arguments and no data, it shows everything pathlift does:

1. simulates customer journeys with per-channel cost and known channel effects
   (:func:`attribution.simulate.simulate_journeys`) and a randomized two-arm campaign with known
   individual uplift (:func:`uplift.simulate.simulate_campaign`);
2. fits the attribution suite (heuristics, Markov at the order chosen on held-out journeys, the
   Shapley family, data-driven attribution and the causal model with the simulated user table,
   each with intervals), tracks it as an MLflow run and registers the Markov model;
3. trains a calibrated uplift model (:func:`uplift.workflow.train_and_evaluate`), evaluates it
   on held-out customers, plans targeting under a budget, tracks it and registers the model;
4. writes the budget planner's report (HTML, Markdown, CSV, JSON) with cost, CPA, ROAS, a
   period-over-period comparison, the causal model calibrated by simulated lift tests (and direct
   navigation as a negative control), what marketing caused and what to test next, and logs it
   to the attribution run;
5. returns (and the CLI prints) where to look.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from attribution._io import check_destination
from attribution.calibration import LiftTests
from attribution.catalog import MODELS
from attribution.journeys import Journeys
from attribution.markov import MarkovAttribution, select_order
from attribution.result import AttributionResult
from attribution.simulate import (
    SimulationConfig,
    proxy_covariates,
    simulate_journeys,
    simulate_lift_test,
)
from experiments.attribution_runs import track_attribution_run
from experiments.errors import ExperimentError
from experiments.reports.pipeline import report_from_events
from experiments.reports.write import write_report
from experiments.tracking import (
    TrackedRun,
    TrackingSettings,
    find_project_root,
    resolve_tracking,
)
from experiments.uplift_runs import track_uplift_run
from uplift.simulate import simulate_campaign
from uplift.targeting import evaluate_targeting, plan_targeting
from uplift.workflow import train_and_evaluate

__all__ = ["DemoResult", "run_demo"]

logger = logging.getLogger(__name__)

#: channels with a simulated randomized lift test, used to calibrate the report
LIFT_TESTED = ("paid_search", "display", "email")
#: channels known to cause nothing (direct navigation), a negative control for the causal model
NEGATIVE_CONTROLS = ("direct",)
#: models of the report: the usual heuristics, Markov and the causal model
REPORT_MODELS = ("first_touch", "last_touch", "linear", "position_based", "markov", "causal")


@dataclass(frozen=True)
class DemoResult:
    """Where the demo's outputs are."""

    settings: TrackingSettings
    attribution_run: TrackedRun
    uplift_run: TrackedRun
    report_files: dict[str, Path]
    attribution: list[AttributionResult] = field(default_factory=list)
    #: registered model name -> version -> aliases
    aliases: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def summary(self) -> str:
        """Return the closing message: report files, runs, models, how to open MLflow."""
        settings = self.settings
        lines = ["", "Reports:"]
        lines += [f"  {p}" for p in self.report_files.values()]
        lines += [
            "",
            f"MLflow runs (store: {settings.tracking_uri}):",
            f"  attribution: {self.attribution_run.run_id}",
            f"  uplift:      {self.uplift_run.run_id}",
            "Registered models:",
        ]
        for run in (self.attribution_run, self.uplift_run):
            for name, version in run.model_versions.items():
                aliases = ", ".join(self.aliases.get(name, {}).get(version, [])) or "none"
                lines.append(f"  models:/{name}/{version}  (aliases: {aliases})")
        lines += [
            "",
            "Open the MLflow UI:",
            f"  {settings.ui_command()}",
            f"  then browse {settings.ui_url(self.attribution_run.experiment_id)}",
        ]
        return "\n".join(lines)


def _attribution_suite(
    journeys: Journeys,
    *,
    n_bootstrap: int,
    seed: int,
    progress: Callable[[str], None],
) -> tuple[list[AttributionResult], MarkovAttribution, int]:
    order = select_order(journeys, orders=(1, 2, 3), seed=seed).best_order
    progress(f"Markov order chosen on held-out journeys: {order}")
    results: list[AttributionResult] = []
    markov: MarkovAttribution | None = None
    for name, cls in MODELS.items():
        progress(f"fitting {name}")
        if name == "markov":
            markov = MarkovAttribution(order=order, n_bootstrap=n_bootstrap, seed=seed)
            results.append(markov.fit(journeys).result_)
        else:
            model = cls(n_bootstrap=n_bootstrap, seed=seed)
            results.append(model.fit(journeys).result_)
    assert markov is not None  # "markov" is always in the catalog
    return results, markov, order


def run_demo(
    *,
    out_dir: str | Path | None = None,
    tracking_uri: str | None = None,
    experiment: str = "pathlift-demo",
    n_users: int = 60_000,
    n_customers: int = 30_000,
    n_bootstrap: int = 200,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the demo end to end and return where its outputs are (see the module docstring)."""
    say = progress or (lambda message: logger.info("%s", message))
    report_dir = Path(out_dir) if out_dir is not None else find_project_root() / "reports" / "demo"
    check_destination(report_dir, kind="directory", what="--out", error=ExperimentError)
    settings = resolve_tracking(tracking_uri, experiment, check_server=True)

    # 1. data
    say(f"simulating {n_users:,} users' journeys over 8 weeks (7 channels, cost, user table)")
    sim = simulate_journeys(
        SimulationConfig(
            n_users=n_users,
            seed=seed,
            covariates=proxy_covariates(0.9),
            include_untouched_conversions=True,
        )
    )
    journeys = Journeys.from_events(sim.events, lookback="30d").with_users(sim.covariates)
    say(repr(journeys))

    # 2. attribution suite, tracked, Markov registered
    results, markov, order = _attribution_suite(
        journeys, n_bootstrap=n_bootstrap, seed=seed, progress=say
    )
    say("tracking the attribution run and registering the Markov model")
    attribution_run = track_attribution_run(
        results,
        journeys,
        source=sim.events,
        config={
            "source": "simulated journeys (attribution.simulate, selection_bias preset)",
            "n_users": n_users,
            "seed": seed,
            "lookback": "30d",
            "markov_order": order,
            "n_bootstrap": n_bootstrap,
        },
        markov=markov,
        settings=settings,
        run_name="demo: attribution suite",
        register=True,
    )

    # 3. uplift
    say(f"simulating a randomized campaign for {n_customers:,} customers (email, push, control)")
    campaign = simulate_campaign(n_customers, seed=seed)
    data = campaign.uplift_data()
    say("training a calibrated T-learner on 70% of the customers")
    trained = train_and_evaluate(
        data,
        learner="t",
        params={"n_estimators": 100},
        test_size=0.3,
        seed=seed,
        n_bootstrap=n_bootstrap,
    )
    model, evaluation, test = trained.model, trained.evaluation, trained.test
    predictions = model.predict(test.features)
    budget = int(0.3 * len(test))
    plan = plan_targeting(
        predictions,
        control=model.control_,
        budget=budget,
        value_per_conversion=40.0,
        cost_per_contact={"email": 0.05, "push": 0.02},
    )
    targeting = evaluate_targeting(
        plan, test.outcome, test.treatment, n_bootstrap=n_bootstrap, seed=seed
    )
    say("tracking the uplift run and registering the uplift model")
    uplift_run = track_uplift_run(
        model,
        evaluation,
        data=campaign.data,
        n_test=len(test),
        plan=plan,
        targeting=targeting,
        config={
            "source": "simulated randomized campaign (uplift.simulate)",
            "n_customers": n_customers,
            "seed": seed,
            "budget_contacts": budget,
        },
        settings=settings,
        run_name="demo: uplift T-learner",
        register=True,
        input_example=campaign.data[campaign.feature_columns].head(20),
    )

    # 4. the budget planner's report, calibrated with simulated lift tests
    say("writing the budget report (cost, ROAS, period comparison, calibration)")
    lift_tests = LiftTests.from_results(
        [simulate_lift_test(sim, channel, seed=seed) for channel in LIFT_TESTED]
    )
    split = (
        sim.events["timestamp"].min()
        + (sim.events["timestamp"].max() - sim.events["timestamp"].min()) / 2
    )
    report = report_from_events(
        sim.events,
        cost_col="cost",
        lift_tests=lift_tests,
        split_date=split.normalize(),
        n_bootstrap=n_bootstrap,
        seed=seed,
        journey_options={"lookback": "30d"},
        users=sim.covariates,
        models=REPORT_MODELS,
        calibration_options={"negative_controls": NEGATIVE_CONTROLS},
        mlflow_run={"run_id": attribution_run.run_id, "url": attribution_run.ui_url},
        title="pathlift demo: channel credit, cost and incrementality",
    )
    files = write_report(report, report_dir)
    _log_report(settings, attribution_run.run_id, report_dir, report.channels)
    return DemoResult(
        settings=settings,
        attribution_run=attribution_run,
        uplift_run=uplift_run,
        report_files=files,
        attribution=results,
        aliases=_aliases(settings, [attribution_run, uplift_run]),
    )


def _aliases(settings: TrackingSettings, runs: list[TrackedRun]) -> dict[str, dict[str, list[str]]]:
    from mlflow import MlflowClient

    client = MlflowClient(settings.tracking_uri, settings.registry_uri)
    out: dict[str, dict[str, list[str]]] = {}
    for run in runs:
        for name, version in run.model_versions.items():
            mv = client.get_model_version(name, str(version))
            out.setdefault(name, {})[str(version)] = sorted(mv.aliases)
    return out


def _log_report(
    settings: TrackingSettings, run_id: str, report_dir: Path, channels: pd.DataFrame
) -> None:
    """Attach the budget report to the run, and its channel table (spend, CPA, ROAS) as a table."""
    from mlflow import MlflowClient

    client = MlflowClient(settings.tracking_uri)
    client.log_artifacts(run_id, str(report_dir), "report")
    client.log_table(run_id, channels, artifact_file="tables/channel_economics.json")
