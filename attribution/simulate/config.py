"""Configuration of the known-truth simulator: channels, presets and validation.

:class:`ChannelSpec` describes one marketing channel and :class:`SimulationConfig` the whole
simulation; both validate every field on construction and raise
:class:`SimulationConfigError` with the field, the value and the valid range. The generative
model they parametrise is described in :mod:`attribution.simulate` and ``docs/simulator.md``.

Adding a configuration field: declare it on :class:`SimulationConfig` with its default, check it
in ``__post_init__`` with the ``_check_*`` helpers below, and document it in the class
docstring and ``docs/simulator.md``; :meth:`SimulationConfig.from_dict` and
:meth:`SimulationConfig.to_dict` follow the dataclass fields and need no change.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from attribution._validation import repeated
from attribution.simulate._checks import (
    SimulationConfigError,
    _check_int,
    _check_range,
)
from attribution.simulate.covariates import CovariateSpec, check_covariates

MAX_CHANNELS = 12
"""Largest number of channels: the exact truth enumerates all ``2**n`` coalitions."""

CostPeriod = Literal["day", "week", "month"]
_COST_PERIODS: tuple[str, ...] = ("day", "week", "month")


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


def _logit(p: float) -> float:
    return math.log(p) - math.log1p(-p)


@dataclass(frozen=True)
class ChannelSpec:
    """One marketing channel of the simulation.

    Parameters
    ----------
    name
        Channel name as it appears in the event log (non-empty, no leading/trailing spaces,
        no ``">"``).
    reach_base
        Probability that the channel reaches a user of average intent (``z = 0``), in ``[0, 1]``.
        ``0`` switches the channel off (nobody is reached, whatever the slope).
    reach_intent_slope
        Selection bias: change in the log-odds of reach per standard deviation of intent.
        ``0`` means reach is independent of intent.
    effect
        Causal effect: the noisy-OR lift ``e`` in ``[0, 1)``; exposure multiplies the probability of
        *not* converting by ``1 - e``. ``0`` means the channel never causes a conversion.
    cost_per_touch
        Mean cost of one touch (``>= 0``).
    mean_touches
        Mean number of touches for a reached user (``>= 1``); counts are geometric on
        ``{1, 2, ...}``.
    funnel_position
        Typical position of the channel's touches in a journey, in ``[0, 1]`` (``0`` early,
        upper funnel; ``1`` late, just before conversion). Touches are ordered by
        ``funnel_position + order_noise * N(0, 1)``. Order has no effect on conversion.
    cost_sigma
        Log-normal spread of the per-touch cost around ``cost_per_touch`` (mean-preserving),
        ``>= 0``; ``0`` gives a constant cost per touch.
    reach_covariate, reach_covariate_slope
        Targeting on a user covariate of :attr:`SimulationConfig.covariates`: the log-odds of
        reach change by ``reach_covariate_slope`` per standard deviation of that covariate's
        signal (e.g. an audience bought on a CRM score). ``None`` (default): no such targeting.
    """

    name: str
    reach_base: float
    reach_intent_slope: float = 0.0
    effect: float = 0.0
    cost_per_touch: float = 0.0
    mean_touches: float = 1.0
    funnel_position: float = 0.5
    cost_sigma: float = 0.0
    reach_covariate: str | None = None
    reach_covariate_slope: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise SimulationConfigError(
                f"ChannelSpec: name must be a non-empty string, got {self.name!r}"
            )
        if self.name != self.name.strip() or ">" in self.name:
            raise SimulationConfigError(
                f"ChannelSpec: name {self.name!r} must not contain '>' or leading/trailing "
                "spaces; rename the channel"
            )
        owner = f"ChannelSpec {self.name!r}"
        setter = object.__setattr__
        setter(self, "reach_base", _check_range(owner, "reach_base", self.reach_base, 0.0, 1.0))
        setter(
            self,
            "reach_intent_slope",
            _check_range(owner, "reach_intent_slope", self.reach_intent_slope, -20.0, 20.0),
        )
        setter(
            self,
            "effect",
            _check_range(
                owner,
                "effect",
                self.effect,
                0.0,
                1.0,
                high_open=True,
                hint="effect is the noisy-OR lift, a probability below 1",
            ),
        )
        setter(
            self,
            "cost_per_touch",
            _check_range(owner, "cost_per_touch", self.cost_per_touch, 0.0),
        )
        setter(
            self,
            "mean_touches",
            _check_range(
                owner,
                "mean_touches",
                self.mean_touches,
                1.0,
                1000.0,
                hint="a reached user sees at least one touch",
            ),
        )
        setter(
            self,
            "funnel_position",
            _check_range(owner, "funnel_position", self.funnel_position, 0.0, 1.0),
        )
        setter(self, "cost_sigma", _check_range(owner, "cost_sigma", self.cost_sigma, 0.0, 5.0))
        setter(
            self,
            "reach_covariate_slope",
            _check_range(owner, "reach_covariate_slope", self.reach_covariate_slope, -20.0, 20.0),
        )
        if self.reach_covariate is not None and not isinstance(self.reach_covariate, str):
            raise SimulationConfigError(
                f"{owner}: reach_covariate must name a covariate, got {self.reach_covariate!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dictionary."""
        return dataclasses.asdict(self)


DEFAULT_CHANNELS: tuple[ChannelSpec, ...] = (
    # Strongly intent-selected, modestly causal, expensive per click, late in the funnel.
    ChannelSpec("paid_search", 0.10, 1.8, 0.02, 1.10, 1.6, 0.85, 0.3),
    # Reaches known customers (mildly intent-selected), clearly causal, nearly free.
    ChannelSpec("email", 0.25, 0.5, 0.045, 0.002, 3.0, 0.55, 0.0),
    # Broad reach, independent of intent, weak effect, cheap impressions, upper funnel.
    ChannelSpec("display", 0.45, 0.0, 0.004, 0.006, 4.0, 0.15, 0.2),
    # Broad-ish reach, slightly intent-selected, small effect.
    ChannelSpec("social", 0.30, 0.3, 0.010, 0.015, 2.5, 0.30, 0.2),
    # Navigation, not marketing: very intent-selected, no causal effect, free, last in the funnel.
    ChannelSpec("direct", 0.08, 2.2, 0.0, 0.0, 1.3, 0.95, 0.0),
    # Coupon and cashback sites: intent-selected, small effect, expensive, late.
    ChannelSpec("affiliate", 0.04, 1.2, 0.015, 0.80, 1.2, 0.80, 0.3),
    # App users are engaged: moderately intent-selected, modest effect, almost free.
    ChannelSpec("app_push", 0.12, 0.8, 0.020, 0.001, 2.0, 0.60, 0.0),
)
"""Default channels: strong selection bias on paid search, direct and affiliate."""


def mean_reach(spec: ChannelSpec) -> float:
    """Return the expected reach ``E[r(z)]`` over intent ``z ~ Normal(0, 1)``.

    Computed by Gauss-Hermite quadrature with 64 nodes.
    """
    if spec.reach_base in (0.0, 1.0) or spec.reach_intent_slope == 0.0:
        return spec.reach_base
    nodes, weights = np.polynomial.hermite_e.hermegauss(64)
    reach = _sigmoid(_logit(spec.reach_base) + spec.reach_intent_slope * nodes)
    return float(np.dot(weights, reach) / math.sqrt(2.0 * math.pi))


def without_selection(spec: ChannelSpec) -> ChannelSpec:
    """Return the channel with reach independent of intent and the same expected reach.

    ``reach_intent_slope`` becomes 0 and ``reach_base`` becomes :func:`mean_reach` of ``spec``;
    the effect, costs and timing are unchanged.
    """
    return dataclasses.replace(spec, reach_base=mean_reach(spec), reach_intent_slope=0.0)


NO_SELECTION_CHANNELS: tuple[ChannelSpec, ...] = tuple(
    without_selection(spec) for spec in DEFAULT_CHANNELS
)
"""The default channels without selection bias: reach independent of intent, same expected
reach, same effects (see :func:`without_selection`)."""

PRESETS: tuple[str, ...] = ("selection_bias", "no_selection")
"""Names accepted by :meth:`SimulationConfig.preset`."""


def _as_timestamp(value: Any, where: str = "SimulationConfig: start") -> pd.Timestamp:
    if isinstance(value, pd.Timestamp | datetime | date | str | np.datetime64):
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError) as exc:
            raise SimulationConfigError(
                f"{where} {value!r} is not a date; use e.g. '2024-01-01'"
            ) from exc
        if stamp is pd.NaT or pd.isna(stamp):
            raise SimulationConfigError(f"{where} must not be NaT")
        if stamp.tzinfo is not None:
            raise SimulationConfigError(
                f"{where} {value!r} has a time zone; pass a naive timestamp "
                "(the event log is tz-naive)"
            )
        return stamp
    raise SimulationConfigError(f"{where} must be a date, datetime or ISO string, got {value!r}")


@dataclass(frozen=True)
class SimulationConfig:
    """Validated, immutable configuration of :func:`simulate_journeys`.

    Parameters
    ----------
    channels
        The channels (1 to :data:`MAX_CHANNELS`, unique names). Default
        :data:`DEFAULT_CHANNELS`.
    n_users
        Number of simulated users (``>= 1``).
    base_rate
        Conversion probability without any channel for a user of average intent, in ``(0, 1)``.
    intent_effect
        Change in the log-odds of baseline conversion per standard deviation of intent.
    start
        First instant of the simulated window (tz-naive); dates, datetimes and ISO strings
        are accepted and stored as :class:`pandas.Timestamp`.
    n_days
        Length of the window in days (``>= 1``). Every event falls in
        ``[start, start + n_days)``.
    mean_gap_hours
        Mean gap between consecutive touches of a user, in hours (at least one minute). Gaps
        are one second plus an exponential, so that timestamps strictly increase.
    conversion_lag_hours
        Mean gap between the last touch and the conversion, in hours (at least one minute;
        one second plus an exponential).
    order_noise
        Standard deviation of the noise added to ``funnel_position`` when ordering a user's
        touches (``>= 0``; ``0`` orders strictly by funnel position).
    value_mean, value_sigma
        Conversion values are log-normal with mean ``value_mean`` (``> 0``) and log-scale
        standard deviation ``value_sigma`` (``>= 0``).
    cost_period
        Period of the cost table: ``"day"``, ``"week"`` (ISO weeks starting on Monday) or
        ``"month"``.
    include_untouched_conversions
        Whether conversions of users without any touch (part of the baseline ``v(empty)``) appear
        in the event log as conversion-only rows. Off by default: attribution models drop
        conversions without touches.
    seed
        Seed of :func:`numpy.random.default_rng` (a non-negative integer).
    covariates
        Pre-exposure user covariates (:class:`~attribution.simulate.covariates.CovariateSpec`
        or mappings of its fields), written to :attr:`SimulationResult.covariates`; drawn from a
        stream of their own, so they never change the events or the truth. Default: none. See
        :func:`~attribution.simulate.covariates.proxy_covariates` for the benchmark's table.
    """

    channels: tuple[ChannelSpec, ...] = DEFAULT_CHANNELS
    n_users: int = 100_000
    base_rate: float = 0.02
    intent_effect: float = 1.0
    start: pd.Timestamp | date | str = "2024-01-01"
    n_days: int = 56
    mean_gap_hours: float = 12.0
    conversion_lag_hours: float = 12.0
    order_noise: float = 0.15
    value_mean: float = 80.0
    value_sigma: float = 0.6
    cost_period: CostPeriod = "week"
    include_untouched_conversions: bool = False
    seed: int = 0
    covariates: tuple[CovariateSpec, ...] = ()

    def __post_init__(self) -> None:
        owner = "SimulationConfig"
        setter = object.__setattr__
        channels = self.channels
        if isinstance(channels, ChannelSpec) or not isinstance(channels, Sequence | tuple):
            raise SimulationConfigError(
                f"{owner}: channels must be a sequence of ChannelSpec, got "
                f"{type(channels).__name__}"
            )
        channels = tuple(channels)
        if not 1 <= len(channels) <= MAX_CHANNELS:
            raise SimulationConfigError(
                f"{owner}: channels must hold 1 to {MAX_CHANNELS} channels, got {len(channels)}; "
                "the exact truth enumerates all 2**n channel sets"
            )
        for position, spec in enumerate(channels):
            if not isinstance(spec, ChannelSpec):
                raise SimulationConfigError(
                    f"{owner}: channels[{position}] must be a ChannelSpec, got {spec!r}"
                )
        duplicates = repeated(spec.name for spec in channels)
        if duplicates:
            raise SimulationConfigError(
                f"{owner}: channels has duplicate names {duplicates}; give each channel a "
                "unique name"
            )
        setter(self, "channels", channels)
        setter(self, "n_users", _check_int(owner, "n_users", self.n_users, 1))
        setter(
            self,
            "base_rate",
            _check_range(
                owner, "base_rate", self.base_rate, 0.0, 1.0, low_open=True, high_open=True
            ),
        )
        setter(
            self,
            "intent_effect",
            _check_range(owner, "intent_effect", self.intent_effect, -20.0, 20.0),
        )
        setter(self, "start", _as_timestamp(self.start))
        setter(self, "n_days", _check_int(owner, "n_days", self.n_days, 1))
        for name in ("mean_gap_hours", "conversion_lag_hours"):
            hours = _check_range(owner, name, getattr(self, name), 0.0, low_open=True)
            if hours < 1.0 / 60.0:
                raise SimulationConfigError(
                    f"{owner}: {name} must be at least 1/60 (one minute), got {hours!r}"
                )
            setter(self, name, hours)
        setter(
            self,
            "value_mean",
            _check_range(owner, "value_mean", self.value_mean, 0.0, low_open=True),
        )
        setter(self, "order_noise", _check_range(owner, "order_noise", self.order_noise, 0.0))
        setter(self, "value_sigma", _check_range(owner, "value_sigma", self.value_sigma, 0.0, 5.0))
        if self.cost_period not in _COST_PERIODS:
            raise SimulationConfigError(
                f"{owner}: cost_period must be one of {list(_COST_PERIODS)}, "
                f"got {self.cost_period!r}"
            )
        if not isinstance(self.include_untouched_conversions, bool | np.bool_):
            raise SimulationConfigError(
                f"{owner}: include_untouched_conversions must be True or False, got "
                f"{self.include_untouched_conversions!r}"
            )
        setter(self, "include_untouched_conversions", bool(self.include_untouched_conversions))
        setter(self, "covariates", check_covariates(self.covariates))
        covariate_names = [spec.name for spec in self.covariates]
        for spec in channels:
            if spec.reach_covariate is not None and spec.reach_covariate not in covariate_names:
                raise SimulationConfigError(
                    f"{owner}: channel {spec.name!r} targets covariate {spec.reach_covariate!r}, "
                    f"which is not among the covariates {covariate_names}"
                )
        setter(self, "seed", _check_int(owner, "seed", self.seed, 0))

    # ---- constructors ------------------------------------------------------------------------

    @classmethod
    def preset(cls, name: str = "selection_bias", **overrides: Any) -> SimulationConfig:
        """Build a named preset, optionally overriding fields.

        Parameters
        ----------
        name
            ``"selection_bias"`` (the default channels: paid search, direct and affiliate
            strongly intent-selected) or ``"no_selection"`` (:data:`NO_SELECTION_CHANNELS`:
            the same channels with reach independent of intent, the same expected reach and
            the same effects).
        **overrides
            Any :class:`SimulationConfig` field, e.g. ``n_users=10_000, seed=3``.
        """
        if name == "selection_bias":
            channels = DEFAULT_CHANNELS
        elif name == "no_selection":
            channels = NO_SELECTION_CHANNELS
        else:
            raise SimulationConfigError(
                f"SimulationConfig.preset: unknown preset {name!r}; choose one of {list(PRESETS)}"
            )
        fields = {"channels": channels}
        fields.update(overrides)
        return cls.from_dict(fields)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SimulationConfig:
        """Build a configuration from a mapping (e.g. parsed YAML).

        ``channels`` may hold :class:`ChannelSpec` objects or mappings of their fields.
        Unknown keys are refused with the list of valid ones.
        """
        if not isinstance(data, Mapping):
            raise SimulationConfigError(
                f"SimulationConfig.from_dict: expected a mapping, got {type(data).__name__}"
            )
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - valid)
        if unknown:
            raise SimulationConfigError(
                f"SimulationConfig: unknown field(s) {unknown}; valid fields are {sorted(valid)}"
            )
        kwargs = dict(data)
        if "channels" in kwargs:
            kwargs["channels"] = tuple(
                _channel_from_any(item, position)
                for position, item in enumerate(_as_sequence(kwargs["channels"]))
            )
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dictionary (``start`` as an ISO string)."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["channels"] = [spec.to_dict() for spec in self.channels]
        out["start"] = pd.Timestamp(self.start).isoformat()
        out["covariates"] = [spec.to_dict() for spec in self.covariates]
        return out

    # ---- helpers -----------------------------------------------------------------------------

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Channel names in configuration order."""
        return tuple(spec.name for spec in self.channels)

    @property
    def start_timestamp(self) -> pd.Timestamp:
        """Start of the simulated window as a :class:`pandas.Timestamp`."""
        return pd.Timestamp(self.start)

    @property
    def end(self) -> pd.Timestamp:
        """End of the simulated window (exclusive): ``start + n_days``."""
        return self.start_timestamp + pd.Timedelta(days=self.n_days)

    def channel(self, name: str) -> ChannelSpec:
        """Return the spec of channel ``name``."""
        return self.channels[self._index(name)]

    def with_channel(self, name: str, **changes: Any) -> SimulationConfig:
        """Return a copy with fields of channel ``name`` changed (re-validated)."""
        index = self._index(name)
        channels = list(self.channels)
        channels[index] = dataclasses.replace(channels[index], **changes)
        return dataclasses.replace(self, channels=tuple(channels))

    def switch_off(self, *names: str) -> SimulationConfig:
        """Return a copy in which the named channels reach nobody (``reach_base = 0``).

        All other random draws are unchanged, so the simulated total conversions of the copy
        equal ``v(all channels but names)`` of the original.
        """
        config = self
        for name in names:
            config = config.with_channel(name, reach_base=0.0)
        return config

    def _index(self, name: str) -> int:
        names = self.channel_names
        if name not in names:
            raise SimulationConfigError(
                f"unknown channel {name!r}; the configuration has channels {list(names)}"
            )
        return names.index(name)


def _as_sequence(value: Any) -> Sequence[Any]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise SimulationConfigError(
            f"SimulationConfig: channels must be a list of channel specs, got {value!r}"
        )
    return list(value)


def _channel_from_any(item: Any, position: int) -> ChannelSpec:
    if isinstance(item, ChannelSpec):
        return item
    if isinstance(item, Mapping):
        valid = {f.name for f in dataclasses.fields(ChannelSpec)}
        unknown = sorted(set(item) - valid)
        if unknown:
            raise SimulationConfigError(
                f"SimulationConfig: channels[{position}] has unknown field(s) {unknown}; valid "
                f"fields are {sorted(valid)}"
            )
        if "name" not in item or "reach_base" not in item:
            raise SimulationConfigError(
                f"SimulationConfig: channels[{position}] needs at least 'name' and 'reach_base'"
            )
        return ChannelSpec(**item)
    raise SimulationConfigError(
        f"SimulationConfig: channels[{position}] must be a ChannelSpec or a mapping, got {item!r}"
    )
