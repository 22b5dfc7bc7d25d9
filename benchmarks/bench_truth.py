"""How close each attribution model gets to the known truth of the simulator.

Run: ``.venv/bin/python benchmarks/bench_truth.py [--users N] [--seeds 0 1 2]``; prints Markdown.

For each simulator preset (``selection_bias``: the default, where paid search, direct and
affiliate reach high-intent users; ``no_selection``: the same channels with reach independent
of intent) and each seed, the event log is cut into journeys with ``Journeys.from_events`` and
every model of the catalog with its defaults (plus Markov orders 2 and 3, conversion-rate
Shapley with the naive ``unobserved="zero"`` policy, a fixed ``smoothing=1`` and
``baseline="model"``, and data-driven with ``baseline="model"``) is fitted without intervals.
The table reports the total-variation distance

    TV = 0.5 * sum_c |share_c - true_share_c|

between the model's channel shares (``credit_c / sum_d credit_d``; signed when a model gives
negative credit) and (a) the true Shapley shares of the channel game and (b) the true
incremental (removal) shares, as mean and standard deviation over seeds. 0 is perfect; 1 is
disjoint.

The same distance by proxy quality of a user table, for every model here plus the ``causal``
model, its covariate-adjusted limit and lift-test calibration, is measured by
``bench_causal.py`` (parts ``sweep``, ``limit``, ``transfer``), which shares the metric.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from typing import Any

import _tables
import numpy as np
import pandas as pd
from _tables import markdown

from attribution import Journeys
from attribution.catalog import MODELS
from attribution.errors import AttributionError
from attribution.simulate import SimulationConfig, simulate_journeys

VARIANTS = [
    *_tables.VARIANTS[:-2],
    ("conversion_rate_shapley (smoothing=1)", "conversion_rate_shapley", {"smoothing": 1.0}),
    *_tables.VARIANTS[-2:],
]


def tv_distance(credit: pd.Series, truth: pd.Series) -> float:
    """0.5 * sum |p - q| with p = credit / sum(credit) (signed) and q = truth / sum(truth)."""
    p = credit / credit.sum()
    q = truth.clip(lower=0.0) / truth.clip(lower=0.0).sum()
    p, q = p.align(q, fill_value=0.0)
    return float(0.5 * np.abs(p - q).sum())


def run(preset: str, seed: int, n_users: int) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    sim = simulate_journeys(SimulationConfig.preset(preset, n_users=n_users, seed=seed))
    journeys = Journeys.from_events(sim.events)
    truth = sim.truth
    truth.index = truth.index.astype(str)
    rows = []
    shares = {"truth (Shapley)": truth["share"], "truth (removal)": truth["removal_share"]}
    for label, name, params in VARIANTS:
        start = time.perf_counter()
        try:
            result = MODELS[name](n_bootstrap=0, **params).fit(journeys).result_
        except AttributionError as exc:
            rows.append({"model": label, "error": str(exc)[:80]})
            continue
        seconds = time.perf_counter() - start
        credit = pd.Series(result.conversions, index=list(result.channels))
        shares[label] = credit / credit.sum()
        rows.append(
            {
                "model": label,
                "tv_shapley": tv_distance(credit, truth["share"]),
                "tv_removal": tv_distance(credit, truth["removal_share"]),
                "negative": bool((credit < 0).any()),
                "seconds": seconds,
                "auc": result.diagnostics.get("heldout_auc", np.nan),
            }
        )
    return rows, pd.DataFrame(shares).T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    print(
        f"Machine: {platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; date: {dt.date.today().isoformat()}; "
        f"{args.users:,} simulated users per run, seeds {args.seeds}"
    )
    for preset in ("selection_bias", "no_selection"):
        rows = []
        share_table = None
        for seed in args.seeds:
            seed_rows, shares = run(preset, seed, args.users)
            for row in seed_rows:
                row["seed"] = seed
            rows += seed_rows
            if share_table is None:
                share_table = shares
        frame = pd.DataFrame(rows)
        errors = (
            frame[frame.get("error", pd.Series(dtype=str)).notna()] if "error" in frame else None
        )
        ok = frame[frame["tv_shapley"].notna()]
        summary = (
            ok.groupby("model", sort=False)
            .agg(
                tv_shapley=("tv_shapley", "mean"),
                tv_shapley_sd=("tv_shapley", "std"),
                tv_removal=("tv_removal", "mean"),
                tv_removal_sd=("tv_removal", "std"),
                negative=("negative", "any"),
                seconds=("seconds", "mean"),
                auc=("auc", "mean"),
            )
            .sort_values("tv_shapley")
            .reset_index()
        )
        out = pd.DataFrame(
            {
                "model": summary["model"],
                "TV vs true Shapley": [
                    f"{m:.3f} ± {s:.3f}"
                    for m, s in zip(summary["tv_shapley"], summary["tv_shapley_sd"], strict=True)
                ],
                "TV vs true incremental": [
                    f"{m:.3f} ± {s:.3f}"
                    for m, s in zip(summary["tv_removal"], summary["tv_removal_sd"], strict=True)
                ],
                "negative credit": summary["negative"].map({True: "yes", False: ""}),
                "fit (s)": summary["seconds"].map(lambda v: f"{v:.2f}"),
                "held-out AUC": summary["auc"].map(lambda v: "" if np.isnan(v) else f"{v:.3f}"),
            }
        )
        print(f"\n### Preset `{preset}`\n")
        print(markdown(out))
        if errors is not None and len(errors):
            for _, row in errors.drop_duplicates("model").iterrows():
                print(f"\n- {row['model']}: not computed ({row['error']}...)")
        assert share_table is not None
        print(f"\nChannel shares, seed {args.seeds[0]}:\n")
        table = share_table.round(3).reset_index(names="model")
        print(markdown(table))


if __name__ == "__main__":
    main()
