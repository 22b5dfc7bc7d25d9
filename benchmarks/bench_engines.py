"""Scale benchmark: event log (Parquet) to journeys and Markov order-1 credit, per engine.

Engines compared side by side on the same synthetic log:

* ``duckdb``  - :func:`attribution.engines.journeys_from_events` with DuckDB (in-process);
* ``numpy``   - the in-memory reference :meth:`Journeys.from_events` (pandas reads the Parquet);
* ``spark``   - the same SQL on Spark ``local[2]`` (session start-up timed separately);
* ``duckdb-ooc`` - DuckDB with ``memory_limit`` set on a larger log (out of core).

Each run is a fresh subprocess whose peak resident memory (``ru_maxrss`` of the child, which
includes the JVM for Spark) is reported next to its wall time. End to end = reading Parquet,
building journeys, fitting a first-order Markov model and reading its credit table.

Usage::

    python benchmarks/bench_engines.py generate --events 10000000
    python benchmarks/bench_engines.py run --events 10000000 --engines duckdb,numpy,spark
    python benchmarks/bench_engines.py run --events 100000000 --engines duckdb-ooc \
        --memory-limit 4GB
    python benchmarks/bench_engines.py score --rows 2000000

``score`` fits a small uplift T-learner, registers it in a SQLite MLflow store under
``benchmarks/.data/mlflow`` and scores a Parquet feature set with ``spark_udf``; the Spark figure
includes writing the output and reading every prediction back (means), so the UDF really runs.

Data lives under ``benchmarks/.data/`` (git-ignored). The log has ``events / 10`` users, 8
channels with skewed frequencies, timestamps spread over 90 days (second resolution, written as
microsecond Parquet timestamps so Spark can read them), 4 % conversion rows of which half carry
a channel, and log-normal conversion values. Rows are shuffled (not sorted by user).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / ".data"
CHANNELS = np.array(
    ["search", "social", "email", "display", "affiliate", "video", "direct", "referral"]
)
CHANNEL_P = np.array([0.28, 0.2, 0.15, 0.12, 0.09, 0.07, 0.05, 0.04])
CHUNK = 5_000_000
LOAD_BEFORE = os.getloadavg()[0]
SPARK_DRIVER_MEMORY = "4g"  # local mode: executors live in the driver JVM (default heap 1g)


def dataset_dir(n_events: int) -> Path:
    return DATA / f"events_{n_events}"


def generate(n_events: int, seed: int = 7) -> Path:
    """Write the synthetic log as Parquet files of at most 5M rows each (chunked generation)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = dataset_dir(n_events)
    if out.exists() and any(out.glob("*.parquet")):
        return out
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_users = max(n_events // 10, 1)
    start = np.datetime64("2024-01-01T00:00:00", "s").astype(np.int64)
    span = 90 * 24 * 3600
    written = 0
    part = 0
    while written < n_events:
        n = min(CHUNK, n_events - written)
        users = rng.integers(0, n_users, n, dtype=np.int64)
        ts = (start + rng.integers(0, span, n)).astype("datetime64[s]").astype("datetime64[us]")
        conversion = rng.random(n) < 0.04
        channel = CHANNELS[rng.choice(len(CHANNELS), n, p=CHANNEL_P)].astype(object)
        marker = conversion & (rng.random(n) < 0.5)
        channel[marker] = None
        value = np.where(conversion, np.round(rng.lognormal(3.5, 0.8, n), 2), 0.0)
        table = pa.table(
            {
                "user_id": pa.array(users),
                "timestamp": pa.array(ts, type=pa.timestamp("us")),
                "channel": pa.array(channel, type=pa.string()),
                "conversion": pa.array(conversion.astype(np.int8)),
                "value": pa.array(value),
            }
        )
        pq.write_table(table, out / f"part-{part:05d}.parquet", row_group_size=1_000_000)
        written += n
        part += 1
    return out


# ------------------------------------------------------------------------------ one run (child)


def _markov(journeys):  # type: ignore[no-untyped-def]
    from attribution.markov import MarkovAttribution

    # point credit (no bootstrap intervals): the end-to-end target is journeys + credit
    return MarkovAttribution(order=1, n_bootstrap=0).fit(journeys).result_.to_frame()


class _RssSampler:
    """Peak resident memory of this process, sampled from /proc every 50 ms in a thread.

    ``mark()`` returns the peak so far; a logging handler on the DuckDB engine calls it when
    the SQL query has returned, which separates DuckDB's peak from the Python-side work after it
    (parsing the unique-path table into ``Journeys``, the Markov fit).
    """

    def __init__(self) -> None:
        import threading

        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def rss() -> int:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.rss())

    def mark(self) -> int:
        self.peak = max(self.peak, self.rss())
        return self.peak


def run_one(engine: str, path: Path, memory_limit: str | None, threads: int) -> dict:
    """Run one engine end to end in this process; return timings."""
    import logging

    timings: dict[str, float] = {}
    marks: dict[str, float] = {}
    sampler = _RssSampler()
    t0 = time.perf_counter()
    if engine in ("duckdb", "duckdb-ooc"):
        from attribution.engines import journeys_from_events

        class _AfterSql(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if record.getMessage().startswith("read "):
                    marks["sql_peak_rss_mb"] = sampler.mark() / 2**20
                    marks["sql_s"] = time.perf_counter() - t0

        duck_logger = logging.getLogger("attribution.engines.duckdb")
        duck_logger.setLevel(logging.INFO)
        duck_logger.addHandler(_AfterSql())

        tmp = DATA / "duckdb_tmp"
        journeys = journeys_from_events(
            str(path),
            engine="duckdb",
            memory_limit=memory_limit,
            temp_directory=str(tmp) if memory_limit else None,
            threads=threads,
        )
    elif engine == "numpy":
        import pandas as pd

        from attribution.journeys import Journeys

        frame = pd.read_parquet(path)
        timings["read_s"] = time.perf_counter() - t0
        journeys = Journeys.from_events(frame)
    elif engine == "spark":
        from attribution.engines import journeys_from_events
        from attribution.engines.spark import local_spark_session

        spark = local_spark_session(
            f"local[{threads}]",
            shuffle_partitions=8,
            config={"spark.driver.memory": SPARK_DRIVER_MEMORY},
        )
        timings["spark_start_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        journeys = journeys_from_events(str(path), engine="spark", spark=spark)
    else:
        raise SystemExit(f"unknown engine {engine!r}")
    timings["journeys_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    credit = _markov(journeys)
    timings["markov_s"] = time.perf_counter() - t1
    timings["total_s"] = time.perf_counter() - t0
    if engine == "spark":  # stop the JVM and reap it so its peak RSS is counted below
        from pyspark import SparkContext

        gateway = SparkContext._gateway
        spark.stop()
        if gateway is not None:
            gateway.shutdown()
            gateway.proc.stdin.close()  # the gateway JVM exits when its stdin closes
            gateway.proc.wait()
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    return {
        "engine": engine,
        "timings": timings,
        "n_paths": journeys.n_paths,
        "n_journeys": journeys.n_journeys,
        "conversions": journeys.total_conversions,
        "credit_sum": float(credit.select_dtypes("number").iloc[:, 0].sum()),
        "peak_rss_mb": peak / 1024,
        **marks,
    }


# ------------------------------------------------------------------------------ uplift scoring


def scoring_data(n_rows: int, seed: int = 11) -> Path:
    """Features for scoring (Parquet, 1M-row files): 4 numeric features and a segment string."""
    import pandas as pd

    out = DATA / f"scoring_{n_rows}"
    if out.exists() and any(out.glob("*.parquet")):
        return out
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for part, start in enumerate(range(0, n_rows, 1_000_000)):
        n = min(1_000_000, n_rows - start)
        pd.DataFrame(
            {
                "customer_id": np.arange(start, start + n),
                "recency": rng.integers(1, 365, n).astype(float),
                "history": rng.gamma(2.0, 120.0, n),
                "visits": rng.poisson(3.0, n).astype(float),
                "mens": rng.integers(0, 2, n).astype(float),
                "segment": rng.choice(["web", "phone", "multichannel"], n),
            }
        ).to_parquet(out / f"part-{part:05d}.parquet")
    return out


def registered_uplift_model() -> str:
    """Fit a T-learner on 20k synthetic rows, log and register it in benchmarks/.data/mlflow."""
    import mlflow
    import pandas as pd

    from experiments.registry import log_uplift_model
    from uplift.data import UpliftData
    from uplift.learners import UpliftModel

    store = DATA / "mlflow"
    store.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(f"sqlite:///{store}/mlflow.db")
    mlflow.set_registry_uri(f"sqlite:///{store}/mlflow.db")
    name = "bench-uplift"
    client = mlflow.MlflowClient()
    try:
        client.get_model_version_by_alias(name, "champion")
        return f"models:/{name}@champion"
    except mlflow.exceptions.MlflowException:
        pass
    rng = np.random.default_rng(3)
    n = 20_000
    frame = pd.DataFrame(
        {
            "recency": rng.integers(1, 365, n).astype(float),
            "history": rng.gamma(2.0, 120.0, n),
            "visits": rng.poisson(3.0, n).astype(float),
            "mens": rng.integers(0, 2, n).astype(float),
            "segment": rng.choice(["web", "phone", "multichannel"], n),
            "arm": rng.choice(["control", "email", "sms"], n),
        }
    )
    lift = np.where(frame["arm"] == "email", 0.05 * frame["mens"], 0.0) + np.where(
        frame["arm"] == "sms", 0.03, 0.0
    )
    frame["y"] = (rng.random(n) < 0.1 + lift).astype(int)
    features = ["recency", "history", "visits", "mens", "segment"]
    data = UpliftData.from_frame(
        frame, treatment_col="arm", control="control", outcome_col="y", feature_cols=features
    )
    model = UpliftModel("t", n_estimators=50).fit(data)
    experiment = mlflow.set_experiment("bench-scoring")
    with mlflow.start_run(experiment_id=experiment.experiment_id):
        info = log_uplift_model(model, frame[features], registered_model_name=name)
    client.set_registered_model_alias(name, "champion", info.registered_model_version)
    return f"models:/{name}@champion"


def run_scoring(n_rows: int, threads: int) -> dict:
    """Score with Spark (spark_udf) and, as the peer, the pyfunc model in one pandas process."""
    import shutil

    import mlflow
    import pandas as pd

    from attribution.engines.spark import local_spark_session
    from experiments.spark_scoring import score_parquet_with_spark

    uri = registered_uplift_model()
    src = scoring_data(n_rows)
    out = DATA / f"scored_{n_rows}"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    spark = local_spark_session(f"local[{threads}]", shuffle_partitions=8)
    start = time.perf_counter() - t0
    t0 = time.perf_counter()
    summary = score_parquet_with_spark(src, uri, out, spark=spark)
    spark_s = time.perf_counter() - t0
    spark.stop()
    t0 = time.perf_counter()
    model = mlflow.pyfunc.load_model(uri)
    frame = pd.read_parquet(src)
    pred = model.predict(frame)
    pandas_s = time.perf_counter() - t0
    return {
        "rows": summary.n_rows,
        "spark_start_s": start,
        "spark_score_s": spark_s,
        "pandas_score_s": pandas_s,
        "spark_mean_best_uplift": summary.means.get("best_uplift"),
        "pandas_mean_best_uplift": float(pred["best_uplift"].mean()),
    }


# ------------------------------------------------------------------------------ driver


def _child(engine: str, path: Path, memory_limit: str | None, threads: int) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "child",
        "--engine",
        engine,
        "--path",
        str(path),
        "--threads",
        str(threads),
    ]
    if memory_limit:
        cmd += ["--memory-limit", memory_limit]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"engine": engine, "error": proc.stderr.strip().splitlines()[-1:], "wall_s": wall}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def _table(results: list[dict], n_events: int, memory_limit: str | None) -> str:
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_version()} — dataset: {n_events:,} events "
        f"({n_events // 10:,} users, Parquet) — date: {dt.date.today().isoformat()}"
        + (f" — DuckDB memory_limit {memory_limit}" if memory_limit else "")
        + f" — load average before the run {LOAD_BEFORE:.1f} (shared machine)",
        "",
        "| engine | journeys (s) | Markov o1 (s) | end to end (s) | process wall (s) "
        "| peak RSS (MB) | of which SQL phase: time (s), peak RSS (MB) | unique paths | journeys "
        "| vs duckdb |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    base = next((r["timings"]["total_s"] for r in results if r.get("engine") == "duckdb"), None)
    for r in results:
        if "error" in r:
            lines.append(f"| {r['engine']} | error: {r['error']} | | | | | | | | |")
            continue
        t = r["timings"]
        extra = f" (+{t['spark_start_s']:.1f} s start)" if "spark_start_s" in t else ""
        ratio = f"{t['total_s'] / base:.2f}x" if base else "-"
        sql = f"{r['sql_s']:.1f}, {r['sql_peak_rss_mb']:,.0f}" if "sql_s" in r else "-"
        lines.append(
            f"| {r['engine']} | {t['journeys_s']:.1f}{extra} | {t['markov_s']:.2f} "
            f"| {t['total_s']:.1f} | {r['wall_s']:.1f} | {r['peak_rss_mb']:,.0f} | {sql} "
            f"| {r['n_paths']:,} | {r['n_journeys']:,} | {ratio} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("--events", type=int, default=10_000_000)
    run = sub.add_parser("run")
    run.add_argument("--events", type=int, default=10_000_000)
    run.add_argument("--engines", default="duckdb,numpy,spark")
    run.add_argument("--memory-limit", default=None)
    run.add_argument("--threads", type=int, default=2)
    score = sub.add_parser("score")
    score.add_argument("--rows", type=int, default=2_000_000)
    score.add_argument("--threads", type=int, default=2)
    child = sub.add_parser("child")
    child.add_argument("--engine", required=True)
    child.add_argument("--path", required=True)
    child.add_argument("--memory-limit", default=None)
    child.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if args.cmd == "generate":
        t0 = time.perf_counter()
        out = generate(args.events)
        print(f"{out} ready in {time.perf_counter() - t0:.1f} s")
    elif args.cmd == "score":
        r = run_scoring(args.rows, args.threads)
        print(
            f"Uplift batch scoring, {r['rows']:,} rows (Parquet), T-learner 3 arms, "
            f"{os.cpu_count()} cores, {dt.date.today().isoformat()}, load average before "
            f"{LOAD_BEFORE:.1f}\n\n"
            "| path | time (s) | rows/s | mean best_uplift |\n|---|---|---|---|\n"
            f"| Spark local[{args.threads}] spark_udf, write Parquet + read back "
            f"(+{r['spark_start_s']:.1f} s start) | {r['spark_score_s']:.1f} "
            f"| {r['rows'] / r['spark_score_s']:,.0f} | {r['spark_mean_best_uplift']:.6f} |\n"
            f"| pandas pyfunc predict in one process | {r['pandas_score_s']:.1f} "
            f"| {r['rows'] / r['pandas_score_s']:,.0f} | {r['pandas_mean_best_uplift']:.6f} |"
        )
    elif args.cmd == "child":
        result = run_one(args.engine, Path(args.path), args.memory_limit, args.threads)
        print(json.dumps(result))
    else:
        path = generate(args.events)
        results = []
        for engine in args.engines.split(","):
            limit = args.memory_limit if engine == "duckdb-ooc" else None
            results.append(_child(engine, path, limit, args.threads))
            print(json.dumps(results[-1]), file=sys.stderr)
        print(_table(results, args.events, args.memory_limit))


if __name__ == "__main__":
    main()
