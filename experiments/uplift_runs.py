"""Log an uplift model and its held-out evaluation as an MLflow run.

What a run holds:

Params
    ``learner`` and every :class:`uplift.UpliftModel` parameter (``n_estimators``,
    ``learning_rate``, ...; nested mappings flattened as ``lgbm_params.<key>``), ``control``,
    ``arms``, ``outcome_type``, ``treatment_col``, ``outcome_col``, ``n_features``, ``n_train``,
    ``n_test``, and the evaluation settings ``eval.n_bootstrap``, ``eval.ci``, ``eval.seed``.
Metrics
    For each arm and each evaluation metric (``qini``, ``auuc``, ``uplift@10%``, ...,
    ``ate``): ``<metric>.<arm>`` with ``<metric>.<arm>.ci_low``, ``.ci_high`` and ``.ci_width``
    (bootstrap percentile interval, see :mod:`uplift.metrics`), and the mean over arms
    ``<metric>.mean``. Metric names are made valid keys: ``uplift@10%`` becomes
    ``uplift_at_10pct``. With a targeting plan: ``plan.n_contacts``, ``plan.cost``,
    ``plan.expected_incremental_conversions``, ``plan.expected_profit``. With a calibrated
    model: ``calibration.alpha.<arm>`` and ``calibration.beta.<arm>`` (params ``calibration``,
    ``calibration.n_bins``, ``calibration.n_folds``).
Artifacts
    ``report/evaluation.csv`` (one row per arm and metric), ``report/evaluation.json``,
    ``report/deciles.csv``, ``report/curves.csv``, ``report/uplift.md`` (the run description),
    ``report/targeting_plan.csv`` and ``report/targeting_plan.json`` (with a plan),
    ``report/targeting_evaluation.csv`` (with a held-out plan evaluation), ``config.yaml``,
    ``figures/qini.png``, ``figures/gain.png``, ``figures/deciles.png``,
    ``figures/calibration.png``; with a calibrated model ``report/calibration.csv`` (the bins)
    and ``report/calibration.json``.
Inputs
    The training data (context ``training``) and, when given separately, the held-out data
    (context ``evaluation``), with digests from :func:`experiments.tracking.log_dataset`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from attribution._io import csv_text
from experiments.errors import ExperimentError
from experiments.registry import DEFAULT_UPLIFT_NAME, log_uplift_model, register_run_model
from experiments.tracking import (
    DatasetInfo,
    TrackedRun,
    TrackingSettings,
    log_dataset,
    log_figures,
    log_report,
    metric_key,
    resolve_tracking,
    tracked_run,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from uplift.learners import UpliftModel
    from uplift.metrics import UpliftEvaluation

__all__ = [
    "evaluation_metrics",
    "log_uplift_results",
    "model_config",
    "plot_deciles",
    "track_uplift_run",
    "uplift_metric_name",
    "uplift_summary",
]

logger = logging.getLogger(__name__)


def uplift_metric_name(metric: str) -> str:
    """Return the MLflow key of an evaluation metric: ``uplift@10%`` -> ``uplift_at_10pct``."""
    return metric.replace("@", "_at_").replace("%", "pct").replace(".", "_")


def evaluation_metrics(evaluation: UpliftEvaluation) -> dict[str, float]:
    """Flatten an evaluation into MLflow metrics (see the module docstring); NaNs are dropped."""
    out: dict[str, float] = {}
    per_metric: dict[str, list[float]] = {}
    for arm, ev in evaluation.arms.items():
        for metric, value in ev.metrics.items():
            name = uplift_metric_name(metric)
            lo, hi = ev.intervals[metric]
            key = metric_key(name, arm)
            out[key] = float(value)
            out[f"{key}.ci_low"] = float(lo)
            out[f"{key}.ci_high"] = float(hi)
            out[f"{key}.ci_width"] = float(hi - lo)
            per_metric.setdefault(name, []).append(float(value))
    for name, values in per_metric.items():
        out[f"{name}.mean"] = float(np.mean(values))
    return {k: v for k, v in out.items() if np.isfinite(v)}


def _flat_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flat_params(value, prefix=f"{name}."))
        else:
            out[metric_key(name)] = "None" if value is None else value
    return out


def uplift_summary(
    model: UpliftModel,
    evaluation: UpliftEvaluation,
    *,
    plan: Any | None = None,
    source: str | None = None,
    selection: Any | None = None,
) -> str:
    """Markdown summary for an analyst: data, learner, per-arm Qini/AUUC/uplift@k with intervals."""
    meta = getattr(model, "metadata_", {})
    training = meta.get("training", {})
    lines = [f"# Uplift: {model.learner}-learner, {len(model.arms_)} arm(s)", ""]
    data = (
        f"**Data.** Trained on {training.get('n_rows', '?'):,} rows "
        if isinstance(training.get("n_rows"), int)
        else "**Data.** "
    )
    data += (
        f"with outcome `{model.outcome_col_}` ({model.outcome_type_}), treatment "
        f"`{model.treatment_col_}` (control `{model.control_}`, arms "
        f"{', '.join(f'`{a}`' for a in model.arms_)}), {len(model.schema_.names)} features"
    )
    if source:
        data += f", from `{source}`"
    lines += [data + ".", ""]
    if selection is not None:
        table = selection.table
        done = table[~table["pruned"]]
        lines.append(
            f"**Learner selection.** `{selection.best.name}` ({selection.best.learner}-learner, "
            f"{', '.join(f'{k}={v}' for k, v in selection.best.params.items()) or 'defaults'}) "
            f"chosen among {len(table)} candidates by cross-fitted held-out {selection.metric} "
            f"on the training rows ({selection.n_folds} folds, {len(table) - len(done)} pruned "
            f"after the first fold, {selection.seconds:.1f}s); see `selection/candidates.csv`."
        )
        lines.append("")
        lines.append(f"| candidate | {selection.metric} (mean of folds) | se | folds |")
        lines.append("|---|---:|---:|---:|")
        for row in table.itertuples(index=False):
            mark = " (chosen)" if row.chosen else (" (pruned)" if row.pruned else "")
            lines.append(
                f"| {row.candidate}{mark} | {row.value:.4g} | {row.se:.2g} | {row.n_folds_scored} |"
            )
        lines.append("")
    lines.append(
        f"**Held-out evaluation** ({evaluation.ci:.0%} bootstrap intervals, "
        f"{evaluation.n_bootstrap} replicates, seed {evaluation.seed}). Qini: mean height of the "
        "Qini curve above random targeting, per customer (random = 0)."
    )
    lines.append("")
    frame = evaluation.to_frame()
    lines.append("| arm | metric | value | interval | random targeting |")
    lines.append("|---|---|---:|---|---:|")
    for row in frame.itertuples(index=False):
        lines.append(
            f"| {row.arm} | {row.metric} | {row.value:.4g} | [{row.ci_low:.4g}, "
            f"{row.ci_high:.4g}] | {row.random_baseline:.4g} |"
        )
    calibration = getattr(model, "calibration_", None)
    lines += ["", "**Calibration.**", ""]
    if calibration is not None:
        lines.append(
            "Predicted uplift is calibrated on cross-fitted out-of-fold predictions of the "
            "training rows (per arm: observed uplift of 10 score bins regressed on their mean "
            "predicted uplift, slope >= 1e-6): "
            + "; ".join(
                f"`{a}` {f.alpha:+.4g} + {f.beta:.4g} x predicted"
                for a, f in calibration.fits.items()
            )
            + "."
        )
    else:
        lines.append("The predictions are the learner's own (not calibrated).")
    errors = []
    for arm, ev in evaluation.arms.items():
        if "calibration_error" in ev.metrics:
            lo, hi = ev.intervals["calibration_error"]
            errors.append(f"`{arm}` {ev.metrics['calibration_error']:.4g} [{lo:.4g}, {hi:.4g}]")
    if errors:
        lines.append(
            "Held-out calibration error (mean |observed - predicted| uplift over the decile "
            "bins, per customer; see `figures/calibration.png`): " + ", ".join(errors) + "."
        )
    verdicts = []
    for arm, ev in evaluation.arms.items():
        lo, _hi = ev.intervals.get("qini", (np.nan, np.nan))
        if np.isfinite(lo) and lo > 0:
            verdicts.append(f"- `{arm}`: the ranking beats random targeting (Qini interval > 0).")
        else:
            verdicts.append(
                f"- `{arm}`: no evidence that the ranking beats random targeting (the Qini "
                "interval includes 0)."
            )
    lines += ["", "**Verdict.**", "", *verdicts]
    if plan is not None:
        lines += [
            "",
            f"**Targeting plan.** {plan!r}",
        ]
    lines += [
        "",
        "Artifacts: `report/evaluation.csv`, `report/deciles.csv`, `report/curves.csv`, "
        "`figures/`" + (", `report/targeting_plan.csv`" if plan is not None else "") + ".",
    ]
    return "\n".join(lines) + "\n"


def plot_deciles(evaluation: UpliftEvaluation, *, ax: Axes | None = None) -> Axes:
    """Plot observed uplift per decile of predicted uplift (with intervals) for every arm."""
    import matplotlib.pyplot as plt

    from uplift.plots import finish_axes, interval_errors

    table = evaluation.deciles_frame()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    arms = list(evaluation.arms)
    width = 0.8 / max(1, len(arms))
    for k, arm in enumerate(arms):
        part = table[table["arm"] == arm]
        x = np.arange(len(part)) + k * width - 0.4 + width / 2
        y = part["observed_uplift"].to_numpy(dtype=float)
        err = interval_errors(
            y, part["ci_low"].to_numpy(dtype=float), part["ci_high"].to_numpy(dtype=float)
        )
        ax.bar(x, y, width=width, yerr=err, label=arm)
    n_bins = int(table.groupby("arm").size().max())
    ax.set_xticks(np.arange(n_bins), [str(b) for b in range(1, n_bins + 1)])
    return finish_axes(
        ax,
        xlabel="decile of predicted uplift (1 = highest)",
        ylabel="observed uplift (treated - control mean)",
        title="Observed uplift by decile (bars: bootstrap intervals)",
    )


def _log_data(
    data: pd.DataFrame | str | os.PathLike[str] | None,
    *,
    name: str,
    context: str,
    sha256: str | None = None,
    frame: pd.DataFrame | None = None,
) -> DatasetInfo | None:
    if data is None:
        return None
    if isinstance(data, pd.DataFrame):
        return log_dataset(data, name=name, context=context, sha256=sha256)
    return log_dataset(data, name=Path(data).name, context=context, sha256=sha256, frame=frame)


def log_uplift_results(
    model: UpliftModel,
    evaluation: UpliftEvaluation,
    *,
    data: pd.DataFrame | str | os.PathLike[str] | None = None,
    eval_data: pd.DataFrame | str | os.PathLike[str] | None = None,
    data_sha256: str | None = None,
    data_frame: pd.DataFrame | None = None,
    n_test: int | None = None,
    plan: Any | None = None,
    targeting: Any | None = None,
    config: Mapping[str, Any] | None = None,
    selection: Any | None = None,
    raw_calibration_error: Mapping[str, float] | None = None,
) -> DatasetInfo | None:
    """Log a fitted model's parameters and held-out evaluation into the *active* run.

    Parameters
    ----------
    model
        The fitted :class:`uplift.UpliftModel`.
    evaluation
        Its held-out :class:`uplift.metrics.UpliftEvaluation`.
    data
        The training input: a file path (its bytes are hashed) or a DataFrame.
    eval_data
        The held-out input, when it is separate from ``data``.
    data_sha256
        Digest of ``data`` already computed by the caller.
    data_frame
        The loaded content of ``data`` when it is a path (for the schema and the row count).
    n_test
        Held-out rows (logged as ``n_test``).
    plan
        A :class:`uplift.targeting.TargetingPlan` (anything with ``to_frame()``/``to_dict()``).
    targeting
        A held-out :class:`uplift.targeting.TargetingEvaluation` (anything with ``to_frame()``).
    config
        The run configuration (logged as ``config.yaml``).
    selection
        A :class:`uplift.selection.LearnerSelection` (``--learner auto``): params
        ``selection.metric``, ``selection.n_folds``, ``selection.n_candidates``,
        ``selection.chosen``; metrics ``selection.value.<candidate>`` and
        ``selection.seconds``; artifacts ``selection/candidates.csv`` and ``.json``.
    raw_calibration_error
        ``{arm: error}`` of the uncalibrated predictions on the held-out rows, logged as
        ``calibration_error_raw.<arm>``.

    Returns
    -------
    DatasetInfo or None
        The logged training input.
    """
    import mlflow

    from uplift.plots import plot_calibration, plot_gain, plot_qini

    if not hasattr(model, "arms_"):
        raise ExperimentError("the uplift model is not fitted: call fit(data) before logging it")
    dataset = _log_data(
        data, name="uplift-data", context="training", sha256=data_sha256, frame=data_frame
    )
    _log_data(eval_data, name="uplift-holdout", context="evaluation")
    training = getattr(model, "metadata_", {}).get("training", {})
    params: dict[str, Any] = {
        **_flat_params(model.get_params()),
        "control": model.control_,
        "arms": ",".join(model.arms_),
        "outcome_type": model.outcome_type_,
        "treatment_col": model.treatment_col_,
        "outcome_col": model.outcome_col_,
        "n_features": len(model.schema_.names),
        "n_train": training.get("n_rows", "unknown"),
        "n_test": n_test if n_test is not None else "unknown",
        "eval.n_bootstrap": evaluation.n_bootstrap,
        "eval.ci": evaluation.ci,
        "eval.seed": evaluation.seed,
        "calibration": "none",
    }
    calibration = getattr(model, "calibration_", None)
    if calibration is not None:
        params["calibration"] = "linear, out-of-fold score bins"
        params["calibration.n_bins"] = calibration.n_bins
        params["calibration.n_folds"] = len(model.fold_models_)
    if dataset is not None:
        params["data_sha256"] = dataset.sha256
    if selection is not None:
        params.update(
            {
                "selection.metric": selection.metric,
                "selection.n_folds": selection.n_folds,
                "selection.n_candidates": len(selection.table),
                "selection.chosen": selection.best.name,
            }
        )
    mlflow.log_params(params)
    metrics = evaluation_metrics(evaluation)
    if plan is not None:
        for attr in ("n_contacts", "total_cost", "expected_incremental_conversions"):
            if hasattr(plan, attr):
                metrics[f"plan.{attr.replace('total_', '')}"] = float(getattr(plan, attr))
        if hasattr(plan, "expected_profit"):
            metrics["plan.expected_profit"] = float(plan.expected_profit)
    if selection is not None:
        metrics["selection.seconds"] = float(selection.seconds)
        for row in selection.table.itertuples(index=False):
            metrics[metric_key("selection.value", row.candidate)] = float(row.value)
    for arm, err in (raw_calibration_error or {}).items():
        metrics[metric_key("calibration_error_raw", arm)] = float(err)
    if calibration is not None:
        for arm, fit in calibration.fits.items():
            metrics[metric_key("calibration.alpha", arm)] = float(fit.alpha)
            metrics[metric_key("calibration.beta", arm)] = float(fit.beta)
    mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})

    summary = uplift_summary(
        model,
        evaluation,
        plan=plan,
        source=str(data) if data is not None and not isinstance(data, pd.DataFrame) else None,
        selection=selection,
    )
    files: dict[str, str] = {
        "report/evaluation.csv": csv_text(evaluation.to_frame()),
        "report/evaluation.json": json.dumps(evaluation.to_dict(), indent=2, default=str),
        "report/deciles.csv": csv_text(evaluation.deciles_frame()),
        "report/curves.csv": csv_text(evaluation.curves_frame()),
        "report/uplift.md": summary,
    }
    if selection is not None:
        files["selection/candidates.csv"] = csv_text(selection.table)
        files["selection/candidates.json"] = json.dumps(selection.to_dict(), indent=2, default=str)
    if calibration is not None:
        files["report/calibration.csv"] = csv_text(calibration.bins_frame())
        files["report/calibration.json"] = json.dumps(calibration.to_dict(), indent=2)
    if plan is not None:
        files["report/targeting_plan.csv"] = csv_text(plan.to_frame())
        if hasattr(plan, "to_dict"):
            files["report/targeting_plan.json"] = json.dumps(plan.to_dict(), indent=2, default=str)
    if targeting is not None:
        files["report/targeting_evaluation.csv"] = csv_text(targeting.to_frame())
    log_report(files, config=config, summary=summary, kind="uplift")
    log_figures(
        {
            f"figures/{name}.png": functools.partial(draw, evaluation)
            for name, draw in (
                ("qini", plot_qini),
                ("gain", plot_gain),
                ("deciles", plot_deciles),
                ("calibration", plot_calibration),
            )
        }
    )
    return dataset


def model_config(model: UpliftModel) -> dict[str, Any]:
    """Return what defines a trained uplift model besides its data (hashed for deduplication)."""
    return {
        "learner": model.learner,
        "params": json.loads(json.dumps(model.get_params(), default=str)),
        "control": model.control_,
        "arms": list(model.arms_),
        "features": list(model.schema_.names),
        "outcome_col": model.outcome_col_,
        "treatment_col": model.treatment_col_,
    }


def track_uplift_run(
    model: UpliftModel,
    evaluation: UpliftEvaluation,
    *,
    data: pd.DataFrame | str | os.PathLike[str] | None = None,
    eval_data: pd.DataFrame | str | os.PathLike[str] | None = None,
    n_test: int | None = None,
    plan: Any | None = None,
    targeting: Any | None = None,
    config: Mapping[str, Any] | None = None,
    settings: TrackingSettings | None = None,
    run_name: str | None = None,
    register: bool = False,
    model_name: str = DEFAULT_UPLIFT_NAME,
    alias: str | None = None,
    input_example: pd.DataFrame | None = None,
    force: bool = False,
    tags: Mapping[str, str] | None = None,
    selection: Any | None = None,
    raw_calibration_error: Mapping[str, float] | None = None,
) -> TrackedRun:
    """Record an uplift run and optionally register the model.

    Parameters
    ----------
    model, evaluation, data, eval_data, n_test, plan, targeting, config, selection
    raw_calibration_error
        See :func:`log_uplift_results`.
    settings
        The store (default :func:`experiments.tracking.resolve_tracking`).
    run_name
        Run name (default ``"uplift: <learner>-learner"``).
    register
        Log the model as a pyfunc model and register it under ``model_name``. A version trained
        on the same data (digest of ``data``) and model configuration is reused unless ``force``.
    alias
        Alias of a newly registered version; default ``champion`` when the model has none yet,
        else ``challenger`` (use ``pathlift retrain`` to promote on evidence).
    input_example
        Rows with the feature columns for the model's input example and signature (default: the
        first rows of ``data`` when it is a DataFrame).

    Returns
    -------
    TrackedRun
        Run id, experiment id, store and ``model_versions``.
    """
    if register and input_example is None:
        if not isinstance(data, pd.DataFrame):
            raise ExperimentError(
                "register=True needs feature rows for the model signature: pass "
                "input_example=<DataFrame with the feature columns> (or data as a DataFrame)"
            )
        input_example = data
    settings = settings or resolve_tracking()
    name = run_name or (
        f"uplift: auto -> {selection.best.name}"
        if selection is not None
        else f"uplift: {model.learner}-learner"
    )
    versions: dict[str, str] = {}
    with tracked_run(name, settings=settings, tags=tags) as run:
        dataset = log_uplift_results(
            model,
            evaluation,
            data=data,
            eval_data=eval_data,
            n_test=n_test,
            plan=plan,
            targeting=targeting,
            config=config,
            selection=selection,
            raw_calibration_error=raw_calibration_error,
        )
        if register and input_example is not None:
            example = input_example

            def _log() -> str:
                return log_uplift_model(model, example).model_uri

            versions = register_run_model(
                _log,
                model_name,
                data_sha256=dataset.sha256 if dataset is not None else "unknown",
                config=model_config(model),
                alias=alias,
                force=force or dataset is None,
            )
    return TrackedRun.from_run(run, settings, versions)
