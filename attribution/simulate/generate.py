"""Event generation: draw users, exposures, touches, timestamps and costs, then assemble outputs.

:func:`simulate_journeys` runs the steps in order:

1. :func:`_draw_users`: latent intent, conversion threshold, exposure, conversion and value;
2. :func:`_draw_touch_counts`: geometric touch counts of each reached user and channel;
3. :func:`~attribution.simulate.game._channel_game`: the exact game from the draws;
4. :func:`_order_touches`: channel of every touch, in each user's funnel order;
5. :func:`_draw_timestamps`: touch, conversion and arrival times inside the window;
6. :func:`_draw_touch_costs`: the cost of every touch;
7. :func:`_event_log`, :func:`_cost_table`, :func:`_truth_table` and :func:`_users_table`:
   the tables of :class:`~attribution.simulate.result.SimulationResult`.

Each step reads its own random stream of :class:`_Streams`. Adding a source of randomness
(e.g. user covariates): append a field to :class:`_Streams` (never insert one, which would shift
the streams after it), draw from it in a new step or in :func:`_draw_users`, and existing
outputs stay bit-identical for every seed.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from attribution.simulate.config import (
    ChannelSpec,
    SimulationConfig,
    SimulationConfigError,
    _logit,
    _sigmoid,
)
from attribution.simulate.covariates import covariate_signals, covariate_table
from attribution.simulate.game import (
    _channel_game,
    _Game,
    _loading_table,
    _removal_increments,
    _shapley_from_dividends,
    _shares,
)
from attribution.simulate.result import SimulationResult

logger = logging.getLogger(__name__)

_NS_PER_SECOND = 1_000_000_000
_SECONDS_PER_HOUR = 3600.0


class _Streams(NamedTuple):
    """Independent random streams, one per component of the draws.

    Field ``k`` is ``default_rng(SeedSequence(seed).spawn(n)[k])``. A child's seed depends only on
    its position, not on ``n``, so changing one channel's parameters never shifts the draws of
    another component, and a field appended at the end leaves the existing streams unchanged.
    """

    intent: np.random.Generator
    conversion: np.random.Generator
    reach: np.random.Generator
    touches: np.random.Generator
    value: np.random.Generator
    order: np.random.Generator
    time: np.random.Generator
    cost: np.random.Generator
    covariates: np.random.Generator

    @classmethod
    def from_seed(cls, seed: int) -> _Streams:
        """Spawn one generator per field from ``numpy.random.SeedSequence(seed)``."""
        children = np.random.SeedSequence(seed).spawn(len(cls._fields))
        return cls(*(np.random.default_rng(child) for child in children))


@dataclass(frozen=True)
class _Users:
    """Per-user latent draws and what follows from them (arrays of length ``n_users``)."""

    intent: np.ndarray  # z ~ Normal(0, 1)
    uniform: np.ndarray  # U ~ Uniform(0, 1), the conversion draw
    base_probability: np.ndarray  # p0
    theta: np.ndarray  # conversion threshold log(1 - p0) - log(1 - U)
    exposed: np.ndarray  # bool (n_users, n_channels)
    masks: np.ndarray  # int64 exposure bit mask
    loading: np.ndarray  # L(T) for every channel set T (length 2**n_channels)
    converted: np.ndarray  # bool, L(E) > theta
    value: np.ndarray  # conversion value, 0 for non-converters
    signals: dict[str, np.ndarray]  # covariate signals by covariate name


class _Timing(NamedTuple):
    """Event times in nanoseconds since the epoch."""

    touch_ns: np.ndarray  # per touch, in the order of the ordered touches
    conversion_ns: np.ndarray  # per user (meaningful where has_conversion_row)
    arrival_ns: np.ndarray  # per user: first event, or arrival if untouched
    has_conversion_row: np.ndarray  # per user: the event log holds a conversion row


def _reach_probability(
    spec: ChannelSpec, intent: np.ndarray, signals: Mapping[str, np.ndarray]
) -> np.ndarray:
    """``r = sigmoid(logit(reach_base) + reach_intent_slope z + reach_covariate_slope s)``.

    ``s`` is the signal of the targeted covariate (absent: 0); exact at 0 and 1.
    """
    if spec.reach_base <= 0.0:
        return np.zeros_like(intent)
    if spec.reach_base >= 1.0:
        return np.ones_like(intent)
    index = _logit(spec.reach_base) + spec.reach_intent_slope * intent
    if spec.reach_covariate is not None:
        index = index + spec.reach_covariate_slope * signals[spec.reach_covariate]
    return _sigmoid(index)


def _draw_users(config: SimulationConfig, streams: _Streams) -> _Users:
    """Draw intent, covariate signals, conversion uniforms, exposures and values; convert.

    The covariates' signals come from their own stream, so they change no other draw; channels
    that target a covariate read its signal.
    """
    n = config.n_users
    specs = config.channels
    n_channels = len(specs)
    intent = streams.intent.standard_normal(n)
    signals = covariate_signals(config.covariates, intent, streams.covariates)
    uniform = streams.conversion.random(n)
    base_probability = _sigmoid(_logit(config.base_rate) + config.intent_effect * intent)
    with np.errstate(divide="ignore"):
        theta = np.log1p(-base_probability) - np.log1p(-uniform)
    reach_draws = streams.reach.random((n, n_channels))
    exposed = np.empty((n, n_channels), dtype=bool)
    for c, spec in enumerate(specs):
        exposed[:, c] = reach_draws[:, c] < _reach_probability(spec, intent, signals)
    bit_values = np.int64(1) << np.arange(n_channels, dtype=np.int64)
    masks = exposed.astype(np.int64) @ bit_values
    lam = np.array([-math.log1p(-spec.effect) for spec in specs], dtype=np.float64)
    loading = _loading_table(lam)
    converted = theta < loading[masks]
    # Log-normal values with mean value_mean, drawn for every user, kept for converters.
    sigma = config.value_sigma
    mu = math.log(config.value_mean) - 0.5 * sigma * sigma
    draws_value = np.exp(mu + sigma * streams.value.standard_normal(n))
    value = np.where(converted, draws_value, 0.0)
    return _Users(
        intent=intent,
        uniform=uniform,
        base_probability=base_probability,
        theta=theta,
        exposed=exposed,
        masks=masks,
        loading=loading,
        converted=converted,
        value=value,
        signals=signals,
    )


def _draw_touch_counts(
    specs: tuple[ChannelSpec, ...], exposed: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Touches per user and channel: 0 if not reached, else geometric on ``{1, 2, ...}``."""
    n, n_channels = exposed.shape
    count_draws = rng.random((n, n_channels))
    counts = np.zeros((n, n_channels), dtype=np.int64)
    for c, spec in enumerate(specs):
        if spec.mean_touches <= 1.0:
            extra = np.zeros(n, dtype=np.int64)
        else:
            stay = 1.0 - 1.0 / spec.mean_touches  # P(another touch)
            extra = np.floor(np.log1p(-count_draws[:, c]) / math.log(stay)).astype(np.int64)
        counts[:, c] = np.where(exposed[:, c], 1 + extra, 0)
    return counts


def _order_touches(
    config: SimulationConfig,
    counts: np.ndarray,
    n_touches: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Channel code (int8) of every touch, users in order and each user's touches in order.

    Touches are sorted within each user by ``funnel_position + order_noise * N(0, 1)``: the key
    is squashed into ``[0, 0.998]`` and added to the user id, which is already sorted. Large
    per-touch arrays are built in place and released early to bound peak memory.
    """
    n, n_channels = counts.shape
    specs = config.channels
    touch_channel = np.repeat(np.tile(np.arange(n_channels, dtype=np.int8), n), counts.ravel())
    key = rng.standard_normal(touch_channel.shape[0])
    key *= config.order_noise
    key += np.array([spec.funnel_position - 0.5 for spec in specs])[touch_channel]
    np.tanh(key, out=key)
    key += 1.0
    key *= 0.499
    key += np.repeat(np.arange(n, dtype=np.float64), n_touches)
    order = np.argsort(key, kind="stable")
    del key
    ordered: np.ndarray = touch_channel[order]
    return ordered


def _draw_timestamps(
    config: SimulationConfig,
    n_touches: np.ndarray,
    converted: np.ndarray,
    rng: np.random.Generator,
) -> _Timing:
    """Touch, conversion and arrival times, every event inside ``[start, start + n_days)``.

    Gaps between touches and the conversion lag are one second plus an exponential, so that a
    user's timestamps strictly increase. A journey longer than the usable window is shrunk to
    fit; journeys start uniformly in ``[0, usable - span]`` so that they end inside the window
    (volume ramps up over the first journey length of the window and down over the last one).
    """
    n = n_touches.shape[0]
    n_total_touches = int(n_touches.sum())
    window = config.n_days * 86400.0
    usable = window - min(1.0, window / 4.0)  # keep the last event strictly inside the window
    touched = n_touches > 0
    user_first = np.cumsum(n_touches) - n_touches  # index of each user's first touch
    offset = rng.exponential(config.mean_gap_hours * _SECONDS_PER_HOUR - 1.0, n_total_touches)
    offset += 1.0
    offset[user_first[touched]] = 0.0
    np.cumsum(offset, out=offset)
    offset -= np.repeat(offset[user_first[touched]], n_touches[touched])
    lag = 1.0 + rng.exponential(config.conversion_lag_hours * _SECONDS_PER_HOUR - 1.0, n)
    last_offset = np.zeros(n)
    last_offset[touched] = offset[user_first[touched] + n_touches[touched] - 1]
    has_conversion_row = converted & (touched | config.include_untouched_conversions)
    duration = last_offset + np.where(has_conversion_row & touched, lag, 0.0)
    scale = np.where(duration > usable, usable / np.maximum(duration, 1e-300), 1.0)
    span = duration * scale
    arrival = rng.random(n) * (usable - span)
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
    return _Timing(touch_ns, conversion_ns, arrival_ns, has_conversion_row)


def _draw_touch_costs(
    specs: tuple[ChannelSpec, ...], touch_channel: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Cost of every touch: ``cost_per_touch`` times mean-one log-normal noise."""
    touch_cost: np.ndarray = np.array([spec.cost_per_touch for spec in specs])[touch_channel]
    sigmas = np.array([spec.cost_sigma for spec in specs])
    if np.any(sigmas > 0):
        noise = rng.standard_normal(touch_channel.shape[0])
        touch_sigma = sigmas[touch_channel]
        noise *= touch_sigma
        noise -= 0.5 * touch_sigma**2
        del touch_sigma
        np.exp(noise, out=noise)
        touch_cost *= noise
        del noise
    return touch_cost


def _event_log(
    config: SimulationConfig,
    *,
    value: np.ndarray,
    n_touches: np.ndarray,
    has_conversion_row: np.ndarray,
    touch_channel: np.ndarray,
    touch_ns: np.ndarray,
    touch_cost: np.ndarray,
    conversion_ns: np.ndarray,
) -> pd.DataFrame:
    """Assemble the event log: each user's touches in time order, then the conversion row."""
    n = n_touches.shape[0]
    user_first = np.cumsum(n_touches) - n_touches  # index of each user's first touch
    events_per_user = n_touches + has_conversion_row
    event_first = np.cumsum(events_per_user) - events_per_user
    n_events = int(events_per_user.sum())
    touch_slot = np.arange(touch_channel.shape[0], dtype=np.int64)
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
    return pd.DataFrame(
        {
            "user_id": np.repeat(np.arange(n, dtype=np.int64), events_per_user),
            "timestamp": event_ns.view("datetime64[ns]"),
            "channel": pd.arrays.ArrowStringArray(channel_array),
            "conversion": flag,
            "value": event_value,
            "cost": event_cost,
        }
    )


def _period_start(times: pd.Series | pd.DatetimeIndex, period: str) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(times)
    days = index.normalize()
    if period == "day":
        return days
    if period == "week":
        return days - pd.to_timedelta(days.day_of_week, unit="D")
    return days - pd.to_timedelta(days.day - 1, unit="D")


def _window_days(config: SimulationConfig) -> pd.DatetimeIndex:
    """Every calendar day that the window ``[start, end)`` touches."""
    last_day = (config.end - pd.Timedelta(1, unit="ns")).normalize()
    return pd.date_range(config.start_timestamp.normalize(), last_day, freq="D")


def _day_of_touch(config: SimulationConfig, touch_ns: np.ndarray) -> np.ndarray:
    """Index of each touch's calendar day in :func:`_window_days`."""
    first_day_ns = config.start_timestamp.normalize().value
    days: np.ndarray = (touch_ns - first_day_ns) // (86400 * _NS_PER_SECOND)
    return days


def _cost_table(
    config: SimulationConfig,
    *,
    touch_channel: np.ndarray,
    day_of_touch: np.ndarray,
    touch_cost: np.ndarray,
) -> pd.DataFrame:
    """Cost and touches per channel and period, one row per cell of the window, zeros kept."""
    n_channels = len(config.channels)
    day_period = _period_start(_window_days(config), config.cost_period)
    periods = day_period.unique()
    period_of_day = periods.get_indexer(day_period)
    n_periods = len(periods)
    cell = touch_channel.astype(np.int64) * n_periods + period_of_day[day_of_touch]
    cost_sum = np.bincount(cell, weights=touch_cost, minlength=n_channels * n_periods).astype(
        np.float64
    )
    touch_sum = np.bincount(cell, minlength=n_channels * n_periods).astype(np.int64)
    return pd.DataFrame(
        {
            "channel": pd.array(np.repeat(config.channel_names, n_periods), dtype="string"),
            "period": np.tile(periods.to_numpy().astype("datetime64[ns]"), n_channels),
            "cost": cost_sum,
            "touches": touch_sum,
        }
    )


def _truth_table(
    config: SimulationConfig,
    game: _Game,
    *,
    exposed: np.ndarray,
    counts: np.ndarray,
    touch_channel: np.ndarray,
    touch_cost: np.ndarray,
) -> pd.DataFrame:
    """Build the ground truth by channel (see :class:`SimulationResult`), totals in ``attrs``."""
    n_channels = len(config.channels)
    shapley = _shapley_from_dividends(game.dividends, n_channels)
    incremental = _removal_increments(game.values, n_channels)
    channel_cost = np.bincount(touch_channel, weights=touch_cost, minlength=n_channels).astype(
        np.float64
    )
    truth = pd.DataFrame(
        {
            "incremental_conversions": incremental,
            "shapley": shapley,
            "share": _shares(shapley),
            "removal_share": _shares(incremental.astype(np.float64)),
            "incremental_revenue": _removal_increments(game.revenue_values, n_channels),
            "shapley_revenue": _shapley_from_dividends(game.revenue_dividends, n_channels),
            "users_reached": exposed.sum(axis=0).astype(np.int64),
            "touches": counts.sum(axis=0).astype(np.int64),
            "cost": channel_cost,
        },
        index=pd.Index(list(config.channel_names), name="channel", dtype="string"),
    )
    truth.attrs["baseline_conversions"] = int(game.values[0])
    truth.attrs["total_conversions"] = int(game.values[-1])
    return truth


def _users_table(
    config: SimulationConfig, users: _Users, *, n_touches: np.ndarray, arrival_ns: np.ndarray
) -> pd.DataFrame:
    """One row per user: latent draws, outcome, touch count, arrival and exposures."""
    columns: dict[str, Any] = {
        "user_id": np.arange(config.n_users, dtype=np.int64),
        "intent": users.intent,
        "base_probability": users.base_probability,
        "conversion_draw": users.uniform,
        "conversion_probability": 1.0
        - (1.0 - users.base_probability) * np.exp(-users.loading[users.masks]),
        "converted": users.converted,
        "value": users.value,
        "n_touches": n_touches,
        "arrival": arrival_ns.view("datetime64[ns]"),
    }
    for c, name in enumerate(config.channel_names):
        columns[f"exposed:{name}"] = users.exposed[:, c]
    return pd.DataFrame(columns)


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
    streams = _Streams.from_seed(config.seed)

    users = _draw_users(config, streams)
    counts = _draw_touch_counts(config.channels, users.exposed, streams.touches)
    n_touches = counts.sum(axis=1)

    game = _channel_game(users.theta, users.masks, users.value, users.loading, len(config.channels))
    if int(game.values[-1]) != int(users.converted.sum()):  # pragma: no cover - consistency
        raise RuntimeError("channel game disagrees with the simulated conversions")

    touch_channel = _order_touches(config, counts, n_touches, streams.order)
    touch_ns, conversion_ns, arrival_ns, has_conversion_row = _draw_timestamps(
        config, n_touches, users.converted, streams.time
    )
    touch_cost = _draw_touch_costs(config.channels, touch_channel, streams.cost)

    events = _event_log(
        config,
        value=users.value,
        n_touches=n_touches,
        has_conversion_row=has_conversion_row,
        touch_channel=touch_channel,
        touch_ns=touch_ns,
        touch_cost=touch_cost,
        conversion_ns=conversion_ns,
    )
    day_of_touch = _day_of_touch(config, touch_ns)
    del touch_ns, conversion_ns  # large per-touch arrays are released early to bound peak memory
    costs = _cost_table(
        config, touch_channel=touch_channel, day_of_touch=day_of_touch, touch_cost=touch_cost
    )
    del day_of_touch
    truth = _truth_table(
        config,
        game,
        exposed=users.exposed,
        counts=counts,
        touch_channel=touch_channel,
        touch_cost=touch_cost,
    )
    user_table = _users_table(config, users, n_touches=n_touches, arrival_ns=arrival_ns)
    covariates = covariate_table(config.covariates, users.signals)
    covariates.insert(0, "user_id", user_table["user_id"].to_numpy())

    logger.debug(
        "simulated %d users, %d events in %.2f s",
        config.n_users,
        len(events),
        time.perf_counter() - started,
    )
    return SimulationResult(
        events=events,
        costs=costs,
        truth=truth,
        users=user_table,
        covariates=covariates,
        config=config,
        baseline_conversions=truth.attrs["baseline_conversions"],
        total_conversions=truth.attrs["total_conversions"],
        _theta=users.theta,
        _masks=users.masks,
        _loading=users.loading,
        _game=game,
    )
