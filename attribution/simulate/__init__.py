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

Pre-exposure user covariates (:class:`CovariateSpec`, :func:`proxy_covariates`) carry the
latent intent with noise, or are pure noise; they go to :attr:`SimulationResult.covariates` and
never change the events or the truth.

Modules: :mod:`~attribution.simulate.config` (channels, configuration, presets),
:mod:`~attribution.simulate.covariates` (the user table),
:mod:`~attribution.simulate.game` (the exact channel game and its Shapley values),
:mod:`~attribution.simulate.generate` (the draws and the output tables),
:mod:`~attribution.simulate.result` (:class:`SimulationResult`),
:mod:`~attribution.simulate.lift` (randomized holdout tests),
:mod:`~attribution.simulate.adjusted` (:func:`covariate_adjusted_truth`: what an estimator that
adjusts for the user table converges to, the truth plus the confounding it cannot remove) and
:mod:`~attribution.simulate.compare` (benchmark comparisons with the truth).
"""

from attribution.simulate.adjusted import covariate_adjusted_truth
from attribution.simulate.compare import compare_to_truth, total_variation_distance
from attribution.simulate.config import (
    DEFAULT_CHANNELS,
    MAX_CHANNELS,
    NO_SELECTION_CHANNELS,
    PRESETS,
    ChannelSpec,
    SimulationConfig,
    SimulationConfigError,
    mean_reach,
    without_selection,
)
from attribution.simulate.covariates import CovariateSpec, proxy_covariates, proxy_quality
from attribution.simulate.generate import simulate_journeys
from attribution.simulate.lift import LiftTestResult, simulate_lift_test
from attribution.simulate.result import SimulationResult

__all__ = [
    "DEFAULT_CHANNELS",
    "MAX_CHANNELS",
    "NO_SELECTION_CHANNELS",
    "PRESETS",
    "ChannelSpec",
    "CovariateSpec",
    "LiftTestResult",
    "SimulationConfig",
    "SimulationConfigError",
    "SimulationResult",
    "compare_to_truth",
    "covariate_adjusted_truth",
    "mean_reach",
    "proxy_covariates",
    "proxy_quality",
    "simulate_journeys",
    "simulate_lift_test",
    "total_variation_distance",
    "without_selection",
]
