"""The output of a simulation: event log, cost table, per-user draws and the exact truth."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from attribution.simulate.config import SimulationConfig, SimulationConfigError
from attribution.simulate.game import _Game


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Output of :func:`simulate_journeys`: the event log, cost table and exact ground truth.

    Attributes
    ----------
    events
        One row per event, sorted by ``user_id`` then ``timestamp``: ``user_id`` (int64),
        ``timestamp`` (datetime64[ns], tz-naive), ``channel`` (string; ``<NA>`` on conversion
        rows), ``conversion`` (int8; 1 on the conversion row, which follows the user's last
        touch), ``value`` (float64; the conversion value on conversion rows, 0 elsewhere),
        ``cost`` (float64; the cost of the touch, 0 on conversion rows). Users with no touch are
        absent unless ``include_untouched_conversions`` (then converters without touches have a
        lone conversion row).
    costs
        Cost table: ``channel`` (string), ``period`` (datetime64[ns], the first day of the day,
        ISO week or month), ``cost`` (float64, sum of touch costs), ``touches`` (int64); one row
        per channel and period of the window, zeros included.
    truth
        Indexed by ``channel`` (configuration order): ``incremental_conversions`` (int64,
        ``v(all) - v(all without c)``), ``shapley`` (float64, exact Shapley value of ``v``),
        ``share`` (``shapley / sum(shapley)``), ``removal_share``
        (``incremental / sum(incremental)``), ``incremental_revenue`` and ``shapley_revenue``
        (the same for the revenue game, the conversion value of converters), ``users_reached``,
        ``touches`` and ``cost``. ``truth.attrs`` holds ``baseline_conversions`` and
        ``total_conversions``.
    users
        One row per user: ``user_id``, ``intent`` (``z``), ``base_probability`` (``p0``),
        ``conversion_draw`` (the uniform ``U``), ``conversion_probability`` (noisy-OR
        probability given the actual exposure),
        ``converted`` (bool), ``value`` (the conversion value, 0 for non-converters),
        ``n_touches``, ``arrival`` (timestamp of the first event, or of the user's arrival if
        untouched) and one boolean column ``exposed:<channel>`` per channel.
    covariates
        The user table of pre-exposure covariates: ``user_id`` and one column per
        :attr:`SimulationConfig.covariates` entry (numeric as float64, categorical as
        ``category``), one row per user, untouched users included. Only ``user_id`` when the
        configuration has no covariates.
    config
        The configuration used.
    baseline_conversions
        ``v(empty)``: conversions that happen with no channel at all (same draws).
    total_conversions
        ``v(all)``: conversions in the simulation (including users without touches).
    """

    events: pd.DataFrame = field(repr=False)
    costs: pd.DataFrame = field(repr=False)
    truth: pd.DataFrame = field(repr=False)
    users: pd.DataFrame = field(repr=False)
    covariates: pd.DataFrame = field(repr=False)
    config: SimulationConfig = field(repr=False)
    baseline_conversions: int = 0
    total_conversions: int = 0
    _theta: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))
    _masks: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0, dtype=np.int64))
    _loading: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))
    _game: _Game | None = field(repr=False, default=None)

    @property
    def channels(self) -> tuple[str, ...]:
        """Channel names in configuration order."""
        return self.config.channel_names

    @property
    def baseline_revenue(self) -> float:
        """Revenue of the baseline conversions, ``revenue(empty)``."""
        return float(self._require_game().revenue_values[0])

    @property
    def total_revenue(self) -> float:
        """Revenue of all conversions in the simulation, ``revenue(all)``."""
        return float(self._require_game().revenue_values[-1])

    def _require_game(self) -> _Game:
        if self._game is None:  # pragma: no cover - always set by simulate_journeys
            raise SimulationConfigError("this SimulationResult was not built by simulate_journeys")
        return self._game

    def _mask(self, channels: Iterable[str]) -> int:
        if isinstance(channels, str):
            raise SimulationConfigError(
                f"channels must be a collection of channel names, got the string {channels!r}; "
                f"wrap it in a list: [{channels!r}]"
            )
        mask = 0
        for name in channels:
            mask |= 1 << self.config._index(name)
        return mask

    def coalition_value(self, channels: Iterable[str]) -> int:
        """``v(S)``: total conversions if only the given channels existed (same draws)."""
        return int(self._require_game().values[self._mask(channels)])

    def coalition_revenue(self, channels: Iterable[str]) -> float:
        """Conversion value of ``v(S)``'s converters (same draws)."""
        return float(self._require_game().revenue_values[self._mask(channels)])

    def coalition_values(self) -> pd.Series:
        """``v(S)`` for every channel set, indexed by the sorted tuple of channel names."""
        values = self._require_game().values
        names = self.channels
        index = [
            tuple(sorted(names[c] for c in range(len(names)) if mask >> c & 1))
            for mask in range(values.shape[0])
        ]
        return pd.Series(values, index=pd.Index(index, tupleize_cols=False), name="conversions")

    def to_frame(self) -> pd.DataFrame:
        """Return the ground-truth table (a copy of :attr:`truth`)."""
        return self.truth.copy()

    def to_dict(self) -> dict[str, Any]:
        """Return scalars, the truth table (records by channel) and the configuration."""
        return {
            "n_users": self.config.n_users,
            "n_events": len(self.events),
            "start": self.config.start_timestamp.isoformat(),
            "end": self.config.end.isoformat(),
            "baseline_conversions": self.baseline_conversions,
            "total_conversions": self.total_conversions,
            "baseline_revenue": self.baseline_revenue,
            "total_revenue": self.total_revenue,
            "truth": self.truth.reset_index().to_dict(orient="records"),
            "config": self.config.to_dict(),
        }

    def summary(self) -> str:
        """Multi-line text summary: sizes, totals and the truth table."""
        cfg = self.config
        touches = int((self.events["conversion"] == 0).sum())
        logged = int(self.events["conversion"].sum())
        lines = [
            f"Simulated {cfg.n_users:,} users, {cfg.start_timestamp.date()} to {cfg.end.date()} "
            f"({cfg.n_days} days), seed {cfg.seed}",
            f"events: {len(self.events):,} ({touches:,} touches, {logged:,} conversion rows)",
            f"conversions: {self.total_conversions:,} total, {self.baseline_conversions:,} "
            f"baseline (no channel), {self.total_conversions - self.baseline_conversions:,} "
            "caused by channels",
            f"cost: {self.costs['cost'].sum():,.2f} over {self.costs['period'].nunique()} "
            f"{cfg.cost_period} periods",
            "truth:",
            self.truth[["incremental_conversions", "shapley", "share", "removal_share", "cost"]]
            .round(4)
            .to_string(),
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        cfg = self.config
        return (
            f"SimulationResult(n_users={cfg.n_users}, channels={len(cfg.channels)}, "
            f"events={len(self.events)}, conversions={self.total_conversions}, "
            f"baseline_conversions={self.baseline_conversions}, seed={cfg.seed})"
        )
