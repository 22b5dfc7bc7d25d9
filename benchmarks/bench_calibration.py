"""Calibration with lift tests on the known-truth simulator: how much closer to the true shares?

Run on demand (never in unit tests)::

    .venv/bin/python benchmarks/bench_calibration.py [--users 1000000] [--replications 50]

Dataset: :func:`attribution.simulate.simulate_journeys` with the default, selection-biased
configuration (paid search, direct and affiliate reach high-intent users). Lift tests are
simulated randomized holdouts (:func:`attribution.simulate.simulate_lift_test`, 50% holdout,
whole population) on a subset of channels, replicated with independent assignment seeds (per
channel and replication); an
"exact" row uses the true incremental conversions with zero-width intervals.

For every model, scenario (tested channels) and rule for untested channels, the script prints
the total-variation distance ``0.5 * sum |p_c - q_c|`` between the model's channel shares and

* the true Shapley shares (``truth["share"]``) and
* the true incremental shares (``truth["removal_share"]``),

before and after calibration (mean and standard deviation over the lift-test replications),
the coverage of the calibrated 95% intervals of tested channels, and timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import tempfile
import time

import numpy as np
import pandas as pd

from attribution.calibration import LiftTests, calibrate
from attribution.catalog import MODELS
from attribution.costs import CostTable
from attribution.journeys import Journeys
from attribution.simulate import (
    SimulationConfig,
    simulate_journeys,
    simulate_lift_test,
    total_variation_distance,
)
from experiments.reports import build_report, write_report

MODELS_RUN = ("first_touch", "last_touch", "linear", "position_based", "markov")
SCENARIOS = {
    "paid_search + display": ("paid_search", "display"),
    "all but direct": ("paid_search", "email", "display", "social", "affiliate", "app_push"),
}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def markdown(frame: pd.DataFrame, index: bool = False) -> str:
    """Markdown table without extra dependencies (floats with 3 decimals)."""
    if index:
        frame = frame.reset_index()

    def cell(v: object) -> str:
        return f"{v:.3f}" if isinstance(v, float | np.floating) else str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |"]
    lines.append(
        "|" + "|".join("--:" if frame[c].dtype.kind in "fi" else ":--" for c in frame.columns) + "|"
    )
    lines += [
        "| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join(lines)


def tv(credit: pd.Series, reference: pd.Series) -> float:
    return total_variation_distance(credit.clip(lower=0.0), reference)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--replications", type=int, default=50)
    parser.add_argument("--bootstrap", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    t0 = time.perf_counter()
    sim = simulate_journeys(SimulationConfig(n_users=args.users, seed=args.seed))
    t_sim = time.perf_counter() - t0
    truth = sim.truth
    journeys = Journeys.from_events(sim.events)
    results = {}
    t0 = time.perf_counter()
    for name in MODELS_RUN:
        results[name] = (
            MODELS[name](n_bootstrap=args.bootstrap, seed=args.seed).fit(journeys).result_
        )
    t_fit = time.perf_counter() - t0

    # independent assignments per channel and replication (as separate real tests would be)
    tested_channels = sorted({c for chans in SCENARIOS.values() for c in chans})
    lifts = {
        channel: [
            simulate_lift_test(sim, channel, holdout_fraction=0.5, seed=10_000 * (k + 1) + r)
            for r in range(args.replications)
        ]
        for k, channel in enumerate(tested_channels)
    }

    rows = []
    coverage_rows = []
    calib_times = []
    for scenario, tested in SCENARIOS.items():
        exact = truth.loc[list(tested), "incremental_conversions"].to_numpy(dtype=float)
        exact_tests = LiftTests.from_frame(
            pd.DataFrame(
                {
                    "channel": list(tested),
                    "incremental_conversions": exact,
                    "ci_low": exact,
                    "ci_high": exact,
                }
            )
        )
        for name, res in results.items():
            credit = pd.Series(res.conversions, index=res.channels)
            base_shapley = tv(credit, truth["share"])
            base_incr = tv(credit, truth["removal_share"])
            for untested in ("keep", "pooled"):
                shap, incr, covered, n_cov = [], [], 0, 0
                for r in range(args.replications):
                    tests = LiftTests.from_results([lifts[c][r] for c in tested])
                    t0 = time.perf_counter()
                    cal = calibrate(res, tests, untested=untested, seed=r)
                    calib_times.append(time.perf_counter() - t0)
                    table = cal.table.set_index("channel")
                    shap.append(tv(table["calibrated"], truth["share"]))
                    incr.append(tv(table["calibrated"], truth["removal_share"]))
                    for c in tested:
                        true = truth.loc[c, "incremental_conversions"]
                        covered += (
                            table.loc[c, "calibrated_low"]
                            <= true
                            <= table.loc[c, "calibrated_high"]
                        )
                        n_cov += 1
                oracle = calibrate(res, exact_tests, untested=untested, n_draws=200)
                o_table = oracle.table.set_index("channel")
                rows.append(
                    {
                        "lift tests": scenario,
                        "model": name,
                        "untested": untested,
                        "TV Shapley uncal.": base_shapley,
                        "TV Shapley cal.": f"{np.mean(shap):.3f} ± {np.std(shap):.3f}",
                        "ratio Shapley": np.mean(shap) / base_shapley,
                        "TV incr. uncal.": base_incr,
                        "TV incr. cal.": f"{np.mean(incr):.3f} ± {np.std(incr):.3f}",
                        "ratio incr.": np.mean(incr) / base_incr,
                        "TV incr. cal. (exact lift)": tv(
                            o_table["calibrated"], truth["removal_share"]
                        ),
                    }
                )
                coverage_rows.append(
                    {
                        "lift tests": scenario,
                        "model": name,
                        "untested": untested,
                        "coverage of calibrated 95% intervals (tested channels)": covered / n_cov,
                    }
                )
    lift_cover = np.mean([lt.covers_truth for runs in lifts.values() for lt in runs])

    # report timing: 5 models + calibration + costs, all four formats
    costs = CostTable.from_frame(sim.costs)
    tests = LiftTests.from_results([lifts[c][0] for c in SCENARIOS["paid_search + display"]])
    t0 = time.perf_counter()
    report = build_report(
        list(results.values()), costs=costs, lift_tests=tests, provenance=journeys.provenance
    )
    t_build = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        paths = write_report(report, tmp)
        t_write = time.perf_counter() - t0
        html_kb = paths["html"].stat().st_size / 1024

    table = pd.DataFrame(rows)
    print(f"Machine: {machine()}")
    print(f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"Dataset: simulate_journeys(SimulationConfig(n_users={args.users:,}, seed={args.seed})) "
        f"(default selection-biased channels): {len(sim.events):,} events, "
        f"{journeys.n_journeys:,} journeys, {journeys.total_conversions:,} attributed "
        f"conversions, {sim.baseline_conversions:,} baseline conversions in the simulation; "
        f"{args.replications} lift-test replications per channel (50% holdout), "
        f"models with {args.bootstrap} bootstrap replicates"
    )
    print()
    print("True shares:")
    print()
    print(markdown(truth[["incremental_conversions", "shapley", "share", "removal_share"]], True))
    print()
    print(markdown(table))
    print()
    print(markdown(pd.DataFrame(coverage_rows)))
    print()
    print(f"Lift-test 95% interval coverage of the true increments: {lift_cover:.3f}")
    print()
    print("| step | time |")
    print("|:--|--:|")
    print(f"| simulate {args.users:,} users | {t_sim:.2f} s |")
    print(
        f"| fit {len(MODELS_RUN)} models ({args.bootstrap} bootstrap replicates) | {t_fit:.2f} s |"
    )
    print(
        f"| calibrate (4,000 Monte Carlo draws), median per call | "
        f"{1000 * np.median(calib_times):.1f} ms |"
    )
    print(f"| build report (5 models + calibrated, costs) | {1000 * t_build:.0f} ms |")
    print(
        f"| write report (HTML {html_kb:.0f} KiB, Markdown, JSON, CSVs) | {1000 * t_write:.0f} ms |"
    )


if __name__ == "__main__":
    main()
