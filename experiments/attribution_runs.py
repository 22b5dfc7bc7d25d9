"""Log attribution results as an MLflow run an analyst can review and compare.

One run holds the results of one or more attribution models fitted on the same journeys.

What a run holds:

Params
    ``models`` (comma-separated names), ``<model>.<param>`` for every model parameter (e.g.
    ``markov.order``), the bootstrap settings (``n_bootstrap``, ``ci_level`` for the models'
    ``ci``, ``bootstrap_method``, ``random_state`` for their ``seed``: the keys keep the names
    earlier runs were logged with, so runs before and after the rename compare), and the data
    window (``lookback``, ``max_touches``, ``source``).
Metrics
    A few headline numbers, at most :data:`MAX_METRICS` (a run with every model stays readable
    in the UI): the totals ``journeys``, ``conversions``, ``value``, ``paths``, ``channels``,
    ``dropped_conversions``, ``dropped_value``; per model ``top_share.<model>`` (the largest
    channel's share of the model's conversion credit) and, with intervals,
    ``ci_width_mean.<model>`` (mean width of the channels' conversion-credit intervals); and the
    fit quality of the models that have one (:data:`FIT_QUALITY`: held-out AUC and log-loss of
    ``data_driven``, the outcome AUC, incremental total and baseline of ``causal``), as
    ``<name>.<model>``; rounded for display (4 decimals below 100, else 2).
Table
    ``tables/credit.json`` (:func:`mlflow.log_table`): one row per model and channel with the
    conversion and value credit, the share, the interval bounds and the model's extras (such as
    ``removal_effect``), rounded to 4 decimals (full precision in ``report/attribution.csv``);
    the UI shows it as a table. The budget report of
    :func:`experiments.demo.run_demo` adds ``tables/channel_economics.json`` with spend, CPA
    and ROAS.
Artifacts
    ``report/report.html`` (the self-contained HTML report of
    :func:`experiments.reports.build_report`), ``report/attribution.csv`` (the table as CSV),
    ``report/attribution.json``, ``report/attribution.md`` (the run description),
    ``config.yaml`` (when a config is given), ``figures/credit.png`` (credit per channel and
    model with intervals, one colour per model, in conversions) and
    ``figures/transition_matrix.png`` (when a fitted Markov model is given).
Input
    The dataset, with a digest computed by :func:`experiments.tracking.log_dataset`.
Description
    :func:`attribution_summary` (Markdown), shown as the run description.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from attribution._io import csv_text, to_jsonable
from experiments.errors import ExperimentError
from experiments.registry import DEFAULT_MARKOV_NAME, log_markov_model, register_run_model
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

    from attribution.journeys import Journeys
    from attribution.markov import MarkovAttribution
    from attribution.result import AttributionResult

__all__ = [
    "FIT_QUALITY",
    "MAX_METRICS",
    "attribution_frame",
    "attribution_summary",
    "log_attribution_results",
    "plot_credit",
    "plot_transition_matrix",
    "run_metrics",
    "track_attribution_run",
]

logger = logging.getLogger(__name__)

#: most metrics one attribution run logs (per-channel numbers go to the table)
MAX_METRICS = 60
#: model diagnostics logged as fit-quality metrics, when a model has them
FIT_QUALITY = (
    "heldout_auc",
    "heldout_log_loss",
    "heldout_base_log_loss",
    "outcome_auc",
    "incremental_total",
    "baseline",
)
#: longest heading of a run description (MLflow's description pane shows one line)
_HEADING_CHARS = 60


def _as_list(results: AttributionResult | Sequence[AttributionResult]) -> list[AttributionResult]:
    from attribution.result import AttributionResult

    items = [results] if isinstance(results, AttributionResult) else list(results)
    if not items:
        raise ExperimentError("no attribution results to log: fit at least one model")
    for item in items:
        if not isinstance(item, AttributionResult):
            raise ExperimentError(
                f"expected AttributionResult objects (a fitted model's result_), got "
                f"{type(item).__name__}"
            )
    names = [r.model for r in items]
    if len(set(names)) != len(names):
        raise ExperimentError(f"each model may appear once per run, got {names}")
    return items


def attribution_frame(results: AttributionResult | Sequence[AttributionResult]) -> pd.DataFrame:
    """Stack :meth:`AttributionResult.to_frame` of every result with a ``model`` column first."""
    frames = [r.to_frame().assign(model=r.model) for r in _as_list(results)]
    out = pd.concat(frames, ignore_index=True)
    return out[["model", *[c for c in out.columns if c != "model"]]]


# --------------------------------------------------------------------------------------------
# Summary and figures
# --------------------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return f"{x:,.1f}" if abs(x) >= 100 else f"{x:,.3g}"


def attribution_summary(
    results: AttributionResult | Sequence[AttributionResult],
    journeys: Journeys,
    *,
    source: str | None = None,
) -> str:
    """Markdown summary for an analyst: data coverage, top channels, a credit table, caveats."""
    items = _as_list(results)
    prov = journeys.provenance
    heading = f"Attribution: {', '.join(r.model for r in items)}"
    if len(heading) > _HEADING_CHARS:
        heading = f"Attribution: {len(items)} models"
    lines = [f"# {heading}", ""]
    if len(items) > 1 and heading.endswith("models"):
        lines += ["**Models.** " + ", ".join(f"`{r.model}`" for r in items) + ".", ""]
    data = (
        f"**Data.** {journeys.n_journeys:,} journeys ({journeys.total_conversions:,} converting, "
        f"total value {_fmt(journeys.total_value)}) on {journeys.n_paths:,} unique paths over "
        f"{journeys.n_channels} channels"
    )
    if source:
        data += f", from `{source}`"
    lines.append(data + ".")
    coverage = []
    if prov.start is not None and prov.end is not None:
        start, end = (pd.Timestamp(t).strftime("%Y-%m-%d %H:%M") for t in (prov.start, prov.end))
        coverage.append(f"events from {start} to {end}")
    if prov.lookback:
        coverage.append(f"lookback {prov.lookback}")
    if prov.max_touches:
        coverage.append(f"at most {prov.max_touches} touches per journey")
    if prov.dropped_conversions:
        coverage.append(
            f"{prov.dropped_conversions:,} conversions (value {_fmt(prov.dropped_value)}) had no "
            "touch in the lookback window and are not attributed"
        )
    if coverage:
        lines += ["", "**Coverage.** " + "; ".join(coverage) + "."]
    lines += ["", "**Headline.**", ""]
    for r in items:
        order = np.argsort(-np.asarray(r.conversions, dtype=float), kind="stable")
        top = order[0]
        text = (
            f"- `{r.model}`: **{r.channels[top]}** gets {_fmt(float(r.conversions[top]))} "
            f"conversions ({r.share[top]:.1%} of the credit)"
        )
        if r.ci is not None:
            text += (
                f", {r.ci.level:.0%} interval [{_fmt(float(r.ci.conversions_low[top]))}, "
                f"{_fmt(float(r.ci.conversions_high[top]))}]"
            )
        if len(order) > 1:
            second = order[1]
            text += f"; next **{r.channels[second]}** ({r.share[second]:.1%})"
        lines.append(text + ".")
    channels = sorted({c for r in items for c in r.channels})
    header = "| channel | " + " | ".join(f"{r.model} credit" for r in items) + " |"
    lines += ["", "**Conversion credit per channel** (interval in brackets).", "", header]
    lines.append("|---|" + "---:|" * len(items))
    for c in channels:
        cells = []
        for r in items:
            if c not in r.channels:
                cells.append("")
                continue
            i = r.channels.index(c)
            cell = f"{_fmt(float(r.conversions[i]))} ({r.share[i]:.1%})"
            if r.ci is not None:
                cell += (
                    f" [{_fmt(float(r.ci.conversions_low[i]))}, "
                    f"{_fmt(float(r.ci.conversions_high[i]))}]"
                )
            cells.append(cell)
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    notes = [f"`{r.model}`: {n}" for r in items for n in r.notes]
    if notes:
        lines += ["", "**Caveats.**", ""] + [f"- {n}" for n in notes]
    lines += [
        "",
        "Artifacts: `report/report.html` (the report), `tables/credit.json` (every channel's "
        "credit and interval, as a table), `report/attribution.csv`, `figures/credit.png`.",
    ]
    return "\n".join(lines) + "\n"


def plot_credit(
    results: AttributionResult | Sequence[AttributionResult], *, ax: Axes | None = None
) -> Axes:
    """Plot grouped horizontal bars of conversion credit per channel and model, with intervals.

    Every model has a colour of its own (Matplotlib's ``tab10`` up to 10 models, ``tab20`` up
    to 20); the axis states the unit (conversions); the legend sits outside the bars. Save with
    ``bbox_inches="tight"`` so that no channel label is cut.
    """
    import matplotlib.pyplot as plt

    items = _as_list(results)
    channels = sorted({c for r in items for c in r.channels})
    if ax is None:
        height = max(3.0, 0.3 * len(channels) * max(1, len(items)) + 1.0)
        _, ax = plt.subplots(figsize=(8, min(height, 30.0)))
    width = 0.8 / len(items)
    y = np.arange(len(channels))
    palette = plt.get_cmap("tab10" if len(items) <= 10 else "tab20")
    for k, r in enumerate(items):
        idx = [r.channels.index(c) if c in r.channels else -1 for c in channels]
        values = np.array([r.conversions[i] if i >= 0 else np.nan for i in idx], dtype=float)
        err = None
        if r.ci is not None:
            lo = np.array([r.ci.conversions_low[i] if i >= 0 else np.nan for i in idx])
            hi = np.array([r.ci.conversions_high[i] if i >= 0 else np.nan for i in idx])
            err = np.vstack([np.clip(values - lo, 0, None), np.clip(hi - values, 0, None)])
        ax.barh(
            y + k * width - 0.4 + width / 2,
            values,
            height=width,
            xerr=err,
            label=r.model,
            color=palette(k % palette.N),
            error_kw={"elinewidth": 0.8, "capsize": 0},
        )
    ax.set_yticks(y, channels)
    ax.invert_yaxis()
    level = next((r.ci.level for r in items if r.ci is not None), None)
    ax.set_xlabel("credit (conversions)")
    ax.set_title(
        "Conversion credit per channel"
        + (f" (lines: {level:.0%} bootstrap intervals)" if level is not None else "")
    )
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), title="model")
    return ax


def plot_transition_matrix(
    markov: MarkovAttribution, *, max_states: int = 40, ax: Axes | None = None
) -> Axes:
    """Plot a heat map of the fitted chain's transition probabilities (busiest states)."""
    import matplotlib.pyplot as plt

    matrix = markov.transition_matrix()
    if len(matrix.index) > max_states + 1:
        weight = matrix.sum(axis=0).reindex(matrix.index).fillna(0.0)
        keep = [matrix.index[0], *weight.iloc[1:].nlargest(max_states).index]
        keep_cols = [c for c in matrix.columns if c in keep or c.startswith("(")]
        matrix = matrix.loc[keep, keep_cols]
    if ax is None:
        size = min(14.0, 3.0 + 0.35 * len(matrix.columns))
        _, ax = plt.subplots(figsize=(size, size * 0.85))
    image = ax.imshow(matrix.to_numpy(dtype=float), cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(np.arange(len(matrix.columns)), matrix.columns, rotation=90, fontsize="small")
    ax.set_yticks(np.arange(len(matrix.index)), matrix.index, fontsize="small")
    ax.set_xlabel("to")
    ax.set_ylabel("from")
    ax.set_title(f"Markov transition probabilities (order {markov.order})")
    ax.figure.colorbar(image, ax=ax, fraction=0.046)
    return ax


# --------------------------------------------------------------------------------------------
# Logging
# --------------------------------------------------------------------------------------------


def _params(items: list[AttributionResult], journeys: Journeys) -> dict[str, Any]:
    params: dict[str, Any] = {"models": ",".join(r.model for r in items)}
    for r in items:
        for key, value in r.params.items():
            params[metric_key(r.model, key)] = value
        if r.ci is not None:
            params.update(
                {
                    "n_bootstrap": r.ci.n_replicates,
                    "ci_level": r.ci.level,
                    "bootstrap_method": r.ci.method,
                    "random_state": r.ci.seed,
                }
            )
    prov = journeys.provenance
    params["journeys_source"] = prov.source
    params["lookback"] = prov.lookback
    params["max_touches"] = prov.max_touches
    return {k: ("None" if v is None else v) for k, v in params.items()}


def _readable(value: float) -> float:
    """Round for display: 4 decimals below 100 in absolute value, else 2 (whole numbers stay)."""
    return round(value, 4 if abs(value) < 100 else 2)


def run_metrics(items: list[AttributionResult], journeys: Journeys) -> dict[str, float]:
    """Return the headline metrics of a run (module docstring), at most :data:`MAX_METRICS`."""
    prov = journeys.provenance
    metrics: dict[str, float] = {
        "journeys": float(journeys.n_journeys),
        "conversions": float(journeys.total_conversions),
        "value": float(journeys.total_value),
        "paths": float(journeys.n_paths),
        "channels": float(journeys.n_channels),
        "dropped_conversions": float(prov.dropped_conversions),
        "dropped_value": float(prov.dropped_value),
    }
    for r in items:
        if len(r.channels):
            metrics[metric_key("top_share", r.model)] = float(np.max(r.share))
        if r.ci is not None and len(r.channels):
            width = np.asarray(r.ci.conversions_high) - np.asarray(r.ci.conversions_low)
            metrics[metric_key("ci_width_mean", r.model)] = float(np.mean(width))
    for r in items:
        for name in FIT_QUALITY:
            if name in r.diagnostics:
                metrics[metric_key(name, r.model)] = float(r.diagnostics[name])
    finite = {k: _readable(v) for k, v in metrics.items() if np.isfinite(v)}
    if len(finite) > MAX_METRICS:
        logger.warning(
            "%d headline metrics; logging the first %d (the table holds every number)",
            len(finite),
            MAX_METRICS,
        )
        finite = dict(list(finite.items())[:MAX_METRICS])
    return finite


def _html_report(items: list[AttributionResult], journeys: Journeys) -> str:
    """Return the self-contained HTML report of the results (no costs: credit and value)."""
    import mlflow

    from experiments.reports import build_report

    active = mlflow.active_run()
    report = build_report(
        items,
        provenance=journeys.provenance,
        mlflow_run=None if active is None else {"run_id": active.info.run_id},
        title=f"Attribution: {len(items)} model{'s' if len(items) > 1 else ''}",
    )
    return report.to_html()


def log_attribution_results(
    results: AttributionResult | Sequence[AttributionResult],
    journeys: Journeys,
    *,
    source: str | os.PathLike[str] | pd.DataFrame | None = None,
    config: Mapping[str, Any] | None = None,
    markov: MarkovAttribution | None = None,
) -> DatasetInfo:
    """Log results into the *active* run (see the module docstring).

    Parameters
    ----------
    results
        One result or several (one per model) fitted on ``journeys``.
    journeys
        The journeys the models were fitted on.
    source
        The input: a file path (its bytes are hashed) or a DataFrame (its content is hashed).
        Default: the journeys' path table.
    config
        The configuration of the run (logged as ``config.yaml``).
    markov
        A fitted :class:`attribution.MarkovAttribution`, for the transition-matrix figure.

    Returns
    -------
    DatasetInfo
        The logged input (name, source, SHA-256, rows).
    """
    import mlflow

    items = _as_list(results)
    if isinstance(source, pd.DataFrame):
        dataset = log_dataset(source, name="journeys")
        source_label = None
    elif source is not None:
        dataset = log_dataset(source, name=Path(source).name)
        source_label = str(source)
    else:
        dataset = log_dataset(journeys.to_path_table(), name="journeys", source="path table")
        source_label = None
    mlflow.log_params(_params(items, journeys))
    mlflow.log_param("data_sha256", dataset.sha256)
    mlflow.log_metrics(run_metrics(items, journeys))

    summary = attribution_summary(items, journeys, source=source_label)
    frame = attribution_frame(items)
    payload = {
        "provenance": journeys.provenance.to_dict(),
        "data_sha256": dataset.sha256,
        "results": [r.to_dict() for r in items],
    }
    files: dict[str, str] = {
        "report/report.html": _html_report(items, journeys),
        "report/attribution.csv": csv_text(frame),
        "report/attribution.json": json.dumps(to_jsonable(payload), indent=2),
        "report/attribution.md": summary,
    }
    figures: dict[str, Callable[[], Axes]] = {"figures/credit.png": lambda: plot_credit(items)}
    if markov is not None and hasattr(markov, "chain_"):
        chain = markov
        files["report/transition_matrix.csv"] = csv_text(chain.transition_matrix(), index=True)
        figures["figures/transition_matrix.png"] = lambda: plot_transition_matrix(chain)
    log_report(files, config=config, summary=summary, kind="attribution")
    shown = frame.copy()
    numbers = shown.select_dtypes("number").columns
    shown[numbers] = shown[numbers].round(4)
    mlflow.log_table(shown, artifact_file="tables/credit.json")
    log_figures(figures, save_kwargs={"bbox_inches": "tight", "dpi": 110})
    return dataset


def track_attribution_run(
    results: AttributionResult | Sequence[AttributionResult],
    journeys: Journeys,
    *,
    source: str | os.PathLike[str] | pd.DataFrame | None = None,
    config: Mapping[str, Any] | None = None,
    markov: MarkovAttribution | None = None,
    settings: TrackingSettings | None = None,
    run_name: str | None = None,
    register: bool = False,
    model_name: str = DEFAULT_MARKOV_NAME,
    alias: str | None = None,
    separator: str = ">",
    force: bool = False,
    tags: Mapping[str, str] | None = None,
) -> TrackedRun:
    """Record an attribution run (and optionally register the Markov model).

    Parameters
    ----------
    results, journeys, source, config, markov
        See :func:`log_attribution_results`.
    settings
        The store (default :func:`experiments.tracking.resolve_tracking`).
    run_name
        Run name (default ``"attribution: <models>"``).
    register
        Log ``markov`` as a pyfunc model and register it under ``model_name`` (requires
        ``markov``). A version trained on the same data and config is reused unless ``force``.
    alias
        Alias for a newly registered version; default ``champion`` when the model has none
        yet, else ``challenger``.
    separator
        Channel separator of the ``path`` strings the registered model will receive.
    tags
        Extra run tags.

    Returns
    -------
    TrackedRun
        Run id, experiment id, store, and ``model_versions`` (``{model_name: version}``).
    """
    items = _as_list(results)
    if register and markov is None:
        raise ExperimentError("register=True needs the fitted Markov model: pass markov=<model>")
    settings = settings or resolve_tracking()
    name = run_name or f"attribution: {', '.join(r.model for r in items)}"
    versions: dict[str, str] = {}
    with tracked_run(name, settings=settings, tags=tags) as run:
        dataset = log_attribution_results(
            items, journeys, source=source, config=config, markov=markov
        )
        if register and markov is not None:
            chosen = markov

            def _log() -> str:
                return log_markov_model(chosen, separator=separator).model_uri

            versions = register_run_model(
                _log,
                model_name,
                data_sha256=dataset.sha256,
                config={"model": "markov", **markov.result_.params, "separator": separator},
                alias=alias,
                force=force,
            )
    return TrackedRun.from_run(run, settings, versions)
