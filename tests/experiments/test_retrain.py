"""The retraining job: config validation, decision rule, promote/keep/skip, failures, concurrency.

Real MLflow sqlite stores under temporary directories; aliases read back with ``MlflowClient``
after every decision.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from mlflow import MlflowClient

from experiments.cli import cli, run_cli
from experiments.errors import ConfigError
from experiments.registry import alias_lock, default_lock_dir
from experiments.retrain import (
    EXIT_BAD_INPUT,
    EXIT_KEPT,
    EXIT_PROMOTED,
    EXIT_SKIPPED,
    Comparison,
    RetrainConfig,
    compare,
    decide,
    run_retrain,
)
from experiments.tracking import file_digest, resolve_tracking
from uplift.errors import InvalidUpliftDataError
from uplift.metrics import compare_evaluations, evaluate_uplift

pytestmark = pytest.mark.usefixtures("clean_mlflow_uris")


NAME = "retrain-test"


def campaign(n: int = 3000, seed: int = 1) -> pd.DataFrame:
    """Randomized campaign: email lifts conversion by 0.3 when x1 > 0.5, else nothing."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    treatment = rng.choice(["control", "email"], n)
    p = 0.05 + 0.3 * (treatment == "email") * (x1 > 0.5)
    return pd.DataFrame(
        {
            "x1": x1,
            "x2": rng.choice(["a", "b", "c"], n),  # pure noise
            "x3": rng.integers(0, 5, n),
            "treatment": treatment,
            "conversion": (rng.random(n) < p).astype(int),
        }
    )


def write_config(directory: Path, name: str, **changes: object) -> Path:
    """A config for ``directory/campaign.csv``; ``weak`` uses only the noise feature."""
    config: dict = {
        "data": {
            "path": "campaign.csv",
            "treatment_col": "treatment",
            "control": "control",
            "outcome_col": "conversion",
        },
        "model": {"learner": "t", "params": {"n_estimators": 20, "num_leaves": 7}},
        "evaluation": {"metric": "qini", "n_bootstrap": 50, "margin": 0.001},
        "registry": {"name": NAME, "tracking_uri": f"sqlite:///{directory / 'mlflow.db'}"},
    }
    for dotted, value in changes.items():
        section, _, key = dotted.partition("__")
        if key:
            config[section][key] = value
        else:
            config[section] = value
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def workdir(tmp_path: Path, store_template: Path) -> Path:
    shutil.copy(store_template, tmp_path / "mlflow.db")
    campaign().to_csv(tmp_path / "campaign.csv", index=False)
    return tmp_path


def aliases(workdir: Path) -> dict[str, str]:
    """Aliases of the test model, read straight from the sqlite file."""
    with sqlite3.connect(workdir / "mlflow.db") as con:
        rows = con.execute(
            "select alias, version from registered_model_aliases where name = ?", (NAME,)
        ).fetchall()
    return {alias: str(version) for alias, version in rows}


def n_versions(workdir: Path) -> int:
    client = MlflowClient(*[f"sqlite:///{workdir / 'mlflow.db'}"] * 2)
    return len(client.search_model_versions(f"name='{NAME}'"))


# ------------------------------------------------------------------------------ configuration


def base_config() -> dict:
    return {
        "data": {
            "path": "x.csv",
            "treatment_col": "t",
            "control": "c",
            "outcome_col": "y",
        }
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"evaluation": {"metrik": "qini"}},
            "evaluation.metrik: unknown key; did you mean 'metric'?",
        ),
        ({"evaluaton": {}}, "evaluaton: unknown key; did you mean 'evaluation'?"),
        ({"model": {"learner": "tt"}}, "model.learner: unknown learner 'tt'; did you mean 't'?"),
        (
            {"model": {"params": {"n_estimator": 5}}},
            "model.params.n_estimator: unknown parameter; did you mean 'n_estimators'?",
        ),
        ({"evaluation": {"margin": -0.1}}, "evaluation.margin: must be >= 0, got -0.1"),
        ({"evaluation": {"metric": "qinni"}}, "evaluation.metric: must be 'qini', 'auuc'"),
        ({"evaluation": {"n_bootstrap": 5}}, "evaluation.n_bootstrap: must be >= 20"),
        ({"evaluation": {"n_bootstrap": 50.5}}, "evaluation.n_bootstrap: must be an integer"),
        ({"evaluation": {"test_size": 1.5}}, "evaluation.test_size: must be between"),
        ({"registry": {"name": ""}}, "registry.name: must be a non-empty string"),
        ({"force": "yes"}, "force: must be true or false"),
        ({"data": {"path": "x.csv"}}, "data.treatment_col: required key is missing"),
        ({"data": {**base_config()["data"], "feature_cols": "x1"}}, "data.feature_cols: must be"),
    ],
)
def test_config_errors_point_at_the_key(change: dict, message: str) -> None:
    config = {**base_config(), **change}
    with pytest.raises(ConfigError) as info:
        RetrainConfig.from_dict(config)
    assert str(info.value).startswith(message)


def test_config_defaults_and_paths(tmp_path: Path) -> None:
    path = tmp_path / "retrain.yaml"
    path.write_text(yaml.safe_dump({**base_config(), "evaluation": {"metric": "uplift_at_25"}}))
    config = RetrainConfig.from_yaml(path)
    assert config.data_path == tmp_path.resolve() / "x.csv"
    assert config.metric == "uplift@25%"
    assert config.ks == (0.1, 0.2, 0.25, 0.3)
    assert config.evaluation["margin"] == 0.0 and config.model["learner"] == "t"
    assert config.registry["name"] == "pathlift-uplift" and config.force is False
    # the hash of the training config ignores the data path and the registry section
    other = RetrainConfig.from_dict(
        {**base_config(), "registry": {"name": "x"}, "evaluation": {"metric": "uplift_at_25"}}
    )
    assert other.training_config() == config.training_config()


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        RetrainConfig.from_yaml(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        RetrainConfig.from_yaml(tmp_path / "missing.yaml")


def test_cli_reports_config_error_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "retrain.yaml"
    path.write_text(yaml.safe_dump({**base_config(), "evaluation": {"metrik": "qini"}}))
    assert run_cli(["retrain", "--config", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: evaluation.metrik: unknown key; did you mean 'metric'?"]


def test_cli_help_documents_exit_codes() -> None:
    result = CliRunner().invoke(cli, ["retrain", "--help"])
    assert result.exit_code == 0
    for line in ("0  promoted", "3  kept", "4  skipped", "2  bad input", "1  failure"):
        assert line in result.output


# ------------------------------------------------------------------------------ decision rule


@pytest.mark.parametrize(
    ("difference", "ci", "margin", "decision", "why"),
    [
        (0.02, (0.01, 0.03), 0.01, "promoted", "interval is above 0"),
        (0.01, (0.001, 0.02), 0.01, "promoted", "interval is above 0"),  # margin is inclusive
        (0.005, (0.001, 0.01), 0.01, "kept", "below the margin"),
        (0.02, (-0.01, 0.05), 0.0, "kept", "interval includes 0"),
        (0.02, (0.0, 0.05), 0.0, "kept", "interval includes 0"),  # strictly above 0
        (0.02, (float("nan"), float("nan")), 0.0, "kept", "undefined"),
        (-0.02, (-0.03, -0.01), 0.0, "kept", "below the margin"),
    ],
)
def test_decision_rule(
    difference: float, ci: tuple[float, float], margin: float, decision: str, why: str
) -> None:
    comparison = Comparison("qini", "mean", 0.1 + difference, 0.1, difference, *ci)
    got, reason = decide(comparison, margin=margin)
    assert got == decision and why in reason


def test_first_model_is_promoted() -> None:
    assert decide(None, margin=0.5) == (
        "promoted",
        "no champion yet: the first valid model becomes champion",
    )


def test_compare_matches_uplift_paired_comparison() -> None:
    frame = campaign(2000, seed=4)
    rng = np.random.default_rng(0)
    truth = 0.3 * (frame["x1"] > 0.5).to_numpy()
    good = {"email": truth + rng.normal(0, 0.05, len(frame)), "sms": rng.normal(size=len(frame))}
    bad = {"email": rng.normal(size=len(frame)), "sms": rng.normal(size=len(frame))}
    treatment = np.where(
        frame["treatment"] == "email",
        np.where(rng.random(len(frame)) < 0.5, "email", "sms"),
        "control",
    )
    kwargs = {"n_bootstrap": 60, "seed": 5, "arms": ["email", "sms"]}
    a = evaluate_uplift(good, frame["conversion"], treatment, "control", **kwargs)
    b = evaluate_uplift(bad, frame["conversion"], treatment, "control", **kwargs)
    reference = compare_evaluations(a, b).set_index(["arm", "metric"])
    single = compare(a, b, metric="qini", arm="email")
    row = reference.loc[("email", "qini")]
    assert single.difference == pytest.approx(row["difference"])
    assert (single.ci_low, single.ci_high) == pytest.approx((row["ci_low"], row["ci_high"]))
    assert single.ci_low > 0  # the informative ranking is better, with evidence
    mean = compare(a, b, metric="qini", arm="mean")
    per_arm = [reference.loc[(arm, "qini"), "difference"] for arm in ("email", "sms")]
    assert mean.difference == pytest.approx(np.mean(per_arm))
    assert mean.challenger == pytest.approx(np.mean([a.value(x, "qini") for x in ("email", "sms")]))
    same = compare(a, a, metric="qini", arm="mean")
    assert same.difference == 0 and (same.ci_low, same.ci_high) == (0, 0)
    assert decide(same, margin=0.0)[0] == "kept"
    with pytest.raises(ConfigError, match=r"evaluation\.arm: arm 'push'"):
        compare(a, b, metric="qini", arm="push")


# ------------------------------------------------------------------------------ the job


@pytest.mark.slow
def test_promote_skip_keep_and_failure(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    weak = write_config(workdir, "weak", data__feature_cols=["x2"])
    strong = write_config(workdir, "strong")
    client = MlflowClient(*[f"sqlite:///{workdir / 'mlflow.db'}"] * 2)

    # 1. no champion yet: the first valid model is promoted
    first = run_retrain(RetrainConfig.from_yaml(weak))
    assert (first.decision, first.version, first.exit_code) == ("promoted", "1", EXIT_PROMOTED)
    assert first.champion_before is None and first.champion_after == "1"
    assert aliases(workdir) == {"champion": "1"}
    run = client.get_run(first.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["pathlift.decision"] == "promoted"
    assert run.data.tags["mlflow.note.content"].startswith("**Decision: promoted.**")
    artifacts = {a.path for a in client.list_artifacts(first.run_id)}
    assert {"decision.json", "config.yaml", "report", "figures"} <= artifacts
    assert run.data.params["learner"] == "t" and run.data.params["decision.metric"] == "qini"
    assert "qini.email" in run.data.metrics
    (data_input,) = run.inputs.dataset_inputs
    assert {t.key: t.value for t in data_input.tags}["n_rows"] == "3000"
    assert data_input.dataset.digest == file_digest(workdir / "campaign.csv")[:32]

    # 2. same data and config: skipped, nothing registered, no run
    runs_before = len(client.search_runs([run.info.experiment_id]))
    assert run_cli(["retrain", "--config", str(weak)]) == EXIT_SKIPPED
    assert "skipped: version 1 of retrain-test" in capsys.readouterr().out
    assert n_versions(workdir) == 1
    assert len(client.search_runs([run.info.experiment_id])) == runs_before

    # 3. the informative model beats the champion with evidence: promoted
    assert run_cli(["retrain", "--config", str(strong)]) == EXIT_PROMOTED
    assert aliases(workdir) == {"champion": "2"}
    second = client.search_runs(
        [run.info.experiment_id], "tags.`pathlift.model_version` = '2'", max_results=1
    )[0]
    metrics = second.data.metrics
    assert metrics["decision.ci_low"] > 0
    assert metrics["decision.difference"] >= 0.001
    assert metrics["decision.difference"] == pytest.approx(
        metrics["decision.challenger"] - metrics["decision.champion"]
    )
    version = client.get_model_version(NAME, "2")
    assert version.tags["pathlift.decision"] == "promoted"
    assert version.tags["pathlift.data_sha256"] == file_digest(workdir / "campaign.csv")

    # 4. the weak model again (forced): worse than the champion, kept as challenger
    kept = run_retrain(RetrainConfig.from_yaml(weak), force=True)
    assert (kept.decision, kept.exit_code, kept.version) == ("kept", EXIT_KEPT, "3")
    assert kept.comparison is not None and kept.comparison.difference < 0
    assert "below the margin" in kept.reason
    assert aliases(workdir) == {"champion": "2", "challenger": "3"}
    decision = json.loads(
        Path(client.download_artifacts(kept.run_id, "decision.json", str(workdir))).read_text()
    )
    assert decision["decision"] == "kept" and decision["exit_code"] == EXIT_KEPT
    assert decision["champion_before"] == "2" and decision["champion_after"] == "2"

    # 5. bad data: exit 2, failed run with traceback, champion untouched
    broken = workdir / "broken.csv"
    frame = pd.read_csv(workdir / "campaign.csv")
    frame.loc[7, "treatment"] = None
    frame.to_csv(broken, index=False)
    bad = write_config(workdir, "bad", data__path="broken.csv")
    with pytest.raises(InvalidUpliftDataError, match="treatment column 'treatment' has 1 missing"):
        run_retrain(RetrainConfig.from_yaml(bad))
    assert run_cli(["retrain", "--config", str(bad)]) == EXIT_BAD_INPUT
    failed = client.search_runs([run.info.experiment_id], "attributes.status = 'FAILED'")
    assert len(failed) == 2
    assert "traceback.txt" in {a.path for a in client.list_artifacts(failed[0].info.run_id)}
    assert aliases(workdir) == {"champion": "2", "challenger": "3"}
    assert n_versions(workdir) == 3


def test_missing_data_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, "missing", data__path="nowhere.csv")
    assert run_cli(["retrain", "--config", str(config)]) == EXIT_BAD_INPUT
    assert "data.path: file" in capsys.readouterr().err


# ------------------------------------------------------------------------------ processes


def cli_process(config: Path) -> subprocess.Popen[str]:
    code = "from experiments.cli import main; main()"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("MLFLOW_REGISTRY_URI", None)
    return subprocess.Popen(
        [sys.executable, "-c", code, "retrain", "--config", str(config), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def outcome_of(process: subprocess.Popen[str]) -> tuple[int, dict]:
    out, err = process.communicate(timeout=300)
    start = out.find("{\n")
    assert start >= 0, f"no JSON outcome; stdout={out!r} stderr={err[-2000:]!r}"
    return process.returncode, json.loads(out[start:])


@pytest.mark.slow
def test_killed_job_leaves_champion(workdir: Path) -> None:
    weak = write_config(workdir, "weak", data__feature_cols=["x2"])
    strong = write_config(workdir, "strong")
    assert run_retrain(RetrainConfig.from_yaml(weak)).decision == "promoted"
    settings = resolve_tracking(f"sqlite:///{workdir / 'mlflow.db'}")
    client = MlflowClient(settings.tracking_uri, settings.registry_uri)
    # hold the alias lock so that the job blocks just before its decision, then kill it
    with alias_lock(NAME, default_lock_dir(settings)):
        process = cli_process(strong)
        experiment = None
        deadline = time.monotonic() + 180
        runs: list = []
        while time.monotonic() < deadline and process.poll() is None:
            experiment = experiment or client.get_experiment_by_name("pathlift-retrain")
            if experiment is not None:
                runs = client.search_runs(
                    [experiment.experiment_id],
                    "attributes.status = 'RUNNING' and tags.`pathlift.data_sha256` != ''",
                )
            if runs:  # the tag is set after the model is logged, just before the lock
                break
            time.sleep(0.5)
        else:
            process.kill()
            pytest.fail(f"the job never reached the lock: {process.communicate()}")
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    killed = client.get_run(runs[0].info.run_id)
    assert killed.info.status == "KILLED"
    assert aliases(workdir) == {"champion": "1"}
    assert n_versions(workdir) == 1


@pytest.mark.slow
def test_concurrent_jobs_do_not_corrupt_aliases(workdir: Path) -> None:
    weak = write_config(workdir, "weak", data__feature_cols=["x2"])
    strong = write_config(workdir, "strong")
    # two identical jobs at once: one version, the other job skips
    a, b = cli_process(weak), cli_process(weak)
    (code_a, out_a), (code_b, out_b) = outcome_of(a), outcome_of(b)
    assert sorted([code_a, code_b]) == [EXIT_PROMOTED, EXIT_SKIPPED]
    assert n_versions(workdir) == 1 and aliases(workdir) == {"champion": "1"}
    assert {out_a["version"], out_b["version"]} == {"1"}
    # two different jobs at once: decisions are serialised; the second compares with the
    # champion the first left, and the informative model ends up champion
    weak_forced = write_config(workdir, "weak2", data__feature_cols=["x2"], force=True)
    p, q = cli_process(strong), cli_process(weak_forced)
    results = {"strong": outcome_of(p), "weak": outcome_of(q)}
    first, second = sorted(results.values(), key=lambda r: int(r[1]["version"]))
    assert first[1]["champion_before"] == "1"
    expected_before = first[1]["version"] if first[1]["decision"] == "promoted" else "1"
    assert second[1]["champion_before"] == expected_before
    strong_version = results["strong"][1]["version"]
    assert results["strong"][1]["decision"] == "promoted"
    assert aliases(workdir)["champion"] == strong_version, (results, aliases(workdir))
    assert n_versions(workdir) == 3


@pytest.mark.slow
def test_retrain_on_hillstrom(tmp_path: Path, store_template: Path, shared_data) -> None:
    """Real data: the MineThatData e-mail RCT (64,000 customers, two e-mail arms)."""
    hillstrom = shared_data("hillstrom.csv")
    shutil.copy(store_template, tmp_path / "mlflow.db")
    features = ["recency", "history", "mens", "womens", "zip_code", "newbie", "channel"]
    base = {
        "data": {
            "path": str(hillstrom),
            "treatment_col": "segment",
            "control": "No E-Mail",
            "outcome_col": "visit",
            "feature_cols": features,
        },
        "model": {"learner": "t", "params": {"n_estimators": 30, "num_leaves": 15}},
        "evaluation": {"n_bootstrap": 50, "margin": 0.0},
        "registry": {"name": NAME, "tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}"},
    }
    first = run_retrain(RetrainConfig.from_dict(base))
    assert first.decision == "promoted" and aliases(tmp_path) == {"champion": "1"}
    # a challenger that sees only one weak feature
    weak = {**base, "data": {**base["data"], "feature_cols": ["newbie"]}}
    second = run_retrain(RetrainConfig.from_dict(weak))
    c = second.comparison
    assert c is not None and c.metric == "qini" and c.arm == "mean"
    promoted = c.difference >= 0.0 and c.ci_low > 0
    assert second.decision == ("promoted" if promoted else "kept")
    expected = {"champion": "2"} if promoted else {"champion": "1", "challenger": "2"}
    assert aliases(tmp_path) == expected
    client = MlflowClient(*[f"sqlite:///{tmp_path / 'mlflow.db'}"] * 2)
    metrics = client.get_run(second.run_id).data.metrics
    for arm in ("Mens_E-Mail", "Womens_E-Mail"):
        assert f"qini.{arm}" in metrics and f"qini.{arm}.ci_width" in metrics


@pytest.mark.slow
def test_a_champion_of_another_model_is_named_not_dumped(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A registry name already used by a model with other features: one line naming them."""
    wide = write_config(workdir, "wide")
    assert run_retrain(RetrainConfig.from_yaml(wide)).decision == "promoted"
    campaign().drop(columns=["x3"]).to_csv(workdir / "other.csv", index=False)
    narrow = write_config(workdir, "narrow", data__path="other.csv")
    assert run_cli(["retrain", "--config", str(narrow)]) == 2
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert "needs feature column(s) 'x3' that the held-out data lacks" in line
    assert "registry name of its own" in line
    assert "rows x" not in err  # no data frame printed
    assert aliases(workdir) == {"champion": "1"}


@pytest.mark.slow
@pytest.mark.parametrize("verbose", [False, True])
def test_third_party_noise_is_quiet_unless_verbose(workdir: Path, verbose: bool) -> None:
    """MLflow's INFO lines and registration messages reach standard error only with -v."""
    config = write_config(workdir, "noise")
    code = "from experiments.cli import main; main()"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TQDM_"))}
    argv = [sys.executable, "-c", code, *(["--verbose"] if verbose else []), "retrain"]
    done = subprocess.run(
        [*argv, "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == EXIT_PROMOTED, done.stderr[-3000:]
    noise = ("INFO mlflow", "Successfully registered model", "Created version", "it/s]")
    found = [n for n in noise if n in done.stderr]
    if verbose:
        assert "Successfully registered model" in done.stderr  # as this package's INFO line
        assert "INFO " in done.stderr
    else:
        assert not found, done.stderr[-3000:]
        assert " INFO " not in done.stderr and not done.stderr.startswith("INFO")
