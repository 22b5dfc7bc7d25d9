"""Markov attribution: pathlift vs ChannelAttribution 2.2.5, side by side.

Dataset: a synthetic path table of 3M journeys over 12 channels (about 1.06M unique paths),
written once to ``benchmarks/.data/paths_3m.csv``.

**Whole process** (what a user waits for), first: from process start to the JSON result
written, library imports and the CSV read included, measured with
:func:`bench_startup.run_process` (wall time around the child, the child's own peak RSS and
CPU time):

* pathlift: ``pathlift attribute paths_3m.csv -m markov --order k --bootstrap 0 --no-track
  --format json -o out.json``;
* ChannelAttribution: a script that imports pandas and ChannelAttribution, reads the CSV with
  ``pandas.read_csv``, runs ``markov_model(order=k)`` (its defaults: random-walk simulation,
  seed 0) and writes its result table with ``DataFrame.to_json``.

The tools alternate, three runs each per order (``--repeat``). ``--before DIR`` adds pathlift
from the checkout in ``DIR`` (e.g. the main branch) to the same rounds.

**In process**, then: each measurement still runs in a fresh subprocess (so peak RSS is its
own) but times only load + parse + solve from the CSV, not the imports:

* pathlift: ``Journeys.from_paths(csv)`` + ``MarkovAttribution(order=k, n_bootstrap=0)``;
* ChannelAttribution: ``pandas.read_csv`` + ``markov_model(order=k)``.

Also reported: the largest per-channel difference between ChannelAttribution's credit and the
exact credit, as a percentage of total conversions, and event log -> journeys on 5M events.

Run: ``.venv/bin/python benchmarks/bench_markov.py`` (ChannelAttribution must be installed:
``pip install channelattribution==2.2.5``; it is a benchmark-only dependency).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_startup import PATHLIFT, ROOT, machine_line, run_process, summarise

DATA = Path(__file__).parent / ".data"
PATHS_CSV = DATA / "paths_3m.csv"
EVENTS_PARQUET = DATA / "events_5m.parquet"
CHANNELS = [
    "search",
    "email",
    "display",
    "social",
    "direct",
    "affiliate",
    "push",
    "video",
    "referral",
    "sms",
    "print",
    "branch",
]


def make_path_table(n_journeys: int = 3_000_000, seed: int = 0) -> pd.DataFrame:
    """3M journeys, 12 channels, skewed channel mix; about 1.06M unique paths."""
    rng = np.random.default_rng(seed)
    lengths = rng.geometric(0.21, n_journeys)
    lengths = np.minimum(lengths, 25)
    probs = 1.0 / np.arange(1, 13) ** 0.5
    probs /= probs.sum()
    codes = rng.choice(12, int(lengths.sum()), p=probs)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    names = np.array(CHANNELS, dtype=object)
    tokens = names[codes]
    # join per journey (vectorised through pyarrow)
    import pyarrow as pa
    import pyarrow.compute as pc

    lists = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(tokens))
    paths = pc.binary_join(lists, " > ").to_numpy(zero_copy_only=False)
    first = codes[offsets[:-1]]
    p_conv = 0.02 + 0.03 * (first < 3) + 0.01 * np.minimum(lengths, 8)
    converted = rng.random(n_journeys) < p_conv
    value = np.where(converted, rng.lognormal(3.5, 0.6, n_journeys), 0.0)
    frame = pd.DataFrame({"path": paths, "conv": converted, "value": value})
    agg = frame.groupby("path", sort=False).agg(
        total_conversions=("conv", "sum"),
        total_journeys=("conv", "size"),
        total_conversion_value=("value", "sum"),
    )
    agg["total_null"] = agg["total_journeys"] - agg["total_conversions"]
    return agg.reset_index()[["path", "total_conversions", "total_null", "total_conversion_value"]]


def make_events(n_users: int = 1_000_000, n_events: int = 5_000_000, seed: int = 1) -> pd.DataFrame:
    """5M events over 1M users; about 3% of events are conversions."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n_events)
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90 * 86400, n_events), "s")
    channel = rng.choice(np.array(CHANNELS, dtype=object), n_events)
    conversion = (rng.random(n_events) < 0.03).astype(np.int8)
    channel = np.where((conversion == 1) & (rng.random(n_events) < 0.5), None, channel)
    value = np.where(conversion == 1, rng.lognormal(3.5, 0.6, n_events), 0.0)
    return pd.DataFrame(
        {
            "user_id": users,
            "timestamp": ts,
            "channel": channel,
            "conversion": conversion,
            "value": value,
        }
    )


#: ChannelAttribution as a user runs it: import, read the CSV, fit, write the result
CA_WHOLE = """
import sys

import pandas as pd
from ChannelAttribution import markov_model

frame = pd.read_csv(sys.argv[1])
out = markov_model(
    frame,
    "path",
    "total_conversions",
    var_value="total_conversion_value",
    var_null="total_null",
    order=int(sys.argv[2]),
    verbose=False,
    flg_pro=False,
)
result = out if isinstance(out, pd.DataFrame) else out["result"]
result.to_json(sys.argv[3], orient="records")
"""


#: the steps of ``pathlift attribute -m markov --bootstrap 0 --no-track --format json -o OUT``,
#: through the command's own functions, timed one by one from a fresh interpreter
BREAKDOWN = """
import time

t0 = time.perf_counter()
steps = []


def step(name):
    steps.append((name, time.perf_counter()))


import json
import sys

import experiments.cli.attribute
from attribution._io import atomic_write_text
from attribution.catalog import build_models
from experiments.cli._output import format_results

step("command line (click, pathlift's CLI modules)")
import numpy

step("import NumPy")
import pyarrow

step("import pyarrow (pandas is not imported on this path)")
from attribution.journeys import Journeys

step("import the Journeys module")
journeys = Journeys.from_paths(sys.argv[1])
step("read + parse the CSV (Journeys.from_paths; numba's kernels load on a thread meanwhile)")
import attribution.markov

step("import SciPy sparse and the Markov model")
(model,) = build_models(
    ("markov",), n_bootstrap=0, seed=0, options={"markov": {"order": int(sys.argv[2])}}
)
model.fit(journeys)
step("fit")
text = format_results([model.result_], journeys, "json")
atomic_write_text(sys.argv[3], text)
step("JSON + write")
out, last = {}, t0
for name, at in steps:
    out[name] = at - last
    last = at
assert "pandas" not in sys.modules, "pandas was imported"
print(json.dumps({"steps": out, "in_process": last - t0}))
import gc

gc.freeze()
"""


def breakdown_table(repeat: int) -> None:
    """Print where pathlift's whole process goes, step by step (median of ``repeat`` runs)."""
    print(f"\nWhere pathlift's whole process goes (median of {repeat} runs, seconds):\n")
    print("| step | order 1 | order 3 |")
    print("|---|---|---|")
    medians: dict[int, dict[str, float]] = {}
    for order in (1, 3):
        runs = []
        for _ in range(repeat):
            out = DATA / "breakdown.json"
            proc = subprocess.Popen(
                [sys.executable, "-c", BREAKDOWN, str(PATHS_CSV), str(order), str(out)],
                stdout=subprocess.PIPE,
                env=dict(os.environ, PYTHONPATH=str(ROOT)),
            )
            t0 = time.perf_counter()
            stdout, _ = proc.communicate()
            wall = time.perf_counter() - t0
            result = json.loads(stdout)
            steps = result["steps"]
            steps["interpreter start and exit"] = wall - result["in_process"]
            steps["whole process"] = wall
            runs.append(steps)
        medians[order] = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
    for name in medians[1]:
        print(f"| {name} | {medians[1][name]:.2f} | {medians[3][name]:.2f} |")


def whole_process(tool: str, order: int, code: Path = ROOT) -> dict:
    """One whole-process run of ``tool`` (``pathlift`` from ``code``, or ``channelattribution``).

    Returns :func:`bench_startup.run_process`'s figures and the credit read from the JSON the
    process wrote.
    """
    out = DATA / f"whole_{tool}_{order}.json"
    out.unlink(missing_ok=True)
    if tool == "pathlift":
        cmd = [
            str(PATHLIFT),
            "attribute",
            str(PATHS_CSV),
            "-m",
            "markov",
            "--order",
            str(order),
            "--bootstrap",
            "0",
            "--no-track",
            "--format",
            "json",
            "-o",
            str(out),
        ]
        figures = run_process(cmd, code=code)
        channels = json.loads(out.read_text())["models"][0]["channels"]
        credit = {c["channel"]: float(c["conversions"]) for c in channels}
    else:
        figures = run_process(
            [sys.executable, "-c", CA_WHOLE, str(PATHS_CSV), str(order), str(out)]
        )
        rows = json.loads(out.read_text())
        credit = {r["channel_name"]: float(r["total_conversions"]) for r in rows}
    return {**figures, "credit": credit}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(tool: str, order: int) -> dict:
    """Runs inside a subprocess: one measurement."""
    t_import = time.perf_counter()
    if tool == "pathlift":
        from attribution import Journeys, MarkovAttribution

        t0 = time.perf_counter()
        import_seconds = t0 - t_import
        journeys = Journeys.from_paths(PATHS_CSV)
        t_parse = time.perf_counter() - t0
        result = MarkovAttribution(order=order, n_bootstrap=0).fit(journeys).result_
        elapsed = time.perf_counter() - t0
        credit = dict(zip(result.channels, result.conversions.tolist(), strict=True))
        return {
            "seconds": elapsed,
            "parse_seconds": t_parse,
            "import_seconds": import_seconds,
            "peak_mb": _peak_mb(),
            "credit": credit,
        }
    if tool == "channelattribution":
        import contextlib
        import io

        from ChannelAttribution import markov_model

        t0 = time.perf_counter()
        import_seconds = t0 - t_import
        frame = pd.read_csv(PATHS_CSV)
        with contextlib.redirect_stdout(io.StringIO()):
            out = markov_model(
                frame,
                "path",
                "total_conversions",
                var_value="total_conversion_value",
                var_null="total_null",
                order=order,
                verbose=False,
                flg_pro=False,
            )
        elapsed = time.perf_counter() - t0
        res = out if isinstance(out, pd.DataFrame) else out["result"]
        credit = dict(zip(res["channel_name"], res["total_conversions"].astype(float), strict=True))
        return {
            "seconds": elapsed,
            "import_seconds": import_seconds,
            "peak_mb": _peak_mb(),
            "credit": credit,
        }
    if tool == "events":
        from attribution import Journeys

        frame = pd.read_parquet(EVENTS_PARQUET)
        t0 = time.perf_counter()
        journeys = Journeys.from_events(frame, lookback="30d")
        elapsed = time.perf_counter() - t0
        return {
            "seconds": elapsed,
            "peak_mb": _peak_mb(),
            "paths": journeys.n_paths,
            "journeys": journeys.n_journeys,
        }
    raise SystemExit(f"unknown tool {tool}")


def measure(tool: str, order: int = 1) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, __file__, "--run", tool, "--order", str(order)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def whole_process_table(total_conv: float, repeat: int, before: Path | None) -> None:
    """Print the whole-process table: pathlift (and ``before``) against ChannelAttribution."""
    tools = [("pathlift", "pathlift", ROOT)]
    if before is not None:
        tools.append(("pathlift", f"pathlift before ({before})", before.resolve()))
    tools.append(("channelattribution", "ChannelAttribution 2.2.5", ROOT))
    print(
        f"Whole process, import and CSV read included (start to JSON written); the tools "
        f"alternate, {repeat} runs each:\n"
    )
    print(
        "| order | tool | wall s, best | wall s, median | CPU s, median | peak MB, highest | "
        "wall / CA (best / median) | peak / CA | credit error vs exact, max over channels |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for order in (1, 3):
        runs: dict[str, list[dict]] = {label: [] for _, label, _ in tools}
        for _ in range(repeat):
            for tool, label, code in tools:
                runs[label].append(whole_process(tool, order, code))
        exact = runs["pathlift"][0]["credit"]
        ca = summarise(runs["ChannelAttribution 2.2.5"])
        for tool, label, _ in tools:
            s = summarise(runs[label])
            credit = runs[label][0]["credit"]
            err = max(abs(credit[c] - exact[c]) for c in exact) / total_conv * 100
            error = (
                "0 (exact)" if tool == "pathlift" and err < 1e-9 else f"{err:.2f}% of conversions"
            )
            ratio = (
                "1"
                if tool == "channelattribution"
                else f"**{s['best'] / ca['best']:.2f} / {s['median'] / ca['median']:.2f}**"
            )
            peak_ratio = (
                "1" if tool == "channelattribution" else f"{s['peak_mb'] / ca['peak_mb']:.2f}"
            )
            print(
                f"| {order} | {label} | {s['best']:.2f} | {s['median']:.2f} | "
                f"{s['cpu_median']:.2f} | {s['peak_mb']:.0f} | {ratio} | {peak_ratio} | {error} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool and order")
    parser.add_argument(
        "--before", type=Path, default=None, help="Also run pathlift from this checkout."
    )
    parser.add_argument(
        "--whole-only", action="store_true", help="Skip the in-process and event-log figures."
    )
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    if not PATHS_CSV.exists():
        make_path_table().to_csv(PATHS_CSV, index=False)
    if not EVENTS_PARQUET.exists():
        make_events().to_parquet(EVENTS_PARQUET)
    table = pd.read_csv(PATHS_CSV, usecols=["total_conversions", "total_null"])
    n_paths = len(table)
    n_journeys = int(table.sum().sum())
    total_conv = float(table["total_conversions"].sum())
    print(f"# Markov attribution benchmark ({time.strftime('%Y-%m-%d %H:%M')})")
    print(machine_line())
    print(
        f"dataset: {n_journeys:,} journeys, {n_paths:,} unique paths, 12 channels, "
        f"{total_conv:,.0f} conversions, {PATHS_CSV.stat().st_size / 1e6:.0f} MB CSV\n"
    )
    whole_process_table(total_conv, args.repeat, args.before)
    breakdown_table(args.repeat)
    if args.whole_only:
        return
    print("\nIn process (imports not timed; load + parse + solve from the CSV), 3 runs each:\n")
    print(
        "| order | tool | wall s (load+parse+solve), best of 3 | median of 3 | parse s | "
        "import s (not timed) | peak MB | ratio to ChannelAttribution (best / median) | "
        "max credit error vs exact (% of conversions) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for order in (1, 3):
        ours = [measure("pathlift", order) for _ in range(3)]
        theirs = [measure("channelattribution", order) for _ in range(3)]
        best_ours = min(ours, key=lambda r: r["seconds"])
        best_theirs = min(theirs, key=lambda r: r["seconds"])
        med_ours = float(np.median([r["seconds"] for r in ours]))
        med_theirs = float(np.median([r["seconds"] for r in theirs]))
        exact = best_ours["credit"]
        err = max(abs(best_theirs["credit"][c] - exact[c]) for c in exact) / total_conv * 100
        print(
            f"| {order} | pathlift | {best_ours['seconds']:.2f} | {med_ours:.2f} | "
            f"{best_ours['parse_seconds']:.2f} | {best_ours['import_seconds']:.2f} | "
            f"{max(r['peak_mb'] for r in ours):.0f} | "
            f"{best_ours['seconds'] / best_theirs['seconds']:.2f} / {med_ours / med_theirs:.2f} | "
            "0 (exact) |"
        )
        print(
            f"| {order} | ChannelAttribution 2.2.5 | {best_theirs['seconds']:.2f} | "
            f"{med_theirs:.2f} | - | {best_theirs['import_seconds']:.2f} | "
            f"{min(r['peak_mb'] for r in theirs):.0f} | 1.00 | {err:.2f} |"
        )
    ev = min((measure("events") for _ in range(2)), key=lambda r: r["seconds"])
    print(
        f"\nEvent log to journeys (NumPy engine, lookback 30d): 5,000,000 events / 1,000,000 "
        f"users -> {ev['journeys']:,} journeys, {ev['paths']:,} unique paths in "
        f"{ev['seconds']:.2f} s, peak {ev['peak_mb']:.0f} MB (Parquet read excluded)."
    )
    print("\nIn-process times are the best of 3 runs, each in a fresh process.")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--run":
        child = argparse.ArgumentParser()
        child.add_argument("--run")
        child.add_argument("--order", type=int, default=1)
        ns = child.parse_args()
        print(json.dumps(run_one(ns.run, ns.order)))
    else:
        main()
