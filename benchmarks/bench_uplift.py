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
* T-learner scoring (``--scoring``, or ``--scoring-only``): a ``UpliftModel("t")`` fitted on the
  first ``--scoring-fit-rows`` rows and saved; each scorer then runs in its own subprocess that
  loads the model and scores all ``--rows`` rows (``predict_uplift``, the bare array) ``--repeats``
  times, keeping the fastest: causalml's computation (a loaded model holds the LightGBM
  boosters read from their model text; LightGBM's ``predict`` per booster, as causalml's
  ``predict`` calls it), the compiled scorer (``uplift._forest``) with ``n_jobs=1`` and
  ``n_jobs=2``; and one booster (the control model) scored by LightGBM's ``predict`` (what
  ``predict_proba`` calls) vs the compiled forest. Each run
  checks its numbers against LightGBM on the first 100,000 rows (max abs difference, expected 0)
  and reports the first call (compiling the forests; numba's kernel comes from its disk cache
  after the first run on the machine).

Usage::

    python benchmarks/bench_uplift.py --rows 1000000 --other-rows 200000 --repeats 2 --scoring
    python benchmarks/bench_uplift.py --rows 1000000 --scoring-only --repeats 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


SCORERS = {
    # mode: (label, threads)
    # a loaded model holds LightGBM boosters, scored as causalml's predict does (same calls)
    "score-t-causalml": ("causalml's computation: LightGBM `predict` of 3 boosters", 1),
    "score-t-compiled-1": ("compiled scorer, `n_jobs=1`", 1),
    "score-t-compiled-2": ("compiled scorer, `n_jobs=2`", 2),
    "score-booster-lightgbm": ("one booster: LightGBM `predict`", 1),
    "score-booster-compiled": ("one booster: compiled forest, 1 thread", 1),
}


def fit_pathlift(df: Any, learner: str) -> Any:
    """Fit pathlift's ``learner`` with the benchmark's LightGBM settings on the simulated rows."""
    from uplift import UpliftData, UpliftModel

    features = [c for c in df.columns if c not in ("treatment_group_key", "conversion")]
    data = UpliftData.from_frame(
        df,
        treatment_col="treatment_group_key",
        control="control",
        outcome_col="conversion",
        feature_cols=features,
    )
    params = {k: LGBM[k] for k in ("n_estimators", "num_leaves", "learning_rate", "n_jobs")}
    return UpliftModel(learner, seed=0, **params).fit(data)


def fit_scoring_model(path: str, model_dir: str, fit_rows: int) -> dict[str, object]:
    import pandas as pd

    import uplift  # noqa: F401  (imported before the clock starts)

    df = pd.read_parquet(path).iloc[:fit_rows]
    t0 = time.perf_counter()
    model = fit_pathlift(df, "t")
    fit_s = time.perf_counter() - t0
    model.save(model_dir)
    return {"mode": "fit-scoring-model", "rows": len(df), "fit_s": fit_s}


def score_child(mode: str, path: str, model_dir: str, repeats: int) -> dict[str, object]:
    """Load the saved T-learner and time one scorer on every row of ``path``."""
    import numpy as np
    import pandas as pd

    from uplift import UpliftModel
    from uplift._forest import CompiledForest

    df = pd.read_parquet(path)
    model = UpliftModel.load(model_dir)
    X = model.schema_.transform(df)
    check = X[:100_000]
    booster = model.learner_.model_c  # a lightgbm.Booster read from the model text
    label, threads = SCORERS[mode]
    model.n_jobs = threads
    score: Any
    if mode == "score-t-causalml":
        model._compiled_scoring = False
        t0 = time.perf_counter()
        model.predict_uplift(df.iloc[:1000])
        first_s = time.perf_counter() - t0
        score = lambda: model.predict_uplift(df)  # noqa: E731
        reference = model.learner_.predict(check)
    elif mode.startswith("score-t-compiled"):
        t0 = time.perf_counter()
        model.predict_uplift(df.iloc[:1000])  # compiles the three forests
        first_s = time.perf_counter() - t0
        if model._compiled_scorers() is None:
            raise RuntimeError("the T-learner did not take the compiled path")
        score = lambda: model.predict_uplift(df)  # noqa: E731
        reference = model.learner_.predict(check)
    elif mode == "score-booster-lightgbm":
        t0 = time.perf_counter()
        booster.predict(X[:1000])
        first_s = time.perf_counter() - t0
        score = lambda: booster.predict(X)  # noqa: E731
        reference = booster.predict(check)
    else:
        t0 = time.perf_counter()
        forest = CompiledForest.from_lgbm(booster)
        if forest is None:
            raise RuntimeError("the control booster is not supported by the compiled scorer")
        forest.predict(X[:1000])
        first_s = time.perf_counter() - t0
        score = lambda: forest.predict(X, n_threads=threads)  # noqa: E731
        reference = booster.predict(check)
    best_wall, best_cpu = float("inf"), float("inf")
    out = None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = score()
        best_wall = min(best_wall, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    got = np.asarray(out)[: len(check)]
    n = len(df)
    return {
        "mode": mode,
        "label": label,
        "threads": threads,
        "rows": n,
        "features": X.shape[1],
        "first_call_s": first_s,
        "score_s": best_wall,
        "score_cpu_s": best_cpu,
        "rows_per_s": n / best_wall,
        "rows_per_cpu_s": n / best_cpu,
        "max_abs_diff_vs_lightgbm": float(np.max(np.abs(got - reference))),
        "peak_rss_mb": _vm("VmHWM"),
    }


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

        import uplift  # noqa: F401  (imported before the clock starts, as causalml above)

        t0, c0 = time.perf_counter(), time.process_time()
        model = fit_pathlift(df, mode.removeprefix("pathlift-"))
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


def _subprocess(args: list[str], mode: str) -> dict[str, object]:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(mode: str, path: Path) -> dict[str, object]:
    result = _subprocess(["--child", mode, str(path)], mode)
    print(
        f"  {mode:>24} {result['rows']:>8} rows  fit {result['fit_s']:7.2f} s  predict "
        f"{result['predict_s']:6.2f} s  peak {result['peak_rss_mb']:7.0f} MB",
        file=sys.stderr,
    )
    return result


def run_scoring(path: Path, fit_rows: int, repeats: int) -> list[dict[str, object]]:
    """Fit and save the T-learner once, then time every scorer in its own subprocess."""
    load = _load()
    with tempfile.TemporaryDirectory(prefix="bench-uplift-") as tmp:
        model_dir = str(Path(tmp) / "t")
        fitted = _subprocess(
            ["--fit-scoring-model", str(path), model_dir, str(fit_rows)], "fit-scoring-model"
        )
        print(f"  T-learner fitted on {fitted['rows']:,} rows", file=sys.stderr)
        results = []
        for mode in SCORERS:
            r = _subprocess(["--score-child", mode, str(path), model_dir, str(repeats)], mode)
            print(
                f"  {mode:>24} {r['rows']:>8} rows  {r['rows_per_s']:>10,.0f} rows/s  "
                f"first call {r['first_call_s']:.2f} s  diff {r['max_abs_diff_vs_lightgbm']:.1e}",
                file=sys.stderr,
            )
            results.append({**r, "load_before": load})
    return results


def print_scoring(results: list[dict[str, object]], fit_rows: int, repeats: int) -> None:
    by_mode = {str(r["mode"]): r for r in results}
    rows = int(results[0]["rows"])  # type: ignore[call-overload]
    print(
        f"\nT-learner scoring: `predict_uplift` on {rows:,} rows x {results[0]['features']} "
        f"features (model fitted on the first {fit_rows:,} rows; 3 boosters of 100 trees, 31 "
        f"leaves), best of {repeats}; load average (1/5/15 min) before the runs: "
        f"{results[0]['load_before']}.\n"
    )
    print(
        "| scorer | threads | wall (s) | rows/s (wall) | rows per CPU s | vs LightGBM (wall) "
        "| first call (s) | max abs diff vs LightGBM | peak RSS (MB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for mode, r in by_mode.items():
        base = by_mode["score-booster-lightgbm" if "booster" in mode else "score-t-causalml"]
        speedup = float(r["rows_per_s"]) / float(base["rows_per_s"])  # type: ignore[arg-type]
        print(
            f"| {r['label']} | {r['threads']} | {r['score_s']:.3f} | {r['rows_per_s']:,.0f} | "
            f"{r['rows_per_cpu_s']:,.0f} | {speedup:.2f}x | {r['first_call_s']:.2f} | "
            f"{r['max_abs_diff_vs_lightgbm']:.1e} | {r['peak_rss_mb']:.0f} |"
        )


def _load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not Unix
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--other-rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--learners", default="t,s,x,r,dr,uplift_rf")
    parser.add_argument("--propensity", action="store_true")
    parser.add_argument("--scoring", action="store_true", help="also time T-learner scoring")
    parser.add_argument("--scoring-only", action="store_true", help="only time scoring")
    parser.add_argument("--scoring-fit-rows", type=int, default=200_000)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--fit-scoring-model", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--score-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    if args.fit_scoring_model:
        path, model_dir, fit_rows = args.fit_scoring_model
        print(json.dumps(fit_scoring_model(path, model_dir, int(fit_rows))))
        return
    if args.score_child:
        mode, path, model_dir, repeats = args.score_child
        print(json.dumps(score_child(mode, path, model_dir, int(repeats))))
        return
    if args.scoring_only:
        big = dataset(args.rows)
        results = run_scoring(big, args.scoring_fit_rows, args.repeats)
        _print_machine()
        print_scoring(results, args.scoring_fit_rows, args.repeats)
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

    scoring = run_scoring(big, args.scoring_fit_rows, args.repeats) if args.scoring else []

    _print_machine()
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
    if scoring:
        print_scoring(scoring, args.scoring_fit_rows, args.repeats)


def _print_machine() -> None:
    cpu = platform.processor() or platform.machine()
    print(
        f"Machine: {platform.node()} ({os.cpu_count()} cores, {cpu}, shared), Python "
        f"{platform.python_version()}; date {dt.date.today().isoformat()}; LightGBM "
        "single-threaded, 100 trees, 31 leaves. CPU = process CPU time (robust to other load "
        "on the machine); wall = elapsed.\n"
    )


def _cpu(r: dict[str, object]) -> float:
    return float(r["fit_cpu_s"]) + float(r["predict_cpu_s"])  # type: ignore[arg-type]


def _wall(r: dict[str, object]) -> float:
    return float(r["fit_s"]) + float(r["predict_s"])  # type: ignore[arg-type]


def _name(r: dict[str, object]) -> str:
    return str(r["mode"]).removeprefix("pathlift-")


if __name__ == "__main__":
    main()
