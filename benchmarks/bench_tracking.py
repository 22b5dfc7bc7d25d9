"""Dataset digests for MLflow inputs: pathlift's digests vs MLflow's own, side by side.

Dataset: a synthetic uplift-style frame (5 numeric columns, 2 string columns, a treatment and an
outcome column) at 1M and 5M rows, also written to CSV under ``benchmarks/.data``.

Measured, in one process, best of ``--repeat`` runs:

* MLflow: ``mlflow.data.from_pandas(frame).digest`` (what ``mlflow.log_input`` computes when no
  digest is given);
* pathlift: ``experiments.tracking.frame_digest(frame)`` (SHA-256 over column names/dtypes and
  ``pandas.util.hash_pandas_object``);
* pathlift: ``experiments.tracking.file_digest(csv)`` (SHA-256 of the file's bytes, streamed).

Run: ``.venv/bin/python benchmarks/bench_tracking.py [--rows 1000000 5000000] [--repeat 2]``.
Prints a Markdown table with machine, dataset and date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).parent / ".data"


def make_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(5)})
    frame["segment"] = rng.choice(["a", "b", "c", "d"], n)
    frame["zip"] = rng.choice(["Urban", "Suburban", "Rural"], n)
    frame["treatment"] = rng.choice(["control", "email", "sms"], n)
    frame["conversion"] = rng.integers(0, 2, n)
    return frame


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    import mlflow.data

    from experiments.tracking import file_digest, frame_digest

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, mlflow {mlflow.__version__}, pandas {pd.__version__}; "
        f"date {dt.date.today().isoformat()}; best of {args.repeat}\n"
    )
    print(
        "| rows | MLflow `from_pandas` digest (s) | `frame_digest` (s) | ratio | CSV size (MB) "
        "| `file_digest` (s) |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for n in args.rows:
        frame = make_frame(n)
        csv = DATA / f"digest_{n}.csv"
        if not csv.exists():
            frame.to_csv(csv, index=False)
        t_mlflow = best_of(lambda f=frame: mlflow.data.from_pandas(f).digest, args.repeat)
        t_ours = best_of(lambda f=frame: frame_digest(f), args.repeat)
        t_file = best_of(lambda p=csv: file_digest(p), args.repeat)
        size = csv.stat().st_size / 1e6
        print(
            f"| {n:,} | {t_mlflow:.2f} | {t_ours:.2f} | {t_mlflow / t_ours:.1f}x | {size:.0f} "
            f"| {t_file:.2f} |"
        )


if __name__ == "__main__":
    main()
