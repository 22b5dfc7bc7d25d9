"""Reports: one data model, identical numbers in HTML, Markdown, CSV and JSON; atomic writes."""

from __future__ import annotations

import io
import json
import math
import os
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attribution.calibration import LiftTests
from attribution.journeys import Journeys
from attribution.result import AttributionResult
from attribution.simulate import SimulationConfig, simulate_journeys, simulate_lift_test
from experiments.reports import (
    Report,
    ReportError,
    build_report,
    report_documents,
    report_from_events,
    write_report,
)
from experiments.reports.render import fmt
from tests.experiments.conftest import pathlift
from tests.experiments.reports.conftest import credit, weekly_report

EVIL = "<script>alert('x')</script> | pipe"


def _result(model: str, conv: list[float], spread: float) -> AttributionResult:
    """Credit worth 12.5 a conversion, with a note of the model's."""
    return credit(
        model,
        conv,
        ("A", "B", EVIL),
        value_per_conversion=12.5,
        spread=spread,
        notes=(f"{model} note",),
    )


@pytest.fixture
def report() -> Report:
    current = [_result("last_touch", [50, 30, 20], 4.0), _result("markov", [40, 35, 25], 2.0)]
    previous = [_result("last_touch", [30, 30, 20], 4.0), _result("markov", [30, 30, 20], 2.0)]
    return weekly_report(
        current,
        previous,
        costs={"A": 100, "B": 400, EVIL: 0},
        week="2024-01-08",
        lift_tests={"B": (10.0, 6, 14)},
        coverage=(1000, 300, 350, "2024-01-08", "2024-01-14 23:00"),
        mlflow_run={"run_id": "0123abc", "experiment_id": "7"},
        title="Weekly <report>",
    )


# ----------------------------------------------------------------------------- parsing helpers


class TableParser(HTMLParser):
    """Collect the cells of every table marked with data-test: text and data-value."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str | None]]]] = {}
        self.headers: dict[str, list[str]] = {}
        self._table: str | None = None
        self._row: list[tuple[str, str | None]] | None = None
        self._cell: list[str] | None = None
        self._value: str | None = None
        self._in_th = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "data-test" in a:
            self._table = a["data-test"]
            self.tables[self._table] = []
            self.headers[self._table] = []
        elif self._table and tag == "tr":
            self._row = []
        elif self._table and tag in ("td", "th"):
            self._cell, self._value, self._in_th = [], a.get("data-value"), tag == "th"

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif self._table and tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell)
            if self._in_th and self._row == [] and not self.tables[self._table]:
                self.headers[self._table].append(text)
            else:
                self._row.append((text, self._value))
            self._cell = None
        elif self._table and tag == "tr" and self._row:
            self.tables[self._table].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _html_tables(html: str) -> TableParser:
    parser = TableParser()
    parser.feed(html)
    return parser


def _md_table(markdown: str, first_header: str) -> list[list[str]]:
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip().replace("\\|", "|") for c in _split_md(line)]
        rows.append(cells)
    return rows


def _split_md(line: str) -> list[str]:
    cells, cur, i = [], "", 1
    while i < len(line) - 1:
        if line[i] == "\\" and i + 1 < len(line):
            cur += line[i : i + 2]
            i += 2
            continue
        if line[i] == "|":
            cells.append(cur)
            cur = ""
        else:
            cur += line[i]
        i += 1
    cells.append(cur)
    return cells


def _same(a: float, b: float) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    return a == b


# ----------------------------------------------------------------------------- consistency

CHANNEL_COLUMNS = [
    ("conversions", "count"),
    ("conversions_low", "count"),
    ("conversions_high", "count"),
    ("share", "share"),
    ("value", "money"),
    ("spend", "money"),
    ("cpa", "money"),
    ("cpa_low", "money"),
    ("cpa_high", "money"),
    ("roas", "ratio"),
    ("roas_low", "ratio"),
    ("roas_high", "ratio"),
]


def test_all_formats_carry_identical_numbers(report: Report) -> None:
    docs = report_documents(report)
    data = json.loads(docs["report.json"])
    csv = pd.read_csv(io.StringIO(docs["report.csv"]), keep_default_na=True)
    html = _html_tables(docs["report.html"])
    md_rows = _md_table(docs["report.md"], "Model")
    html_rows = html.tables["channel-table"]
    records = data["channels"]
    assert len(records) == len(csv) == len(html_rows) == len(md_rows) == 9  # 3 models x 3
    for i, rec in enumerate(records):
        row_html = html_rows[i]
        assert row_html[0][0] == rec["model"] == csv.loc[i, "model"] == md_rows[i][0]
        assert row_html[1][0] == rec["channel"] == csv.loc[i, "channel"] == md_rows[i][1]
        for j, (col, kind) in enumerate(CHANNEL_COLUMNS, start=2):
            text, dv = row_html[j]
            exact = float(dv)  # full-precision value carried by the HTML cell
            from_csv = float(csv.loc[i, col])
            assert _same(exact, from_csv), (col, exact, from_csv)
            if rec[col] is None:  # JSON null: NaN or infinite
                assert not math.isfinite(exact)
            else:
                assert rec[col] == exact
            assert text == fmt(exact, kind) == md_rows[i][j]
    # share table and headline agree across HTML, Markdown and JSON too
    md_shares = _md_table(docs["report.md"], "Channel")
    for i, rec in enumerate(data["shares"]):
        cells = html.tables["share-table"][i]
        assert cells[0][0] == rec["channel"] == md_shares[i][0]
        for j, model in enumerate(data["models"], start=1):
            assert float(cells[j][1]) == rec[model]
            assert cells[j][0] == md_shares[i][j] == fmt(rec[model], "share")


def test_the_report_leads_with_the_period_and_the_calibrated_answer(report: Report) -> None:
    # the calibrated model is the most trustworthy answer: its top channel leads, named as such
    calibrated = report.channels[report.channels["model"] == "markov+calibrated"]
    top = calibrated.loc[calibrated["conversions"].idxmax()]
    share = top["conversions"] / calibrated["conversions"].sum()
    assert report.decision.startswith(
        f"2024-01-08 to 2024-01-14: {top['channel']} caused the most conversions, "
        f"{top['conversions']:,.0f} ({share:.0%} of those the channels caused), by markov "
        "calibrated with lift tests, the most trustworthy answer in this report"
    )
    assert report.headline["Period"] == ("2024-01-08 to 2024-01-14", "text")
    html = report.to_html()
    assert html.index('data-test="decision"') < html.index('id="headline"')
    assert escape(report.decision) in html
    assert (
        report.to_markdown().split("\n")[4] == f"**{report.decision.replace('|', chr(92) + '|')}**"
    )
    assert json.loads(report.to_json())["decision"] == report.decision
    assert report.has_costs
    assert "ROAS high" in _html_tables(html).headers["channel-table"]


def test_sections_and_numbers_in_json(report: Report) -> None:
    data = json.loads(report.to_json())
    assert data["models"] == ["last_touch", "markov", "markov+calibrated"]
    assert data["mlflow"] == {"run_id": "0123abc", "experiment_id": "7"}
    assert data["coverage"]["n_journeys"] == 350
    assert data["coverage"]["lookback"] == "30d"
    assert data["reallocation"]["model"] == "markov+calibrated"
    assert data["calibration"]["model"] == "markov"
    assert data["headline"]["Spend"] == 500.0
    assert data["headline"]["Conversions"] == 100.0
    assert data["headline"]["Blended CPA"] == 5.0
    calibrated = {r["channel"]: r for r in data["calibration"]["channels"]}
    assert calibrated["B"]["calibrated"] == pytest.approx(10.0)
    comparison = {(r["model"], r["channel"]): r for r in data["comparison"]["rows"]}
    # last_touch A: [26, 34] -> [46, 54]: flagged; markov B [28, 32] -> [33, 37]: flagged
    assert comparison[("last_touch", "A")]["conversions_flag"] is True
    assert comparison[("last_touch", "B")]["conversions_flag"] is False
    assert "last_touch: last_touch note" in data["notes"]
    assert "Report('Weekly <report>'" in repr(report)


def test_html_is_self_contained_and_escaped(report: Report) -> None:
    html = report.to_html()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; | pipe" in html
    assert "Weekly &lt;report&gt;" in html
    lowered = html.lower()
    for needle in ("<link", " src=", "@import", "url(", "https://"):
        assert needle not in lowered, needle
    # the only URL is the SVG namespace, which is never fetched
    assert lowered.count("http://") == lowered.count('xmlns="http://www.w3.org/2000/svg"')
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert html.count("<svg") == 1 and 'data-test="channel-table"' in html
    md = report.to_markdown()
    assert "\\| pipe" in md  # the pipe in a channel name does not break the table


def test_report_without_costs_or_intervals() -> None:
    res = AttributionResult(
        model="linear",
        params={},
        channels=("A", "B"),
        conversions=np.array([1.0, 3.0]),
        value=np.zeros(2),
        total_conversions=4.0,
        total_value=0.0,
    )
    report = build_report([res])
    assert report.reallocation is None and report.comparison is None and report.level is None
    data = json.loads(report.to_json())
    assert data["channels"][0]["spend"] is None
    # no costs: no cost columns (no rows of dashes), and the lead says it is credit, not cause
    assert not report.has_costs
    parser = _html_tables(report.to_html())
    assert parser.headers["channel-table"] == ["Model", "Channel", "Conversions", "Share", "Value"]
    assert "CPA" not in report.to_markdown() and "ROAS" not in report.to_markdown()
    assert report.decision == (
        "B got the largest share of credit, 75%, by the mean share of the models; without lift "
        "tests or a causal model this is credit (who touched converting journeys), not proof of "
        "cause."
    )
    assert "Not logged to MLflow" in report.to_html()
    assert list(report.csv_tables()) == ["channels"]
    with pytest.raises(ReportError, match="at least one"):
        build_report([])
    with pytest.raises(ReportError, match="distinct"):
        build_report([res, res])


# ----------------------------------------------------------------------------- atomic writes


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_write_report_writes_all_files(report: Report, tmp_path: Path) -> None:
    paths = write_report(report, tmp_path / "out")
    assert set(paths) == {
        "html",
        "md",
        "json",
        "csv",
        "comparison_csv",
        "calibration_csv",
        "reallocation_csv",
    }
    for path in paths.values():
        assert path.exists() and path.stat().st_size > 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in paths.values()
    )
    comparison = pd.read_csv(paths["comparison_csv"])
    assert len(comparison) == 6


@pytest.fixture
def previous(report: Report, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A report written earlier: its directory and the bytes of its files."""
    out = tmp_path / "out"
    write_report(report, out)
    return out, _snapshot(out)


def test_failed_render_leaves_previous_report_intact(report: Report, previous, monkeypatch) -> None:
    out, before = previous
    import experiments.reports.render as render

    def broken(_report):  # rendering fails after HTML and Markdown were rendered
        raise RuntimeError("disk of numbers on fire")

    monkeypatch.setattr(render, "csv_tables", broken)
    with pytest.raises(RuntimeError, match="on fire"):
        write_report(report, out)
    assert _snapshot(out) == before


def test_failed_write_midway_leaves_previous_report_intact(
    report: Report, previous, monkeypatch
) -> None:
    out, before = previous
    calls = {"n": 0}
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # the third file cannot be flushed to disk
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space"):
        write_report(report, out)
    assert _snapshot(out) == before  # no temporary files left, nothing replaced


# ----------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    sim = simulate_journeys(SimulationConfig(n_users=8000, seed=3))
    root = tmp_path_factory.mktemp("sim")
    sim.events.to_parquet(root / "events.parquet")
    sim.costs.to_csv(root / "costs.csv", index=False)
    lift = simulate_lift_test(sim, "paid_search", holdout_fraction=0.5, seed=2)
    lift.to_frame().rename(
        columns={
            "ci_lower": "ci_low",
            "ci_upper": "ci_high",
            "confidence": "level",
            "start": "period_start",
            "end": "period_end",
        }
    ).to_csv(root / "lift.csv", index=False)
    return sim, root


def test_report_from_events_with_period_split(simulated) -> None:
    sim, root = simulated
    report = report_from_events(
        sim.events,
        costs=sim.costs,
        lift_tests=root / "lift.csv",
        split_date="2024-01-29",
        models=["last_touch", "markov"],
        n_bootstrap=20,
        calibration_options={"n_draws": 400},
    )
    assert report.comparison is not None and report.calibration is not None
    assert report.previous_coverage is not None
    # every journey ends in exactly one period (simulated users have one journey each)
    total = report.coverage["n_journeys"] + report.previous_coverage["n_journeys"]
    assert total == sim.events["user_id"].nunique()
    # the current period's spend is the cost rows from the split date on
    spend = report.channels.loc[report.channels["model"] == "markov", "spend"].sum()
    expected = sim.costs.loc[sim.costs["period"] >= "2024-01-29", "cost"].sum()
    assert spend == pytest.approx(expected)


def test_cli_report_end_to_end(simulated, tmp_path: Path, capsys) -> None:
    _, root = simulated
    out = tmp_path / "report"
    status = pathlift(
        "report",
        root / "events.parquet",
        "--events --out",
        out,
        "--costs",
        root / "costs.csv",
        "--lift-tests",
        root / "lift.csv",
        "--split-date 2024-01-29 --lookback 30d -m linear -m markov --bootstrap 20",
        "--mlflow-run-id feedbeef",
    )
    assert status == 0
    printed = capsys.readouterr().out.split()
    assert str(out / "report.html") in printed
    data = json.loads((out / "report.json").read_text())
    assert data["models"] == ["linear", "markov", "markov+calibrated"]
    assert data["mlflow"]["run_id"] == "feedbeef"
    assert data["coverage"]["lookback"] == "30d"
    assert data["comparison"] is not None


def test_cli_report_bad_input_is_one_line(simulated, tmp_path: Path, capsys) -> None:
    _, root = simulated
    bad = tmp_path / "costs.csv"
    bad.write_text("channel,period,cost\npaid_search,2024-01-01,-5\n")
    status = pathlift(
        "report",
        root / "events.parquet",
        "--events --out",
        tmp_path / "o",
        "--costs",
        bad,
        "--bootstrap 0 -m linear",
    )
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: column 'cost' must be non-negative; row 0")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "report.html").exists()
    status = pathlift(
        "report", root / "costs.csv", "--out", tmp_path / "o", "--split-date 2024-01-01"
    )
    assert status == 2
    assert "add --events" in capsys.readouterr().err


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory):
    """A real MLflow sqlite store (created and migrated once for this module)."""
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("reports", artifact_location=(root / "a").as_uri())
    return client, experiment, uri


@pytest.mark.slow  # creating and migrating a sqlite store takes ~15 s
def test_report_files_log_as_mlflow_artifacts(report: Report, tmp_path: Path, mlflow_store) -> None:
    """The written directory logs as MLflow artifacts (real sqlite store) and reads back."""
    client, experiment, _ = mlflow_store
    paths = write_report(report, tmp_path / "out")
    run = client.create_run(experiment)
    client.log_artifacts(run.info.run_id, str(tmp_path / "out"), artifact_path="report")
    client.set_terminated(run.info.run_id)
    names = sorted(Path(a.path).name for a in client.list_artifacts(run.info.run_id, "report"))
    assert names == sorted(p.name for p in paths.values())
    local = client.download_artifacts(run.info.run_id, "report/report.json", str(tmp_path / "d"))
    assert json.loads(Path(local).read_text()) == json.loads(paths["json"].read_text())


@pytest.mark.slow
def test_lift_tests_from_uplift_run_in_mlflow(mlflow_store, simulated, tmp_path: Path) -> None:
    """Lift tests read from the metrics an uplift run logs (keys by experiments.uplift_runs)."""
    from attribution.calibration import InvalidLiftTestError
    from experiments.reports import lift_tests_from_mlflow_run
    from experiments.uplift_runs import evaluation_metrics
    from uplift.metrics import evaluate_uplift

    client, experiment, uri = mlflow_store
    rng = np.random.default_rng(1)
    n = 3000
    arm = rng.choice(["control", "email offer", "sms"], size=n)
    outcome = (rng.random(n) < np.where(arm == "control", 0.05, 0.08)).astype(float)
    evaluation = evaluate_uplift(
        {"email offer": rng.random(n), "sms": rng.random(n)},
        outcome,
        arm,
        "control",
        n_bootstrap=30,
        ci=0.9,
    )
    run = client.create_run(experiment)
    for key, value in evaluation_metrics(evaluation).items():
        client.log_metric(run.info.run_id, key, value)
    client.log_param(run.info.run_id, "eval.ci", evaluation.ci)
    tests = lift_tests_from_mlflow_run(
        run.info.run_id,
        {"email offer": "email", "sms": "sms"},
        population={"email offer": 1000, "sms": 500},
        tracking_uri=uri,
    )
    frame = tests.frame.set_index("channel")
    assert frame.loc["email", "incremental_conversions"] == pytest.approx(
        evaluation.value("email offer", "ate") * 1000
    )
    lo, hi = evaluation.arms["sms"].intervals["ate"]
    assert (frame.loc["sms", "ci_low"], frame.loc["sms", "ci_high"]) == pytest.approx(
        (lo * 500, hi * 500)
    )
    assert (frame["level"] == 0.9).all()
    with pytest.raises(InvalidLiftTestError, match="no metric"):
        lift_tests_from_mlflow_run(
            run.info.run_id,
            {"push": "app_push"},
            population=10,
            tracking_uri=uri,
        )
    # the same from the command line: arms mapped to channels of the event log
    _, root = simulated
    status = pathlift(
        "report",
        root / "events.parquet",
        "--events --out",
        tmp_path / "r",
        "-m linear --bootstrap 0 --uplift-run",
        run.info.run_id,
        ["--arm", "email offer=email", "--arm", "sms=app_push"],
        "--arm-population 8000 --tracking-uri",
        [uri],
    )
    assert status == 0
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    tested = {r["channel"]: r for r in data["calibration"]["channels"] if r["tested"]}
    assert set(tested) == {"email", "app_push"}
    assert tested["email"]["measured"] == pytest.approx(
        evaluation.value("email offer", "ate") * 8000, rel=1e-3
    )


def test_cli_report_from_path_table_and_cost_column(simulated, tmp_path: Path) -> None:
    sim, root = simulated
    journeys = Journeys.from_events(sim.events)
    journeys.to_path_table().to_csv(tmp_path / "paths.csv", index=False)
    linear = "-m linear --bootstrap 0"
    assert pathlift("report", tmp_path / "paths.csv", "--out", tmp_path / "p", linear) == 0
    data = json.loads((tmp_path / "p" / "report.json").read_text())
    assert data["coverage"]["source"] == "paths"
    assert data["headline"]["Conversions"] == journeys.total_conversions
    assert data["reallocation"] is None  # no costs, no suggestion
    # spend summed from the event log's per-touch cost column
    events = ("report", root / "events.parquet", "--events --cost-col cost")
    assert pathlift(*events, "--out", tmp_path / "e", linear) == 0
    data = json.loads((tmp_path / "e" / "report.json").read_text())
    spend = {r["channel"]: r["spend"] for r in data["channels"]}
    expected = sim.events.groupby("channel")["cost"].sum()
    for channel, value in expected.items():
        assert spend[channel] == pytest.approx(value)


@pytest.fixture(scope="module")
def with_users():
    from attribution.simulate import proxy_covariates

    config = SimulationConfig(
        n_users=30_000, seed=5, covariates=proxy_covariates(0.9), include_untouched_conversions=True
    )
    return simulate_journeys(config)


def test_report_with_the_causal_model_calibrated_by_transfer(with_users, tmp_path: Path) -> None:
    sim = with_users
    tests = LiftTests.from_results(
        [simulate_lift_test(sim, c, holdout_fraction=0.5, seed=1) for c in ("email", "paid_search")]
    )
    report = report_from_events(
        sim.events,
        cost_col="cost",
        lift_tests=tests,
        users=sim.covariates,
        models=("markov", "causal"),
        n_bootstrap=40,
        calibration_options={"negative_controls": ("direct",)},
        test_plan_options={"n_sims": 60},
    )
    assert report.calibration is not None
    assert report.calibration.model == "causal" and report.calibration.untested == "transfer"
    inc = report.incrementality
    assert inc is not None
    assert inc["baseline"] == pytest.approx(
        inc["population_conversions"] - inc["incremental_total"]
    )
    assert (
        inc["incremental_total_ci_low"]
        <= inc["incremental_total"]
        <= inc["incremental_total_ci_high"]
    )
    assert "Top channel (causal, calibrated with lift tests)" in report.headline
    assert "by causal calibrated with lift tests, the most trustworthy answer" in report.decision
    top = report.headline["Top channel (causal, calibrated with lift tests)"][0]
    assert report.decision.split(": ", 1)[1].startswith(f"{top} caused the most conversions")
    plan = report.test_plan
    assert plan is not None
    ranked = plan.table.dropna(subset=["rank"])
    assert set(ranked["channel"]) == {"affiliate", "app_push", "display", "social"}
    write_report(report, tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"report_calibration.csv", "report_test_plan.csv"} <= names
    calibration = pd.read_csv(tmp_path / "report_calibration.csv")
    assert {"channel", "calibrated"} <= set(calibration.columns)
    html = (tmp_path / "report.html").read_text()
    assert 'id="incrementality"' in html and 'id="test-plan"' in html
    payload = json.loads((tmp_path / "report.json").read_text())
    assert payload["test_plan"]["lambda"]["mean"] == pytest.approx(plan.lam_mean)
    assert payload["incrementality"]["baseline"] == pytest.approx(inc["baseline"])


def test_the_causal_model_in_a_report_needs_users(with_users) -> None:
    with pytest.raises(ReportError, match="need a user table of pre-exposure covariates"):
        report_from_events(with_users.events, models=("causal",), n_bootstrap=0)
