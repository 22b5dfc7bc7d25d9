"""Hostile inputs through every command: exit 2, one line naming the problem, no file changed.

Each case is a :class:`~tests.hostile.conftest.Case`; :func:`run_hostile` runs it in a copy of the
valid inputs (a path table, an event log, a user table, an uplift campaign, a saved model, earlier
outputs) and checks the exit status, the single ``error:`` line and that every file is unchanged.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.experiments.conftest import campaign
from tests.hostile.conftest import PATHS, Case, events_frame, run_hostile, users_frame

NO_TRACK = ("--no-track",)
TRAIN = (
    "uplift",
    "train",
    "camp.csv",
    "--treatment-col",
    "treatment",
    "--control",
    "control",
    "--outcome-col",
    "conversion",
    "--n-estimators",
    "5",
    "--no-calibrate",
    "--no-track",
)


def csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False)


def paths_with(**changes: object) -> str:
    frame = PATHS.copy()
    for column, values in changes.items():
        frame[column] = values
    return csv(frame)


def parquet(frame: pd.DataFrame):
    return lambda path: frame.to_parquet(path)


EVENTS = events_frame()
USERS = users_frame(EVENTS)
CAMP = campaign(900, seed=1)

# ------------------------------------------------------------------------------ path tables
PATH_TABLE_CASES = [
    Case("missing-file", ("attribute", "nope.csv", *NO_TRACK), r"'nope.csv' does not exist"),
    Case(
        "missing-path-column",
        ("attribute", "bad.csv", *NO_TRACK),
        r"required column 'path' is missing",
        {"bad.csv": csv(PATHS.rename(columns={"path": "journey"}))},
    ),
    Case(
        "typo-path-column",
        ("attribute", "bad.csv", *NO_TRACK),
        r"did you mean 'paht'",
        {"bad.csv": csv(PATHS.rename(columns={"path": "paht"}))},
    ),
    Case(
        "missing-conversions-column",
        ("attribute", "bad.csv", *NO_TRACK),
        r"'total_conversions' is missing",
        {"bad.csv": csv(PATHS.drop(columns=["total_conversions"]))},
    ),
    Case(
        "negative-conversions",
        ("attribute", "bad.csv", *NO_TRACK),
        r"total_conversions.*(negative|>= 0)",
        {"bad.csv": paths_with(total_conversions=[30, -1, 20, 3, 25])},
    ),
    Case(
        "text-conversions",
        ("attribute", "bad.csv", *NO_TRACK),
        r"total_conversions",
        {"bad.csv": paths_with(total_conversions=["30", "abc", "20", "3", "25"])},
    ),
    Case(
        "missing-conversion-count",
        ("attribute", "bad.csv", *NO_TRACK),
        r"total_conversions",
        {"bad.csv": paths_with(total_conversions=[30, None, 20, 3, 25])},
    ),
    Case(
        "infinite-nulls",
        ("attribute", "bad.csv", *NO_TRACK),
        r"total_null",
        {"bad.csv": paths_with(total_null=[50, np.inf, 30, 60, 45])},
    ),
    Case(
        "empty-path-cell",
        ("attribute", "bad.csv", *NO_TRACK),
        r"missing path|empty path",
        {"bad.csv": paths_with(path=["search > email", "", "social", "email", "search"])},
    ),
    Case(
        "doubled-separator",
        ("attribute", "bad.csv", *NO_TRACK),
        r"doubled separators",
        {"bad.csv": paths_with(path=["search >> email", "email", "social", "a", "search"])},
    ),
    Case(
        "header-only",
        ("attribute", "bad.csv", *NO_TRACK),
        r"empty",
        {"bad.csv": "path,total_conversions,total_null\n"},
    ),
    Case(
        "zero-byte-file",
        ("attribute", "bad.csv", *NO_TRACK),
        r"bad.csv",
        {"bad.csv": b""},
    ),
    Case(
        "all-rows-zero",
        ("attribute", "bad.csv", *NO_TRACK),
        r"zero journeys",
        {"bad.csv": paths_with(total_conversions=[0] * 5, total_null=[0] * 5)},
    ),
    Case(
        "binary-garbage",
        ("attribute", "bad.parquet", *NO_TRACK),
        r"bad.parquet",
        {"bad.parquet": bytes(range(256)) * 4},
    ),
    Case(
        "semicolon-file-read-with-a-comma-delimiter",
        ("attribute", "bad.csv", "--delimiter", ",", *NO_TRACK),
        r"required column 'path' is missing .*looks delimited by ';'.*--delimiter ';'",
        {"bad.csv": PATHS.to_csv(index=False, sep=";")},
    ),
    Case(
        "path-column-all-missing",
        ("attribute", "bad.csv", *NO_TRACK),
        r"column 'path' has an empty path",
        {"bad.csv": paths_with(path=[None] * 5)},
    ),
    Case(
        "mixed-parquet-and-csv-path-tables",
        ("attribute", "mixed", *NO_TRACK),
        r"mixes Parquet and CSV",
        {"mixed/a.csv": csv(PATHS), "mixed/b.parquet": parquet(PATHS)},
    ),
    Case(
        "duplicated-path-column",
        ("attribute", "bad.csv", *NO_TRACK),
        r"column 'path' appears 2 times",
        {"bad.csv": "path,path,total_conversions,total_null\na,b,1,2\n"},
    ),
    Case(
        "value-column-missing",
        ("attribute", "paths.csv", "--value-col", "revenue", *NO_TRACK),
        r"'revenue'",
    ),
    Case(
        "empty-directory",
        ("attribute", "empty_dir", *NO_TRACK),
        r"empty_dir",
        {"empty_dir/readme.txt": "nothing here"},
    ),
    Case(
        "mixed-parquet-and-csv-directory",
        ("attribute", "mixed", "--events", *NO_TRACK),
        r"mixes Parquet and CSV",
        {"mixed/a.csv": csv(EVENTS.head(20)), "mixed/b.parquet": parquet(EVENTS.tail(20))},
    ),
]

# ------------------------------------------------------------------------------ attribute options
OPTION_CASES = [
    Case("order-zero", ("attribute", "paths.csv", "--order", "0", *NO_TRACK), r"--order"),
    Case("order-text", ("attribute", "paths.csv", "--order", "two", *NO_TRACK), r"'two'"),
    Case("order-too-high", ("attribute", "paths.csv", "--order", "13", *NO_TRACK), r"12"),
    Case(
        "position-weights-two",
        ("attribute", "paths.csv", "-m", "position_based", "--position-weights", "1,2", *NO_TRACK),
        r"three comma-separated numbers",
    ),
    Case(
        "position-weights-text",
        ("attribute", "paths.csv", "-m", "position_based", "--position-weights", "a,b,c"),
        r"'a,b,c'",
    ),
    Case(
        "position-weights-negative",
        ("attribute", "paths.csv", "-m", "position_based", "--position-weights", "-1,0,5"),
        r"non-negative",
    ),
    Case(
        "position-weights-no-ends",
        ("attribute", "paths.csv", "-m", "position_based", "--position-weights", "0,5,0"),
        r"first and last",
    ),
    Case(
        "half-life-text-on-path-table",
        ("attribute", "paths.csv", "-m", "time_decay", "--half-life", "soon", *NO_TRACK),
        r"half_life",
    ),
    Case(
        "half-life-zero",
        ("attribute", "paths.csv", "-m", "time_decay", "--half-life", "0", *NO_TRACK),
        r"positive",
    ),
    Case(
        "half-life-number-on-events",
        ("attribute", "events.csv", "--events", "-m", "time_decay", "--half-life", "3"),
        r"duration",
    ),
    Case("bootstrap-five", ("attribute", "paths.csv", "--bootstrap", "5"), r"at least 20"),
    Case(
        "lookback-on-path-table",
        ("attribute", "paths.csv", "--lookback", "30d", *NO_TRACK),
        r"--events",
    ),
    Case(
        "users-on-path-table",
        ("attribute", "paths.csv", "--users", "users.csv", *NO_TRACK),
        r"--users needs an event log",
    ),
    Case(
        "causal-without-users",
        ("attribute", "events.csv", "--events", "-m", "causal", *NO_TRACK),
        r"needs a user table",
    ),
    Case(
        "register-without-markov",
        ("attribute", "paths.csv", "-m", "linear", "--register"),
        r"add -m markov",
    ),
    Case(
        "register-without-tracking",
        ("attribute", "paths.csv", "--register", *NO_TRACK),
        r"--register needs tracking",
    ),
    Case(
        "output-is-a-directory",
        ("attribute", "paths.csv", "-o", "report", *NO_TRACK),
        r"is a directory",
    ),
    Case(
        "output-parent-is-a-file",
        ("attribute", "paths.csv", "-o", "afile/out.csv", *NO_TRACK),
        r"'afile/out.csv' cannot be created.*is a file",
    ),
    Case(
        "memory-limit-lots",
        ("attribute", "events.csv", "--events", "--memory-limit", "lots", *NO_TRACK),
        r"memory_limit 'lots'",
    ),
    Case(
        "spark-with-users",
        ("attribute", "events.csv", "--events", "--engine", "spark", "--users", "users.csv"),
        r"spark engine",
    ),
    Case(
        "unknown-model",
        ("attribute", "paths.csv", "-m", "magic", *NO_TRACK),
        r"magic",
    ),
    Case(
        "permutations-too-few",
        ("attribute", "paths.csv", "--permutations", "3", *NO_TRACK),
        r"permutations",
    ),
]

# ------------------------------------------------------------------------------ tracking
TRACKING_CASES = [
    Case(
        f"tracking-uri-{name}",
        ("attribute", "paths.csv", "--tracking-uri", uri),
        match,
    )
    for name, uri, match in [
        ("ftp", "ftp://host/x", r"unsupported scheme 'ftp'"),
        ("made-up-scheme", "foo:bar", r"unsupported scheme 'foo'"),
        ("s3", "s3://bucket/runs", r"unsupported scheme 's3'"),
        ("file-store", "./mlruns", r"file store"),
        ("file-uri", "file:///tmp/mlruns", r"file store"),
        ("refused-server", "http://127.0.0.1:9", r"cannot reach the MLflow tracking server"),
    ]
] + [
    Case(
        "uplift-train-tracking-uri",
        (*TRAIN[:-1], "--tracking-uri", "gopher://x"),
        r"unsupported scheme 'gopher'",
    ),
    Case(
        "uplift-register-bad-name",
        (
            *TRAIN[:-1],
            "--tracking-uri",
            "sqlite:///db/mlflow.db",
            "--register",
            "--model-name",
            "a/b",
        ),
        r"registered model name 'a/b'",
    ),
]


# ------------------------------------------------------------------------------ event logs
def events_with(**changes: object) -> str:
    frame = EVENTS.copy()
    for column, values in changes.items():
        frame[column] = values
    return csv(frame)


def _events_cases(engine: str) -> list[Case]:
    base = ("attribute", "bad.csv", "--events", "--engine", engine, *NO_TRACK)
    n = len(EVENTS)
    conv = EVENTS["conversion"].to_numpy().copy()
    return [
        Case(
            f"{engine}-missing-user-column",
            base,
            r"'user_id'",
            {"bad.csv": csv(EVENTS.drop(columns=["user_id"]))},
        ),
        Case(
            f"{engine}-missing-timestamp-column",
            base,
            r"'timestamp'",
            {"bad.csv": csv(EVENTS.drop(columns=["timestamp"]))},
        ),
        Case(
            f"{engine}-missing-channel-column",
            base,
            r"'channel'",
            {"bad.csv": csv(EVENTS.drop(columns=["channel"]))},
        ),
        Case(
            f"{engine}-conversion-two",
            base,
            r"conversion",
            {"bad.csv": events_with(conversion=np.where(np.arange(n) == 3, 2, conv))},
        ),
        Case(
            f"{engine}-conversion-text",
            base,
            r"conversion",
            {"bad.csv": events_with(conversion=np.where(np.arange(n) == 3, "yes", conv))},
        ),
        Case(
            f"{engine}-unparseable-timestamp",
            base,
            r"timestamp",
            {
                "bad.csv": events_with(
                    timestamp=np.where(np.arange(n) == 5, "next tuesday", EVENTS["timestamp"])
                )
            },
        ),
        Case(
            f"{engine}-missing-user",
            base,
            r"user_id",
            {"bad.csv": events_with(user_id=np.where(np.arange(n) == 4, None, EVENTS["user_id"]))},
        ),
        Case(
            f"{engine}-empty-channel-on-touch",
            base,
            r"channel",
            {
                "bad.csv": events_with(
                    channel=np.where((np.arange(n) == 0) & (conv == 0), "", EVENTS["channel"])
                )
            },
        ),
        Case(
            f"{engine}-lookback-text",
            (*base, "--lookback", "a while"),
            r"a while",
            {"bad.csv": csv(EVENTS)},
        ),
        Case(
            f"{engine}-lookback-negative",
            (*base, "--lookback", "-5d"),
            r"-5d|positive",
            {"bad.csv": csv(EVENTS)},
        ),
        Case(
            f"{engine}-header-only",
            base,
            r"empty|no rows|no events",
            {"bad.csv": "user_id,timestamp,channel,conversion\n"},
        ),
        Case(
            f"{engine}-duplicated-channel-column",
            base,
            r"'channel' appears 2 times",
            {"bad.csv": "user_id,timestamp,channel,channel,conversion\nu,2024-01-01,a,b,0\n"},
        ),
        Case(
            f"{engine}-glob-matches-nothing",
            ("attribute", "nothing*.csv", "--events", "--engine", engine, *NO_TRACK),
            r"nothing\*\.csv",
        ),
    ]


EVENT_CASES = _events_cases("duckdb") + _events_cases("pandas")

# ------------------------------------------------------------------------------ user tables
CAUSAL = ("attribute", "events.csv", "--events", "-m", "causal", "--users", "bad.csv", *NO_TRACK)
USER_CASES = [
    Case("users-file-missing", (*CAUSAL[:-2], "nope.csv", *NO_TRACK), r"nope.csv"),
    Case(
        "users-missing-key",
        CAUSAL,
        r"'user_id'",
        {"bad.csv": csv(USERS.rename(columns={"user_id": "customer"}))},
    ),
    Case(
        "users-duplicate-rows",
        CAUSAL,
        r"duplicate|more than once|twice",
        {"bad.csv": csv(pd.concat([USERS, USERS.head(1)]))},
    ),
    Case(
        "users-unknown-covariate",
        (*CAUSAL, "--covariates", "scroe"),
        r"scroe",
        {"bad.csv": csv(USERS)},
    ),
    Case(
        "users-header-only",
        CAUSAL,
        r"empty|no rows|user",
        {"bad.csv": "user_id,score\n"},
    ),
    Case(
        "users-missing-key-value",
        CAUSAL,
        r"user_id",
        {"bad.csv": csv(USERS.assign(user_id=[None, *USERS["user_id"].iloc[1:]]))},
    ),
    Case(
        "users-text-covariate-everywhere",
        (*CAUSAL, "--covariates", "score"),
        r"covariate column is constant",
        {"bad.csv": csv(USERS.assign(score="high"))},
    ),
]


# ------------------------------------------------------------------------------ uplift data
def camp_with(**changes: object) -> str:
    frame = CAMP.copy()
    for column, values in changes.items():
        frame[column] = values
    return csv(frame)


BAD_TRAIN = ("uplift", "train", "bad.csv", *TRAIN[3:])
UPLIFT_DATA_CASES = [
    Case(
        "treatment-column-missing",
        BAD_TRAIN,
        r"'treatment'",
        {"bad.csv": csv(CAMP.drop(columns=["treatment"]))},
    ),
    Case(
        "control-arm-absent",
        BAD_TRAIN,
        r"'control'",
        {"bad.csv": camp_with(treatment=CAMP["treatment"].replace("control", "ctrl"))},
    ),
    Case(
        "outcome-column-missing",
        BAD_TRAIN,
        r"'conversion'",
        {"bad.csv": csv(CAMP.drop(columns=["conversion"]))},
    ),
    Case(
        "outcome-text",
        BAD_TRAIN,
        r"conversion",
        {"bad.csv": camp_with(conversion=np.where(np.arange(900) == 7, "yes", CAMP["conversion"]))},
    ),
    Case(
        "outcome-missing-value",
        BAD_TRAIN,
        r"conversion",
        {
            "bad.csv": camp_with(
                conversion=np.where(np.arange(900) == 7, np.nan, CAMP["conversion"])
            )
        },
    ),
    Case(
        "outcome-constant",
        BAD_TRAIN,
        r"single value",
        {"bad.csv": camp_with(conversion=0)},
    ),
    Case(
        "treatment-missing-value",
        BAD_TRAIN,
        r"treatment",
        {"bad.csv": camp_with(treatment=np.where(np.arange(900) == 3, None, CAMP["treatment"]))},
    ),
    Case(
        "only-the-control-arm",
        BAD_TRAIN,
        r"arm|treated",
        {"bad.csv": camp_with(treatment="control")},
    ),
    Case(
        "tiny-data",
        BAD_TRAIN,
        r"row",
        {"bad.csv": csv(CAMP.head(12))},
    ),
    Case(
        "tiny-data-reaching-lightgbm",
        ("uplift", "train", "bad.csv", *TRAIN[3:-2], "--no-track", "--min-rows-per-arm", "1"),
        r"arm 'control' has 2 row\(s\), fewer than the 3 folds",
        {
            "bad.csv": csv(
                pd.DataFrame(
                    {
                        "x1": np.arange(9) / 10,
                        "x2": list("ababababa"),
                        "x3": [1, 2, 3, 1, 2, 3, 1, 2, 3],
                        "treatment": [
                            "control",
                            "control",
                            "email",
                            "email",
                            "sms",
                            "sms",
                            "control",
                            "email",
                            "sms",
                        ],
                        "conversion": [0, 1, 0, 1, 0, 1, 1, 0, 1],
                    }
                )
            )
        },
    ),
    Case(
        "tiny-data-constant-outcome",
        (*BAD_TRAIN, "--min-rows-per-arm", "1"),
        r"single value 0.0 in all 5 training rows",
        {"bad.csv": csv(CAMP.head(7))},
    ),
    Case(
        "feature-column-missing",
        (*TRAIN, "--feature-cols", "x1,x9"),
        r"x9",
    ),
    Case(
        "binary-outcome-continuous",
        (*BAD_TRAIN, "--outcome-type", "binary"),
        r"conversion",
        {"bad.csv": camp_with(conversion=CAMP["conversion"] * 2.5)},
    ),
    Case(
        "uplift-forest-continuous",
        (*BAD_TRAIN, "--learner", "uplift_rf"),
        r"binary outcomes only",
        {"bad.csv": camp_with(conversion=CAMP["conversion"] * 2.5 + 0.1)},
    ),
    Case("empty-data-file", BAD_TRAIN, r"bad.csv", {"bad.csv": b""}),
    Case(
        "duplicated-treatment-column",
        BAD_TRAIN,
        r"'treatment' appears 2 times",
        {"bad.csv": csv(CAMP.assign(t2=CAMP["treatment"])).replace(",t2", ",treatment", 1)},
    ),
    Case(
        "duplicated-user-column",
        CAUSAL,
        r"'user_id' appears 2 times",
        {"bad.csv": csv(USERS.assign(u2=USERS["user_id"])).replace(",u2", ",user_id", 1)},
    ),
    Case(
        "data-is-garbage-parquet",
        ("uplift", "train", "bad.parquet", *TRAIN[3:]),
        r"bad.parquet",
        {"bad.parquet": b"PAR1 this is not parquet PAR1"},
    ),
]

# ------------------------------------------------------------------------------ uplift options
UPLIFT_OPTION_CASES = [
    Case(f"train-{name}", (*TRAIN, *extra), match)
    for name, extra, match in [
        ("ci-above-one", ("--ci", "1.5"), r"--ci"),
        ("ci-zero", ("--ci", "0"), r"--ci"),
        ("n-bootstrap-negative", ("--n-bootstrap", "-3"), r"--n-bootstrap"),
        ("test-size-two", ("--test-size", "2"), r"test_size"),
        ("test-size-zero", ("--test-size", "0"), r"test_size"),
        ("seed-negative", ("--seed", "-1"), r"--seed"),
        ("n-estimators-zero", ("--n-estimators", "0"), r"n_estimators"),
        ("learning-rate-zero", ("--learning-rate", "0"), r"learning_rate"),
        ("n-folds-one-with-calibration", ("--calibrate", "--n-folds", "1"), r"n_folds"),
        ("auto-learners-without-auto", ("--auto-learners", "t,x"), r"--learner auto"),
        ("auto-learners-unknown", ("--learner", "auto", "--auto-learners", "zz"), r"zz"),
        ("cost-without-value", ("--cost-per-contact", "1"), r"--value-per-conversion"),
        (
            "cost-not-a-number",
            ("--value-per-conversion", "5", "--cost-per-contact", "x=abc"),
            r"'abc' is not a number",
        ),
        ("assignment-prob-text", ("--assignment-prob", "email"), r"ARM=VALUE"),
        ("model-dir-is-a-file", ("--model-dir", "afile"), r"Directory 'afile' is a file"),
        ("model-dir-below-a-file", ("--model-dir", "afile/m"), r"is a file"),
        ("output-is-a-directory", ("-o", "report"), r"is a directory"),
        ("register-without-tracking", ("--register",), r"--register needs tracking"),
        ("learner-unknown", ("--learner", "q"), r"'q'"),
    ]
]

EVAL = ("uplift", "evaluate", "camp.csv", "--model-dir", "model")
TARGET = ("uplift", "target", "camp.csv", "--model-dir", "model", "--value-per-conversion", "10")
CURVE = ("uplift", "curve", "camp.csv", "--model-dir", "model", "--cost-per-contact", "1")
UPLIFT_USE_CASES = [
    Case("evaluate-ci", (*EVAL, "--ci", "2"), r"--ci"),
    Case("evaluate-plot-dir", (*EVAL, "--plot", "report"), r"'--plot'.* is a directory"),
    Case("evaluate-plot-below-file", (*EVAL, "--plot", "afile/q.png"), r"is a file"),
    Case(
        "evaluate-missing-feature",
        ("uplift", "evaluate", "bad.csv", "--model-dir", "model"),
        r"x2",
        {"bad.csv": csv(CAMP.drop(columns=["x2"]))},
    ),
    Case(
        "evaluate-text-in-numeric-feature",
        ("uplift", "evaluate", "bad.csv", "--model-dir", "model"),
        r"x1",
        {"bad.csv": camp_with(x1=np.where(np.arange(900) == 2, "abc", CAMP["x1"]))},
    ),
    Case(
        "evaluate-missing-treatment",
        ("uplift", "evaluate", "bad.csv", "--model-dir", "model"),
        r"treatment",
        {"bad.csv": csv(CAMP.drop(columns=["treatment"]))},
    ),
    Case(
        "evaluate-model-dir-missing",
        ("uplift", "evaluate", "camp.csv", "--model-dir", "nope"),
        r"not a saved uplift model directory",
    ),
    Case("target-budget-zero", (*TARGET, "--budget", "0"), r"budget"),
    Case("target-budget-negative", (*TARGET, "--budget", "-5"), r"budget"),
    Case(
        "target-money-without-cost",
        (*TARGET, "--budget", "100", "--budget-type", "money"),
        r"needs --cost-per-contact",
    ),
    Case(
        "target-money-free-contacts",
        (*TARGET, "--budget", "100", "--budget-type", "money", "--cost-per-contact", "0"),
        r"money budget needs a cost per contact",
    ),
    Case(
        "target-value-negative",
        (
            "uplift",
            "target",
            "camp.csv",
            "--model-dir",
            "model",
            "--budget",
            "10",
            "--value-per-conversion",
            "-1",
        ),
        r"value_per_conversion",
    ),
    Case(
        "target-cost-text", (*TARGET, "--budget", "10", "--cost-per-contact", "cheap"), r"'cheap'"
    ),
    Case(
        "target-plan-output-below-file",
        (*TARGET, "--budget", "10", "--plan-output", "afile/plan.csv"),
        r"--plan-output.*is a file",
    ),
    Case("target-output-dir", (*TARGET, "--budget", "10", "-o", "sim"), r"is a directory"),
    Case("curve-grid-one", (*CURVE, "--grid-size", "1"), r"grid_size"),
    Case("curve-cost-col-missing", (*CURVE, "--cost-col", "fee"), r"'fee'"),
    Case("curve-plot-below-file", (*CURVE, "--plot", "afile/c.png"), r"is a file"),
    Case("curve-ci", (*CURVE, "--ci", "-0.5"), r"--ci"),
]


# ------------------------------------------------------------------------------ model directories
def _edit_metadata(edit):
    def write(path: Path) -> None:  # path: model/metadata.json
        meta = json.loads(path.read_text())
        edit(meta)
        path.write_text(json.dumps(meta))

    return write


def _first_lgbm(root: Path) -> Path:
    return sorted((root / "model").glob("lgbm-*.txt"))[0]


def _truncate_text_model(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


MODEL_DIR_CASES = [
    Case(
        "metadata-not-json",
        EVAL,
        r"metadata.json' is not valid JSON",
        {"model/metadata.json": "{not json"},
    ),
    Case(
        "metadata-truncated",
        EVAL,
        r"metadata.json' is not valid JSON",
        {"model/metadata.json": lambda p: p.write_text(p.read_text()[:200])},
    ),
    Case(
        "metadata-a-list",
        EVAL,
        r"does not hold a JSON object",
        {"model/metadata.json": "[1, 2, 3]"},
    ),
    Case(
        "metadata-binary",
        EVAL,
        r"metadata.json",
        {"model/metadata.json": b"\xff\xfe\x00garbage"},
    ),
    Case(
        "format-version-1-pickle",
        EVAL,
        r"no longer loads because unpickling can run code",
        {"model/metadata.json": _edit_metadata(lambda m: m.update(format_version=1))},
    ),
    Case(
        "format-version-99",
        EVAL,
        r"version 99",
        {"model/metadata.json": _edit_metadata(lambda m: m.update(format_version=99))},
    ),
    Case(
        "format-name-other",
        EVAL,
        r"format 'sklearn'",
        {"model/metadata.json": _edit_metadata(lambda m: m.update(format="sklearn"))},
    ),
    Case(
        "files-table-missing",
        EVAL,
        r"no 'files' table",
        {"model/metadata.json": _edit_metadata(lambda m: m.pop("files"))},
    ),
    Case(
        "model-file-outside-the-directory",
        EVAL,
        r"refers to '\.\./camp\.csv'",
        {
            "model/metadata.json": _edit_metadata(
                lambda m: m["model_files"]["learner"].update(model_c="../camp.csv")
            )
        },
    ),
    Case(
        "params-unknown",
        EVAL,
        r"metadata.json' is malformed",
        {"model/metadata.json": _edit_metadata(lambda m: m["params"].update(evil=1))},
    ),
    Case(
        "schema-missing",
        EVAL,
        r"metadata.json' is malformed",
        {"model/metadata.json": _edit_metadata(lambda m: m.pop("schema"))},
    ),
    Case(
        "arms-do-not-match-models",
        EVAL,
        r"lists models for arms",
        {"model/metadata.json": _edit_metadata(lambda m: m.update(arms=["email"]))},
    ),
    Case(
        "out-of-fold-replaced-by-pickle",
        (
            "uplift",
            "target",
            "camp.csv",
            "--model-dir",
            "model",
            "--budget",
            "10",
            "--value-per-conversion",
            "10",
        ),
        r"out_of_fold.npz' does not match the SHA-256",
        {"model/out_of_fold.npz": pickle.dumps({"uplift": [1, 2]})},
    ),
    Case(
        "metadata-missing",
        ("uplift", "evaluate", "camp.csv", "--model-dir", "report"),
        r"not a saved uplift model directory",
    ),
    Case(
        "model-dir-is-a-file",
        ("uplift", "evaluate", "camp.csv", "--model-dir", "afile"),
        r"afile",
    ),
]


def _model_file_cases() -> list[Case]:
    cases = []
    for name, writer, match in [
        ("truncated", _truncate_text_model, r"does not match the SHA-256"),
        ("emptied", lambda p: p.write_bytes(b""), r"does not match the SHA-256"),
        ("deleted", lambda p: p.unlink(), r"cannot read model file"),
        ("replaced-by-pickle", lambda p: p.write_bytes(pickle.dumps(object)), r"SHA-256"),
    ]:
        for command in (EVAL, CURVE):
            cases.append(
                Case(
                    f"lgbm-file-{name}-{command[1]}",
                    command,
                    match,
                    {"_model_file": lambda root, w=writer: w(_first_lgbm(root))},
                )
            )
    return cases


def _rehashed_garbage(root: Path) -> None:
    """A LightGBM file replaced by garbage whose hash is recorded: parsed, and refused."""
    import hashlib

    target = _first_lgbm(root)
    target.write_bytes(b"tree\nnot a model\n")
    meta_path = root / "model" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["files"][target.name] = hashlib.sha256(target.read_bytes()).hexdigest()
    meta_path.write_text(json.dumps(meta))


def _rehashed_object_array(root: Path) -> None:
    """The out-of-fold file replaced by an object array (a pickle inside .npz), hash recorded."""
    import hashlib
    import io

    buffer = io.BytesIO()
    np.savez(buffer, uplift=np.array([{"a": 1}], dtype=object))
    target = root / "model" / "out_of_fold.npz"
    target.write_bytes(buffer.getvalue())
    meta_path = root / "model" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["files"][target.name] = hashlib.sha256(target.read_bytes()).hexdigest()
    meta_path.write_text(json.dumps(meta))


MODEL_FILE_CASES = [
    *_model_file_cases(),
    Case(
        "lgbm-garbage-with-matching-hash",
        EVAL,
        r"is not a LightGBM model",
        {"_model_file": _rehashed_garbage},
    ),
    Case(
        "npz-object-array-with-matching-hash",
        (
            "uplift",
            "target",
            "camp.csv",
            "--model-dir",
            "model",
            "--budget",
            "10",
            "--value-per-conversion",
            "10",
        ),
        r"out_of_fold.npz' is not a valid array file",
        {"_model_file": _rehashed_object_array},
    ),
]

# ------------------------------------------------------------------------------ other commands
OTHER_CASES = [
    Case("simulate-out-dir-is-a-file", ("simulate", "afile", "--users", "50"), r"is a file"),
    Case("simulate-out-dir-below-a-file", ("simulate", "afile/sim", "--users", "50"), r"is a file"),
    Case("simulate-existing-dataset", ("simulate", "sim", "--users", "50"), r"--force"),
    Case(
        "simulate-unknown-lift-test",
        ("simulate", "new_sim", "--users", "50", "--lift-test", "carrier pigeon"),
        r"carrier pigeon",
    ),
    Case(
        "simulate-proxy-quality", ("simulate", "new_sim", "--proxy-quality", "2"), r"proxy-quality"
    ),
    Case("report-out-is-a-file", ("report", "paths.csv", "--out", "afile"), r"is a file"),
    Case(
        "report-costs-missing",
        ("report", "paths.csv", "--out", "r2", "--costs", "nope.csv"),
        r"nope.csv",
    ),
    Case(
        "report-bootstrap-five",
        ("report", "paths.csv", "--out", "r2", "--bootstrap", "5"),
        r"at least 20",
    ),
    Case(
        "report-arm-without-run",
        ("report", "paths.csv", "--out", "r2", "--arm", "x"),
        r"go with --uplift-run",
    ),
    Case(
        "report-transfer-without-causal",
        ("report", "paths.csv", "--out", "r2", "--untested", "transfer"),
        r"add -m causal",
    ),
    Case(
        "report-lift-tests-wrong-table",
        ("report", "paths.csv", "--out", "r2", "--lift-tests", "paths.csv"),
        r"lift tests: required column 'channel' is missing",
    ),
    Case(
        "report-costs-wrong-table",
        ("report", "paths.csv", "--out", "r2", "--costs", "paths.csv"),
        r"cost table: required column 'channel' is missing",
    ),
    Case(
        "report-split-date-garbage",
        ("report", "events.csv", "--events", "--out", "r2", "--split-date", "garbage"),
        r"'garbage' is not a date",
    ),
    Case(
        "report-cost-col-missing",
        ("report", "events.csv", "--events", "--out", "r2", "--cost-col", "nope"),
        r"'nope' is missing",
    ),
    Case(
        "report-max-shift",
        ("report", "paths.csv", "--out", "r2", "--max-shift", "2"),
        r"--max-shift",
    ),
    Case(
        "plan-tests-lift-tests-wrong-table",
        ("plan-tests", "events.csv", "--users", "users.csv", "--lift-tests", "paths.csv"),
        r"lift tests: required column 'channel' is missing",
    ),
    Case(
        "plan-tests-holdout-zero",
        ("plan-tests", "events.csv", "--users", "users.csv", "--holdout", "0"),
        r"--holdout",
    ),
    Case(
        "plan-tests-users-missing",
        ("plan-tests", "events.csv", "--users", "nope.csv"),
        r"nope.csv",
    ),
    Case(
        "plan-tests-output-below-file",
        ("plan-tests", "events.csv", "--users", "users.csv", "-o", "afile/plan.csv"),
        r"is a file",
    ),
    Case("demo-out-below-a-file", ("demo", "--out", "afile/demo"), r"is a file"),
    Case(
        "demo-bad-tracking-uri",
        ("demo", "--out", "d", "--tracking-uri", "ftp://x"),
        r"unsupported scheme",
    ),
    Case("retrain-config-missing", ("retrain", "--config", "nope.yaml"), r"nope.yaml"),
    Case(
        "score-output-below-a-file",
        ("uplift", "score", "camp.csv", "--model", "models:/m@champion", "--output", "afile/o"),
        r"--output 'afile/o' cannot be created.*is a file",
    ),
    Case(
        "score-tracking-uri",
        (
            "uplift",
            "score",
            "camp.csv",
            "--model",
            "models:/m@champion",
            "--output",
            "o",
            "--tracking-uri",
            "ftp://x",
        ),
        r"unsupported scheme 'ftp'",
    ),
    Case(
        "score-tracking-server-refused",
        (
            "uplift",
            "score",
            "camp.csv",
            "--model",
            "models:/m@champion",
            "--output",
            "o",
            "--tracking-uri",
            "http://127.0.0.1:9",
        ),
        r"cannot reach the MLflow tracking server 'http://127.0.0.1:9'",
    ),
]


def _config(text: str) -> dict[str, str]:
    return {"job.yaml": text}


GOOD_CONFIG = """\
data:
  path: camp.csv
  treatment_col: treatment
  control: control
  outcome_col: conversion
model:
  learner: t
  params: {n_estimators: 5}
evaluation:
  n_bootstrap: 20
registry:
  tracking_uri: sqlite:///db/mlflow.db
"""
RETRAIN = ("retrain", "--config", "job.yaml")
CONFIG_CASES = [
    Case("config-not-yaml", RETRAIN, r"not valid YAML", _config("data: [unclosed\n")),
    Case("config-a-list", RETRAIN, r"must be a mapping", _config("- a\n- b\n")),
    Case(
        "config-python-tag",
        RETRAIN,
        r"not valid YAML",
        _config("data: !!python/object/apply:os.system ['touch pwned']\n"),
    ),
    Case(
        "config-unknown-section",
        RETRAIN,
        r"did you mean 'model'",
        _config(GOOD_CONFIG + "modle: {}\n"),
    ),
    Case(
        "config-unknown-key",
        RETRAIN,
        r"evaluation.metrik.*did you mean 'metric'",
        _config(GOOD_CONFIG.replace("n_bootstrap: 20", "n_bootstrap: 20\n  metrik: qini")),
    ),
    Case(
        "config-unknown-param",
        RETRAIN,
        r"n_estimator",
        _config(GOOD_CONFIG.replace("n_estimators: 5", "n_estimator: 5")),
    ),
    Case(
        "config-negative-margin",
        RETRAIN,
        r"margin",
        _config(GOOD_CONFIG.replace("n_bootstrap: 20", "n_bootstrap: 20\n  margin: -0.1")),
    ),
    Case(
        "config-missing-required",
        RETRAIN,
        r"treatment_col",
        _config(GOOD_CONFIG.replace("  treatment_col: treatment\n", "")),
    ),
    Case(
        "config-data-file-missing",
        RETRAIN,
        r"nope.csv",
        _config(GOOD_CONFIG.replace("path: camp.csv", "path: nope.csv")),
    ),
    Case(
        "config-wrong-type",
        RETRAIN,
        r"n_bootstrap",
        _config(GOOD_CONFIG.replace("n_bootstrap: 20", "n_bootstrap: many")),
    ),
    Case(
        "config-unsupported-tracking-uri",
        RETRAIN,
        r"unsupported scheme",
        _config(GOOD_CONFIG.replace("sqlite:///db/mlflow.db", "redis://x")),
    ),
    Case(
        "config-registry-name-refused",
        RETRAIN,
        r"registry.name: registered model name 'bad/name' is refused",
        _config(GOOD_CONFIG.replace("registry:\n", "registry:\n  name: bad/name\n")),
    ),
    Case(
        "config-learner-unknown",
        RETRAIN,
        r"learner",
        _config(GOOD_CONFIG.replace("learner: t", "learner: q")),
    ),
]

ALL_CASES = (
    PATH_TABLE_CASES
    + OPTION_CASES
    + TRACKING_CASES
    + EVENT_CASES
    + USER_CASES
    + UPLIFT_DATA_CASES
    + UPLIFT_OPTION_CASES
    + UPLIFT_USE_CASES
    + MODEL_DIR_CASES
    + MODEL_FILE_CASES
    + OTHER_CASES
    + CONFIG_CASES
)


def test_the_suite_has_unique_ids_and_at_least_150_cases():
    ids = [c.id for c in ALL_CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 150


@pytest.mark.parametrize("case", [c.param() for c in ALL_CASES])
def test_hostile_input_is_refused_in_one_line_and_changes_nothing(workdir: Path, case: Case):
    """The command exits 2 with one line naming the problem, and no file changed."""
    files = dict(case.files)
    special = files.pop("_model_file", None)
    if special is not None:
        special(workdir)
    run_hostile(workdir, Case(case.id, case.argv, case.match, files, case.code))
