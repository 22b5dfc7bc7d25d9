"""Simulated randomized holdout (lift) tests of one channel, with the truth they estimate."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from attribution.simulate.config import (
    SimulationConfig,
    SimulationConfigError,
    _as_timestamp,
    _check_int,
    _check_range,
)
from attribution.simulate.generate import simulate_journeys
from attribution.simulate.result import SimulationResult


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
