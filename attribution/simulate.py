"""Known-truth simulator for multi-touch attribution.

The simulator draws users with a latent purchase intent, exposes them to marketing channels
with intent-dependent reach (selection bias: high-intent users are more likely to see paid
search or to come in "direct"), and lets each channel raise the conversion probability by a
known causal effect. Because every random draw is kept, the *ground truth* of the channel game
is exact: for every set of channels ``S`` the number of conversions that would have happened if
only the channels in ``S`` existed, with all other draws fixed, is computed in closed form.
From it follow the true incremental conversions of each channel (remove the channel, same
draws) and the exact Shapley value of the channel game.

Generative model (all formulas are repeated in ``docs/simulator.md``). For user ``i``:

* intent ``z_i ~ Normal(0, 1)``;
* baseline conversion probability ``p0_i = sigmoid(logit(base_rate) + intent_effect * z_i)``;
* channel ``c`` reaches the user with probability
  ``r_ic = sigmoid(logit(reach_base_c) + reach_intent_slope_c * z_i)`` (``r = 0`` when
  ``reach_base_c = 0`` and ``r = 1`` when ``reach_base_c = 1``); the user is exposed,
  ``c in E_i``, iff ``V_ic < r_ic`` with ``V_ic ~ Uniform(0, 1)``;
* a reached user sees ``K_ic ~ Geometric`` touches of ``c`` (``K >= 1``, mean ``mean_touches_c``),
  each costing ``cost_per_touch_c``; exposure is binary for conversion: touches beyond the
  first add cost, not effect;
* conversion is a noisy-OR: with exposure set ``T``,
  ``P(convert | T, z_i) = 1 - (1 - p0_i) * prod_{c in T} (1 - effect_c)``, and the user converts
  iff ``U_i < P`` with one uniform ``U_i`` per user. Equivalently (this is how it is computed, so
  that every coalition uses bit-identical arithmetic) the user converts iff
  ``L(T) > theta_i`` with ``lambda_c = -log(1 - effect_c)``, ``L(T) = sum_{c in T} lambda_c`` and
  ``theta_i = log(1 - p0_i) - log(1 - U_i)``.

The channel game is ``v(S) = sum_i 1[L(E_i & S) > theta_i]`` for ``S`` a subset of channels:
total conversions when only the channels in ``S`` exist. ``v(all)`` is the simulated total and
``v(empty)`` the baseline. Each user converts at most once.

Public API: :class:`ChannelSpec`, :class:`SimulationConfig` (with presets
:meth:`SimulationConfig.preset`), :func:`simulate_journeys` returning
:class:`SimulationResult`, :func:`simulate_lift_test` returning :class:`LiftTestResult`, and
:func:`total_variation_distance` / :func:`compare_to_truth` for benchmarks.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.stats import norm

from attribution.errors import AttributionError

__all__ = [
    "DEFAULT_CHANNELS",
    "MAX_CHANNELS",
    "NO_SELECTION_CHANNELS",
    "PRESETS",
    "ChannelSpec",
    "LiftTestResult",
    "SimulationConfig",
    "SimulationConfigError",
    "SimulationResult",
    "compare_to_truth",
    "mean_reach",
    "simulate_journeys",
    "simulate_lift_test",
    "total_variation_distance",
    "without_selection",
]

logger = logging.getLogger(__name__)

MAX_CHANNELS = 12
"""Largest number of channels: the exact truth enumerates all ``2**n`` coalitions."""

CostPeriod = Literal["day", "week", "month"]
_COST_PERIODS: tuple[str, ...] = ("day", "week", "month")

# Independent random streams (SeedSequence children), so that changing one channel's parameters
# never shifts the draws of another component.
_STREAM_INTENT, _STREAM_CONVERSION, _STREAM_REACH, _STREAM_TOUCHES = 0, 1, 2, 3
_STREAM_VALUE, _STREAM_ORDER, _STREAM_TIME, _STREAM_COST = 4, 5, 6, 7
_N_STREAMS = 8

_NS_PER_SECOND = 1_000_000_000
_SECONDS_PER_HOUR = 3600.0


class SimulationConfigError(AttributionError):
    """A simulator configuration value is out of range or inconsistent."""


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


def _logit(p: float) -> float:
    return math.log(p) - math.log1p(-p)


def _check_real(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SimulationConfigError(
            f"{owner}: {name} must be a real number, got {value!r} ({type(value).__name__})"
        )
    out = float(value)
    if not math.isfinite(out):
        raise SimulationConfigError(f"{owner}: {name} must be finite, got {value!r}")
    return out


def _check_range(
    owner: str,
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    hint: str = "",
) -> float:
    out = _check_real(owner, name, value)
    bad_low = low is not None and (out <= low if low_open else out < low)
    bad_high = high is not None and (out >= high if high_open else out > high)
    if bad_low or bad_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        message = f"{owner}: {name} must be in {left}{lo}, {hi}{right}, got {value!r}"
        if hint:
            message += f"; {hint}"
        raise SimulationConfigError(message)
    return out


def _check_int(owner: str, name: str, value: Any, low: int, hint: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise SimulationConfigError(
            f"{owner}: {name} must be an integer, got {value!r} ({type(value).__name__})"
        )
    if value < low:
        message = f"{owner}: {name} must be >= {low}, got {value!r}"
        if hint:
            message += f"; {hint}"
        raise SimulationConfigError(message)
    return int(value)


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
    """

    name: str
    reach_base: float
    reach_intent_slope: float = 0.0
    effect: float = 0.0
    cost_per_touch: float = 0.0
    mean_touches: float = 1.0
    funnel_position: float = 0.5
    cost_sigma: float = 0.0

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
        names = [spec.name for spec in channels]
        duplicates = sorted({name for name in names if names.count(name) > 1})
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


# --------------------------------------------------------------------------------------------
# Draws and the exact channel game
# --------------------------------------------------------------------------------------------


def _reach_probability(spec: ChannelSpec, intent: np.ndarray) -> np.ndarray:
    """``r = sigmoid(logit(reach_base) + reach_intent_slope * z)``, exact at 0 and 1."""
    if spec.reach_base <= 0.0:
        return np.zeros_like(intent)
    if spec.reach_base >= 1.0:
        return np.ones_like(intent)
    return _sigmoid(_logit(spec.reach_base) + spec.reach_intent_slope * intent)


def _loading_table(lam: np.ndarray) -> np.ndarray:
    """``L[mask] = sum of lam[c] over the bits c of mask``, added in increasing bit order.

    Every coalition's conversion decision reads this one table, so that removal, re-simulation
    and the Shapley transform compare identical floating-point numbers.
    """
    n = lam.shape[0]
    table = np.zeros(1 << n, dtype=np.float64)
    for bit in range(n):
        width = 1 << bit
        table[width : 2 * width] = table[:width] + lam[bit]
    return table


def _popcount(masks: np.ndarray) -> np.ndarray:
    counts = np.zeros(masks.shape, dtype=np.int64)
    work = masks.astype(np.int64).copy()
    while np.any(work):
        counts += work & 1
        work >>= 1
    return counts


def _mobius_inplace(values: np.ndarray, k: int) -> None:
    """Möbius transform over the subset lattice along axis 1 (``2**k`` entries per row)."""
    rows = values.shape[0]
    for bit in range(k):
        view = values.reshape(rows, -1, 2, 1 << bit)
        view[:, :, 1, :] -= view[:, :, 0, :]


def _zeta_inplace(values: np.ndarray, n: int) -> None:
    """Zeta (subset-sum) transform of a length-``2**n`` vector: ``out[S] = sum_{T<=S} in[T]``."""
    for bit in range(n):
        view = values.reshape(-1, 2, 1 << bit)
        view[:, 1, :] += view[:, 0, :]


@dataclass(frozen=True)
class _Game:
    """The exact channel game computed from the draws."""

    dividends: np.ndarray  # int64 Harsanyi dividends of the conversion game, length 2**n
    values: np.ndarray  # int64 v(S) for every mask S
    revenue_dividends: np.ndarray  # float64 dividends of the revenue game
    revenue_values: np.ndarray  # float64 revenue(S)


def _channel_game(
    theta: np.ndarray,
    masks: np.ndarray,
    weights: np.ndarray,
    loading: np.ndarray,
    n_channels: int,
) -> _Game:
    """Exact game ``v(S) = sum_i 1[L(E_i & S) > theta_i]`` and its revenue analogue.

    Users are grouped by exposure mask ``E``. For a group, ``count_E(T)`` (``T`` a subset of
    ``E``) is the number of its users with ``theta < L(T)``, found by binary search on the
    group's sorted thresholds. The Möbius transform of ``count_E`` on the subsets of ``E`` gives
    that group's Harsanyi dividends; summing them over groups gives the dividends ``d`` of the
    whole game, ``v = zeta(d)``. Cost: ``sum_E 2**|E| <= 3**n`` evaluations plus ``n 2**n``.
    """
    n_masks = 1 << n_channels
    # Exact integer ranks of thresholds and loadings in one common order.
    universe = np.unique(np.concatenate([theta, loading]))
    stride = np.int64(universe.shape[0] + 1)
    rank_theta = np.searchsorted(universe, theta).astype(np.int64)
    rank_loading = np.searchsorted(universe, loading).astype(np.int64)

    group_masks, group_of_user = np.unique(masks, return_inverse=True)
    group_of_user = group_of_user.astype(np.int64)
    keys = group_of_user * stride + rank_theta
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    cum_weight = np.concatenate([[0.0], np.cumsum(weights[order])])
    group_start = np.searchsorted(sorted_keys, np.arange(group_masks.shape[0]) * stride)

    dividends = np.zeros(n_masks, dtype=np.int64)
    revenue_dividends = np.zeros(n_masks, dtype=np.float64)
    sizes = _popcount(group_masks)
    for k in np.unique(sizes):
        k = int(k)
        groups = np.flatnonzero(sizes == k)
        # Bit positions of each group's mask, lowest first: shape (n_groups, k).
        positions = np.zeros((groups.shape[0], k), dtype=np.int64)
        work = group_masks[groups].astype(np.int64).copy()
        for slot in range(k):
            lowest = work & -work
            positions[:, slot] = np.log2(lowest).round().astype(np.int64)
            work ^= lowest
        local = np.arange(1 << k, dtype=np.int64)
        local_bits = (local[:, None] >> np.arange(k, dtype=np.int64)[None, :]) & 1  # (2**k, k)
        subsets = local_bits @ (np.int64(1) << positions).T  # (2**k, n_groups)
        subsets = np.ascontiguousarray(subsets.T)  # (n_groups, 2**k) global masks
        queries = groups[:, None].astype(np.int64) * stride + rank_loading[subsets]
        found = np.searchsorted(sorted_keys, queries, side="left")
        start = group_start[groups][:, None]
        counts = (found - start).astype(np.int64)
        revenue = cum_weight[found] - cum_weight[start]
        _mobius_inplace(counts, k)
        _mobius_inplace(revenue, k)
        np.add.at(dividends, subsets.ravel(), counts.ravel())
        revenue_dividends += np.bincount(
            subsets.ravel(), weights=revenue.ravel(), minlength=n_masks
        )
    values = dividends.copy()
    _zeta_inplace(values, n_channels)
    revenue_values = revenue_dividends.copy()
    _zeta_inplace(revenue_values, n_channels)
    return _Game(dividends, values, revenue_dividends, revenue_values)


def _shapley_from_dividends(dividends: np.ndarray, n_channels: int) -> np.ndarray:
    """``phi_c = sum_{T contains c} d(T) / |T|`` (Harsanyi dividends shared equally)."""
    masks = np.arange(1 << n_channels, dtype=np.int64)
    sizes = _popcount(masks)
    share = np.zeros(dividends.shape[0], dtype=np.float64)
    nonempty = sizes > 0
    share[nonempty] = dividends[nonempty] / sizes[nonempty]
    return np.array(
        [share[(masks >> c) & 1 == 1].sum() for c in range(n_channels)], dtype=np.float64
    )


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------------


def _period_start(times: pd.Series | pd.DatetimeIndex, period: str) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(times)
    days = index.normalize()
    if period == "day":
        return days
    if period == "week":
        return days - pd.to_timedelta(days.day_of_week, unit="D")
    return days - pd.to_timedelta(days.day - 1, unit="D")


def simulate_journeys(config: SimulationConfig | None = None) -> SimulationResult:
    """Simulate an event log with exact ground truth.

    Parameters
    ----------
    config
        The configuration; ``None`` uses ``SimulationConfig()`` (the ``"selection_bias"``
        preset, 100,000 users).

    Returns
    -------
    SimulationResult
        Event log, cost table, per-user latent table and the exact truth (removal incremental
        conversions and Shapley values of the channel game ``v``).

    Notes
    -----
    Draws come from independent child streams of ``numpy.random.SeedSequence(seed)``: intent,
    conversion uniforms, reach uniforms, touch counts, values, touch order, timestamps and
    costs. The conversion outcome of every user under every channel set depends only on the
    first four and on the channel parameters, so switching a channel off (``reach_base = 0``)
    leaves all other users' draws, exposures and thresholds unchanged.
    """
    if config is None:
        config = SimulationConfig()
    if not isinstance(config, SimulationConfig):
        raise SimulationConfigError(
            f"simulate_journeys: config must be a SimulationConfig, got {type(config).__name__}"
        )
    started = time.perf_counter()
    n = config.n_users
    specs = config.channels
    n_channels = len(specs)
    streams = [
        np.random.default_rng(child)
        for child in np.random.SeedSequence(config.seed).spawn(_N_STREAMS)
    ]

    # ---- latent intent, conversion threshold, exposure -------------------------------------
    intent = streams[_STREAM_INTENT].standard_normal(n)
    uniform = streams[_STREAM_CONVERSION].random(n)
    base_probability = _sigmoid(_logit(config.base_rate) + config.intent_effect * intent)
    with np.errstate(divide="ignore"):
        theta = np.log1p(-base_probability) - np.log1p(-uniform)
    reach_draws = streams[_STREAM_REACH].random((n, n_channels))
    exposed = np.empty((n, n_channels), dtype=bool)
    for c, spec in enumerate(specs):
        exposed[:, c] = reach_draws[:, c] < _reach_probability(spec, intent)
    bit_values = np.int64(1) << np.arange(n_channels, dtype=np.int64)
    masks = exposed.astype(np.int64) @ bit_values
    lam = np.array([-math.log1p(-spec.effect) for spec in specs], dtype=np.float64)
    loading = _loading_table(lam)
    converted = theta < loading[masks]

    # ---- values ------------------------------------------------------------------------------
    sigma = config.value_sigma
    mu = math.log(config.value_mean) - 0.5 * sigma * sigma
    draws_value = np.exp(mu + sigma * streams[_STREAM_VALUE].standard_normal(n))
    value = np.where(converted, draws_value, 0.0)

    # ---- touch counts --------------------------------------------------------------------------
    count_draws = streams[_STREAM_TOUCHES].random((n, n_channels))
    counts = np.zeros((n, n_channels), dtype=np.int64)
    for c, spec in enumerate(specs):
        if spec.mean_touches <= 1.0:
            extra = np.zeros(n, dtype=np.int64)
        else:
            stay = 1.0 - 1.0 / spec.mean_touches  # P(another touch)
            extra = np.floor(np.log1p(-count_draws[:, c]) / math.log(stay)).astype(np.int64)
        counts[:, c] = np.where(exposed[:, c], 1 + extra, 0)
    n_touches = counts.sum(axis=1)

    # ---- the exact game ----------------------------------------------------------------------
    game = _channel_game(theta, masks, value, loading, n_channels)
    total = int(game.values[-1])
    if total != int(converted.sum()):  # pragma: no cover - internal consistency
        raise RuntimeError("channel game disagrees with the simulated conversions")

    # ---- touches: channel and order -------------------------------------------------------------
    # Large per-touch arrays are built in place and released early to bound peak memory.
    touch_channel = np.repeat(np.tile(np.arange(n_channels, dtype=np.int8), n), counts.ravel())
    n_total_touches = touch_channel.shape[0]
    # Sort touches within each user by funnel_position + order_noise * N(0, 1): the key is
    # squashed into [0, 0.998] and added to the user id, which is already sorted.
    key = streams[_STREAM_ORDER].standard_normal(n_total_touches)
    key *= config.order_noise
    key += np.array([spec.funnel_position - 0.5 for spec in specs])[touch_channel]
    np.tanh(key, out=key)
    key += 1.0
    key *= 0.499
    key += np.repeat(np.arange(n, dtype=np.float64), n_touches)
    order = np.argsort(key, kind="stable")
    del key
    touch_channel = touch_channel[order]
    del order

    # ---- timestamps ----------------------------------------------------------------------------
    window = config.n_days * 86400.0
    usable = window - min(1.0, window / 4.0)  # keep the last event strictly inside the window
    time_rng = streams[_STREAM_TIME]
    touched = n_touches > 0
    user_first = np.cumsum(n_touches) - n_touches  # index of each user's first touch
    # Gaps and lags are 1 s plus an exponential: strictly increasing timestamps, same mean.
    offset = time_rng.exponential(config.mean_gap_hours * _SECONDS_PER_HOUR - 1.0, n_total_touches)
    offset += 1.0
    offset[user_first[touched]] = 0.0
    np.cumsum(offset, out=offset)
    offset -= np.repeat(offset[user_first[touched]], n_touches[touched])
    lag = 1.0 + time_rng.exponential(config.conversion_lag_hours * _SECONDS_PER_HOUR - 1.0, n)
    last_offset = np.zeros(n)
    last_offset[touched] = offset[user_first[touched] + n_touches[touched] - 1]
    has_conversion_row = converted & (touched | config.include_untouched_conversions)
    duration = last_offset + np.where(has_conversion_row & touched, lag, 0.0)
    scale = np.where(duration > usable, usable / np.maximum(duration, 1e-300), 1.0)
    span = duration * scale
    # Journeys start uniformly in [0, usable - span] so that they end inside the window; volume
    # ramps up over the first journey length of the window and down over the last one.
    arrival = time_rng.random(n) * (usable - span)
    offset *= np.repeat(scale, n_touches)
    offset += np.repeat(arrival, n_touches)  # touch time in seconds since start
    offset *= _NS_PER_SECOND
    np.rint(offset, out=offset)
    start_ns = pd.Timestamp(config.start).value
    touch_ns = offset.astype(np.int64)
    del offset
    touch_ns += start_ns
    conversion_ns = start_ns + np.rint((arrival + span) * _NS_PER_SECOND).astype(np.int64)
    arrival_ns = start_ns + np.rint(arrival * _NS_PER_SECOND).astype(np.int64)

    # ---- costs ---------------------------------------------------------------------------------
    touch_cost = np.array([spec.cost_per_touch for spec in specs])[touch_channel]
    sigmas = np.array([spec.cost_sigma for spec in specs])
    if np.any(sigmas > 0):
        noise = streams[_STREAM_COST].standard_normal(n_total_touches)
        touch_sigma = sigmas[touch_channel]
        noise *= touch_sigma
        noise -= 0.5 * touch_sigma**2
        del touch_sigma
        np.exp(noise, out=noise)
        touch_cost *= noise
        del noise

    # ---- event log -----------------------------------------------------------------------------
    # Each user's events are contiguous: touches in time order, then the conversion row.
    events_per_user = n_touches + has_conversion_row
    event_first = np.cumsum(events_per_user) - events_per_user
    n_events = int(events_per_user.sum())
    touch_slot = np.arange(n_total_touches, dtype=np.int64)
    touch_slot += np.repeat(event_first - user_first, n_touches)
    conv_users = np.flatnonzero(has_conversion_row)
    conv_slot = event_first[conv_users] + n_touches[conv_users]

    event_ns = np.empty(n_events, dtype=np.int64)
    event_ns[touch_slot] = touch_ns
    event_ns[conv_slot] = conversion_ns[conv_users]
    codes = np.full(n_events, -1, dtype=np.int8)
    codes[touch_slot] = touch_channel
    flag = np.zeros(n_events, dtype=np.int8)
    flag[conv_slot] = 1
    event_value = np.zeros(n_events)
    event_value[conv_slot] = value[conv_users]
    event_cost = np.zeros(n_events)
    event_cost[touch_slot] = touch_cost
    del touch_slot
    channel_array = pa.DictionaryArray.from_arrays(
        pa.array(codes, mask=codes < 0, type=pa.int8()),
        pa.array(list(config.channel_names), type=pa.large_string()),
    ).cast(pa.large_string())
    del codes
    events = pd.DataFrame(
        {
            "user_id": np.repeat(np.arange(n, dtype=np.int64), events_per_user),
            "timestamp": event_ns.view("datetime64[ns]"),
            "channel": pd.arrays.ArrowStringArray(channel_array),
            "conversion": flag,
            "value": event_value,
            "cost": event_cost,
        }
    )
    del event_ns, flag, event_value, event_cost, channel_array

    # ---- cost table ----------------------------------------------------------------------------
    last_day = (config.end - pd.Timedelta(1, unit="ns")).normalize()
    days = pd.date_range(config.start_timestamp.normalize(), last_day, freq="D")
    day_period = _period_start(days, config.cost_period)
    periods = day_period.unique()
    period_of_day = periods.get_indexer(day_period)
    day_of_touch = (touch_ns - days[0].value) // (86400 * _NS_PER_SECOND)
    del touch_ns
    n_periods = len(periods)
    cell = touch_channel.astype(np.int64) * n_periods + period_of_day[day_of_touch]
    del day_of_touch
    cost_sum = np.bincount(cell, weights=touch_cost, minlength=n_channels * n_periods).astype(
        np.float64
    )
    touch_sum = np.bincount(cell, minlength=n_channels * n_periods).astype(np.int64)
    costs = pd.DataFrame(
        {
            "channel": pd.array(np.repeat(config.channel_names, n_periods), dtype="string"),
            "period": np.tile(periods.to_numpy().astype("datetime64[ns]"), n_channels),
            "cost": cost_sum,
            "touches": touch_sum,
        }
    )

    # ---- truth ---------------------------------------------------------------------------------
    full = (1 << n_channels) - 1
    shapley = _shapley_from_dividends(game.dividends, n_channels)
    shapley_revenue = _shapley_from_dividends(game.revenue_dividends, n_channels)
    incremental = np.array(
        [game.values[full] - game.values[full & ~(1 << c)] for c in range(n_channels)],
        dtype=np.int64,
    )
    incremental_revenue = np.array(
        [
            game.revenue_values[full] - game.revenue_values[full & ~(1 << c)]
            for c in range(n_channels)
        ]
    )
    channel_cost = np.bincount(touch_channel, weights=touch_cost, minlength=n_channels).astype(
        np.float64
    )
    truth = pd.DataFrame(
        {
            "incremental_conversions": incremental,
            "shapley": shapley,
            "share": _shares(shapley),
            "removal_share": _shares(incremental.astype(np.float64)),
            "incremental_revenue": incremental_revenue,
            "shapley_revenue": shapley_revenue,
            "users_reached": exposed.sum(axis=0).astype(np.int64),
            "touches": counts.sum(axis=0).astype(np.int64),
            "cost": channel_cost,
        },
        index=pd.Index(list(config.channel_names), name="channel", dtype="string"),
    )
    baseline = int(game.values[0])
    truth.attrs["baseline_conversions"] = baseline
    truth.attrs["total_conversions"] = total

    # ---- users ---------------------------------------------------------------------------------
    user_columns: dict[str, Any] = {
        "user_id": np.arange(n, dtype=np.int64),
        "intent": intent,
        "base_probability": base_probability,
        "conversion_draw": uniform,
        "conversion_probability": 1.0 - (1.0 - base_probability) * np.exp(-loading[masks]),
        "converted": converted,
        "value": value,
        "n_touches": n_touches,
        "arrival": arrival_ns.view("datetime64[ns]"),
    }
    for c, name in enumerate(config.channel_names):
        user_columns[f"exposed:{name}"] = exposed[:, c]
    users = pd.DataFrame(user_columns)

    logger.debug(
        "simulated %d users, %d events in %.2f s", n, n_events, time.perf_counter() - started
    )
    return SimulationResult(
        events=events,
        costs=costs,
        truth=truth,
        users=users,
        config=config,
        baseline_conversions=baseline,
        total_conversions=total,
        _theta=theta,
        _masks=masks,
        _loading=loading,
        _game=game,
    )


def _shares(values: np.ndarray) -> np.ndarray:
    total = values.sum()
    if total == 0:
        return np.zeros_like(values, dtype=np.float64)
    out: np.ndarray = values / total
    return out


# --------------------------------------------------------------------------------------------
# Randomized holdout (lift) tests
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiftTestResult:
    """Result of a simulated randomized holdout test of one channel.

    Users of the population are assigned at random to a holdout group (never exposed to the
    channel) with probability ``holdout_fraction``; the others are treated as usual. The
    incremental conversions of the channel for the whole population are estimated as
    ``(rate_treatment - rate_holdout) * population`` with a normal-approximation interval whose
    standard error is ``population * sqrt(p_t (1 - p_t) / n_t + p_h (1 - p_h) / n_h)``.

    Attributes
    ----------
    channel, start, end
        The tested channel and the period covered (``end`` exclusive).
    population, n_treatment, n_holdout
        Users in the test population and in each arm.
    conversions_treatment, conversions_holdout
        Conversions observed in each arm.
    rate_treatment, rate_holdout
        Conversion rates of the arms.
    incremental_conversions, ci_lower, ci_upper, standard_error, confidence
        Estimate of the population incremental conversions and its interval.
    incremental_revenue, revenue_ci_lower, revenue_ci_upper
        The same for conversion value.
    relative_lift
        ``rate_treatment / rate_holdout - 1`` (NaN when the holdout has no conversion).
    holdout_fraction, seed
        Test design.
    true_incremental_conversions
        The simulation's truth for the same population: conversions with the channel minus
        conversions without it, same draws (unknown in a real test; for checking estimators).
    """

    channel: str
    start: pd.Timestamp
    end: pd.Timestamp
    population: int
    n_treatment: int
    n_holdout: int
    conversions_treatment: int
    conversions_holdout: int
    rate_treatment: float
    rate_holdout: float
    incremental_conversions: float
    ci_lower: float
    ci_upper: float
    standard_error: float
    confidence: float
    incremental_revenue: float
    revenue_ci_lower: float
    revenue_ci_upper: float
    relative_lift: float
    holdout_fraction: float
    seed: int | None
    true_incremental_conversions: int

    @property
    def covers_truth(self) -> bool:
        """Whether the interval contains :attr:`true_incremental_conversions`."""
        return self.ci_lower <= self.true_incremental_conversions <= self.ci_upper

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a dictionary (timestamps as ISO strings)."""
        out = dataclasses.asdict(self)
        out["start"] = self.start.isoformat()
        out["end"] = self.end.isoformat()
        return out

    def to_frame(self) -> pd.DataFrame:
        """Return a one-row DataFrame, the format of a lift-test results table."""
        frame = pd.DataFrame([dataclasses.asdict(self)])
        for name in ("start", "end"):
            frame[name] = frame[name].astype("datetime64[ns]")
        return frame

    def __repr__(self) -> str:
        return (
            f"LiftTestResult(channel={self.channel!r}, {self.start.date()}..{self.end.date()}, "
            f"population={self.population}, incremental_conversions="
            f"{self.incremental_conversions:.1f} [{self.ci_lower:.1f}, {self.ci_upper:.1f}] "
            f"({self.confidence:.0%}), true={self.true_incremental_conversions})"
        )


def simulate_lift_test(
    result_or_config: SimulationResult | SimulationConfig,
    channel: str,
    *,
    holdout_fraction: float = 0.1,
    seed: int | None = None,
    confidence: float = 0.95,
    start: pd.Timestamp | date | str | None = None,
    end: pd.Timestamp | date | str | None = None,
) -> LiftTestResult:
    r"""Simulate a randomized holdout test of ``channel`` on the simulated users.

    Parameters
    ----------
    result_or_config
        A :class:`SimulationResult`, or a :class:`SimulationConfig` to simulate first.
    channel
        The channel to test.
    holdout_fraction
        Probability that a user is held out, in ``(0, 1)``.
    seed
        Seed of the random assignment (``None``: fresh entropy).
    confidence
        Confidence level of the interval, in ``(0, 1)``.
    start, end
        Restrict the population to users whose first event (or arrival, if untouched) falls in
        ``[start, end)``; default the whole simulated window.

    Returns
    -------
    LiftTestResult
        Estimate, interval, arm sizes and the truth for the same population.

    Notes
    -----
    Outcomes use the simulation's draws: a treated user converts iff ``L(E_i) > theta_i``, a
    held-out user iff ``L(E_i without c) > theta_i``. Over the whole window the estimand
    ``sum_i (1[L(E_i) > theta_i] - 1[L(E_i \ c) > theta_i])`` is exactly the truth table's
    ``incremental_conversions`` of ``channel``; the estimator is unbiased for it over the random
    assignment and the interval is the conservative Neyman interval.
    """
    if isinstance(result_or_config, SimulationConfig):
        result = simulate_journeys(result_or_config)
    elif isinstance(result_or_config, SimulationResult):
        result = result_or_config
    else:
        raise SimulationConfigError(
            "simulate_lift_test: expected a SimulationResult or SimulationConfig, got "
            f"{type(result_or_config).__name__}"
        )
    config = result.config
    index = config._index(channel)
    owner = "simulate_lift_test"
    fraction = _check_range(
        owner, "holdout_fraction", holdout_fraction, 0.0, 1.0, low_open=True, high_open=True
    )
    level = _check_range(owner, "confidence", confidence, 0.0, 1.0, low_open=True, high_open=True)
    if seed is not None:
        seed = _check_int(owner, "seed", seed, 0)
    window_start = (
        config.start_timestamp if start is None else _as_timestamp(start, f"{owner}: start")
    )
    window_end = config.end if end is None else _as_timestamp(end, f"{owner}: end")
    if window_end <= window_start:
        raise SimulationConfigError(
            f"{owner}: end ({window_end}) must be after start ({window_start})"
        )

    arrival = result.users["arrival"].to_numpy()
    in_window = (arrival >= window_start.to_datetime64()) & (arrival < window_end.to_datetime64())
    population = int(in_window.sum())
    if population < 2:
        raise SimulationConfigError(
            f"{owner}: only {population} user(s) arrive in [{window_start}, {window_end}); "
            "widen the window or simulate more users"
        )
    theta = result._theta[in_window]
    masks = result._masks[in_window]
    value = result.users["value"].to_numpy()[in_window]
    loading = result._loading
    with_channel = theta < loading[masks]
    without_channel = theta < loading[masks & ~(1 << index)]

    rng = np.random.default_rng(seed)
    holdout = rng.random(population) < fraction
    n_holdout = int(holdout.sum())
    n_treatment = population - n_holdout
    if n_holdout == 0 or n_treatment == 0:
        raise SimulationConfigError(
            f"{owner}: an arm is empty ({n_treatment} treated, {n_holdout} held out); increase "
            "the population or move holdout_fraction away from 0 and 1"
        )
    outcome = np.where(holdout, without_channel, with_channel)
    revenue = np.where(outcome, value, 0.0)
    conv_t = int(outcome[~holdout].sum())
    conv_h = int(outcome[holdout].sum())
    rate_t = conv_t / n_treatment
    rate_h = conv_h / n_holdout
    z = float(norm.ppf(0.5 + level / 2.0))
    se = population * math.sqrt(
        rate_t * (1 - rate_t) / n_treatment + rate_h * (1 - rate_h) / n_holdout
    )
    estimate = (rate_t - rate_h) * population
    rev_t = revenue[~holdout]
    rev_h = revenue[holdout]
    rev_var_t = float(rev_t.var(ddof=1)) if n_treatment > 1 else 0.0
    rev_var_h = float(rev_h.var(ddof=1)) if n_holdout > 1 else 0.0
    rev_se = population * math.sqrt(rev_var_t / n_treatment + rev_var_h / n_holdout)
    rev_estimate = (float(rev_t.mean()) - float(rev_h.mean())) * population
    return LiftTestResult(
        channel=channel,
        start=window_start,
        end=window_end,
        population=population,
        n_treatment=n_treatment,
        n_holdout=n_holdout,
        conversions_treatment=conv_t,
        conversions_holdout=conv_h,
        rate_treatment=rate_t,
        rate_holdout=rate_h,
        incremental_conversions=estimate,
        ci_lower=estimate - z * se,
        ci_upper=estimate + z * se,
        standard_error=se,
        confidence=level,
        incremental_revenue=rev_estimate,
        revenue_ci_lower=rev_estimate - z * rev_se,
        revenue_ci_upper=rev_estimate + z * rev_se,
        relative_lift=rate_t / rate_h - 1.0 if rate_h > 0 else float("nan"),
        holdout_fraction=fraction,
        seed=seed,
        true_incremental_conversions=int(with_channel.sum() - without_channel.sum()),
    )


# --------------------------------------------------------------------------------------------
# Comparing model credits with the truth
# --------------------------------------------------------------------------------------------


def _as_share_series(credits: Mapping[str, float] | pd.Series, what: str) -> pd.Series:
    series = (
        pd.Series(credits, dtype="float64")
        if not isinstance(credits, pd.Series)
        else (credits.astype("float64"))
    )
    series.index = series.index.astype(str)
    if series.isna().any():
        first = series.index[series.isna().to_numpy()][0]
        raise SimulationConfigError(f"{what}: credit of channel {first!r} is missing (NaN)")
    if (series < 0).any():
        first = series.index[(series < 0).to_numpy()][0]
        raise SimulationConfigError(
            f"{what}: credit of channel {first!r} is negative ({series[first]}); total-variation "
            "distance compares non-negative shares"
        )
    total = series.sum()
    if total <= 0:
        raise SimulationConfigError(f"{what}: credits sum to {total}; nothing to compare")
    return series / total


def total_variation_distance(
    shares: Mapping[str, float] | pd.Series, reference: Mapping[str, float] | pd.Series
) -> float:
    """Total-variation distance ``0.5 * sum_c |p_c - q_c|`` between two channel distributions.

    Both inputs are non-negative credits by channel name; each is normalised to sum to 1 and
    channels missing from one side count as 0 there. The result is in ``[0, 1]``.
    """
    p = _as_share_series(shares, "shares")
    q = _as_share_series(reference, "reference")
    p, q = p.align(q, fill_value=0.0)
    return float(0.5 * np.abs(p.to_numpy() - q.to_numpy()).sum())


def compare_to_truth(
    credits: Mapping[str, Mapping[str, float] | pd.Series],
    result: SimulationResult,
    *,
    truth: Literal["shapley", "removal"] = "shapley",
) -> pd.DataFrame:
    """Benchmark table: each model's channel shares against the true shares.

    Parameters
    ----------
    credits
        ``{model name: {channel: credited conversions}}``; credits are normalised to shares.
    result
        The simulation whose truth is the reference.
    truth
        ``"shapley"`` compares with the true Shapley shares (``truth["share"]``), ``"removal"``
        with the removal shares (``truth["removal_share"]``).

    Returns
    -------
    pandas.DataFrame
        One row per model plus a first row ``"truth"``, models sorted by ``tv_distance``:
        column ``tv_distance`` (:func:`total_variation_distance` to the true shares) and one
        share column per channel (truth order, then channels unknown to the simulation).
    """
    if truth not in ("shapley", "removal"):
        raise SimulationConfigError(
            f"compare_to_truth: truth must be 'shapley' or 'removal', got {truth!r}"
        )
    column = "share" if truth == "shapley" else "removal_share"
    reference = result.truth[column].clip(lower=0.0)
    reference.index = reference.index.astype(str)
    shares: dict[str, pd.Series] = {}
    for model, model_credits in credits.items():
        if str(model) == "truth":
            raise SimulationConfigError(
                "compare_to_truth: 'truth' is reserved for the reference row; rename that model"
            )
        shares[str(model)] = _as_share_series(model_credits, f"compare_to_truth[{model!r}]")
    extra = sorted({c for series in shares.values() for c in series.index} - set(reference.index))
    columns = [*reference.index, *extra]
    distance = {
        model: total_variation_distance(series, reference) for model, series in shares.items()
    }
    order = sorted(shares, key=lambda model: distance[model])
    table = pd.DataFrame(
        [reference.reindex(columns, fill_value=0.0)]
        + [shares[model].reindex(columns, fill_value=0.0) for model in order],
        index=pd.Index(["truth", *order], name="model"),
    )
    table.insert(0, "tv_distance", [0.0] + [distance[model] for model in order])
    return table
