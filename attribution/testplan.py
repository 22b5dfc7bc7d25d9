r"""What to test next: the value of a lift test on each untested channel.

Lift tests are expensive (a holdout forgoes the channel's effect on the held-out users), so the
question a planner asks is which channel's test would most improve the decision at hand. This
module answers it with a preposterior analysis of the ``causal`` model, in which a test on one
channel also informs every untested channel through the shared size of unmeasured confounding
``lambda`` (:mod:`attribution.sensitivity`).

Beliefs (a Bayesian model on the grid of ``lambda``)
----------------------------------------------------
* ``lambda`` has a uniform prior on ``[0, lambda_max]`` (the grid of
  :data:`attribution.sensitivity.LAMBDA_GRID` up to ``lambda_max``);
* given ``lambda``, channel ``c``'s incremental conversions are
  ``theta_c ~ Normal(x'_c - B_c(lambda), s_c^2)``, independent across channels, with ``x'_c``
  the unbounded causal estimate and ``s_c`` its bootstrap standard error;
* a lift test of ``c`` measures ``y_c ~ Normal(theta_c, t_c^2)`` (its interval gives ``t_c``); a
  negative control is a channel with ``theta_c = 0`` known.

Tests and negative controls update the weights of the grid (each contributes the likelihood
``Normal(y_c; x'_c - B_c(lambda), s_c^2 + t_c^2)``) and the tested channels' ``theta`` (the
normal-normal update). Point estimates are posterior means, clipped to the support
``[0, S_c]``.

A test of channel ``c``
-----------------------
holds out a fraction ``h`` of the ``n_c`` journeys the channel reached in the attribution period.
With ``p1 = S_c / n_c`` the conversion rate of those journeys and ``p0 = p1 - theta_c / n_c`` the
rate without the channel, its estimate of the incremental conversions has standard error

    t_c(h) = n_c * sqrt(p1 (1 - p1) / (n_c (1 - h)) + p0 (1 - p0) / (n_c h)),

and it forgoes ``h * theta_c`` conversions (the **holdout cost**). The **holdout needed** for a
target precision (the 95% half-width ``1.96 t_c(h)`` at most ``target_precision * theta_c``) is
the smallest ``h`` in ``(0, h*]`` that reaches it, ``h*`` being the fraction that minimises
``t_c``; when even ``h*`` does not, the test needs ``(1.96 t_c(h*) / target)^2`` periods as long
as the attribution's.

Value of the test
-----------------
For each of ``n_sims`` simulations a true ``(lambda, theta)`` is drawn from the current beliefs,
the test's result is drawn around the true ``theta_c``, and the beliefs are updated with it.

* **Width reduction** (always): the 95% interval width (1.96 posterior standard deviations each
  side) of the total incremental conversions of all channels, now minus its mean after the test.
* **With spend per channel**, the decision is the best single budget move: shift
  ``max_shift * min(spend_a, spend_b)`` from channel ``a`` to ``b`` (or nothing), valued at the
  difference in incremental return on ad spend (``theta * value per conversion / spend``) times
  the amount, under constant returns within the cap (as :mod:`attribution.costs.reallocation`).
  The **expected value of the test** is the mean, over simulations, of the true value of the move
  chosen after the test minus that of the move chosen now: the expected value of sample
  information, never negative in expectation. The **probability that the move is wrong** (its
  true value negative) is reported now and after the test. Net value = expected value - the
  holdout cost in value.

Channels are ranked by net value when spend is known and some test has a positive net value,
else by width reduction (the decision text says which).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from attribution._io import json_records
from attribution.calibration import InvalidLiftTestError, LiftTests
from attribution.result import AttributionResult

__all__ = ["TestPlan", "holdout_standard_error", "plan_lift_tests"]

_GRID_H = np.linspace(0.01, 0.5, 50)
_Z = float(norm.ppf(0.975))


def holdout_standard_error(
    n: float, rate_with: float, rate_without: float, holdout: float | np.ndarray
) -> np.ndarray:
    """``t(h)`` of a holdout test's incremental conversions (module docstring)."""
    h = np.asarray(holdout, dtype=float)
    p1 = float(np.clip(rate_with, 1e-9, 1 - 1e-9))
    p0 = float(np.clip(rate_without, 1e-9, 1 - 1e-9))
    out: np.ndarray = n * np.sqrt(p1 * (1 - p1) / (n * (1 - h)) + p0 * (1 - p0) / (n * h))
    return out


@dataclass(frozen=True, eq=False)
class TestPlan:
    """Untested channels ranked by the value of a lift test (see the module docstring).

    Attributes
    ----------
    table
        One row per channel: ``channel``, ``tested`` (already tested or a negative control),
        ``exposed_journeys``, ``incremental``, ``incremental_low``, ``incremental_high``
        (current beliefs, 95%), ``selection_slope``, ``holdout_fraction`` (the test evaluated),
        ``test_halfwidth`` (95% half-width of its result), ``holdout_cost`` (conversions
        forgone), ``width_now``, ``width_after``, ``width_reduction``, ``expected_value``,
        ``holdout_cost_value``, ``net_value``, ``p_wrong_now``, ``p_wrong_after`` (NaN without
        spend), ``holdout_needed`` and ``periods_needed`` (for the target precision) and ``rank``
        (1 = test first; NaN for tested channels). Ranked channels come first.
    decision
        What the expected value refers to.
    current_move
        The budget move chosen now (``None`` without spend or when no move pays).
    lam_mean, lam_low, lam_high
        Posterior mean and 95% interval of ``lambda`` given what is known now.
    settings
        The options used.
    """

    table: pd.DataFrame = field(repr=False)
    decision: str
    current_move: dict[str, Any] | None
    lam_mean: float
    lam_low: float
    lam_high: float
    settings: dict[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of :attr:`table`."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dictionary."""
        return {
            "decision": self.decision,
            "current_move": self.current_move,
            "lambda": {"mean": self.lam_mean, "low": self.lam_low, "high": self.lam_high},
            "settings": self.settings,
            "channels": json_records(self.table),
        }

    def __repr__(self) -> str:
        ranked = self.table.dropna(subset=["rank"]).sort_values("rank")
        top = ", ".join(ranked["channel"].head(3))
        return f"TestPlan(test first: {top or 'nothing left untested'})"


@dataclass
class _Beliefs:
    """The grid posterior: weights of ``lambda`` and per-channel conditional normals."""

    weights: np.ndarray  # (m,) posterior weights of the grid
    mean: np.ndarray  # (m, C) E[theta_c | lambda]
    var: np.ndarray  # (m, C) Var[theta_c | lambda]

    def point(self) -> np.ndarray:
        out: np.ndarray = self.weights @ self.mean
        return out

    def total_sd(self) -> float:
        """Posterior standard deviation of the sum of the channels' theta."""
        totals = self.mean.sum(axis=1)
        within = self.weights @ self.var.sum(axis=1)
        between = self.weights @ (totals - self.weights @ totals) ** 2
        return float(np.sqrt(within + between))

    def observe(self, channel: int, value: float, variance: float) -> _Beliefs:
        """Condition on a measurement ``value ~ Normal(theta_channel, variance)``."""
        prior_mean, prior_var = self.mean[:, channel], self.var[:, channel]
        total_var = prior_var + variance
        log_like = -0.5 * ((value - prior_mean) ** 2 / total_var + np.log(total_var))
        log_w = np.log(np.maximum(self.weights, 1e-300)) + log_like
        weights = np.exp(log_w - log_w.max())
        weights /= weights.sum()
        mean, var = self.mean.copy(), self.var.copy()
        if variance == 0.0:
            mean[:, channel], var[:, channel] = value, 0.0
        else:
            gain = prior_var / total_var
            mean[:, channel] = prior_mean + gain * (value - prior_mean)
            var[:, channel] = prior_var * (1.0 - gain)
        return _Beliefs(weights, mean, var)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``(n, C)`` draws of theta from the mixture."""
        rows = rng.choice(self.weights.shape[0], size=n, p=self.weights)
        return self.mean[rows] + np.sqrt(self.var[rows]) * rng.standard_normal(
            (n, self.mean.shape[1])
        )


def _spend(costs: Any, channels: Sequence[str]) -> np.ndarray | None:
    if costs is None:
        return None
    if isinstance(costs, Mapping):
        spend = pd.Series(dict(costs), dtype=float)
    elif hasattr(costs, "spend"):
        spend = costs.spend()
    else:
        raise InvalidLiftTestError(
            f"costs must be a CostTable or a mapping channel -> spend, got {type(costs).__name__}"
        )
    return np.array([float(spend.get(c, 0.0)) for c in channels])


def _moves(spend: np.ndarray, max_shift: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    live = np.flatnonzero(spend > 0)
    pairs = [(a, b) for a in live for b in live if a != b]
    src = np.array([p[0] for p in pairs], dtype=np.int64)
    dst = np.array([p[1] for p in pairs], dtype=np.int64)
    amount = max_shift * np.minimum(spend[src], spend[dst]) if pairs else np.zeros(0)
    return src, dst, amount


def _choose(returns: np.ndarray, moves: tuple[np.ndarray, np.ndarray, np.ndarray]) -> int:
    """Index of the move of highest expected value under ``returns``; ``-1`` for no move."""
    src, dst, amount = moves
    if src.size == 0:
        return -1
    values = amount * (returns[dst] - returns[src])
    best = int(np.argmax(values))
    return best if values[best] > 0 else -1


def _value(
    choice: int, returns: np.ndarray, moves: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> np.ndarray:
    """Return the true value of move ``choice`` under each row of ``returns`` (``(n, C)``)."""
    if choice < 0:
        return np.zeros(returns.shape[0])
    src, dst, amount = moves
    out: np.ndarray = amount[choice] * (returns[:, dst[choice]] - returns[:, src[choice]])
    return out


def plan_lift_tests(
    result: AttributionResult,
    *,
    lift_tests: LiftTests | None = None,
    negative_controls: Sequence[str] = (),
    costs: Any = None,
    holdout_fraction: float = 0.1,
    target_precision: float = 0.25,
    lambda_max: float = 1.0,
    max_shift: float = 0.1,
    n_sims: int = 400,
    seed: int | None = 0,
) -> TestPlan:
    """Rank the untested channels by the value of a lift test (module docstring).

    Parameters
    ----------
    result
        A ``causal`` attribution result (with its sensitivity curve, support and intervals).
    lift_tests
        Lift tests already run (their population share scales them, as in calibration).
    negative_controls
        Channels known to cause no conversions.
    costs
        Spend per channel over the attribution period: a
        :class:`~attribution.costs.CostTable` or a mapping; ``None`` ranks by width reduction.
    holdout_fraction
        ``h`` of the test to evaluate, in ``(0, 0.5]``.
    target_precision
        Target 95% half-width of a test's result relative to the channel's incremental
        conversions, for ``holdout_needed`` (0.25 for +-25%).
    lambda_max
        Upper end of the uniform prior of ``lambda`` (at most 2).
    max_shift
        Cap of a budget move relative to each channel's spend.
    n_sims
        Simulations per channel (``>= 50``).
    seed
        Seed of the simulations (the same truths are used for every channel).

    Raises
    ------
    InvalidLiftTestError
        A result without the causal model's sensitivity, unknown channels, or options out of
        range.
    """
    if result.sensitivity is None or result.support is None:
        raise InvalidLiftTestError(
            f"planning lift tests needs the causal model (its sensitivity to unmeasured "
            f"confounding and its support); got a {result.model!r} result: fit -m causal with a "
            "user table"
        )
    for name, value, low, high in (
        ("holdout_fraction", holdout_fraction, 0.0, 0.5),
        ("target_precision", target_precision, 0.0, 10.0),
        ("lambda_max", lambda_max, 0.0, 2.0),
        ("max_shift", max_shift, 0.0, 1.0),
    ):
        if isinstance(value, bool) or not (isinstance(value, int | float) and low < value <= high):
            raise InvalidLiftTestError(f"{name} must be in ({low:g}, {high:g}], got {value!r}")
    if isinstance(n_sims, bool) or not isinstance(n_sims, int) or n_sims < 50:
        raise InvalidLiftTestError(f"n_sims must be an integer >= 50, got {n_sims!r}")
    channels = result.channels
    index = {c: i for i, c in enumerate(channels)}
    for name in negative_controls:
        if name not in index:
            raise InvalidLiftTestError(
                f"negative control {name!r} is not a channel (channels: {', '.join(channels)})"
            )
    n_ch = len(channels)
    curve = result.sensitivity
    support = result.support
    spend = _spend(costs, channels)
    exposed = np.asarray(result.extras.get("exposed_journeys", support.journeys), dtype=float)
    per_conversion = np.divide(
        support.value, support.conversions, out=np.zeros(n_ch), where=support.conversions > 0
    )
    raw = np.asarray(result.extras.get("incremental_unbounded", result.conversions), float)
    se = _model_se(result)

    keep = curve.lambdas <= lambda_max + 1e-12
    grid = curve.lambdas[keep]
    beliefs = _Beliefs(
        weights=np.full(grid.shape[0], 1.0 / grid.shape[0]),
        mean=raw[None, :] - curve.conversions[:, keep].T,
        var=np.broadcast_to(se**2, (grid.shape[0], n_ch)).copy(),
    )
    tested = np.zeros(n_ch, dtype=bool)
    for name in negative_controls:
        beliefs = beliefs.observe(index[name], 0.0, 0.0)
        tested[index[name]] = True
    if lift_tests is not None:
        frame = lift_tests.frame
        scale = 1.0 / frame["population_share"].to_numpy(dtype=float)
        z_test = norm.ppf(0.5 + frame["level"].to_numpy(dtype=float) / 2)
        width = frame["ci_high"].to_numpy(dtype=float) - frame["ci_low"].to_numpy(dtype=float)
        sd = width * scale / (2 * z_test)
        values = frame["incremental_conversions"].to_numpy(dtype=float) * scale
        for k, channel in enumerate(frame["channel"].astype(str)):
            if channel not in index:
                raise InvalidLiftTestError(
                    f"lift test for channel {channel!r}, which the attribution does not have"
                )
            beliefs = beliefs.observe(index[channel], float(values[k]), float(sd[k]) ** 2)
            tested[index[channel]] = True

    rng = np.random.default_rng(seed)
    point = np.clip(beliefs.point(), 0.0, support.conversions)
    draws = np.clip(beliefs.sample(rng, 4000), 0.0, support.conversions)
    low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    width_now = 2 * _Z * beliefs.total_sd()
    lam_cdf = np.cumsum(beliefs.weights)
    lam_low = float(grid[np.searchsorted(lam_cdf, 0.025)])
    lam_high = float(grid[min(np.searchsorted(lam_cdf, 0.975), grid.shape[0] - 1)])

    moves = None
    unit = np.zeros(n_ch)
    choice_now = -1
    p_wrong_now = float("nan")
    if spend is not None:
        unit = np.divide(per_conversion, spend, out=np.zeros(n_ch), where=spend > 0)
        moves = _moves(spend, max_shift)
        choice_now = _choose(point * unit, moves)
        if choice_now >= 0:
            p_wrong_now = float(np.mean(_value(choice_now, draws * unit, moves) < 0))

    # common truths for every candidate channel: (lambda index, theta) per simulation
    truth_rows = rng.choice(grid.shape[0], size=n_sims, p=beliefs.weights)
    truths = beliefs.mean[truth_rows] + np.sqrt(beliefs.var[truth_rows]) * rng.standard_normal(
        (n_sims, n_ch)
    )
    truths = np.clip(truths, 0.0, support.conversions)
    noise = rng.standard_normal(n_sims)
    rows = []
    for c, name in enumerate(channels):
        rate_with = support.conversions[c] / max(exposed[c], 1.0)
        rate_without = max(rate_with - point[c] / max(exposed[c], 1.0), 1e-9)
        se_grid = holdout_standard_error(exposed[c], rate_with, rate_without, _GRID_H)
        best_h = float(_GRID_H[int(np.argmin(se_grid))])
        target = target_precision * max(point[c], 0.01 * support.conversions[c], 1.0)
        reachable = _GRID_H[(_Z * se_grid <= target) & (_GRID_H <= best_h)]
        t_c = float(holdout_standard_error(exposed[c], rate_with, rate_without, holdout_fraction))
        row: dict[str, Any] = {
            "channel": name,
            "tested": bool(tested[c]),
            "exposed_journeys": exposed[c],
            "incremental": point[c],
            "incremental_low": low[c],
            "incremental_high": high[c],
            "selection_slope": float(curve.selection_slope[c]),
            "holdout_fraction": float(holdout_fraction),
            "test_halfwidth": _Z * t_c,
            "holdout_cost": holdout_fraction * point[c],
            "width_now": width_now,
            "width_after": np.nan,
            "width_reduction": np.nan,
            "expected_value": np.nan,
            "holdout_cost_value": holdout_fraction * point[c] * per_conversion[c],
            "net_value": np.nan,
            "p_wrong_now": p_wrong_now,
            "p_wrong_after": np.nan,
            "holdout_needed": float(reachable.min()) if reachable.size else best_h,
            "periods_needed": 1.0 if reachable.size else float((_Z * se_grid.min() / target) ** 2),
        }
        if not tested[c]:
            widths = np.empty(n_sims)
            gains = np.empty(n_sims)
            wrong = np.empty(n_sims)
            for s in range(n_sims):
                measured = truths[s, c] + t_c * noise[s]
                after = beliefs.observe(c, measured, t_c**2)
                widths[s] = 2 * _Z * after.total_sd()
                if moves is not None:
                    true_returns = truths[s : s + 1] * unit
                    after_point = np.clip(after.point(), 0.0, support.conversions)
                    choice = _choose(after_point * unit, moves)
                    gains[s] = float(
                        _value(choice, true_returns, moves)[0]
                        - _value(choice_now, true_returns, moves)[0]
                    )
                    wrong[s] = float(choice >= 0 and _value(choice, true_returns, moves)[0] < 0)
            row["width_after"] = float(widths.mean())
            row["width_reduction"] = width_now - float(widths.mean())
            if moves is not None:
                row["expected_value"] = float(gains.mean())
                row["net_value"] = row["expected_value"] - row["holdout_cost_value"]
                row["p_wrong_after"] = float(wrong.mean())
        rows.append(row)
    table = pd.DataFrame(rows)
    untested = ~table["tested"]
    pays = spend is not None and bool((table.loc[untested, "net_value"] > 0).any())
    key = "net_value" if pays else "width_reduction"
    order = table.loc[untested, key].rank(ascending=False, method="first")
    table["rank"] = np.nan
    table.loc[order.index, "rank"] = order
    table = table.sort_values(["rank", "channel"], na_position="last").reset_index(drop=True)
    if pays:
        decision = (
            "the best single budget move (max_shift of the smaller budget) by incremental return "
            "on ad spend; ranked by net value = expected gain of the move chosen after the test "
            "over the move chosen now, minus the holdout cost, in conversion value"
        )
    elif spend is not None:
        decision = (
            "no test pays for itself on the best budget move (max_shift of the smaller budget): "
            "the holdout costs more than the expected gain; channels are ranked by how much a "
            "test shrinks the 95% interval of the total incremental conversions"
        )
    else:
        decision = (
            "no spend given: channels are ranked by how much a test shrinks the 95% interval of "
            "the total incremental conversions"
        )
    current = None
    if moves is not None and choice_now >= 0:
        src, dst, amount = moves
        current = {
            "from": channels[int(src[choice_now])],
            "to": channels[int(dst[choice_now])],
            "amount": float(amount[choice_now]),
        }
    settings = {
        "holdout_fraction": holdout_fraction,
        "target_precision": target_precision,
        "lambda_max": lambda_max,
        "max_shift": max_shift,
        "n_sims": n_sims,
        "seed": seed,
    }
    return TestPlan(
        table=table,
        decision=decision,
        current_move=current,
        lam_mean=float(beliefs.weights @ grid),
        lam_low=lam_low,
        lam_high=lam_high,
        settings=settings,
    )


def _model_se(result: AttributionResult) -> np.ndarray:
    if result.ci is None:
        return np.zeros(len(result.channels))
    z = float(norm.ppf(0.5 + result.ci.level / 2))
    width = np.asarray(result.ci.conversions_high) - np.asarray(result.ci.conversions_low)
    out: np.ndarray = np.maximum(width, 0.0) / (2 * z)
    return out
