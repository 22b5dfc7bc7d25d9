"""Causal attribution on the known-truth simulator: distance to the true incremental shares.

Run on demand (never in unit tests), one part at a time::

    .venv/bin/python benchmarks/bench_causal.py sweep    [--users 300000] [--seeds 0 1 2]
    .venv/bin/python benchmarks/bench_causal.py limit    [--users 300000] [--seeds 0 1 2]
    .venv/bin/python benchmarks/bench_causal.py transfer [--users 1000000] [--seeds 0 1 2]
    .venv/bin/python benchmarks/bench_causal.py failure  [--users 300000] [--seeds 0 1 2]
    .venv/bin/python benchmarks/bench_causal.py timing   [--users 1000000]

Dataset: :func:`attribution.simulate.simulate_journeys` with the default ``selection_bias``
channels (paid search, direct, affiliate and app push reach high-intent users), conversions of
untouched users in the log, and the user table :func:`attribution.simulate.proxy_covariates` of
proxy quality ``q`` (the correlation of the best covariate combination with intent; the events
and the truth do not depend on ``q``). Metric: total-variation distance
``0.5 * sum_c |p_c - q_c|`` between a model's channel shares (negative credit clipped to 0) and
the true incremental (removal) shares ``truth["removal_share"]``.

* ``sweep``: every path model of the catalog (defaults, no intervals) and the causal model, by
  proxy quality, without lift tests; ``causal (negative control)`` declares direct navigation a
  channel that causes nothing (``untested="transfer"``, no lift test).
* ``limit``: the exact no-unmeasured-confounding limit
  (:func:`attribution.simulate.covariate_adjusted_truth`): the TV that the best estimator
  adjusting for the user table reaches with unlimited data, by proxy quality; at ``q = 0.9`` and
  the first seed, per channel: the truth, the limit and the causal model's estimate with its
  interval.
* ``transfer``: ``q = 0.9``; lift tests (:func:`attribution.simulate.simulate_lift_test`, 50%
  holdout over the whole population, an independent assignment per channel and replication,
  ten replications) on every subset
  of ``k`` of the six channels that can be held out (all but direct); TV after calibration,
  mean and sd over subsets, replications and seeds. Every path model of the catalog (defaults,
  100 bootstrap replicates) is calibrated with ``untested="pooled"``, the causal model with
  ``"transfer"``.
* ``failure``: the transfer assumption broken: an extra channel ``crm_audience`` is bought on the
  CRM score (selection on measured intent only), never tested; its calibrated credit against the
  truth.
* ``timing``: what a user waits for, whole process: ``pathlift simulate`` of ``--users`` users,
  then ``pathlift attribute events.parquet --events --users users.csv -m causal`` with 200 and
  with 0 bootstrap replicates, on 2 and 1 LightGBM threads; then the fit alone, in process
  (labelled), with 1 and 2 threads and 200 replicates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import pickle
import tempfile
import time
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from bench_calibration import machine, markdown
from bench_startup import PATHLIFT, run_process

from attribution.calibration import LiftTests, calibrate
from attribution.catalog import MODELS, models_for
from attribution.causal import CausalAttribution
from attribution.errors import AttributionWarning
from attribution.journeys import Journeys
from attribution.simulate import (
    DEFAULT_CHANNELS,
    ChannelSpec,
    SimulationConfig,
    covariate_adjusted_truth,
    proxy_covariates,
    simulate_journeys,
    simulate_lift_test,
    total_variation_distance,
)

QUALITIES = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 1.0)
TESTABLE = ("paid_search", "email", "display", "social", "affiliate", "app_push")
REPLICATIONS = 10


def tv(credit: pd.Series, truth: pd.DataFrame) -> float:
    """TV distance; ``nan`` when a calibration left no credit at all (counted in the tables)."""
    clipped = credit.clip(lower=0.0)
    if clipped.sum() <= 0:
        return float("nan")
    return total_variation_distance(clipped, truth["removal_share"])


def series(values: Any, channels: Any) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), index=[str(c) for c in channels])


def simulate(n_users: int, seed: int, quality: float, channels: Any = DEFAULT_CHANNELS) -> Any:
    config = SimulationConfig(
        channels=tuple(channels),
        n_users=n_users,
        seed=seed,
        covariates=proxy_covariates(quality),
        include_untouched_conversions=True,
    )
    sim = simulate_journeys(config)
    sim.truth.index = sim.truth.index.astype(str)
    return sim


CACHE: Path | None = None


def fit_causal(sim: Any, n_bootstrap: int = 100, n_jobs: int = 1) -> tuple[Any, float]:
    """Fit the causal model (from the ``--cache`` directory when it was fitted before)."""
    key = None
    if CACHE is not None:
        cfg = sim.config
        quality = cfg.covariates[0].intent_correlation if cfg.covariates else 0.0
        names = "-".join(cfg.channel_names)
        tag = zlib.crc32(names.encode())
        key = CACHE / f"causal-{cfg.n_users}-{cfg.seed}-{quality}-{n_bootstrap}-{tag}.pkl"
        if key.exists():
            with key.open("rb") as fh:
                return pickle.load(fh), float("nan")
    journeys = Journeys.from_events(sim.events).with_users(sim.covariates)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AttributionWarning)
        model = CausalAttribution(n_bootstrap=n_bootstrap, n_jobs=n_jobs).fit(journeys)
    seconds = time.perf_counter() - start
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        with key.open("wb") as fh:
            pickle.dump(model.result_, fh)
    return model.result_, seconds


def calibrated(result: Any, tests: LiftTests | None, untested: str, **kwargs: Any) -> pd.Series:
    cal = calibrate(
        result,
        tests if tests is not None else LiftTests.empty(),
        untested=untested,
        n_draws=200,
        **kwargs,
    )
    return series(cal.table["calibrated"], cal.table["channel"])


def summarise(rows: list[dict[str, Any]], by: list[str], column: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    out = frame.groupby(by, sort=False)[column].agg(["mean", "std", "max"]).reset_index()
    out["TV"] = [
        f"{m:.3f} ± {s:.3f}" for m, s in zip(out["mean"], out["std"].fillna(0), strict=True)
    ]
    return out


def sweep(args: argparse.Namespace) -> None:
    rows: list[dict[str, Any]] = []
    for seed in args.seeds:
        base = simulate(args.users, seed, 0.0)
        journeys = Journeys.from_events(base.events)
        for name, cls in MODELS.items():
            if name == "causal":
                continue
            kwargs: dict[str, Any] = {"n_bootstrap": 0}
            result = cls(**kwargs).fit(journeys).result_
            credit = series(result.conversions, result.channels)
            for q in args.qualities:
                rows.append({"model": name, "q": q, "seed": seed, "tv": tv(credit, base.truth)})
        for q in args.qualities:
            sim = simulate(args.users, seed, q)
            result, seconds = fit_causal(sim)
            raw = series(result.conversions, result.channels)
            control = calibrated(result, None, "transfer", negative_controls=("direct",))
            rows.append({"model": "causal", "q": q, "seed": seed, "tv": tv(raw, sim.truth)})
            rows.append(
                {
                    "model": "covariate-adjusted limit (exact, unlimited data)",
                    "q": q,
                    "seed": seed,
                    "tv": limit_tv(sim),
                }
            )
            rows.append(
                {
                    "model": "causal (negative control: direct)",
                    "q": q,
                    "seed": seed,
                    "tv": tv(control, sim.truth),
                }
            )
            print(
                f"seed {seed} q {q}: causal fit {seconds:.1f} s, TV {tv(raw, sim.truth):.3f}",
                flush=True,
            )
    frame = pd.DataFrame(rows)
    stats = frame.groupby(["model", "q"])["tv"].agg(["mean", "std"])
    table = stats["mean"].unstack("q")
    sd = stats["std"].unstack("q").fillna(0.0)
    table = table.sort_values(table.columns[-1])
    text = table.copy().astype(object)
    for col in table.columns:
        text[col] = [f"{m:.3f} ± {s:.3f}" for m, s in zip(table[col], sd[col], strict=True)]
    text.columns = [f"q = {c:g}" for c in text.columns]
    print(f"\n{args.users:,} users, seeds {args.seeds}: TV to the true incremental shares\n")
    print(markdown(text, index=True))


def limit_tv(sim: Any) -> float:
    """TV of the no-unmeasured-confounding limit (what no covariate adjustment removes)."""
    return tv(covariate_adjusted_truth(sim)["adjusted_conversions"], sim.truth)


def limit(args: argparse.Namespace) -> None:
    rows: list[dict[str, Any]] = []
    for seed in args.seeds:
        for q in args.qualities:
            sim = simulate(args.users, seed, q)
            rows.append({"q": q, "seed": seed, "tv": limit_tv(sim)})
            print(f"seed {seed} q {q}: limit TV {rows[-1]['tv']:.3f}", flush=True)
    stats = pd.DataFrame(rows).groupby("q")["tv"].agg(["mean", "std"])
    text = pd.DataFrame(
        {f"q = {q:g}": [f"{m:.3f} ± {s:.3f}"] for q, m, s in stats.itertuples()},
        index=["covariate-adjusted limit (exact, unlimited data)"],
    )
    print(f"\n{args.users:,} users, seeds {args.seeds}: TV to the true incremental shares\n")
    print(markdown(text, index=True))
    sim = simulate(args.users, args.seeds[0], 0.9)
    adjusted = covariate_adjusted_truth(sim)
    adjusted.index = adjusted.index.astype(str)
    result, _ = fit_causal(sim)
    frame = result.to_frame().set_index("channel")
    table = pd.DataFrame(
        {
            "truth": adjusted["incremental_conversions"],
            "limit": adjusted["adjusted_conversions"].round(1),
            "limit - truth": adjusted["bias"].round(1),
            "causal": frame["conversions"].reindex(adjusted.index).round(1),
            "causal 95% interval": [
                f"[{lo:.0f}, {hi:.0f}]"
                for lo, hi in zip(
                    frame["ci_low"].reindex(adjusted.index),
                    frame["ci_high"].reindex(adjusted.index),
                    strict=True,
                )
            ],
        }
    )
    print(f"\nq = 0.9, seed {args.seeds[0]}: incremental conversions by channel\n")
    print(markdown(table, index=True))


def transfer(args: argparse.Namespace) -> None:
    rows: list[dict[str, Any]] = []
    for seed in args.seeds:
        sim = simulate(args.users, seed, 0.9)
        journeys = Journeys.from_events(sim.events)
        result, seconds = fit_causal(sim)
        print(f"seed {seed}: causal fit {seconds:.1f} s", flush=True)
        path = {}
        for name in models_for(has_users=False):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", AttributionWarning)
                path[name] = MODELS[name](n_bootstrap=100).fit(journeys).result_
        # every channel and replication gets its own random holdout (independent tests)
        tests = {
            channel: [
                simulate_lift_test(
                    sim, channel, holdout_fraction=0.5, seed=10_000 * seed + 100 * k + r
                )
                for r in range(REPLICATIONS)
            ]
            for k, channel in enumerate(TESTABLE)
        }
        rows.append(
            {
                "k": 0,
                "model": "causal",
                "seed": seed,
                "tv": tv(series(result.conversions, result.channels), sim.truth),
            }
        )
        for name, res in path.items():
            rows.append(
                {
                    "k": 0,
                    "model": name,
                    "seed": seed,
                    "tv": tv(series(res.conversions, res.channels), sim.truth),
                }
            )
        for k in args.k:
            for subset in itertools.combinations(TESTABLE, k):
                for r in range(REPLICATIONS):
                    lifts = LiftTests.from_results([tests[c][r] for c in subset])
                    rows.append(
                        {
                            "k": k,
                            "model": "causal + transfer",
                            "seed": seed,
                            "tv": tv(calibrated(result, lifts, "transfer"), sim.truth),
                        }
                    )
                    rows.append(
                        {
                            "k": k,
                            "model": "causal + transfer + negative control (direct)",
                            "seed": seed,
                            "tv": tv(
                                calibrated(
                                    result, lifts, "transfer", negative_controls=("direct",)
                                ),
                                sim.truth,
                            ),
                        }
                    )
                    rows.append(
                        {
                            "k": k,
                            "model": "causal + pooled",
                            "seed": seed,
                            "tv": tv(calibrated(result, lifts, "pooled"), sim.truth),
                        }
                    )
                    for name, res in path.items():
                        rows.append(
                            {
                                "k": k,
                                "model": f"{name} + pooled",
                                "seed": seed,
                                "tv": tv(calibrated(res, lifts, "pooled"), sim.truth),
                            }
                        )
    out = summarise(rows, ["model", "k"], "tv")
    table = out.pivot(index="model", columns="k", values="TV")
    table.columns = [f"{c} tested" for c in table.columns]
    print(
        f"\n{args.users:,} users, proxy quality 0.9, seeds {args.seeds}, {REPLICATIONS} lift "
        "replications per channel: TV to the true incremental shares (mean ± sd)\n"
    )
    print(markdown(table.fillna(""), index=True))


def failure(args: argparse.Namespace) -> None:
    audience = ChannelSpec(
        "crm_audience",
        0.06,
        effect=0.02,
        cost_per_touch=0.3,
        funnel_position=0.7,
        reach_covariate="crm_score",
        reach_covariate_slope=2.0,
    )
    rows = []
    for seed in args.seeds:
        sim = simulate(args.users, seed, 0.9, (*DEFAULT_CHANNELS, audience))
        result, _ = fit_causal(sim)
        truth = sim.truth["incremental_conversions"].astype(float)
        tests = LiftTests.from_results(
            [
                simulate_lift_test(sim, c, holdout_fraction=0.5, seed=10_000 * seed + 100 * k)
                for k, c in enumerate(("paid_search", "email", "social"))
            ]
        )
        cal = calibrate(result, tests, untested="transfer", negative_controls=("direct",))
        table = cal.table.set_index("channel")
        raw = series(result.extras["incremental_unbounded"], result.channels)
        rows.append(
            {
                "seed": seed,
                "truth": truth["crm_audience"],
                "causal (lambda = 0)": raw["crm_audience"],
                "transfer": table.loc["crm_audience", "calibrated"],
                "transfer interval": f"[{table.loc['crm_audience', 'calibrated_low']:.0f}, "
                f"{table.loc['crm_audience', 'calibrated_high']:.0f}]",
                "lambda": cal.lam,
                "warnings": len(cal.warnings),
            }
        )
    print("\nTransfer assumption broken: crm_audience is bought on the CRM score, untested\n")
    print(markdown(pd.DataFrame(rows)))


def timing(args: argparse.Namespace) -> None:
    """Whole process first (what a user waits for), then the fit alone, in process."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "sim"
        made = run_process(
            [
                str(PATHLIFT),
                "simulate",
                str(data),
                "--users",
                str(args.users),
                "--proxy-quality",
                "0.9",
            ]
        )
        print(
            f"pathlift simulate --users {args.users:,} (whole process): {made['seconds']:.1f} s, "
            f"peak {made['peak_mb']:.0f} MB",
            flush=True,
        )
        for n_bootstrap in (200, 0):
            for n_jobs in (2, 1):
                cmd = [
                    str(PATHLIFT), "attribute", str(data / "events.parquet"), "--events",
                    "--users", str(data / "users.csv"), "-m", "causal", "--no-track",
                    "--format", "json", "-o", str(Path(tmp) / "out.json"),
                    "--bootstrap", str(n_bootstrap), "--n-jobs", str(n_jobs),
                ]  # fmt: skip
                run = run_process(cmd)
                print(
                    f"pathlift attribute -m causal, {args.users:,} users, --n-jobs {n_jobs}, "
                    f"--bootstrap {n_bootstrap} (whole process): {run['seconds']:.1f} s wall, "
                    f"{run['cpu_seconds']:.1f} s CPU, peak {run['peak_mb']:.0f} MB",
                    flush=True,
                )
    sim = simulate(args.users, 0, 0.9)
    for n_jobs in (1, 2):
        _, seconds = fit_causal(sim, n_bootstrap=200, n_jobs=n_jobs)
        print(
            f"causal fit, {args.users:,} users, n_jobs={n_jobs}, 200 bootstrap replicates: "
            f"{seconds:.1f} s (in-process)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("part", choices=["sweep", "limit", "transfer", "failure", "timing"])
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--qualities", type=float, nargs="+", default=list(QUALITIES))
    parser.add_argument("--k", type=int, nargs="+", default=[1, 2, 3, 6])
    parser.add_argument(
        "--cache", type=Path, default=None, help="Keep fitted causal results here (reruns)."
    )
    args = parser.parse_args()
    global CACHE
    CACHE = args.cache
    if args.users is None:
        args.users = 1_000_000 if args.part in ("transfer", "timing") else 300_000
    print(f"Machine: {machine()}; date: {dt.date.today().isoformat()}; part {args.part}")
    {"sweep": sweep, "limit": limit, "transfer": transfer, "failure": failure, "timing": timing}[
        args.part
    ](args)


if __name__ == "__main__":
    main()
