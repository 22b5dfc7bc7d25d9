"""Is every model's credit inside its channels' support? ChannelAttribution's sample data.

Run: ``.venv/bin/python benchmarks/bench_support.py [--data PATH] [--bootstrap N]``; prints
Markdown.

The support of channel ``c`` is computed here independently of :mod:`attribution.support`
(a plain presence matrix of the path table): ``S_c``, the conversions of the journeys that
touch ``c``, and ``V_c``, their conversion value. For every model of the catalog (plus Markov
orders 2 and 3 and the non-default conversion-rate Shapley and data-driven options) fitted
without intervals, the table gives the largest ratio ``credit_c / S_c`` over channels, the
number of channels with credit above ``S_c`` or below 0 (conversions), the same for value, and
the smallest credit. A model inside the bound has a ratio of at most 1 and no channel over.

The data is ChannelAttribution's sample path table (``Data.csv`` of the R/Python package:
10,000 rows over 12 channels, ``;``-separated), by default
``/work/shared/data/channelattribution_Data.csv``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
import warnings

import _tables
import numpy as np
import pandas as pd
from _tables import markdown

from attribution import Journeys
from attribution.catalog import MODELS

DEFAULT_DATA = "/work/shared/data/channelattribution_Data.csv"

VARIANTS = _tables.VARIANTS


def support(journeys: Journeys) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(journeys, S_c, V_c) of the journeys whose path touches each channel."""
    touches = np.zeros((journeys.n_paths, journeys.n_channels))
    for p in range(journeys.n_paths):
        for c in set(journeys.path(p)):
            touches[p, journeys.channels.index(c)] = 1.0
    counts = (journeys.conversions + journeys.nulls) @ touches
    return counts, journeys.conversions @ touches, journeys.value @ touches


def _ratio(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 100 else f"{x:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=DEFAULT_DATA)
    args = parser.parse_args()
    journeys = Journeys.from_paths(pd.read_csv(args.data, sep=";"))
    n_touching, s_conv, s_value = support(journeys)
    print(
        f"Machine: {platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; date: {dt.date.today().isoformat()}; data: {args.data} "
        f"({journeys.n_paths:,} paths, {journeys.n_journeys:,} journeys, "
        f"{journeys.total_conversions:,} conversions, {journeys.n_channels} channels)\n"
    )
    rows = []
    for label, name, params in VARIANTS:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                result = MODELS[name](n_bootstrap=0, **params).fit(journeys).result_
            except Exception as exc:  # a refused fit is a row of the table
                rows.append({"model": label, "error": f"{type(exc).__name__}: {exc}"[:100]})
                continue
        seconds = time.perf_counter() - start
        conv, value = np.asarray(result.conversions), np.asarray(result.value)
        tol = 1e-9
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(s_conv > 0, conv / s_conv, np.where(conv > tol, np.inf, 0.0))
            vratio = np.where(s_value > 0, value / s_value, np.where(value > tol, np.inf, 0.0))
        worst = int(np.argmax(ratio))
        rows.append(
            {
                "model": label,
                "max credit / S_c": f"{_ratio(ratio[worst])} ({journeys.channels[worst]})",
                "channels over S_c or < 0": str(
                    int(((conv > s_conv * (1 + tol) + tol) | (conv < -tol)).sum())
                ),
                "max value / V_c": _ratio(vratio.max()),
                "channels over V_c or < 0": str(
                    int(((value > s_value * (1 + tol) + tol) | (value < -tol)).sum())
                ),
                "min credit": f"{conv.min():,.1f}",
                "fit (s)": f"{seconds:.2f}",
            }
        )
    frame = pd.DataFrame(rows)
    print(markdown(frame.astype(object).fillna("")))
    table = pd.DataFrame(
        {
            "channel": journeys.channels,
            "journeys": n_touching.astype(int),
            "S_c": s_conv.astype(int),
            "V_c": np.round(s_value, 1),
        }
    )
    print("\nSupport per channel:\n")
    print(markdown(table))


if __name__ == "__main__":
    main()
