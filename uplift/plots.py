"""Qini and cumulative gain curves of an :class:`~uplift.metrics.UpliftEvaluation`.

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

__all__ = ["plot_gain", "plot_qini"]

_MAX_POINTS = 2000


def _plot(
    evaluation: UpliftEvaluation,
    kind: str,
    arms: list[str] | None,
    ax: Axes | None,
) -> Axes:
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    chosen = arms if arms is not None else list(evaluation.arms)
    for arm in chosen:
        if arm not in evaluation.arms:
            raise InvalidUpliftOptionError(
                f"no arm {arm!r} in the evaluation; arms are {list(evaluation.arms)!r}"
            )
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
    ax.set_xlabel("share of customers targeted (ranked by predicted uplift)")
    ax.set_ylabel("Qini curve Q(k)/N" if kind == "qini" else "cumulative gain G(k)/N")
    ax.set_title(("Qini" if kind == "qini" else "Cumulative gain") + " curve (dashed: random)")
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.legend(fontsize="small")
    return ax


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
