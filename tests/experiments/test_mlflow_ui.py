"""An attribution run as an analyst sees it in the real MLflow UI, in headless Chromium.

The test tracks a run with several models in a temporary store, starts the UI with the command
``pathlift demo`` prints (:meth:`TrackingSettings.ui_command`, on a free loopback port), and
loads three pages in headless Chromium (:mod:`tests.browser`): the run's overview, its credit
table and its HTML report. It checks what is shown: a one-line description heading, at most 60
metrics with readable values, the per-channel table with intervals, the attached report. Set
``PATHLIFT_SCREENSHOT_DIR`` to keep the screenshots (``mlflow-run.png``, ``mlflow-table.png``).
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

import pytest

from attribution import Journeys
from attribution.catalog import MODELS
from attribution.markov import MarkovAttribution
from attribution.simulate import SimulationConfig, proxy_covariates, simulate_journeys
from experiments.attribution_runs import MAX_METRICS, track_attribution_run
from experiments.tracking import TrackedRun, resolve_tracking
from tests import servers
from tests.browser import chromium, keep_screenshot, run_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.usefixtures("clean_mlflow_uris")]

#: the models of the run: enough that the old layout (a metric per channel) would have
#: flooded the UI
RUN_MODELS = ("first_touch", "last_touch", "linear", "position_based", "time_decay", "shapley")
#: milliseconds of virtual time the UI gets to fetch and render its data
BUDGET = "--virtual-time-budget=25000"


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    chromium()  # skip (or fail under CI) before any work when there is no browser
    root = tmp_path_factory.mktemp("mlflow-ui")
    settings = resolve_tracking(f"sqlite:///{root / 'mlflow.db'}", "ui-test")
    config = SimulationConfig(n_users=4000, seed=3, covariates=proxy_covariates(0.9))
    sim = simulate_journeys(config)
    journeys = Journeys.from_events(sim.events, lookback="30d")
    results = [MODELS[m](n_bootstrap=20, seed=0).fit(journeys).result_ for m in RUN_MODELS]
    markov = MarkovAttribution(order=1, n_bootstrap=20, seed=0).fit(journeys)
    run = track_attribution_run(
        [*results, markov.result_],
        journeys,
        source=sim.events,
        markov=markov,
        settings=settings,
        run_name="weekly attribution",
    )
    port = servers.free_port()
    command = settings.ui_command(port=port)  # what the demo prints
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin"}
    log = root / "ui.log"
    server = servers.start(shlex.split(command), log=log, cwd=root, env=env)
    try:
        servers.wait_until_up(server, f"http://127.0.0.1:{port}/health", log=log)
        yield f"http://127.0.0.1:{port}", run, journeys
    finally:
        servers.stop(server)


def _page(base: str, run: TrackedRun, suffix: str = "") -> str:
    return f"{base}/#/experiments/{run.experiment_id}/runs/{run.run_id}{suffix}"


def _text(dom: str) -> str:
    """The visible text of a DOM dump, tags removed, whitespace collapsed."""
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", dom).split())


def _rendered(url: str, tmp_path: Path, ready: str) -> tuple[str, str]:
    """The DOM of ``url`` and its visible text, once ``ready`` is rendered (up to 3 loads).

    The UI fetches the run and its artifacts after the page loads; on a busy machine a load can
    end before they arrive, so the page is loaded again (the assertions then check the content).
    """
    for _ in range(3):
        proc = run_chromium([BUDGET, "--dump-dom", url], tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
        text = _text(proc.stdout)
        if re.search(ready, text):
            break
    return proc.stdout, text


def test_run_overview_reads(ui, tmp_path: Path) -> None:
    base, run, journeys = ui
    dom, text = _rendered(_page(base, run), tmp_path, r"Metrics \(\d+\)")
    assert "weekly attribution" in text  # the run page rendered with its data
    # the description starts with one short heading line
    headings = re.findall(r"<h1[^>]*>(.*?)</h1>", dom, flags=re.S)
    assert f"Attribution: {len(RUN_MODELS) + 1} models" in [_text(h) for h in headings]
    # a handful of metrics, each readable: no 16-digit floats
    shown = re.search(r"Metrics \((\d+)\)", text)
    assert shown is not None, text[:3000]
    assert 7 <= int(shown.group(1)) <= MAX_METRICS
    assert "top_share.markov" in text and "ci_width_mean.shapley" in text
    assert f"{journeys.n_journeys}" in text
    long_numbers = re.findall(r"\b\d+\.\d{6,}\b", text[text.index("Metrics (") :])
    assert not long_numbers, long_numbers[:5]
    assert not any(f"credit.markov.{c}" in text for c in journeys.channels)

    shot = tmp_path / "run.png"
    proc = run_chromium(
        [BUDGET, "--window-size=1400,1500", f"--screenshot={shot}", _page(base, run)], tmp_path
    )
    assert proc.returncode == 0 and shot.stat().st_size > 20_000
    keep_screenshot(shot, "mlflow-run.png")


def test_credit_table_and_report_are_shown(ui, tmp_path: Path) -> None:
    base, run, journeys = ui
    table = _page(base, run, "/artifacts/tables/credit.json")
    _, text = _rendered(table, tmp_path, r"\bci_high\b")
    assert "View as table" in text
    for header in ("model", "channel", "conversions", "ci_low", "ci_high", "share"):
        assert re.search(rf"\b{header}\b", text), header
    assert sum(channel in text for channel in journeys.channels) >= 3
    assert "first_touch" in text

    shot = tmp_path / "table.png"
    proc = run_chromium([BUDGET, "--window-size=1400,900", f"--screenshot={shot}", table], tmp_path)
    assert proc.returncode == 0 and shot.stat().st_size > 20_000
    keep_screenshot(shot, "mlflow-table.png")

    report = _page(base, run, "/artifacts/report/report.html")
    _, text = _rendered(report, tmp_path, r"report/report\.html")
    assert "report/report.html" in text  # the attached report, selected in the tree
    for folder in ("figures", "report", "tables"):
        assert re.search(rf"\b{folder}\b", text), folder
