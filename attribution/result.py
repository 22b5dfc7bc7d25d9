"""The result types of attribution: per-call credit, intervals and the fitted result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from attribution._io import json_rows, json_value
from attribution.support import ChannelSupport

if TYPE_CHECKING:
    import pandas as pd

    from attribution.sensitivity import SensitivityCurve

__all__ = ["AttributionResult", "ConfidenceIntervals", "Credit"]


@dataclass
class Credit:
    """Per-channel credit computed by one call of ``_credit``."""

    conversions: np.ndarray
    value: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    diagnostics: dict[str, float] = field(default_factory=dict)
    #: fitted objects a model keeps from its point estimate (e.g. the Markov chain)
    fitted: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class ConfidenceIntervals:
    """Percentile bootstrap intervals for per-channel credit.

    Attributes
    ----------
    conversions_low, conversions_high, value_low, value_high
        ``(n_channels,)`` interval bounds for credit in conversions and in value. Models fitted
        with :class:`attribution.base.AttributionModel` clamp them into ``[0, S_c]`` and
        ``[0, V_c]`` and widen them to contain the point estimate (see
        :func:`attribution.bootstrap.bootstrap_credit`).
    level
        Coverage, e.g. 0.95.
    n_replicates
        Bootstrap replicates used.
    method
        ``"poisson"`` or ``"multinomial"`` (see :mod:`attribution.bootstrap`).
    seed
        Seed of the replicates.
    widened
        ``(n_channels,)`` booleans: the percentile interval (in conversions or in value) missed
        the point estimate and was extended to it; ``None`` when no point estimate was given.
    """

    conversions_low: np.ndarray
    conversions_high: np.ndarray
    value_low: np.ndarray
    value_high: np.ndarray
    level: float
    n_replicates: int
    method: str
    seed: int | None
    widened: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class AttributionResult:
    """Per-channel credit from one attribution model.

    Attributes
    ----------
    model
        Model name as used on the command line (e.g. ``"markov"``).
    params
        The model's parameters (JSON-friendly).
    channels
        Channel names, in the order of the arrays.
    conversions, value
        Credit in conversions and in conversion value per channel. Every model of the catalog
        keeps them within ``[0, S_c]`` and ``[0, V_c]`` (see ``support``) and makes them sum to
        the journeys' total conversions and value.
    total_conversions, total_value
        Totals of the journeys the model was fitted on.
    extras
        Extra per-channel arrays (e.g. ``removal_effect`` for Markov), reported as columns.
    ci
        Bootstrap intervals, or ``None`` when the model was fitted without them.
    notes
        Caveats a reader must know (e.g. "time decay is positional: no timestamps").
    diagnostics
        Model-level numbers (e.g. held-out AUC) that are not per channel.
    sensitivity
        For the ``causal`` model: the bias of each channel's credit under unmeasured confounding
        of size ``lambda`` (:class:`~attribution.sensitivity.SensitivityCurve`), used to
        calibrate untested channels with lift tests; ``None`` for other models.
    support
        Journeys, conversions and value of the journeys touching each channel
        (:class:`attribution.support.ChannelSupport`), or ``None`` (e.g. a calibrated result).
    """

    model: str
    params: dict[str, Any]
    channels: tuple[str, ...]
    conversions: np.ndarray
    value: np.ndarray
    total_conversions: float
    total_value: float
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    ci: ConfidenceIntervals | None = None
    notes: tuple[str, ...] = ()
    diagnostics: dict[str, float] = field(default_factory=dict)
    sensitivity: SensitivityCurve | None = None
    support: ChannelSupport | None = None

    @property
    def share(self) -> np.ndarray:
        """Share of total conversion credit per channel."""
        total = float(np.sum(self.conversions))
        if total == 0:
            return np.zeros_like(self.conversions, dtype=float)
        return np.asarray(self.conversions, dtype=float) / total

    def to_frame(self) -> pd.DataFrame:
        """One row per channel.

        Columns: ``channel``, ``conversions``, ``value``, ``share``, the extras (e.g.
        ``removal_effect``), with the support ``support_journeys``, ``support_conversions`` and
        ``support_value`` (the bounds of the credit) and, when intervals were computed,
        ``ci_low``, ``ci_high`` (conversions) and ``value_ci_low``, ``value_ci_high``.
        """
        import pandas as pd

        return pd.DataFrame(self._columns())

    def _columns(self) -> dict[str, Any]:
        """Return the columns of :meth:`to_frame`, in order (``to_dict`` needs no pandas)."""
        columns: dict[str, Any] = {
            "channel": list(self.channels),
            "conversions": np.asarray(self.conversions, dtype=float),
            "value": np.asarray(self.value, dtype=float),
            "share": self.share,
        }
        for name, values in self.extras.items():
            columns[name] = np.asarray(values, dtype=float)
        if self.support is not None:
            columns["support_journeys"] = self.support.journeys
            columns["support_conversions"] = self.support.conversions
            columns["support_value"] = self.support.value
        if self.ci is not None:
            columns["ci_low"] = self.ci.conversions_low
            columns["ci_high"] = self.ci.conversions_high
            columns["value_ci_low"] = self.ci.value_low
            columns["value_ci_high"] = self.ci.value_high
        return columns

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dictionary: model, params, totals, notes, intervals and channels."""
        out: dict[str, Any] = {
            "model": self.model,
            "params": dict(self.params),
            "total_conversions": float(self.total_conversions),
            "total_value": float(self.total_value),
            "channels": json_rows(self._columns()),
        }
        if self.ci is not None:
            out["interval"] = {
                "level": self.ci.level,
                "replicates": self.ci.n_replicates,
                "method": self.ci.method,
                "seed": self.ci.seed,
            }
        if self.notes:
            out["notes"] = list(self.notes)
        if self.diagnostics:
            out["diagnostics"] = {k: json_value(v) for k, v in self.diagnostics.items()}
        if self.sensitivity is not None:
            out["sensitivity"] = self.sensitivity.to_dict()
        return out

    def __repr__(self) -> str:
        ci = f", {int(self.ci.level * 100)}% CI" if self.ci is not None else ""
        return (
            f"AttributionResult(model={self.model!r}, {len(self.channels)} channels, "
            f"{self.total_conversions:,.0f} conversions{ci})"
        )
