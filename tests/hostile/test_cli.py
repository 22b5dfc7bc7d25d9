"""Hostile inputs through every command: exit 2, one line naming the problem, no file changed.

Each case is a :class:`~tests.hostile.conftest.Case`; :func:`run_hostile` runs it in a copy of the
valid inputs (a path table, an event log, a user table, an uplift campaign, a saved model, earlier
outputs) and checks the exit status, the single ``error:`` line and that every file is unchanged.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.experiments.conftest import campaign
from tests.hostile.conftest import (
    PATHS,
    Case,
    events_frame,
    run_hostile,
    uplift_train,
    users_frame,
)


def train(data: str = "camp.csv", options: str = "", *, track: bool = False) -> tuple[str, ...]:
    """``uplift train`` of a campaign table with a small uncalibrated model, then ``options``."""
    small = "--n-estimators 5 --no-calibrate" + ("" if track else " --no-track")
    return tuple(uplift_train(data, small, options))


def with_file(argv: str | tuple[str, ...], rows, name: str = "bad.csv") -> list[Case]:
    """One case per row ``(id, match, content)``: ``argv`` run with file ``name`` = ``content``."""
    return [Case(id_, argv, match, {name: content}) for id_, match, content in rows]


def csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False)


def parquet(frame: pd.DataFrame):
    return lambda path: frame.to_parquet(path)


EVENTS = events_frame()
USERS = users_frame(EVENTS)
CAMP = campaign(900, seed=1)

# ------------------------------------------------------------------------------ path tables
PATH_TABLE_CASES = [
    Case("missing-file", "attribute nope.csv --no-track", r"'nope.csv' does not exist"),
    *with_file(
        "attribute bad.csv --no-track",
        [
            (
                "missing-path-column",
                r"required column 'path' is missing",
                csv(PATHS.rename(columns={"path": "journey"})),
            ),
            (
                "typo-path-column",
                r"did you mean 'paht'",
                csv(PATHS.rename(columns={"path": "paht"})),
            ),
            (
                "missing-conversions-column",
                r"'total_conversions' is missing",
                csv(PATHS.drop(columns=["total_conversions"])),
            ),
            (
                "negative-conversions",
                r"total_conversions.*(negative|>= 0)",
                csv(PATHS.assign(total_conversions=[30, -1, 20, 3, 25])),
            ),
            (
                "text-conversions",
                r"total_conversions",
                csv(PATHS.assign(total_conversions=["30", "abc", "20", "3", "25"])),
            ),
            (
                "missing-conversion-count",
                r"total_conversions",
                csv(PATHS.assign(total_conversions=[30, None, 20, 3, 25])),
            ),
            (
                "infinite-nulls",
                r"total_null",
                csv(PATHS.assign(total_null=[50, np.inf, 30, 60, 45])),
            ),
            (
                "empty-path-cell",
                r"missing path|empty path",
                csv(PATHS.assign(path=["search > email", "", "social", "email", "search"])),
            ),
            (
                "doubled-separator",
                r"doubled separators",
                csv(PATHS.assign(path=["search >> email", "email", "social", "a", "search"])),
            ),
            ("header-only", r"empty", "path,total_conversions,total_null\n"),
            ("zero-byte-file", r"bad.csv", b""),
            (
                "all-rows-zero",
                r"zero journeys",
                csv(PATHS.assign(total_conversions=[0] * 5, total_null=[0] * 5)),
            ),
            (
                "path-column-all-missing",
                r"column 'path' has an empty path",
                csv(PATHS.assign(path=[None] * 5)),
            ),
            (
                "duplicated-path-column",
                r"column 'path' appears 2 times",
                "path,path,total_conversions,total_null\na,b,1,2\n",
            ),
        ],
    ),
    Case(
        "binary-garbage",
        "attribute bad.parquet --no-track",
        r"bad.parquet",
        {"bad.parquet": bytes(range(256)) * 4},
    ),
    Case(
        "semicolon-file-read-with-a-comma-delimiter",
        "attribute bad.csv --delimiter , --no-track",
        r"required column 'path' is missing .*looks delimited by ';'.*--delimiter ';'",
        {"bad.csv": PATHS.to_csv(index=False, sep=";")},
    ),
    Case(
        "mixed-parquet-and-csv-path-tables",
        "attribute mixed --no-track",
        r"mixes Parquet and CSV",
        {"mixed/a.csv": csv(PATHS), "mixed/b.parquet": parquet(PATHS)},
    ),
    Case(
        "value-column-missing", "attribute paths.csv --value-col revenue --no-track", r"'revenue'"
    ),
    Case(
        "empty-directory",
        "attribute empty_dir --no-track",
        r"empty_dir",
        {"empty_dir/readme.txt": "nothing here"},
    ),
    Case(
        "mixed-parquet-and-csv-directory",
        "attribute mixed --events --no-track",
        r"mixes Parquet and CSV",
        {"mixed/a.csv": csv(EVENTS.head(20)), "mixed/b.parquet": parquet(EVENTS.tail(20))},
    ),
]

# ------------------------------------------------------------------------------ attribute options
POSITION = "-m position_based --position-weights"
HALF_LIFE = "-m time_decay --half-life"
OPTION_CASES = [
    Case(id_, f"attribute {args}", match)
    for id_, args, match in [
        ("order-zero", "paths.csv --order 0 --no-track", r"--order"),
        ("order-text", "paths.csv --order two --no-track", r"'two'"),
        ("order-too-high", "paths.csv --order 13 --no-track", r"12"),
        (
            "position-weights-two",
            f"paths.csv {POSITION} 1,2 --no-track",
            r"three comma-separated numbers",
        ),
        ("position-weights-text", f"paths.csv {POSITION} a,b,c", r"'a,b,c'"),
        ("position-weights-negative", f"paths.csv {POSITION} -1,0,5", r"non-negative"),
        ("position-weights-no-ends", f"paths.csv {POSITION} 0,5,0", r"first and last"),
        ("half-life-text-on-path-table", f"paths.csv {HALF_LIFE} soon --no-track", r"half_life"),
        ("half-life-zero", f"paths.csv {HALF_LIFE} 0 --no-track", r"positive"),
        ("half-life-number-on-events", f"events.csv --events {HALF_LIFE} 3", r"duration"),
        ("bootstrap-five", "paths.csv --bootstrap 5", r"at least 20"),
        ("lookback-on-path-table", "paths.csv --lookback 30d --no-track", r"--events"),
        (
            "users-on-path-table",
            "paths.csv --users users.csv --no-track",
            r"--users needs an event log",
        ),
        ("causal-without-users", "events.csv --events -m causal --no-track", r"needs a user table"),
        ("register-without-markov", "paths.csv -m linear --register", r"add -m markov"),
        (
            "register-without-tracking",
            "paths.csv --register --no-track",
            r"--register needs tracking",
        ),
        ("output-is-a-directory", "paths.csv -o report --no-track", r"is a directory"),
        (
            "output-parent-is-a-file",
            "paths.csv -o afile/out.csv --no-track",
            r"'afile/out.csv' cannot be created.*is a file",
        ),
        (
            "memory-limit-lots",
            "events.csv --events --memory-limit lots --no-track",
            r"memory_limit 'lots'",
        ),
        (
            "spark-with-users",
            "events.csv --events --engine spark --users users.csv",
            r"spark engine",
        ),
        ("unknown-model", "paths.csv -m magic --no-track", r"magic"),
        ("permutations-too-few", "paths.csv --permutations 3 --no-track", r"permutations"),
    ]
]

# ------------------------------------------------------------------------------ tracking
TRACKING_CASES = [
    Case(f"tracking-uri-{name}", ("attribute", "paths.csv", "--tracking-uri", uri), match)
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
        train(options="--tracking-uri gopher://x", track=True),
        r"unsupported scheme 'gopher'",
    ),
    Case(
        "uplift-register-bad-name",
        train(
            options="--tracking-uri sqlite:///db/mlflow.db --register --model-name a/b", track=True
        ),
        r"registered model name 'a/b'",
    ),
]


# ------------------------------------------------------------------------------ event logs
def _events_cases(engine: str) -> list[Case]:
    base = f"attribute bad.csv --events --engine {engine} --no-track"
    n = len(EVENTS)
    conv = EVENTS["conversion"].to_numpy().copy()
    missing_columns = [
        (f"{engine}-missing-{name}-column", f"'{column}'", csv(EVENTS.drop(columns=[column])))
        for name, column in [
            ("user", "user_id"),
            ("timestamp", "timestamp"),
            ("channel", "channel"),
        ]
    ]
    bad_values = [
        (
            f"{engine}-conversion-two",
            r"conversion",
            csv(EVENTS.assign(conversion=np.where(np.arange(n) == 3, 2, conv))),
        ),
        (
            f"{engine}-conversion-text",
            r"conversion",
            csv(EVENTS.assign(conversion=np.where(np.arange(n) == 3, "yes", conv))),
        ),
        (
            f"{engine}-unparseable-timestamp",
            r"timestamp",
            csv(
                EVENTS.assign(
                    timestamp=np.where(np.arange(n) == 5, "next tuesday", EVENTS["timestamp"])
                )
            ),
        ),
        (
            f"{engine}-missing-user",
            r"user_id",
            csv(EVENTS.assign(user_id=np.where(np.arange(n) == 4, None, EVENTS["user_id"]))),
        ),
        (
            f"{engine}-empty-channel-on-touch",
            r"channel",
            csv(
                EVENTS.assign(
                    channel=np.where((np.arange(n) == 0) & (conv == 0), "", EVENTS["channel"])
                )
            ),
        ),
        (
            f"{engine}-header-only",
            r"empty|no rows|no events",
            "user_id,timestamp,channel,conversion\n",
        ),
        (
            f"{engine}-duplicated-channel-column",
            r"'channel' appears 2 times",
            "user_id,timestamp,channel,channel,conversion\nu,2024-01-01,a,b,0\n",
        ),
    ]
    return [
        *with_file(base, missing_columns + bad_values),
        Case(
            f"{engine}-lookback-text",
            f"{base} --lookback 'a while'",
            r"a while",
            {"bad.csv": csv(EVENTS)},
        ),
        Case(
            f"{engine}-lookback-negative",
            f"{base} --lookback -5d",
            r"-5d|positive",
            {"bad.csv": csv(EVENTS)},
        ),
        Case(
            f"{engine}-glob-matches-nothing",
            f"attribute nothing*.csv --events --engine {engine} --no-track",
            r"nothing\*\.csv",
        ),
    ]


EVENT_CASES = _events_cases("duckdb") + _events_cases("pandas")

# ------------------------------------------------------------------------------ user tables
CAUSAL = "attribute events.csv --events -m causal --users bad.csv --no-track"
USER_CASES = [
    Case(
        "users-file-missing",
        "attribute events.csv --events -m causal --users nope.csv --no-track",
        r"nope.csv",
    ),
    *with_file(
        CAUSAL,
        [
            ("users-missing-key", r"'user_id'", csv(USERS.rename(columns={"user_id": "customer"}))),
            (
                "users-duplicate-rows",
                r"duplicate|more than once|twice",
                csv(pd.concat([USERS, USERS.head(1)])),
            ),
            ("users-header-only", r"empty|no rows|user", "user_id,score\n"),
            (
                "users-missing-key-value",
                r"user_id",
                csv(USERS.assign(user_id=[None, *USERS["user_id"].iloc[1:]])),
            ),
            (
                "duplicated-user-column",
                r"'user_id' appears 2 times",
                csv(USERS.assign(u2=USERS["user_id"])).replace(",u2", ",user_id", 1),
            ),
        ],
    ),
    Case(
        "users-unknown-covariate", f"{CAUSAL} --covariates scroe", r"scroe", {"bad.csv": csv(USERS)}
    ),
    Case(
        "users-text-covariate-everywhere",
        f"{CAUSAL} --covariates score",
        r"covariate column is constant",
        {"bad.csv": csv(USERS.assign(score="high"))},
    ),
]


# ------------------------------------------------------------------------------ uplift data
#: nine rows, three a arm: enough for the row checks, too few for the calibration's three folds
TINY_CAMPAIGN = pd.DataFrame(
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
UPLIFT_DATA_CASES = [
    *with_file(
        train("bad.csv"),
        [
            ("treatment-column-missing", r"'treatment'", csv(CAMP.drop(columns=["treatment"]))),
            (
                "control-arm-absent",
                r"'control'",
                csv(CAMP.assign(treatment=CAMP["treatment"].replace("control", "ctrl"))),
            ),
            ("outcome-column-missing", r"'conversion'", csv(CAMP.drop(columns=["conversion"]))),
            (
                "outcome-text",
                r"conversion",
                csv(
                    CAMP.assign(conversion=np.where(np.arange(900) == 7, "yes", CAMP["conversion"]))
                ),
            ),
            (
                "outcome-missing-value",
                r"conversion",
                csv(
                    CAMP.assign(
                        conversion=np.where(np.arange(900) == 7, np.nan, CAMP["conversion"])
                    )
                ),
            ),
            ("outcome-constant", r"single value", csv(CAMP.assign(conversion=0))),
            (
                "treatment-missing-value",
                r"treatment",
                csv(CAMP.assign(treatment=np.where(np.arange(900) == 3, None, CAMP["treatment"]))),
            ),
            ("only-the-control-arm", r"arm|treated", csv(CAMP.assign(treatment="control"))),
            ("tiny-data", r"row", csv(CAMP.head(12))),
            ("empty-data-file", r"bad.csv", b""),
            (
                "duplicated-treatment-column",
                r"'treatment' appears 2 times",
                csv(CAMP.assign(t2=CAMP["treatment"])).replace(",t2", ",treatment", 1),
            ),
        ],
    ),
    Case(
        "tiny-data-reaching-lightgbm",
        tuple(uplift_train("bad.csv", "--n-estimators 5 --no-track --min-rows-per-arm 1")),
        r"arm 'control' has 2 row\(s\), fewer than the 3 folds",
        {"bad.csv": csv(TINY_CAMPAIGN)},
    ),
    Case(
        "tiny-data-constant-outcome",
        train("bad.csv", "--min-rows-per-arm 1"),
        r"single value 0.0 in all 5 training rows",
        {"bad.csv": csv(CAMP.head(7))},
    ),
    Case("feature-column-missing", train(options="--feature-cols x1,x9"), r"x9"),
    Case(
        "binary-outcome-continuous",
        train("bad.csv", "--outcome-type binary"),
        r"conversion",
        {"bad.csv": csv(CAMP.assign(conversion=CAMP["conversion"] * 2.5))},
    ),
    Case(
        "uplift-forest-continuous",
        train("bad.csv", "--learner uplift_rf"),
        r"binary outcomes only",
        {"bad.csv": csv(CAMP.assign(conversion=CAMP["conversion"] * 2.5 + 0.1))},
    ),
    Case(
        "data-is-garbage-parquet",
        train("bad.parquet"),
        r"bad.parquet",
        {"bad.parquet": b"PAR1 this is not parquet PAR1"},
    ),
]

# ------------------------------------------------------------------------------ uplift options
UPLIFT_OPTION_CASES = [
    Case(f"train-{name}", train(options=options), match)
    for name, options, match in [
        ("ci-above-one", "--ci 1.5", r"--ci"),
        ("ci-zero", "--ci 0", r"--ci"),
        ("n-bootstrap-negative", "--n-bootstrap -3", r"--n-bootstrap"),
        ("test-size-two", "--test-size 2", r"test_size"),
        ("test-size-zero", "--test-size 0", r"test_size"),
        ("seed-negative", "--seed -1", r"--seed"),
        ("n-estimators-zero", "--n-estimators 0", r"n_estimators"),
        ("learning-rate-zero", "--learning-rate 0", r"learning_rate"),
        ("n-folds-one-with-calibration", "--calibrate --n-folds 1", r"n_folds"),
        ("auto-learners-without-auto", "--auto-learners t,x", r"--learner auto"),
        ("auto-learners-unknown", "--learner auto --auto-learners zz", r"zz"),
        ("cost-without-value", "--cost-per-contact 1", r"--value-per-conversion"),
        (
            "cost-not-a-number",
            "--value-per-conversion 5 --cost-per-contact x=abc",
            r"'abc' is not a number",
        ),
        ("assignment-prob-text", "--assignment-prob email", r"ARM=VALUE"),
        ("model-dir-is-a-file", "--model-dir afile", r"Directory 'afile' is a file"),
        ("model-dir-below-a-file", "--model-dir afile/m", r"is a file"),
        ("output-is-a-directory", "-o report", r"is a directory"),
        ("register-without-tracking", "--register", r"--register needs tracking"),
        ("learner-unknown", "--learner q", r"'q'"),
    ]
]

EVAL = "uplift evaluate camp.csv --model-dir model"
TARGET = "uplift target camp.csv --model-dir model --value-per-conversion 10"
CURVE = "uplift curve camp.csv --model-dir model --cost-per-contact 1"
#: a plan of ten contacts from the saved model
PLAN = "uplift target camp.csv --model-dir model --budget 10 --value-per-conversion 10"
UPLIFT_USE_CASES = [
    Case("evaluate-ci", f"{EVAL} --ci 2", r"--ci"),
    Case("evaluate-plot-dir", f"{EVAL} --plot report", r"'--plot'.* is a directory"),
    Case("evaluate-plot-below-file", f"{EVAL} --plot afile/q.png", r"is a file"),
    *with_file(
        "uplift evaluate bad.csv --model-dir model",
        [
            ("evaluate-missing-feature", r"x2", csv(CAMP.drop(columns=["x2"]))),
            (
                "evaluate-text-in-numeric-feature",
                r"x1",
                csv(CAMP.assign(x1=np.where(np.arange(900) == 2, "abc", CAMP["x1"]))),
            ),
            ("evaluate-missing-treatment", r"treatment", csv(CAMP.drop(columns=["treatment"]))),
        ],
    ),
    Case(
        "evaluate-model-dir-missing",
        "uplift evaluate camp.csv --model-dir nope",
        r"not a saved uplift model directory",
    ),
    Case("target-budget-zero", f"{TARGET} --budget 0", r"budget"),
    Case("target-budget-negative", f"{TARGET} --budget -5", r"budget"),
    Case(
        "target-money-without-cost",
        f"{TARGET} --budget 100 --budget-type money",
        r"needs --cost-per-contact",
    ),
    Case(
        "target-money-free-contacts",
        f"{TARGET} --budget 100 --budget-type money --cost-per-contact 0",
        r"money budget needs a cost per contact",
    ),
    Case(
        "target-value-negative",
        "uplift target camp.csv --model-dir model --budget 10 --value-per-conversion -1",
        r"value_per_conversion",
    ),
    Case("target-cost-text", f"{TARGET} --budget 10 --cost-per-contact cheap", r"'cheap'"),
    Case(
        "target-plan-output-below-file",
        f"{TARGET} --budget 10 --plan-output afile/plan.csv",
        r"--plan-output.*is a file",
    ),
    Case("target-output-dir", f"{TARGET} --budget 10 -o sim", r"is a directory"),
    Case("curve-grid-one", f"{CURVE} --grid-size 1", r"grid_size"),
    Case("curve-cost-col-missing", f"{CURVE} --cost-col fee", r"'fee'"),
    Case("curve-plot-below-file", f"{CURVE} --plot afile/c.png", r"is a file"),
    Case("curve-ci", f"{CURVE} --ci -0.5", r"--ci"),
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
    *with_file(
        EVAL,
        [
            ("metadata-not-json", r"metadata.json' is not valid JSON", "{not json"),
            (
                "metadata-truncated",
                r"metadata.json' is not valid JSON",
                lambda p: p.write_text(p.read_text()[:200]),
            ),
            ("metadata-a-list", r"does not hold a JSON object", "[1, 2, 3]"),
            ("metadata-binary", r"metadata.json", b"\xff\xfe\x00garbage"),
            (
                "format-version-1-pickle",
                r"no longer loads because unpickling can run code",
                _edit_metadata(lambda m: m.update(format_version=1)),
            ),
            (
                "format-version-99",
                r"version 99",
                _edit_metadata(lambda m: m.update(format_version=99)),
            ),
            (
                "format-name-other",
                r"format 'sklearn'",
                _edit_metadata(lambda m: m.update(format="sklearn")),
            ),
            ("files-table-missing", r"no 'files' table", _edit_metadata(lambda m: m.pop("files"))),
            (
                "model-file-outside-the-directory",
                r"refers to '\.\./camp\.csv'",
                _edit_metadata(lambda m: m["model_files"]["learner"].update(model_c="../camp.csv")),
            ),
            (
                "params-unknown",
                r"metadata.json' is malformed",
                _edit_metadata(lambda m: m["params"].update(evil=1)),
            ),
            (
                "schema-missing",
                r"metadata.json' is malformed",
                _edit_metadata(lambda m: m.pop("schema")),
            ),
            (
                "arms-do-not-match-models",
                r"lists models for arms",
                _edit_metadata(lambda m: m.update(arms=["email"])),
            ),
        ],
        name="model/metadata.json",
    ),
    Case(
        "out-of-fold-replaced-by-pickle",
        PLAN,
        r"out_of_fold.npz' does not match the SHA-256",
        {"model/out_of_fold.npz": pickle.dumps({"uplift": [1, 2]})},
    ),
    Case(
        "metadata-missing",
        "uplift evaluate camp.csv --model-dir report",
        r"not a saved uplift model directory",
    ),
    Case("model-dir-is-a-file", "uplift evaluate camp.csv --model-dir afile", r"afile"),
]


def _model_file_cases() -> list[Case]:
    cases = []
    for name, writer, match in [
        ("truncated", _truncate_text_model, r"does not match the SHA-256"),
        ("emptied", lambda p: p.write_bytes(b""), r"does not match the SHA-256"),
        ("deleted", lambda p: p.unlink(), r"cannot read model file"),
        ("replaced-by-pickle", lambda p: p.write_bytes(pickle.dumps(object)), r"SHA-256"),
    ]:
        for verb, command in (("evaluate", EVAL), ("curve", CURVE)):
            cases.append(
                Case(
                    f"lgbm-file-{name}-{verb}",
                    command,
                    match,
                    {"_model_file": lambda root, w=writer: w(_first_lgbm(root))},
                )
            )
    return cases


def _record_hash(root: Path, target: Path) -> None:
    """Write the SHA-256 of ``target`` (a file of the model directory) into its metadata."""
    meta_path = root / "model" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["files"][target.name] = hashlib.sha256(target.read_bytes()).hexdigest()
    meta_path.write_text(json.dumps(meta))


def _rehashed_garbage(root: Path) -> None:
    """A LightGBM file replaced by garbage whose hash is recorded: parsed, and refused."""
    target = _first_lgbm(root)
    target.write_bytes(b"tree\nnot a model\n")
    _record_hash(root, target)


def _rehashed_object_array(root: Path) -> None:
    """The out-of-fold file replaced by an object array (a pickle inside .npz), hash recorded."""
    buffer = io.BytesIO()
    np.savez(buffer, uplift=np.array([{"a": 1}], dtype=object))
    target = root / "model" / "out_of_fold.npz"
    target.write_bytes(buffer.getvalue())
    _record_hash(root, target)


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
        PLAN,
        r"out_of_fold.npz' is not a valid array file",
        {"_model_file": _rehashed_object_array},
    ),
]

# ------------------------------------------------------------------------------ other commands
SIMULATE = "simulate new_sim"
REPORT = "report paths.csv --out r2"
EVENTS_REPORT = "report events.csv --events --out r2"
PLAN_TESTS = "plan-tests events.csv --users users.csv"
SCORE = "uplift score camp.csv --model models:/m@champion"
OTHER_CASES = [
    Case("simulate-out-dir-is-a-file", "simulate afile --users 50", r"is a file"),
    Case("simulate-out-dir-below-a-file", "simulate afile/sim --users 50", r"is a file"),
    Case("simulate-existing-dataset", "simulate sim --users 50", r"--force"),
    Case(
        "simulate-unknown-lift-test",
        f"{SIMULATE} --users 50 --lift-test 'carrier pigeon'",
        r"carrier pigeon",
    ),
    Case("simulate-proxy-quality", f"{SIMULATE} --proxy-quality 2", r"proxy-quality"),
    Case("report-out-is-a-file", "report paths.csv --out afile", r"is a file"),
    Case("report-costs-missing", f"{REPORT} --costs nope.csv", r"nope.csv"),
    Case("report-bootstrap-five", f"{REPORT} --bootstrap 5", r"at least 20"),
    Case("report-arm-without-run", f"{REPORT} --arm x", r"go with --uplift-run"),
    Case("report-transfer-without-causal", f"{REPORT} --untested transfer", r"add -m causal"),
    Case(
        "report-lift-tests-wrong-table",
        f"{REPORT} --lift-tests paths.csv",
        r"lift tests: required column 'channel' is missing",
    ),
    Case(
        "report-costs-wrong-table",
        f"{REPORT} --costs paths.csv",
        r"cost table: required column 'channel' is missing",
    ),
    Case(
        "report-split-date-garbage",
        f"{EVENTS_REPORT} --split-date garbage",
        r"'garbage' is not a date",
    ),
    Case("report-cost-col-missing", f"{EVENTS_REPORT} --cost-col nope", r"'nope' is missing"),
    Case("report-max-shift", f"{REPORT} --max-shift 2", r"--max-shift"),
    Case(
        "plan-tests-lift-tests-wrong-table",
        f"{PLAN_TESTS} --lift-tests paths.csv",
        r"lift tests: required column 'channel' is missing",
    ),
    Case("plan-tests-holdout-zero", f"{PLAN_TESTS} --holdout 0", r"--holdout"),
    Case("plan-tests-users-missing", "plan-tests events.csv --users nope.csv", r"nope.csv"),
    Case("plan-tests-output-below-file", f"{PLAN_TESTS} -o afile/plan.csv", r"is a file"),
    Case("demo-out-below-a-file", "demo --out afile/demo", r"is a file"),
    Case("demo-bad-tracking-uri", "demo --out d --tracking-uri ftp://x", r"unsupported scheme"),
    Case("retrain-config-missing", "retrain --config nope.yaml", r"nope.yaml"),
    Case(
        "score-output-below-a-file",
        f"{SCORE} --output afile/o",
        r"--output 'afile/o' cannot be created.*is a file",
    ),
    Case(
        "score-tracking-uri",
        f"{SCORE} --output o --tracking-uri ftp://x",
        r"unsupported scheme 'ftp'",
    ),
    Case(
        "score-tracking-server-refused",
        f"{SCORE} --output o --tracking-uri http://127.0.0.1:9",
        r"cannot reach the MLflow tracking server 'http://127.0.0.1:9'",
    ),
]

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


def good_config_with(old: str, new: str) -> str:
    """``GOOD_CONFIG`` with ``old`` replaced by ``new``."""
    return GOOD_CONFIG.replace(old, new)


CONFIG_CASES = with_file(
    "retrain --config job.yaml",
    [
        ("config-not-yaml", r"not valid YAML", "data: [unclosed\n"),
        ("config-a-list", r"must be a mapping", "- a\n- b\n"),
        (
            "config-python-tag",
            r"not valid YAML",
            "data: !!python/object/apply:os.system ['touch pwned']\n",
        ),
        ("config-unknown-section", r"did you mean 'model'", GOOD_CONFIG + "modle: {}\n"),
        (
            "config-unknown-key",
            r"evaluation.metrik.*did you mean 'metric'",
            good_config_with("n_bootstrap: 20", "n_bootstrap: 20\n  metrik: qini"),
        ),
        (
            "config-unknown-param",
            r"n_estimator",
            good_config_with("n_estimators: 5", "n_estimator: 5"),
        ),
        (
            "config-negative-margin",
            r"margin",
            good_config_with("n_bootstrap: 20", "n_bootstrap: 20\n  margin: -0.1"),
        ),
        (
            "config-missing-required",
            r"treatment_col",
            good_config_with("  treatment_col: treatment\n", ""),
        ),
        (
            "config-data-file-missing",
            r"nope.csv",
            good_config_with("path: camp.csv", "path: nope.csv"),
        ),
        (
            "config-wrong-type",
            r"n_bootstrap",
            good_config_with("n_bootstrap: 20", "n_bootstrap: many"),
        ),
        (
            "config-unsupported-tracking-uri",
            r"unsupported scheme",
            good_config_with("sqlite:///db/mlflow.db", "redis://x"),
        ),
        (
            "config-registry-name-refused",
            r"registry.name: registered model name 'bad/name' is refused",
            good_config_with("registry:\n", "registry:\n  name: bad/name\n"),
        ),
        ("config-learner-unknown", r"learner", good_config_with("learner: t", "learner: q")),
    ],
    name="job.yaml",
)

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
