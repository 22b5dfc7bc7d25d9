"""Bootstrap intervals: what the default run costs against the point estimate, for every model.

Dataset: ``synthetic_paths(20, 1_000_000, seed=0)`` of ``bench_shapley.py`` (1,000,000
journeys over 20 channels, one row per journey, 174,555 unique paths), written once to
``benchmarks/.data/paths_20ch_1m.csv``.

**Whole process** (what a user waits for), first: for every model that runs on a path table,

    pathlift attribute paths_20ch_1m.csv -m MODEL --no-track --format json -o out.json \
        --bootstrap 200          (the default run, 95% intervals)
    ... --bootstrap 0            (the point estimate alone)

measured with :func:`bench_startup.run_process` (wall time around the child, its own CPU time
and peak memory). The two commands of a model alternate, ``--repeat`` processes each (default
3); the table gives the best and the median wall time, the median CPU time and the ratio of the
medians, against the target of issue 14 (at most 4 times the point estimate). ``--before DIR``
adds the same commands from the checkout in ``DIR`` (e.g. the main branch) to the same rounds.
``causal`` needs an event log with a user table and is not run here.

**In process** (labelled as such), then: one fresh process per model reads the journeys, fits
once with 20 replicates (untimed: loads the replicate kernels), then times ``fit`` with
``n_bootstrap=0`` and with ``n_bootstrap=200`` on two and on one thread
(``attribution.bootstrap.MAX_WORKERS``); imports and the read are not timed.

Run: ``.venv/bin/python benchmarks/bench_intervals.py [--repeat 3] [--before DIR]
[--models markov,conversion_rate_shapley] [--skip-in-process | --skip-whole-process]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_startup import PATHLIFT, ROOT, machine_line, run_process, summarise

DATA = Path(__file__).parent / ".data"
PATHS_CSV = DATA / "paths_20ch_1m.csv"
#: every model of the catalog that runs on a path table (causal needs a user table)
MODELS = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "position_based",
    "time_decay",
    "markov",
    "shapley",
    "ordered_shapley",
    "conversion_rate_shapley",
    "data_driven",
)
REPLICATES = 200
#: target of issue 14: the default run costs at most this many times the point estimate
TARGET_RATIO = 4.0

#: in one fresh process: read the journeys, then time each fit (imports and the read not timed)
IN_PROCESS = """
import json
import sys
import time

import attribution.bootstrap as bootstrap
from attribution import Journeys
from attribution.catalog import model_class

journeys = Journeys.from_paths(sys.argv[1])
cls = model_class(sys.argv[2])
# untimed: load the replicate kernels (numba's cache) and the model's one-off state first, so
# that the first timed configuration does not carry them
cls(n_bootstrap=20).fit(journeys)
out = {}
for label, replicates, workers in (
    ("point", 0, 1),
    ("intervals, 2 threads", int(sys.argv[3]), 2),
    ("intervals, 1 thread", int(sys.argv[3]), 1),
):
    bootstrap.MAX_WORKERS = workers
    wall, cpu = time.perf_counter(), time.process_time()
    cls(n_bootstrap=replicates).fit(journeys)
    out[label] = [time.perf_counter() - wall, time.process_time() - cpu]
print(json.dumps(out))
"""


def ensure_data() -> Path:
    """Write the 1M-journey path table once (about 4 s)."""
    if not PATHS_CSV.exists():
        sys.path.insert(0, str(Path(__file__).parent))
        from bench_shapley import synthetic_paths

        DATA.mkdir(exist_ok=True)
        table = synthetic_paths(20, 1_000_000, seed=0)
        tmp = PATHS_CSV.with_suffix(".tmp")
        table.to_csv(tmp, index=False)
        tmp.replace(PATHS_CSV)
    return PATHS_CSV


def command(model: str, replicates: int, out: Path) -> list[str]:
    return [
        str(PATHLIFT),
        "attribute",
        str(PATHS_CSV),
        "-m",
        model,
        "--no-track",
        "--format",
        "json",
        "-o",
        str(out),
        "--bootstrap",
        str(replicates),
    ]


def in_process(model: str, code: Path) -> dict[str, list[float]]:
    env = dict(os.environ, PYTHONPATH=str(code))
    done = subprocess.run(
        [sys.executable, "-c", IN_PROCESS, str(PATHS_CSV), model, str(REPLICATES)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument(
        "--before", type=Path, default=None, help="Also measure the checkout in this directory."
    )
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument(
        "--skip-whole-process", action="store_true", help="Only the in-process table."
    )
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    ensure_data()
    trees = {"pathlift": ROOT}
    if args.before is not None:
        trees["before"] = args.before.resolve()
    print(f"# Bootstrap intervals against the point estimate ({time.strftime('%Y-%m-%d')})")
    print(machine_line())
    print(
        f"dataset: {PATHS_CSV.name}, 1,000,000 journeys over 20 channels, 174,555 unique paths "
        f"({PATHS_CSV.stat().st_size / 1e6:.0f} MB)\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        for code in trees.values():  # untimed: numba compiles new kernels into its cache once
            run_process(command("conversion_rate_shapley", 20, out), code=code)
    if not args.skip_whole_process:
        whole_process_table(models, trees, args.repeat)
    if not args.skip_in_process:
        in_process_table(models)


def whole_process_table(models: list[str], trees: dict[str, Path], repeat: int) -> None:
    """Print the whole-process table: each model's default run against its point estimate."""
    runs: dict[tuple[str, str, int], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        for model in models:
            for _ in range(repeat):
                for label, code in trees.items():
                    for replicates in (0, REPLICATES):
                        measured = run_process(command(model, replicates, out), code=code)
                        runs.setdefault((label, model, replicates), []).append(measured)
            print(f"measured {model}", file=sys.stderr, flush=True)
    print(
        f"## Whole process: `pathlift attribute ... --bootstrap {REPLICATES}` against "
        f"`--bootstrap 0` ({repeat} processes each, alternating)\n"
    )
    print(
        "| model | code | point: wall s best / median | point: CPU s | "
        f"{REPLICATES} replicates: wall s best / median | {REPLICATES} replicates: CPU s | "
        "ratio of medians (wall) | peak MB (point / intervals) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for model in models:
        for label in trees:
            point = summarise(runs[(label, model, 0)])
            full = summarise(runs[(label, model, REPLICATES)])
            ratio = full["median"] / point["median"]
            if label == "pathlift":
                worst = max(worst, ratio)
            print(
                f"| {model} | {label} | {point['best']:.2f} / {point['median']:.2f} | "
                f"{point['cpu_median']:.2f} | {full['best']:.2f} / {full['median']:.2f} | "
                f"{full['cpu_median']:.2f} | **{ratio:.2f}** | "
                f"{point['peak_mb']:.0f} / {full['peak_mb']:.0f} |"
            )
    met = "met" if worst <= TARGET_RATIO else "NOT met"
    print(f"\nhighest ratio: {worst:.2f} (target <= {TARGET_RATIO:g} for every model: {met})\n")


def in_process_table(models: list[str]) -> None:
    """Print the in-process table: each fit timed in a fresh process, imports and read not."""
    print(
        f"## In process (imports and the read not timed): fit with `n_bootstrap=0` and "
        f"`n_bootstrap={REPLICATES}`\n"
    )
    print(
        "| model | point: wall s (CPU s) | intervals, 2 threads: wall s (CPU s) | "
        "intervals, 1 thread: wall s (CPU s) | ratio, 2 threads | ratio, 1 thread |"
    )
    print("|---|---|---|---|---|---|")
    for model in models:
        t = in_process(model, ROOT)
        point, two, one = t["point"], t["intervals, 2 threads"], t["intervals, 1 thread"]
        print(
            f"| {model} | {point[0]:.2f} ({point[1]:.2f}) | {two[0]:.2f} ({two[1]:.2f}) | "
            f"{one[0]:.2f} ({one[1]:.2f}) | {two[0] / point[0]:.1f} | {one[0] / point[0]:.1f} |"
        )


if __name__ == "__main__":
    main()
