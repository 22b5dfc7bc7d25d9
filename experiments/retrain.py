"""The retraining job: train a challenger, compare it with the champion, promote on evidence.

``pathlift retrain --config retrain.yaml`` (or :func:`run_retrain`) does, in order:

1. validate the configuration (:class:`RetrainConfig`; errors name the key path and suggest the
   closest valid key for a typo);
2. hash the data file (SHA-256 of its bytes) and the training configuration (SHA-256 of the
   canonical JSON of the ``data`` section without ``path``, ``model`` and ``evaluation``); if a
   registered version already has both digests, stop: **skipped** (unless ``force``);
3. open an MLflow run; load and validate the data; split it into training and held-out rows
   (stratified by arm, with ``evaluation.test_size`` and ``evaluation.seed``), train the
   challenger on the training rows and evaluate it on the held-out rows
   (:func:`uplift.workflow.train_and_evaluate`; ``model.learner: auto`` selects the learner and
   calibrates it on cross-fitted training rows); log everything
   (:func:`experiments.uplift_runs.log_uplift_results`) and the pyfunc model;
4. under an exclusive lock for the registered model (:func:`experiments.registry.alias_lock`):
   re-check for a duplicate, read the *current* champion, evaluate it on the same held-out rows
   with the same bootstrap replicates, decide, register the challenger as a new version and, as
   the very last step, move an alias.

Decision rule
-------------
Let ``m`` be the configured metric (``qini``, ``auuc`` or ``uplift_at_<k>``; see
:mod:`uplift.metrics` for definitions) on the held-out rows, for the configured arm, or averaged
over the arms both models score when ``evaluation.arm`` is ``mean``. With
``d = m(challenger) - m(champion)`` and ``[lo, hi]`` the percentile bootstrap interval (level
``evaluation.ci``) of ``d`` over *paired* replicates (the same resampled rows for both models,
see :func:`uplift.metrics.compare_evaluations`), the challenger is **promoted** to ``champion``
iff

    ``d >= evaluation.margin``  and  ``lo > 0``,

otherwise it is **kept** as ``challenger``. With no champion yet the first valid model is
promoted. On promotion the ``challenger`` alias is removed; the previous champion keeps its
version (roll back with ``mlflow`` by pointing ``champion`` at it).

Guarantees
----------
* Idempotent: the same data digest and training configuration never create a second version
  unless forced (``force: true`` or ``--force``); the check is repeated under the lock, so two
  identical jobs started together register one version.
* Concurrency: the read-compare-set-alias section runs under the lock, and the champion is read
  after the lock is taken, so two jobs at once cannot overwrite each other's decision.
* Failure: aliases move only at the end; a job that fails or is killed before leaves the
  champion where it was. A failed run is marked ``FAILED`` with ``traceback.txt``.

Exit codes (:class:`RetrainOutcome.exit_code`, the CLI's status): 0 promoted, 3 kept, 4 skipped,
2 bad input (configuration or data), 1 any other failure.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from attribution._validation import did_you_mean
from experiments.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_KEPT,
    EXIT_PROMOTED,
    EXIT_SKIPPED,
    ConfigError,
    RegistryError,
)
from experiments.registry import (
    CHALLENGER,
    CHAMPION,
    DEFAULT_UPLIFT_NAME,
    TAG_CONFIG,
    TAG_DATA,
    alias_lock,
    check_model_name,
    conform_to_signature,
    default_lock_dir,
    delete_alias,
    find_versions,
    get_alias_version,
    log_uplift_model,
    register_model,
    set_alias,
)
from experiments.tracking import (
    TrackingSettings,
    config_hash,
    file_digest,
    resolve_tracking,
    setup_experiment,
    tracked_run,
)

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "EXIT_KEPT",
    "EXIT_PROMOTED",
    "EXIT_SKIPPED",
    "Comparison",
    "Decision",
    "RetrainConfig",
    "RetrainOutcome",
    "compare",
    "decide",
    "run_retrain",
]

logger = logging.getLogger(__name__)

Decision = Literal["promoted", "kept", "skipped"]

_EXIT = {"promoted": EXIT_PROMOTED, "kept": EXIT_KEPT, "skipped": EXIT_SKIPPED}

# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------

_SCHEMA: dict[str, Any] = {
    "data": {
        "path": None,
        "treatment_col": None,
        "control": None,
        "outcome_col": None,
        "feature_cols": None,
        "outcome_type": "auto",
        "randomized": True,
        "propensity": None,
        "min_rows_per_arm": 30,
    },
    "model": {"learner": "t", "params": {}, "seed": 0},
    "evaluation": {
        "test_size": 0.3,
        "metric": "qini",
        "arm": "mean",
        "margin": 0.0,
        "n_bootstrap": 200,
        "ci": 0.95,
        "seed": 0,
    },
    "registry": {
        "name": DEFAULT_UPLIFT_NAME,
        "tracking_uri": None,
        "experiment": "pathlift-retrain",
        "lock_dir": None,
        "lock_timeout": 600,
    },
    "force": False,
}
_REQUIRED = ("data.path", "data.treatment_col", "data.control", "data.outcome_col")


def _suggest(key: str, valid: list[str]) -> str:
    return did_you_mean(key, valid, fallback=f"; valid keys: {', '.join(valid)}")


def _check_keys(section: Mapping[str, Any], schema: Mapping[str, Any], prefix: str) -> None:
    for key in section:
        if key not in schema:
            where = f"{prefix}{key}"
            raise ConfigError(f"{where}: unknown key{_suggest(str(key), list(schema))}")


def _number(
    path: str, value: Any, *, low: float, high: float | None, integer: bool = False
) -> float:
    kind = "an integer" if integer else "a number"
    bad_type = isinstance(value, bool) or not isinstance(value, int | float)
    if integer and isinstance(value, float):
        bad_type = True
    if bad_type:
        raise ConfigError(f"{path}: must be {kind}, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f">= {low:g}" if high is None else f"between {low:g} and {high:g}"
        raise ConfigError(f"{path}: must be {bounds}, got {value!r}")
    return float(value)


def _metric_name(value: Any) -> str:
    """Map a config metric (``qini``, ``auuc``, ``uplift_at_30``) to its evaluation name."""
    text = str(value)
    if text in ("qini", "auuc"):
        return text
    if text.startswith("uplift_at_"):
        pct = text[len("uplift_at_") :]
        if pct.isdigit() and 0 < int(pct) <= 100:
            return f"uplift@{int(pct)}%"
    raise ConfigError(
        f"evaluation.metric: must be 'qini', 'auuc' or 'uplift_at_<percent>' (e.g. "
        f"'uplift_at_30'), got {value!r}"
        + (_suggest(text, ["qini", "auuc", "uplift_at_30"]) if text else "")
    )


@dataclass(frozen=True)
class RetrainConfig:
    """Validated retraining configuration (build with :meth:`from_yaml` or :meth:`from_dict`).

    Sections and defaults (``~`` = none)::

        data:
          path: campaign.csv        # required; CSV or Parquet; relative to the config file
          treatment_col: treatment  # required
          control: control          # required: name of the control arm
          outcome_col: conversion   # required
          feature_cols: ~           # default: every other column
          outcome_type: auto        # auto | binary | continuous
          randomized: true
          propensity: ~             # known assignment probabilities {arm: p}
          min_rows_per_arm: 30
        model:
          learner: t                # s | t | x | r | dr | uplift_rf | auto (selected and
                                    # calibrated on cross-fitted training rows)
          params: {}                # uplift.UpliftModel keyword arguments
          seed: 0
        evaluation:
          test_size: 0.3            # held-out share, stratified by arm
          metric: qini              # qini | auuc | uplift_at_<percent>
          arm: mean                 # an arm name, or mean over arms
          margin: 0.0               # minimum improvement, in metric units
          n_bootstrap: 200          # paired bootstrap replicates (>= 20)
          ci: 0.95
          seed: 0
        registry:
          name: pathlift-uplift
          tracking_uri: ~           # default: MLFLOW_TRACKING_URI or the project store
          experiment: pathlift-retrain
          lock_dir: ~               # default: next to a sqlite store
          lock_timeout: 600         # seconds to wait for a concurrent job
        force: false                # register even if data and config are unchanged
    """

    data: Mapping[str, Any]
    model: Mapping[str, Any]
    evaluation: Mapping[str, Any]
    registry: Mapping[str, Any]
    force: bool = False
    base_dir: Path = field(default_factory=Path.cwd)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> RetrainConfig:
        """Read and validate a YAML file; relative data paths are taken from its directory."""
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {str(p)!r} does not exist")
        try:
            payload = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(
                f"config file {str(p)!r} is not valid YAML: {' '.join(str(exc).split())}"
            ) from exc
        return cls.from_dict(payload if payload is not None else {}, base_dir=p.resolve().parent)

    @classmethod
    def from_dict(
        cls, payload: Mapping[str, Any], *, base_dir: str | os.PathLike[str] | None = None
    ) -> RetrainConfig:
        """Validate a mapping (see the class docstring for keys and defaults).

        Raises
        ------
        ConfigError
            ``<key path>: <problem>`` for unknown keys (with a suggestion), missing required
            keys, wrong types and out-of-range values.
        """
        if not isinstance(payload, Mapping):
            raise ConfigError(
                f"the config must be a mapping with sections {', '.join(_SCHEMA)}, got "
                f"{type(payload).__name__}"
            )
        _check_keys(payload, _SCHEMA, "")
        sections: dict[str, dict[str, Any]] = {}
        for name, defaults in _SCHEMA.items():
            if name == "force":
                continue
            given = payload.get(name) or {}
            if not isinstance(given, Mapping):
                raise ConfigError(f"{name}: must be a mapping of keys, got {given!r}")
            _check_keys(given, defaults, f"{name}.")
            sections[name] = {**defaults, **dict(given)}
        for dotted in _REQUIRED:
            section, key = dotted.split(".")
            if sections[section][key] in (None, ""):
                raise ConfigError(f"{dotted}: required key is missing")
        force = payload.get("force", False)
        if not isinstance(force, bool):
            raise ConfigError(f"force: must be true or false, got {force!r}")
        cls._validate(sections)
        return cls(
            data=sections["data"],
            model=sections["model"],
            evaluation=sections["evaluation"],
            registry=sections["registry"],
            force=force,
            base_dir=Path(base_dir).resolve() if base_dir is not None else Path.cwd(),
        )

    @staticmethod
    def _validate(s: Mapping[str, Mapping[str, Any]]) -> None:
        from uplift.learners import LEARNERS, UpliftModel

        data, model, ev, reg = s["data"], s["model"], s["evaluation"], s["registry"]
        for key in ("path", "treatment_col", "outcome_col"):
            if not isinstance(data[key], str):
                raise ConfigError(f"data.{key}: must be a string, got {data[key]!r}")
        cols = data["feature_cols"]
        if cols is not None and (
            not isinstance(cols, list) or not cols or not all(isinstance(c, str) for c in cols)
        ):
            raise ConfigError(f"data.feature_cols: must be a non-empty list of names, got {cols!r}")
        if data["outcome_type"] not in ("auto", "binary", "continuous"):
            raise ConfigError(
                f"data.outcome_type: must be auto, binary or continuous, got "
                f"{data['outcome_type']!r}"
            )
        if not isinstance(data["randomized"], bool):
            raise ConfigError(f"data.randomized: must be true or false, got {data['randomized']!r}")
        _number("data.min_rows_per_arm", data["min_rows_per_arm"], low=1, high=None, integer=True)
        if model["learner"] not in (*LEARNERS, "auto"):
            raise ConfigError(
                f"model.learner: unknown learner {model['learner']!r}"
                + _suggest(str(model["learner"]), [*LEARNERS, "auto"])
            )
        params = model["params"]
        if not isinstance(params, Mapping):
            raise ConfigError(f"model.params: must be a mapping, got {params!r}")
        valid = [p for p in UpliftModel().get_params() if p not in ("learner", "seed")]
        for key in params:
            if key not in valid:
                raise ConfigError(f"model.params.{key}: unknown parameter{_suggest(key, valid)}")
        _number("model.seed", model["seed"], low=0, high=None, integer=True)
        _number("evaluation.test_size", ev["test_size"], low=0.01, high=0.99)
        _metric_name(ev["metric"])
        if not isinstance(ev["arm"], str) or not ev["arm"]:
            raise ConfigError(f"evaluation.arm: must be 'mean' or an arm name, got {ev['arm']!r}")
        _number("evaluation.margin", ev["margin"], low=0.0, high=None)
        n_boot = _number(
            "evaluation.n_bootstrap", ev["n_bootstrap"], low=20, high=None, integer=True
        )
        del n_boot
        _number("evaluation.ci", ev["ci"], low=0.5, high=0.999)
        _number("evaluation.seed", ev["seed"], low=0, high=None, integer=True)
        if not isinstance(reg["name"], str) or not reg["name"].strip():
            raise ConfigError(f"registry.name: must be a non-empty string, got {reg['name']!r}")
        try:
            check_model_name(reg["name"])
        except RegistryError as exc:
            raise ConfigError(f"registry.name: {exc}") from exc
        for key in ("tracking_uri", "lock_dir", "experiment"):
            if reg[key] is not None and not isinstance(reg[key], str):
                raise ConfigError(f"registry.{key}: must be a string, got {reg[key]!r}")
        _number("registry.lock_timeout", reg["lock_timeout"], low=0, high=None)

    # ------------------------------------------------------------------------------- helpers
    @property
    def data_path(self) -> Path:
        """The data file, resolved against the config file's directory."""
        p = Path(self.data["path"]).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def metric(self) -> str:
        """The decision metric's name in :mod:`uplift.metrics` (e.g. ``uplift@30%``)."""
        return _metric_name(self.evaluation["metric"])

    @property
    def ks(self) -> tuple[float, ...]:
        """Shares for ``uplift@k``: 10/20/30% plus the decision metric's, if another."""
        ks = [0.1, 0.2, 0.3]
        if self.metric.startswith("uplift@"):
            k = int(self.metric[len("uplift@") : -1]) / 100
            if k not in ks:
                ks.append(k)
        return tuple(sorted(ks))

    def training_config(self) -> dict[str, Any]:
        """Return what defines the model besides the data bytes (hashed for deduplication)."""
        data = {k: v for k, v in self.data.items() if k != "path"}
        return {"data": data, "model": dict(self.model), "evaluation": dict(self.evaluation)}

    def to_dict(self) -> dict[str, Any]:
        """Return the full configuration with defaults filled in (JSON/YAML-friendly)."""
        return {
            "data": {**dict(self.data), "path": str(self.data_path)},
            "model": dict(self.model),
            "evaluation": dict(self.evaluation),
            "registry": dict(self.registry),
            "force": self.force,
        }


# --------------------------------------------------------------------------------------------
# Decision
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Challenger versus champion on the decision metric (paired bootstrap)."""

    metric: str
    arm: str
    challenger: float
    champion: float
    difference: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dictionary."""
        return asdict(self)


def compare(challenger: Any, champion: Any, *, metric: str, arm: str) -> Comparison:
    """Compare two :class:`uplift.metrics.UpliftEvaluation` made on the same rows and replicates.

    ``arm="mean"`` averages the metric (and, replicate by replicate, the paired differences)
    over the arms both evaluations hold; otherwise that arm is used. The interval is the
    percentile interval (level ``challenger.ci``) of the finite replicate differences.
    """
    common = [a for a in challenger.arms if a in champion.arms]
    if arm != "mean":
        if arm not in common:
            raise ConfigError(
                f"evaluation.arm: arm {arm!r} is not scored by both models; common arms are "
                f"{common!r} (or use 'mean')"
            )
        common = [arm]
    if not common:
        raise RegistryError(
            f"the champion scores arms {list(champion.arms)!r} and the challenger "
            f"{list(challenger.arms)!r}: no arm in common to compare"
        )
    a = np.mean([challenger.arms[x].metrics[metric] for x in common])
    b = np.mean([champion.arms[x].metrics[metric] for x in common])
    reps = np.mean(
        [
            challenger.arms[x].replicates[metric] - champion.arms[x].replicates[metric]
            for x in common
        ],
        axis=0,
    )
    finite = np.asarray(reps, dtype=float)
    finite = finite[np.isfinite(finite)]
    level = float(challenger.ci)
    lo, hi = (
        np.percentile(finite, [50 * (1 - level), 50 * (1 + level)])
        if finite.size
        else (np.nan,) * 2
    )
    return Comparison(metric, arm, float(a), float(b), float(a - b), float(lo), float(hi))


def decide(comparison: Comparison | None, *, margin: float) -> tuple[Decision, str]:
    """Apply the decision rule (module docstring); return the decision and its reason."""
    if comparison is None:
        return "promoted", "no champion yet: the first valid model becomes champion"
    c = comparison
    detail = (
        f"{c.metric} ({c.arm}) challenger {c.challenger:.6g} vs champion {c.champion:.6g}: "
        f"difference {c.difference:.6g}, paired interval [{c.ci_low:.6g}, {c.ci_high:.6g}], "
        f"margin {margin:g}"
    )
    if not np.isfinite(c.ci_low):
        return "kept", f"{detail}; the interval is undefined, so there is no evidence"
    if c.difference >= margin and c.ci_low > 0:
        return "promoted", f"{detail}; better by at least the margin and the interval is above 0"
    if c.difference < margin:
        return "kept", f"{detail}; the improvement is below the margin"
    return "kept", f"{detail}; the interval includes 0, so the improvement is not established"


# --------------------------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetrainOutcome:
    """What a retraining job decided.

    Attributes
    ----------
    decision
        ``"promoted"``, ``"kept"`` or ``"skipped"``.
    reason
        One sentence with the numbers behind the decision.
    model_name
        Registered model name.
    version
        The challenger's version (the existing one when skipped), or ``None``.
    champion_before, champion_after
        Champion version before and after the job (``None`` when there was none).
    run_id
        MLflow run of the job (``None`` when skipped before training).
    comparison
        Decision metric of both models with the paired interval (``None`` without champion).
    """

    decision: Decision
    reason: str
    model_name: str
    version: str | None
    champion_before: str | None
    champion_after: str | None
    run_id: str | None
    comparison: Comparison | None = None

    @property
    def exit_code(self) -> int:
        """0 promoted, 3 kept, 4 skipped."""
        return _EXIT[self.decision]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dictionary."""
        out = asdict(self)
        out["comparison"] = self.comparison.to_dict() if self.comparison else None
        out["exit_code"] = self.exit_code
        return out

    def __repr__(self) -> str:
        return (
            f"RetrainOutcome({self.decision}: {self.model_name} v{self.version}, champion "
            f"{self.champion_before} -> {self.champion_after})"
        )


def _champion_predictions(version: str, name: str, frame: Any) -> Any:
    import mlflow

    try:
        champion = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    except Exception as exc:
        raise RegistryError(
            f"champion {name} v{version} cannot be loaded: {' '.join(str(exc).split())[:500]}"
        ) from exc
    schema = champion.metadata.get_input_schema()
    needed = [] if schema is None else [str(n) for n in schema.input_names()]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise RegistryError(
            f"champion {name} v{version} needs feature column(s) "
            f"{', '.join(map(repr, missing))} that the held-out data lacks (it was trained on "
            f"{', '.join(map(repr, needed))}): is it another model's name? Give this job a "
            "registry name of its own (registry: {name: ...}), or retire that champion"
        )
    try:
        return champion.predict(conform_to_signature(champion, frame))
    except Exception as exc:
        raise RegistryError(
            f"champion {name} v{version} cannot score the held-out data: "
            f"{' '.join(str(exc).split())[:500]}; fix the data or retire the champion"
        ) from exc


def _paired_evaluations(
    challenger: Any, champion_predictions: Any, test: Any, config: RetrainConfig
) -> tuple[Any, Any]:
    """Evaluate both models on the same rows, arms (in the same order) and replicates."""
    from uplift.metrics import evaluate_uplift

    ev = config.evaluation
    arms = [a for a in challenger.arms_ if f"uplift_{a}" in champion_predictions.columns]
    if not arms:
        raise RegistryError(
            f"the champion predicts columns {list(champion_predictions.columns)!r} and the "
            f"challenger arms {list(challenger.arms_)!r}: no arm in common to compare"
        )
    kwargs: dict[str, Any] = {
        "arms": arms,
        "ks": config.ks,
        "n_bootstrap": int(ev["n_bootstrap"]),
        "ci": float(ev["ci"]),
        "seed": int(ev["seed"]),
    }
    mine = challenger.predict(test.features)
    args = (test.outcome, test.treatment, test.control)
    return (
        evaluate_uplift(mine, *args, **kwargs),
        evaluate_uplift(champion_predictions.reset_index(drop=True), *args, **kwargs),
    )


def run_retrain(
    config: RetrainConfig,
    *,
    force: bool | None = None,
    settings: TrackingSettings | None = None,
) -> RetrainOutcome:
    """Run the retraining job (see the module docstring).

    Parameters
    ----------
    config
        The validated configuration.
    force
        Override ``config.force`` (register even if data and config are unchanged).
    settings
        The store (default: from ``registry.tracking_uri`` / ``registry.experiment``).

    Raises
    ------
    ConfigError, uplift.errors.UpliftError
        Bad configuration or data (CLI exit status 2); the champion is untouched.
    """
    import mlflow

    from experiments.uplift_runs import log_uplift_results
    from uplift.data import UpliftData, load_frame
    from uplift.workflow import train_and_evaluate

    reg, ev = config.registry, config.evaluation
    force = config.force if force is None else force
    settings = settings or resolve_tracking(reg["tracking_uri"], reg["experiment"])
    name = str(reg["name"])
    path = config.data_path
    if not path.is_file():
        raise ConfigError(f"data.path: file {str(path)!r} does not exist")
    data_sha = file_digest(path)
    cfg_sha = config_hash(config.training_config())
    setup_experiment(settings)
    lock_dir = Path(reg["lock_dir"]) if reg["lock_dir"] else default_lock_dir(settings)

    def duplicate() -> str | None:
        if force:
            return None
        found = find_versions(name, data_sha256=data_sha, config_sha256=cfg_sha)
        return str(found[0].version) if found else None

    def champion_version() -> str | None:
        mv = get_alias_version(name, CHAMPION)
        return str(mv.version) if mv is not None else None

    existing = duplicate()
    if existing is not None:
        current = champion_version()
        return RetrainOutcome(
            decision="skipped",
            reason=(
                f"version {existing} of {name} was trained on the same data (sha256 "
                f"{data_sha[:12]}...) and configuration; nothing to do (use --force to retrain)"
            ),
            model_name=name,
            version=existing,
            champion_before=current,
            champion_after=current,
            run_id=None,
        )

    tags = {"pathlift.kind": "retrain", "pathlift.model_name": name}
    with tracked_run(f"retrain: {name}", settings=settings, tags=tags) as run:
        mlflow.log_params({"decision.metric": ev["metric"], "decision.margin": ev["margin"]})
        d = config.data
        frame = load_frame(path)
        data = UpliftData.from_frame(
            frame,
            treatment_col=d["treatment_col"],
            control=str(d["control"]),
            outcome_col=d["outcome_col"],
            feature_cols=d["feature_cols"],
            outcome_type=d["outcome_type"],
            randomized=d["randomized"],
            propensity=d["propensity"],
            min_rows_per_arm=int(d["min_rows_per_arm"]),
        )
        model_cfg = config.model
        trained = train_and_evaluate(
            data,
            learner=str(model_cfg["learner"]),
            params=dict(model_cfg["params"]),
            seed=int(model_cfg["seed"]),
            test_size=float(ev["test_size"]),
            split_seed=int(ev["seed"]),
            eval_seed=int(ev["seed"]),
            calibrate=model_cfg["learner"] == "auto",
            ks=config.ks,
            n_bootstrap=int(ev["n_bootstrap"]),
            ci=float(ev["ci"]),
        )
        challenger, evaluation, test = trained.model, trained.evaluation, trained.test
        # the champion scores the held-out rows with every column of the file, so that it
        # still works when its feature set differs from the challenger's
        test_frame = frame.iloc[trained.test_rows].reset_index(drop=True)
        log_uplift_results(
            challenger,
            evaluation,
            data=path,
            data_sha256=data_sha,
            data_frame=frame,
            n_test=len(test),
            config=config.to_dict(),
            selection=trained.selection,
            raw_calibration_error=trained.raw_calibration_error,
        )
        info = log_uplift_model(challenger, test.features)
        mlflow.set_tags({TAG_DATA: data_sha, TAG_CONFIG: cfg_sha})

        with alias_lock(name, lock_dir, timeout=float(reg["lock_timeout"])):
            again = duplicate()
            before = champion_version()
            if again is not None:
                outcome = RetrainOutcome(
                    decision="skipped",
                    reason=(
                        f"version {again} of {name} with the same data and configuration was "
                        "registered by a concurrent job; nothing registered"
                    ),
                    model_name=name,
                    version=again,
                    champion_before=before,
                    champion_after=before,
                    run_id=run.info.run_id,
                )
                _log_outcome(outcome)
                return outcome
            comparison = None
            if before is not None:
                predictions = _champion_predictions(before, name, test_frame)
                mine, theirs = _paired_evaluations(challenger, predictions, test, config)
                comparison = compare(mine, theirs, metric=config.metric, arm=str(ev["arm"]))
            decision, reason = decide(comparison, margin=float(ev["margin"]))
            version = register_model(
                info.model_uri,
                name,
                tags={
                    TAG_DATA: data_sha,
                    TAG_CONFIG: cfg_sha,
                    "pathlift.run_id": run.info.run_id,
                    "pathlift.decision": decision,
                },
                description=reason,
            )
            new = str(version.version)
            # the very last steps: move the aliases
            if decision == "promoted":
                set_alias(name, CHAMPION, new)
                delete_alias(name, CHALLENGER)
                after: str | None = new
            else:
                set_alias(name, CHALLENGER, new)
                after = before
        outcome = RetrainOutcome(
            decision=decision,
            reason=reason,
            model_name=name,
            version=new,
            champion_before=before,
            champion_after=after,
            run_id=run.info.run_id,
            comparison=comparison,
        )
        _log_outcome(outcome)
    return outcome


def _log_outcome(outcome: RetrainOutcome) -> None:
    import mlflow

    mlflow.set_tags(
        {
            "pathlift.decision": outcome.decision,
            "pathlift.decision_reason": outcome.reason[:5000],
            "pathlift.model_version": outcome.version or "",
            "pathlift.champion_before": outcome.champion_before or "",
            "pathlift.champion_after": outcome.champion_after or "",
        }
    )
    if outcome.comparison is not None:
        c = outcome.comparison
        mlflow.log_metrics(
            {
                f"decision.{k}": float(v)
                for k, v in c.to_dict().items()
                if isinstance(v, float) and np.isfinite(v)
            }
        )
    mlflow.log_text(json.dumps(outcome.to_dict(), indent=2), "decision.json")
    active = mlflow.active_run()
    note = ""
    if active is not None:
        note = mlflow.get_run(active.info.run_id).data.tags.get("mlflow.note.content", "")
    mlflow.set_tag(
        "mlflow.note.content",
        f"**Decision: {outcome.decision}.** {outcome.reason}\n\n{note}",
    )
