"""Qini, cumulative gain and calibration plots of an :class:`~uplift.metrics.UpliftEvaluation`.

Curves are drawn per customer (``Q(k)/N`` and ``G(k)/N`` against the share targeted ``k/N``; see
:mod:`uplift.metrics`), each arm with its random-targeting line dashed. Functions return the
matplotlib axes and never call ``plt.show()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from uplift.errors import InvalidUpliftOptionError
from uplift.metrics import UpliftEvaluation

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["finish_axes", "interval_errors", "plot_calibration", "plot_gain", "plot_qini"]

_MAX_POINTS = 2000


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """Return ``ax``, or the axes of a new figure of ``figsize``."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _arms(evaluation: UpliftEvaluation, arms: list[str] | None) -> list[str]:
    """Return the arms to plot (default all), refusing one the evaluation does not have."""
    chosen = arms if arms is not None else list(evaluation.arms)
    for arm in chosen:
        if arm not in evaluation.arms:
            raise InvalidUpliftOptionError(
                f"no arm {arm!r} in the evaluation; arms are {list(evaluation.arms)!r}"
            )
    return chosen


def finish_axes(ax: Axes, *, xlabel: str, ylabel: str, title: str) -> Axes:
    """Label the axes, draw the zero line and the legend of an uplift plot; return the axes."""
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


def _plot(
    evaluation: UpliftEvaluation,
    kind: str,
    arms: list[str] | None,
    ax: Axes | None,
) -> Axes:
    ax = _axes(ax, (6, 4))
    for arm in _arms(evaluation, arms):
        ev = evaluation.arms[arm]
        curve: pd.DataFrame = ev.curve
        step = max(1, len(curve) // _MAX_POINTS)
        rows = np.r_[np.arange(0, len(curve), step), len(curve) - 1]
        x = curve["fraction"].to_numpy()[rows]
        y = curve[kind].to_numpy()[rows]
        y0 = curve[f"{kind}_random"].to_numpy()[rows]
        metric = "qini" if kind == "qini" else "auuc"
        lo, hi = ev.intervals[metric]
        (line,) = ax.plot(
            x,
            y,
            label=f"{arm} ({metric} {ev.metrics[metric]:.4g} [{lo:.3g}, {hi:.3g}])",
        )
        ax.plot(x, y0, linestyle="--", color=line.get_color())
    return finish_axes(
        ax,
        xlabel="share of customers targeted (ranked by predicted uplift)",
        ylabel="Qini curve Q(k)/N" if kind == "qini" else "cumulative gain G(k)/N",
        title=("Qini" if kind == "qini" else "Cumulative gain") + " curve (dashed: random)",
    )


def plot_qini(
    evaluation: UpliftEvaluation, *, arms: list[str] | None = None, ax: Axes | None = None
) -> Axes:
    """Plot the Qini curve of each arm (default all) with its random line; return the axes."""
    return _plot(evaluation, "qini", arms, ax)


def plot_gain(
    evaluation: UpliftEvaluation, *, arms: list[str] | None = None, ax: Axes | None = None
) -> Axes:
    """Plot the cumulative gain curve of each arm (default all) with its random line."""
    return _plot(evaluation, "gain", arms, ax)


def interval_errors(estimate: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray | None:
    """Return matplotlib's ``yerr`` for intervals ``[low, high]`` around ``estimate``.

    ``None`` when no interval is finite (no bootstrap), so that no error bars are drawn.
    """
    if not np.isfinite(low).any():
        return None
    return np.vstack([np.clip(estimate - low, 0, None), np.clip(high - estimate, 0, None)])


def plot_calibration(
    evaluation: UpliftEvaluation, *, arms: list[str] | None = None, ax: Axes | None = None
) -> Axes:
    """Plot observed against mean predicted uplift per decile bin, for each arm (default all).

    One point per bin of the decile table (:meth:`UpliftEvaluation.deciles_frame`) with its
    bootstrap interval as a vertical bar; the dashed diagonal is perfect calibration. The legend
    gives each arm's ``calibration_error`` with its interval. Returns the axes.
    """
    ax = _axes(ax, (5, 5))
    lows, highs = [], []
    for arm in _arms(evaluation, arms):
        ev = evaluation.arms[arm]
        dec = ev.deciles
        x = dec["mean_predicted_uplift"].to_numpy(dtype=float)
        y = dec["observed_uplift"].to_numpy(dtype=float)
        err = interval_errors(
            y, dec["ci_low"].to_numpy(dtype=float), dec["ci_high"].to_numpy(dtype=float)
        )
        value = ev.metrics.get("calibration_error", np.nan)
        c_lo, c_hi = ev.intervals.get("calibration_error", (np.nan, np.nan))
        ax.errorbar(
            x,
            y,
            yerr=err,
            marker="o",
            linestyle="-",
            capsize=2,
            label=f"{arm} (calibration error {value:.3g} [{c_lo:.3g}, {c_hi:.3g}])",
        )
        finite = np.concatenate([x[np.isfinite(x)], y[np.isfinite(y)]])
        if finite.size:
            lows.append(finite.min())
            highs.append(finite.max())
    if lows:
        lo_all, hi_all = min(lows), max(highs)
        ax.plot([lo_all, hi_all], [lo_all, hi_all], linestyle="--", color="grey", linewidth=1)
    return finish_axes(
        ax,
        xlabel="mean predicted uplift of the bin",
        ylabel="observed uplift of the bin (treated - control mean)",
        title="Calibration by decile of predicted uplift (dashed: perfect)",
    )
