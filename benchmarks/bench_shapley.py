"""Speed of the Shapley family and of bootstrap intervals, side by side with a PyPI peer.

Run: ``.venv/bin/python benchmarks/bench_shapley.py [--quick]``; prints a Markdown table.

Datasets (synthetic path tables generated here, seeded):

* ``paths-20ch-1M``: 1,000,000 journeys over 20 channels (geometric path lengths, mean about
  2.5 touches, Zipf-like channel popularity, channel effects on the log-odds of conversion),
  aggregated into unique paths;
* ``paths-20ch-100k``: the same generator with 100,000 journeys (for the slow peer);
* ``paths-12ch-...-unique``: 2,000,000 journeys with longer paths (mean about 6.5 touches, up
  to 20) over 12 channels, mostly distinct (about 1M unique paths), for the Markov bootstrap.

Peer: ``shapley-attribution`` (PyPI, 2.1.0) when installed: its ``SimplifiedShapleyAttribution``
(same definition as ours, checked to agree) and ``MonteCarloShapleyAttribution`` (the closest
analogue of conversion-rate Shapley: a conversion model on channel presence as value function,
permutation sampling, negative values clipped to 0). It takes one Python list per journey.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from _tables import markdown

from attribution import (
    ConversionRateShapley,
    Journeys,
    MarkovAttribution,
    OrderedShapley,
    SimplifiedShapley,
)


def synthetic_paths(
    n_channels: int,
    n_journeys: int,
    *,
    p_stop: float = 0.4,
    max_len: int = 8,
    seed: int = 0,
) -> pd.DataFrame:
    """A path table of ``n_journeys`` random journeys (one row per journey, not yet unique)."""
    rng = np.random.default_rng(seed)
    lengths = np.minimum(rng.geometric(p_stop, n_journeys), max_len)
    popularity = 1.0 / np.arange(1, n_channels + 1) ** 0.8
    popularity /= popularity.sum()
    codes = rng.choice(n_channels, size=int(lengths.sum()), p=popularity)
    names = np.array([f"ch{c:02d}" for c in range(n_channels)], dtype=object)
    effect = rng.normal(0.0, 0.4, n_channels)
    owner = np.repeat(np.arange(n_journeys), lengths)
    logit = -3.0 + np.bincount(owner, effect[codes], n_journeys)
    converted = rng.random(n_journeys) < 1.0 / (1.0 + np.exp(-logit))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    tokens = names[codes]
    paths = [" > ".join(tokens[offsets[i] : offsets[i + 1]]) for i in range(n_journeys)]
    return pd.DataFrame(
        {
            "path": paths,
            "total_conversions": converted.astype(np.int64),
            "total_null": (~converted).astype(np.int64),
            "total_conversion_value": converted * 50.0,
        }
    )


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def peer_journeys(table: pd.DataFrame) -> tuple[list[list[str]], np.ndarray]:
    journeys = [p.split(" > ") for p in table["path"]]
    return journeys, table["total_conversions"].to_numpy()


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller data, one repeat")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    repeat = 1 if args.quick else args.repeat
    rows: list[dict[str, Any]] = []

    def add(task: str, dataset: str, seconds: float, peer: float | None = None, note: str = ""):
        rows.append(
            {
                "task": task,
                "dataset": dataset,
                "pathlift (s)": f"{seconds:.3f}",
                "peer (s)": "" if peer is None else f"{peer:.2f}",
                "peer / pathlift": "" if peer is None else f"{peer / seconds:.0f}x",
                "note": note,
            }
        )
        print(rows[-1], flush=True)

    try:
        import shapley_attribution as peer
    except ImportError:
        peer = None

    # ---- 20 channels, 1M journeys -------------------------------------------------------
    n_big = 1_000_000 // scale
    label = f"paths-20ch-{n_big // 1000}k"
    table = synthetic_paths(20, n_big, seed=0)
    t_build, journeys = best_of(lambda: Journeys.from_paths(table), 1)
    add(
        "Journeys.from_paths (parse + unique)",
        label,
        t_build,
        note=f"{journeys.n_paths:,} unique paths, {journeys.total_conversions:,} conversions",
    )
    crs = ConversionRateShapley(n_bootstrap=0)
    t_crs, model = best_of(lambda: crs.fit(journeys), repeat)
    diag = model.result_.diagnostics
    add(
        "conversion-rate Shapley, exact over 2^20 sets",
        label,
        t_crs,
        note=f"{int(diag['n_observed_sets']):,} observed channel sets; logistic fallback",
    )
    prepared = crs._prepare(journeys)
    conv = journeys.conversions.astype(float)
    nulls = journeys.nulls.astype(float)
    t_rep, _ = best_of(lambda: crs._credit(prepared, conv, nulls, journeys.value), repeat)
    add("conversion-rate Shapley, one bootstrap replicate", label, t_rep)
    t_simple, simple = best_of(lambda: SimplifiedShapley(n_bootstrap=0).fit(journeys), repeat)
    peer_simple_time = None
    if peer is not None:
        pj, py = peer_journeys(table)
        peer_simple_time, peer_model = best_of(
            lambda: peer.SimplifiedShapleyAttribution().fit(pj, py), 1
        )
        theirs = pd.Series(peer_model.attribution_).reindex(list(journeys.channels)).to_numpy()
        np.testing.assert_allclose(
            theirs / theirs.sum(), simple.result_.share, rtol=1e-9, atol=1e-12
        )
        del pj
    add(
        "simplified Shapley",
        label,
        t_simple,
        peer_simple_time,
        "peer: shapley-attribution SimplifiedShapleyAttribution; shares agree to 1e-9",
    )
    t_boot, _ = best_of(lambda: SimplifiedShapley(n_bootstrap=200).fit(journeys), 1)
    add("simplified Shapley + 200 bootstrap replicates", label, t_boot)
    t_ord, _ = best_of(lambda: OrderedShapley(n_bootstrap=0).fit(journeys), repeat)
    add("ordered Shapley (per position)", label, t_ord)

    # ---- conversion-rate Shapley vs peer Monte-Carlo Shapley on 100k journeys ------------
    n_small = 100_000 // scale
    small_label = f"paths-20ch-{n_small // 1000}k"
    small_table = synthetic_paths(20, n_small, seed=2)
    small = Journeys.from_paths(small_table)
    t_small, _ = best_of(lambda: ConversionRateShapley(n_bootstrap=0).fit(small), repeat)
    peer_mc = None
    if peer is not None:
        pj, py = peer_journeys(small_table)
        peer_mc, _ = best_of(
            lambda: peer.MonteCarloShapleyAttribution(n_iter=2000, random_state=0).fit(pj, py),
            1,
        )
    add(
        "conversion-rate Shapley (exact) vs peer Monte-Carlo Shapley (2000 permutations)",
        small_label,
        t_small,
        peer_mc,
        "peer: GBM value model, sampled, negative values clipped to 0",
    )

    # ---- Markov order 1 bootstrap on ~1M unique paths ------------------------------------
    n_markov = 2_000_000 // scale
    mtable = synthetic_paths(12, n_markov, p_stop=0.15, max_len=20, seed=3)
    mjourneys = Journeys.from_paths(mtable)
    mlabel = f"paths-12ch-{mjourneys.n_paths // 1000}k-unique"
    markov = MarkovAttribution(order=1, n_bootstrap=0)
    t_markov, _ = best_of(lambda: markov.fit(mjourneys), 1)
    add("Markov order 1, point estimate", mlabel, t_markov)
    mprep = markov._prepare(mjourneys)
    mconv = mjourneys.conversions.astype(float)
    mnull = mjourneys.nulls.astype(float)
    t_mrep, _ = best_of(lambda: markov._credit(mprep, mconv, mnull, mjourneys.value), repeat)
    add("Markov order 1, one replicate (_credit)", mlabel, t_mrep)
    from attribution.bootstrap import resample_counts

    rng = np.random.default_rng(0)
    t_resample, _ = best_of(lambda: resample_counts(mjourneys, rng, "poisson"), repeat)
    add("one Poisson resample of the counts (resample_counts)", mlabel, t_resample)
    t_mboot, _ = best_of(lambda: MarkovAttribution(order=1, n_bootstrap=200).fit(mjourneys), 1)
    add("Markov order 1 + 200 bootstrap replicates", mlabel, t_mboot, note="target < 30 s")

    print()
    print(f"Machine: {machine()}; date: {dt.date.today().isoformat()}")
    print()
    print(markdown(pd.DataFrame(rows)))


if __name__ == "__main__":
    main()
