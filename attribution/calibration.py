r"""Calibrate observational attribution with randomized lift (holdout) tests.

Observational attribution over-credits channels that reach people who would have converted
anyway (paid search, direct, affiliates). A randomized holdout test measures a channel's
*incremental* conversions. Calibration puts the two together.

Method
------
Inputs: an :class:`~attribution.result.AttributionResult` with credit ``x_c`` per channel
(bootstrap interval ``[x_lo, x_hi]`` at level ``L_x``) over ``T`` total conversions, and lift
tests (:class:`LiftTests`) giving, for some channels, measured incremental conversions ``m_c``
with an interval ``[m_lo, m_hi]`` at level ``L_m``, the test period and the share ``p_c`` of the
attribution's population the test covered.

1. **Scaling.** A test is scaled to the attribution's population and period:
   ``y_c = m_c * k_c`` with ``k_c = (1 / p_c) * (D_attr / D_test)``, where the period ratio
   ``D_attr / D_test`` (lengths in days) is used only when both the attribution period and the
   test period are known, else it is 1. Interval bounds scale the same way. This assumes the
   test population is representative of the attributed one and the incremental rate is
   constant over time.
2. **Calibrated credit.** Tested channels get ``z_c = max(y_c, 0)`` (a negative measurement is
   treated as noise around zero; with ``"transfer"``, the precision-weighted mean of that and
   the channel's bias-corrected causal estimate, see below). Untested channels, by option
   ``untested``:

   * ``"keep"`` (default): ``z_c = x_c``, their attributed credit is kept;
   * ``"pooled"``: ``z_c = F * x_c`` with the pooled factor
     ``F = sum_tested y_c / sum_tested x_c`` -- assumes untested channels are as over- or
     under-credited as the tested ones on average;
   * ``"transfer"`` (the ``causal`` model only): ``z_c = clip(x'_c - B_c(lambda), 0, S_c)``
     with ``x'_c`` the unbounded causal estimate, ``B_c`` its bias under unmeasured confounding
     of size ``lambda`` (:mod:`attribution.sensitivity`), ``S_c`` the channel's support, and
     ``lambda`` estimated from the tested channels (and the ``negative_controls``, channels known
     to cause nothing, which count as tests measuring 0 exactly): its posterior mean with a
     uniform prior on ``[0, lambda_max]`` (see :mod:`attribution.sensitivity`). What the tested
     channels reveal about the bias moves to the untested ones through a feature the data
     measures: how concentrated each channel's reach is on users the covariates mark as likely to
     convert.
     The assumption: one ``lambda`` for all channels, i.e. channels are selected on the intent
     the covariates miss in proportion to how they are selected on the intent they capture. A
     lack-of-fit test (the weighted squared gaps at the fitted ``lambda`` against the 95%
     quantile of a chi-square with one degree of freedom fewer than the tests) warns when the
     tested channels disagree. A tested channel's credit combines its lift with its own
     corrected estimate ``x~_c = clip(x'_c - B_c(lambda), 0, S_c)``:
     ``z_c = a_c max(y_c, 0) + (1 - a_c) x~_c`` with ``a_c = v_c / (v_c + s'_c**2)``, ``v_c`` the
     variance of ``x~_c`` (bootstrap, plus that of ``B_c`` over the spread of ``lambda``);
     without bootstrap intervals, and for negative controls, ``a_c = 1``.

3. **Baseline.** ``B = T - sum_c z_c``: conversions that would have happened anyway. If the
   calibrated credit exceeds ``T``, untested credit is scaled down until ``B = 0`` (tested
   channels keep their measured increments); if tested channels alone exceed ``T``, all
   credit is scaled to ``T`` and a warning says the tests and the attribution disagree (check
   the population share and period).
4. **Factors.** ``f_c = z_c / x_c`` for every channel (undefined when ``x_c <= 0``): for a
   tested channel ``y_c / x_c`` unless capped, 1 for a kept untested channel.
5. **Value.** ``value_c = z_c * v_c / x_c``: the value per conversion of a channel is taken
   from the attribution (the average value of its attributed conversions; the overall average
   ``V / T`` where ``x_c <= 0``) and treated as known.

Intervals are propagated by Monte Carlo (``n_draws`` draws, seeded): each attributed credit is
drawn from ``Normal(x_c, s_c)`` with ``s_c = (x_hi - x_lo) / (2 z_{(1 + L_x)/2})`` and each
scaled lift from ``Normal(y_c, s'_c)`` with ``s'_c`` from its interval in the same way; steps
2-4 are applied to every draw, and intervals are the ``(1 - level) / 2`` and
``(1 + level) / 2`` percentiles of the draws (``level`` is the option ``ci``, by default the
lift tests' level).
Assumptions of this propagation: normal approximations of both intervals, lift tests
independent of the attribution (different data) and of each other, and -- because an
attribution result keeps only marginal intervals -- channels' attribution errors independent
of each other. Factor intervals use the draws with ``x_c > 0``. Point estimates apply steps
1-5 to the point values, not to the draws.
"""

from __future__ import annotations

import logging
import math
import warnings as _warnings
from dataclasses import dataclass, field
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
from scipy.stats import norm

from attribution._io import json_records, json_value
from attribution._validation import renamed_options
from attribution.lift_tests import InvalidLiftTestError, LiftTests
from attribution.result import AttributionResult, ConfidenceIntervals
from attribution.sensitivity import LambdaFit, SensitivityCurve, fit_lambda
from attribution.support import ChannelSupport

__all__ = [
    "CalibratedAttribution",
    "Calibrator",
    "InvalidLiftTestError",
    "LiftTests",
    "calibrate",
]

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CalibratedAttribution:
    """Attribution calibrated with lift tests (see the module docstring for the method).

    Attributes
    ----------
    model
        Name of the calibrated model (e.g. ``"markov"``).
    channels
        Channel names, in the attribution's order.
    table
        One row per channel: ``channel, tested, attributed, attributed_low, attributed_high,
        measured, measured_low, measured_high`` (scaled lift, NaN if untested), ``factor,
        factor_low, factor_high`` (calibrated / attributed), ``calibrated, calibrated_low,
        calibrated_high``, ``calibrated_share`` (share of calibrated credit) and
        ``calibrated_value``.
    total_conversions
        ``T``, the attributed journeys' conversions.
    baseline, baseline_low, baseline_high
        Conversions that would have happened anyway, ``T - sum calibrated``, and its interval.
    pooled_factor
        ``F`` (NaN when no tested channel has positive credit).
    untested, level, n_draws, seed
        Options used.
    warnings
        Capping and consistency notes.
    lam, lam_low, lam_high
        With ``untested="transfer"``: the fitted size of unmeasured confounding and its
        interval (NaN otherwise).
    implied_lambda
        The ``lambda`` each tested channel (and negative control) alone implies.
    negative_controls
        Channels treated as causing nothing.
    support
        The attributed channels' support, when the result had one.
    draws
        ``(n_draws, n_channels)`` Monte Carlo draws of the calibrated credit (their joint
        spread, used to plan further tests).
    """

    model: str
    channels: tuple[str, ...]
    table: pd.DataFrame = field(repr=False)
    total_conversions: float
    total_value: float
    baseline: float
    baseline_low: float
    baseline_high: float
    pooled_factor: float
    untested: str
    level: float
    n_draws: int
    seed: int | None
    warnings: tuple[str, ...] = ()
    lam: float = float("nan")
    lam_low: float = float("nan")
    lam_high: float = float("nan")
    implied_lambda: dict[str, float] = field(default_factory=dict)
    negative_controls: tuple[str, ...] = ()
    support: ChannelSupport | None = None
    draws: np.ndarray | None = field(default=None, repr=False)

    @property
    def method(self) -> str:
        """One-line statement of the method."""
        if self.untested == "keep":
            rule = "untested channels keep their attributed credit"
        elif self.untested == "pooled":
            rule = "untested channels are scaled by the pooled factor of the tested ones"
        else:
            rule = (
                "untested channels lose their bias under unmeasured confounding of size "
                f"lambda = {self.lam:.2f} [{self.lam_low:.2f}, {self.lam_high:.2f}], fitted to the "
                "tested channels"
                + (
                    f" and the negative controls ({', '.join(self.negative_controls)})"
                    if self.negative_controls
                    else ""
                )
                + " (assumes one lambda for every channel)"
            )
        return (
            "tested channels get their measured incremental conversions (scaled to the "
            f"attributed population and period); {rule}; baseline = total - calibrated credit; "
            f"{self.level:.0%} intervals by Monte Carlo ({self.n_draws} draws) over normal "
            "approximations of the lift-test and bootstrap intervals"
        )

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of :attr:`table`."""
        return self.table.copy()

    def to_result(self) -> AttributionResult:
        """Calibrated credit as an :class:`AttributionResult` named ``"<model>+calibrated"``.

        Shares of the returned result exclude the baseline; intervals are the Monte Carlo ones.
        """
        t = self.table
        value = t["calibrated_value"].to_numpy(dtype=float)
        per_conv = np.divide(
            value,
            t["calibrated"].to_numpy(dtype=float),
            out=np.zeros(len(t)),
            where=t["calibrated"].to_numpy(dtype=float) > 0,
        )
        ci = ConfidenceIntervals(
            conversions_low=t["calibrated_low"].to_numpy(dtype=float),
            conversions_high=t["calibrated_high"].to_numpy(dtype=float),
            value_low=t["calibrated_low"].to_numpy(dtype=float) * per_conv,
            value_high=t["calibrated_high"].to_numpy(dtype=float) * per_conv,
            level=self.level,
            n_replicates=self.n_draws,
            method="calibration-monte-carlo",
            seed=self.seed,
        )
        return AttributionResult(
            model=f"{self.model}+calibrated",
            params={"untested": self.untested, "base_model": self.model},
            channels=self.channels,
            conversions=t["calibrated"].to_numpy(dtype=float),
            value=value,
            total_conversions=self.total_conversions,
            total_value=self.total_value,
            extras={"factor": t["factor"].to_numpy(dtype=float)},
            support=self.support,
            ci=ci,
            notes=(self.method, *self.warnings),
            diagnostics={"baseline_conversions": self.baseline},
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dictionary (non-finite numbers become ``null``)."""
        return {
            "model": self.model,
            "method": self.method,
            "untested": self.untested,
            "level": self.level,
            "n_draws": self.n_draws,
            "seed": self.seed,
            "total_conversions": self.total_conversions,
            "baseline": json_value(self.baseline),
            "baseline_low": json_value(self.baseline_low),
            "baseline_high": json_value(self.baseline_high),
            "pooled_factor": json_value(self.pooled_factor),
            "lambda": json_value(self.lam),
            "lambda_low": json_value(self.lam_low),
            "lambda_high": json_value(self.lam_high),
            "implied_lambda": {k: json_value(v) for k, v in self.implied_lambda.items()},
            "negative_controls": list(self.negative_controls),
            "channels": json_records(self.table),
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        tested = int(self.table["tested"].sum())
        return (
            f"CalibratedAttribution(model={self.model!r}, {tested}/{len(self.channels)} channels "
            f"tested, baseline={self.baseline:,.1f} of {self.total_conversions:,.0f} "
            f"[{self.baseline_low:,.1f}, {self.baseline_high:,.1f}], untested={self.untested!r})"
        )


def _se(low: np.ndarray, high: np.ndarray, level: np.ndarray | float) -> np.ndarray:
    z = norm.ppf((1 + np.asarray(level, dtype=float)) / 2)
    return np.maximum(np.asarray(high, dtype=float) - np.asarray(low, dtype=float), 0.0) / (2 * z)


def _calibrate_draws(
    credit: np.ndarray,
    measured: np.ndarray,
    tested: np.ndarray,
    total: float,
    untested: str,
    transferred: np.ndarray | None = None,
    lift_share: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Apply steps 2-4 to ``(n_draws, n_channels)`` arrays (one row per draw).

    ``transferred`` is every channel's bias-corrected causal credit with ``untested="transfer"``
    and ``lift_share`` the weight of a tested channel's lift measurement against it.

    Returns calibrated credit, factors, baseline and the pooled factor per draw, plus a flag per
    draw telling whether the tested channels alone exceeded the total.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        sum_x = np.where(tested, credit, 0.0).sum(axis=1)
        sum_y = np.where(tested, measured, 0.0).sum(axis=1)
        pooled = np.where(sum_x > 0, sum_y / sum_x, np.nan)
    z_tested = np.maximum(measured, 0.0)
    if transferred is not None and lift_share is not None:
        z_tested = lift_share * z_tested + (1.0 - lift_share) * transferred
    if untested == "keep":
        z_untested = credit
    elif untested == "transfer":
        assert transferred is not None
        z_untested = transferred
    else:
        factor = np.nan_to_num(pooled, nan=1.0, posinf=np.finfo(float).max, neginf=0.0)
        with np.errstate(over="ignore", invalid="ignore"):
            z_untested = factor[:, None] * credit
    # no channel can be credited more than the total (also keeps inf/NaN out of the capping)
    z_untested = np.clip(np.nan_to_num(z_untested, nan=0.0, posinf=total), 0.0, total)
    z = np.where(tested, z_tested, z_untested)
    tested_sum = np.where(tested, z, 0.0).sum(axis=1)
    untested_sum = np.where(tested, 0.0, z).sum(axis=1)
    over = tested_sum + untested_sum > total
    tested_over = tested_sum > total
    # untested scaled down to fill the remainder; if tested alone exceed, everything scaled
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        room = np.maximum(total - tested_sum, 0.0)
        scale_untested = np.where(untested_sum > 0, np.minimum(room / untested_sum, 1.0), 1.0)
        scale_all = np.where(tested_sum > 0, total / tested_sum, 1.0)
        # (inf scales can only occur in rows that the masks do not select)
        z = np.where((over & ~tested_over)[:, None] & ~tested, z * scale_untested[:, None], z)
        z = np.where(tested_over[:, None], np.where(tested, z * scale_all[:, None], 0.0), z)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        factor = np.where(credit > 0, z / np.where(credit > 0, credit, 1.0), np.nan)
    baseline = total - z.sum(axis=1)
    return z, factor, baseline, np.stack([pooled, over, tested_over])


class Calibrator:
    """Calibrate attribution with lift tests; ``fit(result, lift_tests)`` sets ``result_``.

    Parameters
    ----------
    untested
        ``"keep"`` (untested channels keep attributed credit, default), ``"pooled"`` (scaled by
        the pooled factor of the tested channels) or ``"transfer"`` (the ``causal`` model's bias
        under unmeasured confounding, fitted to the tested channels, is removed from the
        untested ones; see the module docstring).
    negative_controls
        With ``"transfer"``: channels known to cause no conversions (e.g. direct navigation);
        they calibrate ``lambda`` as tests that measured 0, and get 0 credit.
    lambda_max
        With ``"transfer"``: the prior of ``lambda`` is uniform on ``[0, lambda_max]`` (at most
        2, the end of the sensitivity grid).
    attribution_period
        ``(start, end)`` of the attributed journeys, to scale tests that cover a different
        period (see step 1 of the module docstring); ``None`` disables period scaling.
    ci
        Coverage of the calibrated intervals; default the lift tests' (smallest) level. Formerly
        ``level``, still accepted for one release with a :class:`DeprecationWarning`.
    n_draws
        Monte Carlo draws for the intervals (``>= 200``).
    seed
        Seed of the draws.
    unknown_channels
        ``"error"`` (default): a tested channel missing from the attribution is an error;
        ``"ignore"``: such tests are dropped with a warning.
    """

    def __init__(
        self,
        *,
        untested: Literal["keep", "pooled", "transfer"] = "keep",
        negative_controls: tuple[str, ...] = (),
        lambda_max: float = 1.0,
        attribution_period: tuple[Any, Any] | None = None,
        ci: float | None = None,
        n_draws: int = 4000,
        seed: int | None = 0,
        unknown_channels: Literal["error", "ignore"] = "error",
        **former: Any,
    ) -> None:
        ci = renamed_options(former, {"level": "ci"}, owner="Calibrator").get("ci", ci)
        self.untested = untested
        self.negative_controls = tuple(negative_controls)
        self.lambda_max = lambda_max
        self.attribution_period = attribution_period
        self.ci = ci
        self.n_draws = n_draws
        self.seed = seed
        self.unknown_channels = unknown_channels

    def __repr__(self) -> str:
        return (
            f"Calibrator(untested={self.untested!r}, negative_controls="
            f"{self.negative_controls!r}, attribution_period="
            f"{self.attribution_period!r}, ci={self.ci!r}, n_draws={self.n_draws}, "
            f"seed={self.seed!r}, unknown_channels={self.unknown_channels!r})"
        )

    def _validate(self) -> None:
        if self.untested not in ("keep", "pooled", "transfer"):
            raise InvalidLiftTestError(
                f"untested must be 'keep', 'pooled' or 'transfer', got {self.untested!r}"
            )
        if not (isinstance(self.lambda_max, int | float) and 0 < self.lambda_max <= 2):
            raise InvalidLiftTestError(f"lambda_max must be in (0, 2], got {self.lambda_max!r}")
        if self.negative_controls and self.untested != "transfer":
            raise InvalidLiftTestError(
                "negative controls calibrate the transfer of bias to untested channels: use "
                "untested='transfer' (the causal model) with them"
            )
        if self.unknown_channels not in ("error", "ignore"):
            raise InvalidLiftTestError(
                f"unknown_channels must be 'error' or 'ignore', got {self.unknown_channels!r}"
            )
        if (
            isinstance(self.n_draws, bool)
            or not isinstance(self.n_draws, int | np.integer)
            or self.n_draws < 200
        ):
            raise InvalidLiftTestError(f"n_draws must be an integer >= 200, got {self.n_draws!r}")
        if self.ci is not None and not 0.5 <= self.ci < 1:
            raise InvalidLiftTestError(f"ci must be in [0.5, 1), got {self.ci!r}")

    def _scales(self, tests: pd.DataFrame) -> np.ndarray:
        scale = 1.0 / tests["population_share"].to_numpy(dtype=float)
        if self.attribution_period is None:
            return scale
        try:
            start, end = (pd.Timestamp(x) for x in self.attribution_period)
        except (TypeError, ValueError) as exc:
            raise InvalidLiftTestError(
                f"attribution_period must be (start, end) dates, got {self.attribution_period!r}"
            ) from exc
        if not end > start:
            raise InvalidLiftTestError("attribution_period: end must be after start")
        attr_days = (end - start) / pd.Timedelta(days=1)
        span = (tests["period_end"] - tests["period_start"]).dt.total_seconds() / 86400.0
        test_days = span.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(np.isnan(test_days), 1.0, attr_days / test_days)
        return np.asarray(scale * ratio, dtype=float)

    def fit(self, result: AttributionResult, lift_tests: LiftTests) -> Self:
        """Calibrate ``result`` with ``lift_tests``; returns ``self`` with ``result_`` set."""
        self._validate()
        if not isinstance(result, AttributionResult):
            raise InvalidLiftTestError(
                f"calibration needs an AttributionResult, got {type(result).__name__}"
            )
        if not isinstance(lift_tests, LiftTests):
            raise InvalidLiftTestError(
                "calibration needs LiftTests (LiftTests.from_frame / from_results / from_uplift), "
                f"got {type(lift_tests).__name__}"
            )
        warnings: list[str] = []
        tests = lift_tests.frame
        unknown = [c for c in tests["channel"] if c not in result.channels]
        if unknown and self.unknown_channels == "error":
            raise InvalidLiftTestError(
                f"lift test for channel {unknown[0]!r}, which the attribution does not have "
                f"(channels: {', '.join(result.channels)}): rename it or pass "
                "unknown_channels='ignore'"
            )
        if unknown:
            warnings.append(f"lift tests of unknown channels ignored: {', '.join(unknown)}")
            tests = tests[~tests["channel"].isin(unknown)].reset_index(drop=True)
        if tests.empty and not self.negative_controls:
            raise InvalidLiftTestError("no lift test matches a channel of the attribution")
        curve = result.sensitivity
        if self.untested == "transfer" and curve is None:
            raise InvalidLiftTestError(
                f"untested='transfer' needs the causal model's sensitivity to unmeasured "
                f"confounding, which the {result.model!r} result does not have: calibrate the "
                "causal model (with a user table), or use untested='keep' or 'pooled'"
            )
        for name in self.negative_controls:
            if name not in result.channels:
                raise InvalidLiftTestError(
                    f"negative control {name!r} is not a channel of the attribution "
                    f"(channels: {', '.join(result.channels)})"
                )
            if name in set(tests["channel"]):
                raise InvalidLiftTestError(
                    f"channel {name!r} is both lift-tested and a negative control: keep one"
                )

        channels = result.channels
        n = len(channels)
        index = {c: i for i, c in enumerate(channels)}
        pos = np.array([index[c] for c in tests["channel"]], dtype=np.int64)
        tested = np.zeros(n, dtype=bool)
        tested[pos] = True
        scale = self._scales(tests)
        measured = np.full(n, np.nan)
        measured_lo = np.full(n, np.nan)
        measured_hi = np.full(n, np.nan)
        measured[pos] = tests["incremental_conversions"].to_numpy(dtype=float) * scale
        measured_lo[pos] = tests["ci_low"].to_numpy(dtype=float) * scale
        measured_hi[pos] = tests["ci_high"].to_numpy(dtype=float) * scale
        lift_se = np.zeros(n)
        lift_se[pos] = _se(measured_lo[pos], measured_hi[pos], tests["level"].to_numpy())
        controls = np.array([index[c] for c in self.negative_controls], dtype=np.int64)
        tested[controls] = True
        measured[controls] = measured_lo[controls] = measured_hi[controls] = 0.0
        levels = tests["level"].to_numpy(dtype=float)
        level = (
            float(self.ci) if self.ci is not None else float(levels.min()) if levels.size else 0.95
        )

        credit = np.asarray(result.conversions, dtype=float)
        if result.ci is not None:
            c_lo = np.asarray(result.ci.conversions_low, dtype=float)
            c_hi = np.asarray(result.ci.conversions_high, dtype=float)
            credit_se = _se(c_lo, c_hi, result.ci.level)
        else:
            c_lo = c_hi = np.full(n, np.nan)
            credit_se = np.zeros(n)
            warnings.append(
                "the attribution has no bootstrap intervals: calibrated intervals reflect the "
                "lift tests' uncertainty only"
            )
        total = float(result.total_conversions)

        transfer: _Transfer | None = None
        if self.untested == "transfer":
            assert curve is not None
            transfer = _Transfer(
                result, curve, tested, measured, credit_se, lift_se, float(self.lambda_max)
            )
            warnings.extend(transfer.warnings(measured))

        # point estimate
        y_point = np.where(tested, measured, 0.0)
        z, factor, baseline, flags = _calibrate_draws(
            credit[None, :],
            y_point[None, :],
            tested,
            total,
            self.untested,
            None if transfer is None else transfer.point()[None, :],
            None if transfer is None else transfer.lift_share,
        )
        pooled_point = float(flags[0, 0])
        if flags[2, 0]:
            warnings.append(
                "the tested channels' measured increments exceed the attributed total "
                f"({total:,.0f}); all credit was scaled to the total and the baseline is 0: check "
                "the tests' population share and period"
            )
        elif flags[1, 0]:
            warnings.append(
                "calibrated credit exceeded the attributed total: untested channels were scaled "
                "down so that the baseline is 0"
            )
        untested_neg = tested & (measured < 0)
        if untested_neg.any():
            names = [channels[i] for i in np.flatnonzero(untested_neg)]
            warnings.append(
                f"negative measured increments set to 0 for {', '.join(names)} (noise around zero)"
            )
        if self.untested == "pooled" and math.isnan(pooled_point):
            warnings.append("pooled factor undefined (tested channels have no credit): kept 1")

        # Monte Carlo
        rng = np.random.default_rng(self.seed)
        noise = rng.standard_normal((self.n_draws, n))
        draws_x = credit + credit_se * noise
        draws_y = np.where(tested, measured, 0.0) + lift_se * rng.standard_normal((self.n_draws, n))
        transferred_d, lam_d = None, None
        if transfer is not None:
            transferred_d, lam_d = transfer.draws(transfer.raw + credit_se * noise, rng)
        z_d, factor_d, base_d, _ = _calibrate_draws(
            draws_x,
            draws_y,
            tested,
            total,
            self.untested,
            transferred_d,
            None if transfer is None else transfer.lift_share,
        )
        q = ((1 - level) / 2 * 100, (1 + level) / 2 * 100)
        z_lo, z_hi = np.percentile(z_d, q, axis=0)
        b_lo, b_hi = np.percentile(base_d, q)
        with np.errstate(all="ignore"), _warnings.catch_warnings():
            _warnings.simplefilter("ignore", RuntimeWarning)  # channels never credited: NaN
            f_lo, f_hi = np.nanpercentile(
                np.where(np.isfinite(factor_d), factor_d, np.nan), q, axis=0
            )
        mean_value = float(result.total_value) / total if total > 0 else 0.0
        value = np.asarray(result.value, dtype=float)
        per_conv = np.divide(value, credit, out=np.full(n, mean_value), where=credit > 0)
        table = pd.DataFrame(
            {
                "channel": list(channels),
                "tested": tested,
                "attributed": credit,
                "attributed_low": c_lo,
                "attributed_high": c_hi,
                "measured": measured,
                "measured_low": measured_lo,
                "measured_high": measured_hi,
                "factor": factor[0],
                "factor_low": f_lo,
                "factor_high": f_hi,
                "calibrated": z[0],
                "calibrated_low": z_lo,
                "calibrated_high": z_hi,
                "calibrated_share": _shares(z[0]),
                "calibrated_value": z[0] * per_conv,
            }
        )
        self.result_ = CalibratedAttribution(
            model=result.model,
            channels=tuple(channels),
            table=table,
            total_conversions=total,
            total_value=float(result.total_value),
            baseline=float(baseline[0]),
            baseline_low=float(b_lo),
            baseline_high=float(b_hi),
            pooled_factor=pooled_point,
            untested=self.untested,
            level=level,
            n_draws=int(self.n_draws),
            seed=self.seed,
            warnings=tuple(warnings),
            lam=float("nan") if transfer is None else transfer.fit.lam,
            lam_low=float("nan") if lam_d is None else float(np.percentile(lam_d, q[0])),
            lam_high=float("nan") if lam_d is None else float(np.percentile(lam_d, q[1])),
            implied_lambda={} if transfer is None else dict(transfer.fit.implied),
            negative_controls=self.negative_controls,
            support=result.support,
            draws=z_d,
        )
        for message in warnings:
            logger.warning("calibration of %s: %s", result.model, message)
        return self


class _Transfer:
    """The ``"transfer"`` rule: fit ``lambda`` to the tested channels, correct the others."""

    def __init__(
        self,
        result: AttributionResult,
        curve: SensitivityCurve,
        tested: np.ndarray,
        measured: np.ndarray,
        credit_se: np.ndarray,
        lift_se: np.ndarray,
        lambda_max: float,
    ) -> None:
        self.curve = curve
        self.tested = np.flatnonzero(tested)
        raw = result.extras.get("incremental_unbounded", result.conversions)
        self.raw = np.asarray(raw, dtype=float)
        self.caps = (
            np.asarray(result.support.conversions, dtype=float)
            if result.support is not None
            else np.full(self.raw.shape, np.inf)
        )
        tested_var = lift_se[self.tested] ** 2 + credit_se[self.tested] ** 2
        self.weight = 1.0 / np.maximum(tested_var, 1e-12)
        self.fit: LambdaFit = fit_lambda(
            curve,
            self.raw,
            credit_se**2,
            self.tested,
            measured[self.tested],
            lift_se[self.tested] ** 2,
            lambda_max=lambda_max,
        )
        # a tested channel combines its lift with its bias-corrected estimate by precision (the
        # estimate's variance includes that of its bias through lambda's); without model
        # intervals, or for a negative control (measured exactly), the lift decides
        lam = self.sample_lambda(np.random.default_rng(0), 500)
        lift_var = lift_se**2
        model_var = np.where(credit_se > 0, credit_se**2 + curve.bias(lam)[0].var(axis=0), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(model_var > 0, model_var / (model_var + lift_var), 1.0)
        self.lift_share = np.where(tested, np.nan_to_num(share, nan=1.0), 1.0)

    def point(self) -> np.ndarray:
        """Corrected credit of every channel at the fitted ``lambda``."""
        corrected = self.raw - self.curve.bias(self.fit.lam)[0]
        return np.clip(corrected, 0.0, self.caps)

    def sample_lambda(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return ``n`` draws of ``lambda`` from its posterior on the grid."""
        out: np.ndarray = rng.choice(self.curve.lambdas, size=n, p=self.fit.posterior)
        return out

    def draws(self, raw: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Corrected credit of each row of ``raw`` (a Monte Carlo draw) and its ``lambda``."""
        lam = self.sample_lambda(rng, raw.shape[0])
        corrected = raw - self.curve.bias(lam)[0]
        return np.clip(corrected, 0.0, self.caps), lam

    def warnings(self, measured: np.ndarray) -> list[str]:
        """Caveats: uninformative tests, and tests that disagree (lack of fit)."""
        from scipy.stats import chi2

        out = []
        if not self.fit.informative:
            out.append(
                "no tested channel is selected on the measured intent, so the tests say nothing "
                "about unmeasured confounding: lambda = 0 (untested channels are not corrected); "
                "test a channel whose reach concentrates on likely converters"
            )
        bias = self.curve.bias(self.fit.lam)[0]
        gap = self.raw[self.tested] - bias[self.tested] - measured[self.tested]
        stat = float((self.weight * gap**2).sum())
        dof = self.tested.size - 1
        limit = float(chi2.ppf(0.95, dof)) if dof >= 1 else float("inf")
        if stat > limit:
            implied = ", ".join(
                f"{k} {v:.2f}" for k, v in self.fit.implied.items() if math.isfinite(v)
            )
            out.append(
                f"the tested channels disagree about unmeasured confounding (lack of fit "
                f"{stat:.1f} > {limit:.1f}, chi-square with {dof} df; implied lambda: "
                f"{implied or 'none in range'}): one lambda for every channel may not hold, so "
                "treat the untested channels' calibrated credit with care"
            )
        return out


def calibrate(
    result: AttributionResult, lift_tests: LiftTests, **kwargs: Any
) -> CalibratedAttribution:
    """One-shot :class:`Calibrator` (same keyword options); returns the calibrated attribution."""
    return Calibrator(**kwargs).fit(result, lift_tests).result_


def _shares(values: np.ndarray) -> np.ndarray:
    total = float(values.sum())
    if total <= 0:
        return np.zeros_like(values)
    return values / total
