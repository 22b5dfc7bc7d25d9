"""Uplift benchmark: causalml called directly vs through pathlift, and every learner's cost.

Data: causalml's ``make_uplift_classification`` with arms control/treatment1/treatment2 and
16 features (10 classification + 3 uplift features per arm), ``rows`` in total, cached as
Parquet under ``benchmarks/.data/``. LightGBM is single-threaded (``n_jobs=1``,
``OMP_NUM_THREADS=1``), 100 trees, 31 leaves.

Every measurement runs in its own subprocess so that its peak resident memory (``VmHWM``) is
its own. Reported per run: fit and predict wall time, scoring throughput (rows/s of
``predict``), peak RSS and the RSS right after loading the data.

* ``causalml T (direct)``: ``BaseTClassifier(LGBMClassifier)`` on a float matrix;
* ``pathlift T``: ``UpliftData.from_frame`` + ``UpliftModel("t").fit`` + ``predict`` (the fixed
  DataFrame) from the pandas frame; the overhead ratio is pathlift / direct of fit + predict.
  The two are interleaved ``--repeats`` times and the fastest run of each is kept.
* the other learners through pathlift at ``--other-rows`` rows;
* optionally (``--propensity``) causalml's X-learner estimating the propensity itself vs with
  the known RCT propensity, at ``--other-rows`` rows.

Usage::

    python benchmarks/bench_uplift.py --rows 1000000 --other-rows 200000 --repeats 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / ".data"
ARMS = ["control", "treatment1", "treatment2"]
LGBM = {
    "n_estimators": 100,
    "num_leaves": 31,
    "learning_rate": 0.1,
    "n_jobs": 1,
    "verbose": -1,
    "random_state": 0,
    "deterministic": True,
}


def dataset(rows: int) -> Path:
    path = DATA_DIR / f"uplift_{rows}.parquet"
    if path.exists():
        return path
    from causalml.dataset import make_uplift_classification

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    df, features = make_uplift_classification(
        n_samples=-(-rows // len(ARMS)), treatment_name=ARMS, random_seed=0
    )
    df = df.iloc[:rows].reset_index(drop=True)
    df[[*features, "treatment_group_key", "conversion"]].to_parquet(path)
    return path


def _vm(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # MB
    return float("nan")


def child(mode: str, path: str) -> dict[str, object]:
    import numpy as np
    import pandas as pd

    df = pd.read_parquet(path)
    features = [c for c in df.columns if c not in ("treatment_group_key", "conversion")]
    rss_data = _vm("VmRSS")
    out: dict[str, object] = {"mode": mode, "rows": len(df), "features": len(features)}
    if mode == "lightgbm-one-booster":
        import lightgbm as lgb

        X = df[features].to_numpy(dtype=np.float64)
        t0, c0 = time.perf_counter(), time.process_time()
        booster = lgb.LGBMClassifier(**LGBM).fit(X[:200_000], df["conversion"].to_numpy()[:200_000])
        t1, c1 = time.perf_counter(), time.process_time()
        booster.predict_proba(X)
        t2, c2 = time.perf_counter(), time.process_time()
    elif mode == "direct-t":
        import lightgbm as lgb
        from causalml.inference.meta import BaseTClassifier

        t0, c0 = time.perf_counter(), time.process_time()
        X = df[features].to_numpy(dtype=np.float64)
        learner = BaseTClassifier(learner=lgb.LGBMClassifier(**LGBM), control_name="control")
        learner.fit(
            X, treatment=df["treatment_group_key"].to_numpy(), y=df["conversion"].to_numpy()
        )
        t1, c1 = time.perf_counter(), time.process_time()
        te = learner.predict(X, verbose=False)
        t2, c2 = time.perf_counter(), time.process_time()
        out["shape"] = list(te.shape)
    elif mode in ("direct-x-estimated-p", "direct-x-known-p"):
        import lightgbm as lgb
        from causalml.inference.meta import BaseXClassifier

        t0, c0 = time.perf_counter(), time.process_time()
        X = df[features].to_numpy(dtype=np.float64)
        t = df["treatment_group_key"].to_numpy()
        learner = BaseXClassifier(
            outcome_learner=lgb.LGBMClassifier(**LGBM),
            effect_learner=lgb.LGBMRegressor(**LGBM),
            control_name="control",
        )
        if mode == "direct-x-known-p":
            p = {a: np.full(len(df), 0.5) for a in ARMS[1:]}
            learner.fit(X, treatment=t, y=df["conversion"].to_numpy(), p=p)
            t1, c1 = time.perf_counter(), time.process_time()
            te = learner.predict(X, p=p, verbose=False)
        else:
            learner.fit(X, treatment=t, y=df["conversion"].to_numpy())
            t1, c1 = time.perf_counter(), time.process_time()
            te = learner.predict(X, verbose=False)
        t2, c2 = time.perf_counter(), time.process_time()
        out["shape"] = list(te.shape)
    else:
        import causalml.inference.meta
        import causalml.inference.tree  # noqa: F401

        from uplift import UpliftData, UpliftModel

        learner_name = mode.removeprefix("pathlift-")
        t0, c0 = time.perf_counter(), time.process_time()
        data = UpliftData.from_frame(
            df,
            treatment_col="treatment_group_key",
            control="control",
            outcome_col="conversion",
            feature_cols=features,
        )
        params = {k: LGBM[k] for k in ("n_estimators", "num_leaves", "learning_rate", "n_jobs")}
        model = UpliftModel(learner_name, seed=0, **params).fit(data)
        t1, c1 = time.perf_counter(), time.process_time()
        pred = model.predict(df)
        t2, c2 = time.perf_counter(), time.process_time()
        out["shape"] = list(pred.shape)
    out.update(
        fit_s=t1 - t0,
        predict_s=t2 - t1,
        fit_cpu_s=c1 - c0,
        predict_cpu_s=c2 - c1,
        rows_per_s=len(df) / (t2 - t1),
        rows_per_cpu_s=len(df) / (c2 - c1),
        rss_data_mb=rss_data,
        peak_rss_mb=_vm("VmHWM"),
    )
    return out


def run(mode: str, path: Path) -> dict[str, object]:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"  {mode:>24} {result['rows']:>8} rows  fit {result['fit_s']:7.2f} s  predict "
        f"{result['predict_s']:6.2f} s  peak {result['peak_rss_mb']:7.0f} MB",
        file=sys.stderr,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--other-rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--learners", default="t,s,x,r,dr,uplift_rf")
    parser.add_argument("--propensity", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return

    big, small = dataset(args.rows), dataset(args.other_rows)
    direct, ours = [], []
    for _ in range(args.repeats):
        direct.append(run("direct-t", big))
        ours.append(run("pathlift-t", big))
    one = run("lightgbm-one-booster", big)
    best_d = min(direct, key=_cpu)
    best_o = min(ours, key=_cpu)
    others = [run(f"pathlift-{name}", small) for name in args.learners.split(",") if name]
    prop = []
    if args.propensity:
        prop = [run("direct-x-known-p", small), run("direct-x-estimated-p", small)]

    cpu = platform.processor() or platform.machine()
    print(
        f"Machine: {platform.node()} ({os.cpu_count()} cores, {cpu}, shared), Python "
        f"{platform.python_version()}; date {dt.date.today().isoformat()}; LightGBM "
        "single-threaded, 100 trees, 31 leaves. CPU = process CPU time (robust to other load "
        "on the machine); wall = elapsed.\n"
    )
    print(
        f"Dataset: make_uplift_classification, {best_d['rows']:,} rows x {best_d['features']} "
        f"features (T comparison; others at {args.other_rows:,} rows), arms "
        f"control/treatment1/treatment2; T runs: best of {args.repeats} interleaved.\n"
    )
    print(
        "| run | rows | fit CPU (s) | predict CPU (s) | fit wall (s) | predict wall (s) "
        "| scoring (rows per CPU s) | peak RSS (MB) | RSS after load (MB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = [
        ("one LightGBM booster (fit on 200k rows; predict all)", one),
        ("causalml T-learner, direct", best_d),
        ("pathlift `UpliftModel('t')`", best_o),
    ]
    rows += [(f"pathlift `UpliftModel('{_name(r)}')`", r) for r in others]
    for r in prop:
        kind = "known" if "known" in str(r["mode"]) else "estimated"
        rows.append((f"causalml X-learner, {kind} propensity", r))
    for label, r in rows:
        print(
            f"| {label} | {r['rows']:,} | {r['fit_cpu_s']:.2f} | {r['predict_cpu_s']:.2f} | "
            f"{r['fit_s']:.2f} | {r['predict_s']:.2f} | {r['rows_per_cpu_s']:,.0f} | "
            f"{r['peak_rss_mb']:.0f} | {r['rss_data_mb']:.0f} |"
        )
    ratio = _cpu(best_o) / _cpu(best_d)
    wall = _wall(best_o) / _wall(best_d)
    print(
        f"\npathlift / direct, T-learner fit + predict: **{ratio:.3f}** CPU "
        f"(overhead {100 * (ratio - 1):+.1f}%), {wall:.3f} wall; pathlift T scoring "
        f"**{best_o['rows_per_cpu_s']:,.0f} rows per CPU second** "
        f"({best_o['rows_per_s']:,.0f} rows/s wall)."
    )
    by_mode = {str(r["mode"]): r for r in others}
    if "pathlift-t" in by_mode:
        base = _cpu(by_mode["pathlift-t"])
        for mode, r in by_mode.items():
            if mode != "pathlift-t":
                print(
                    f"- `{_name(r)}` / `t` at {r['rows']:,} rows (fit + predict CPU): "
                    f"{_cpu(r) / base:.1f}x"
                )
    if prop:
        print(
            "\ncausalml X-learner estimating the propensity / given the known propensity "
            f"(fit + predict CPU): **{_cpu(prop[1]) / _cpu(prop[0]):.1f}x**."
        )


def _cpu(r: dict[str, object]) -> float:
    return float(r["fit_cpu_s"]) + float(r["predict_cpu_s"])  # type: ignore[arg-type]


def _wall(r: dict[str, object]) -> float:
    return float(r["fit_s"]) + float(r["predict_s"])  # type: ignore[arg-type]


def _name(r: dict[str, object]) -> str:
    return str(r["mode"]).removeprefix("pathlift-")


if __name__ == "__main__":
    main()
