r"""Budget reallocation suggested from one model's attributed returns.

Reallocation rule (:func:`suggest_reallocation`): among channels with positive spend and a
defined metric (ROAS, or conversions per unit of spend when the results carry no value), pair
the lowest-ranked channel with the highest-ranked, the second-lowest with the second-highest, and
so on (``n_moves`` pairs, a channel is used once). Each move shifts
``amount = max_shift * min(spend_from, spend_to)`` (``max_shift`` defaults to 10%) from the
source to the target, so that neither channel's budget changes by more than ``max_shift`` of
itself: constant returns are only plausible for small relative changes on both sides. Under the
stated assumption of **constant returns within the cap** (the next unit of spend returns what
the average unit returned), the expected change is ``amount * (metric_to - metric_from)``, with
the range ``amount * (metric_to_lo - metric_from_hi)`` to
``amount * (metric_to_hi - metric_from_lo)``. A warning is raised when the two channels' metric
intervals overlap (the data cannot rank them). The metrics are those of
:mod:`attribution.costs.economics`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from attribution._io import json_records
from attribution.costs.economics import _safe_div, channel_economics
from attribution.costs.table import CostTable, InvalidCostsError
from attribution.result import AttributionResult

CONSTANT_RETURNS = (
    "constant returns within the cap: each extra unit of spend on a channel returns what its "
    "average unit returned in this period, and each unit removed loses the same"
)


@dataclass(frozen=True, eq=False)
class Reallocation:
    """A capped budget move suggested from one model's attributed returns.

    Attributes
    ----------
    model
        The attribution result the suggestion is based on.
    metric
        ``"roas"`` (value per unit of spend) or ``"conversions_per_spend"`` (``1 / CPA``).
    max_shift
        Cap on the move relative to each channel's spend:
        ``amount = max_shift * min(spend_from, spend_to)``.
    moves
        One row per move: ``from_channel, to_channel, amount, from_metric, from_low, from_high,
        to_metric, to_low, to_high, expected_change, expected_low, expected_high,
        expected_conversions, intervals_overlap``. ``expected_change`` is in value for ROAS
        and in conversions otherwise; ``expected_conversions`` is always in conversions.
    assumption
        The assumption under which the expected change holds (constant returns within the cap).
    warnings
        Overlapping intervals, attributed-not-incremental caveats, or why nothing is suggested.
    """

    model: str
    metric: str
    max_shift: float
    moves: pd.DataFrame = field(repr=False)
    assumption: str = CONSTANT_RETURNS
    warnings: tuple[str, ...] = ()

    @property
    def expected_change(self) -> float:
        """Total expected change (sum over moves) in the metric's unit."""
        return float(self.moves["expected_change"].sum()) if len(self.moves) else 0.0

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of :attr:`moves`."""
        return self.moves.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dictionary."""
        return {
            "model": self.model,
            "metric": self.metric,
            "max_shift": self.max_shift,
            "assumption": self.assumption,
            "expected_change": self.expected_change,
            "moves": json_records(self.moves),
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        moves = "; ".join(
            f"{r.from_channel} -> {r.to_channel}: {r.amount:,.2f}" for r in self.moves.itertuples()
        )
        return (
            f"Reallocation(model={self.model!r}, metric={self.metric!r}, "
            f"max_shift={self.max_shift:g}, moves=[{moves}], "
            f"expected_change={self.expected_change:,.2f}, {len(self.warnings)} warnings)"
        )


MOVE_COLUMNS = (
    "from_channel",
    "to_channel",
    "amount",
    "from_metric",
    "from_low",
    "from_high",
    "to_metric",
    "to_low",
    "to_high",
    "expected_change",
    "expected_low",
    "expected_high",
    "expected_conversions",
    "intervals_overlap",
)


def suggest_reallocation(
    result: AttributionResult,
    costs: CostTable,
    *,
    max_shift: float = 0.10,
    n_moves: int = 1,
    metric: Literal["auto", "roas", "conversions_per_spend"] = "auto",
    unknown: Literal["error", "ignore"] = "error",
) -> Reallocation:
    """Suggest moving a capped share of budget from the lowest- to the highest-return channels.

    Parameters
    ----------
    result
        One model's (or a calibrated) attribution result.
    costs
        Spend over the same period.
    max_shift
        Cap in ``(0, 0.5]`` (default 10%): each move is ``max_shift * min(spend_from,
        spend_to)``, so neither budget changes by more than that share of itself.
    n_moves
        Number of (source, target) pairs; the k-th lowest channel pairs with the k-th highest.
    metric
        ``"roas"``, ``"conversions_per_spend"`` (``1 / CPA``) or ``"auto"`` (ROAS when the
        result carries value, else conversions per spend).

    Returns
    -------
    Reallocation
        The moves with their expected change under :data:`CONSTANT_RETURNS`, and warnings.
        See the module docstring for the rule and the range of the expected change.
    """
    if not isinstance(result, AttributionResult):
        raise InvalidCostsError(
            f"suggest_reallocation expects one AttributionResult, got {type(result).__name__}"
        )
    if not isinstance(costs, CostTable):
        raise InvalidCostsError(
            "suggest_reallocation needs a CostTable (CostTable.from_frame / from_events)"
        )
    if isinstance(max_shift, bool) or not isinstance(max_shift, int | float):
        raise InvalidCostsError(f"max_shift must be a number in (0, 0.5], got {max_shift!r}")
    if not 0 < max_shift <= 0.5:
        raise InvalidCostsError(
            f"max_shift must be in (0, 0.5], got {max_shift!r}: the constant-returns assumption "
            "only holds for small moves"
        )
    if isinstance(n_moves, bool) or not isinstance(n_moves, int) or n_moves < 1:
        raise InvalidCostsError(f"n_moves must be a positive integer, got {n_moves!r}")
    if metric not in ("auto", "roas", "conversions_per_spend"):
        raise InvalidCostsError(
            f"metric must be 'auto', 'roas' or 'conversions_per_spend', got {metric!r}"
        )
    if metric == "auto":
        metric = "roas" if float(np.sum(result.value)) > 0 else "conversions_per_spend"
    econ = channel_economics([result], costs, unknown=unknown)
    spend = econ["spend"].to_numpy()
    if metric == "roas":
        point, low, high = econ["roas"], econ["roas_low"], econ["roas_high"]
    else:
        point = pd.Series(_safe_div(econ["conversions"], spend))
        low = pd.Series(_safe_div(econ["conversions_low"], spend))
        high = pd.Series(_safe_div(econ["conversions_high"], spend))
    table = pd.DataFrame(
        {
            "channel": econ["channel"],
            "spend": spend,
            "metric": point.to_numpy(),
            "low": low.to_numpy(),
            "high": high.to_numpy(),
            "cps": _safe_div(econ["conversions"], spend),
            "cps_low": _safe_div(econ["conversions_low"], spend),
            "cps_high": _safe_div(econ["conversions_high"], spend),
        }
    )
    eligible = table[(table["spend"] > 0) & np.isfinite(table["metric"])]
    eligible = eligible.sort_values(["metric", "channel"], kind="stable").reset_index(drop=True)
    warnings: list[str] = []
    rows = []
    k = min(n_moves, len(eligible) // 2)
    if len(eligible) < 2:
        warnings.append(
            f"no reallocation suggested: fewer than two channels have spend and a defined {metric}"
        )
    for i in range(k):
        src = eligible.iloc[i]
        dst = eligible.iloc[len(eligible) - 1 - i]
        if not dst["metric"] > src["metric"]:
            warnings.append(
                f"no move from {src['channel']!r} to {dst['channel']!r}: equal {metric}"
            )
            continue
        amount = float(max_shift * min(src["spend"], dst["spend"]))
        change = amount * (dst["metric"] - src["metric"])
        lo = amount * (dst["low"] - src["high"])
        hi = amount * (dst["high"] - src["low"])
        overlap = bool(np.isnan(src["high"]) or np.isnan(dst["low"]) or dst["low"] <= src["high"])
        if overlap:
            warnings.append(
                f"the {metric} intervals of {src['channel']!r} "
                f"[{src['low']:.4g}, {src['high']:.4g}] and {dst['channel']!r} "
                f"[{dst['low']:.4g}, {dst['high']:.4g}] overlap (or are unknown): the data cannot "
                "tell which returns more; treat this move as a hypothesis to test"
            )
        rows.append(
            {
                "from_channel": str(src["channel"]),
                "to_channel": str(dst["channel"]),
                "amount": amount,
                "from_metric": float(src["metric"]),
                "from_low": float(src["low"]),
                "from_high": float(src["high"]),
                "to_metric": float(dst["metric"]),
                "to_low": float(dst["low"]),
                "to_high": float(dst["high"]),
                "expected_change": float(change),
                "expected_low": float(lo),
                "expected_high": float(hi),
                "expected_conversions": float(amount * (dst["cps"] - src["cps"])),
                "intervals_overlap": overlap,
            }
        )
    if "calibrated" not in result.model:
        warnings.append(
            "returns are attributed, not measured: observational attribution over-credits "
            "channels that reach people who would convert anyway; calibrate with lift tests "
            "before moving budget"
        )
    moves = pd.DataFrame(rows, columns=list(MOVE_COLUMNS))
    return Reallocation(
        model=result.model,
        metric=metric,
        max_shift=float(max_shift),
        moves=moves,
        warnings=tuple(warnings),
    )
