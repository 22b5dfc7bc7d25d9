"""The no-unmeasured-confounding limit of the simulator, against hand formulas and noise bounds."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from attribution.simulate import (
    NO_SELECTION_CHANNELS,
    CovariateSpec,
    SimulationConfig,
    SimulationConfigError,
    covariate_adjusted_truth,
    proxy_covariates,
    simulate_journeys,
)

SEED = 20261207


def _simulate(covariates, channels=None, n_users=30_000):
    extra = {} if channels is None else {"channels": channels}
    config = SimulationConfig(n_users=n_users, seed=SEED, covariates=covariates, **extra)
    return simulate_journeys(config)


def _counterfactual_probability(sim) -> pd.DataFrame:
    """``P(convert | z, exposures without c)`` per user and channel, from the users table."""
    users = sim.users
    keep = {spec.name: 1.0 - spec.effect for spec in sim.config.channels}
    exposed = pd.DataFrame({c: users[f"exposed:{c}"] for c in sim.channels})
    factors = exposed.apply(lambda col: np.where(col, keep[col.name], 1.0))
    all_keep = factors.prod(axis=1)
    p0 = users["base_probability"]
    return pd.DataFrame({c: 1.0 - (1.0 - p0) * all_keep / factors[c] for c in sim.channels})


def test_with_the_intent_itself_the_limit_is_each_journeys_expected_counterfactual():
    # rho = 1: the posterior of intent is a point, so mu_0c(x, t) = 1 - (1 - p0) prod (1 - e_j)
    # over the other channels the user saw; the limit sums Y - mu_0c over c's touched users.
    sim = _simulate((CovariateSpec("intent_copy", intent_correlation=1.0),))
    limit = covariate_adjusted_truth(sim)
    mu0 = _counterfactual_probability(sim)
    converted = sim.users["converted"].astype(float)
    for c in sim.channels:
        touched = sim.users[f"exposed:{c}"]
        expected = float((converted[touched] - mu0.loc[touched, c]).sum())
        assert limit.loc[c, "adjusted_conversions"] == pytest.approx(expected, rel=1e-9, abs=1e-6)
        # what is left against the truth is the noise of the conversion draws (4 sd)
        sd = float(np.sqrt((mu0.loc[touched, c] * (1 - mu0.loc[touched, c])).sum()))
        assert abs(limit.loc[c, "bias"]) < 4 * sd, c
    assert limit["bias"].equals(limit["adjusted_conversions"] - limit["incremental_conversions"])


def test_without_selection_on_intent_a_weak_proxy_leaves_only_noise():
    # Reach independent of intent: untouched users with the same covariates and other channels
    # are exchangeable with touched ones, whatever the proxy quality.
    sim = _simulate(proxy_covariates(0.5), channels=NO_SELECTION_CHANNELS)
    limit = covariate_adjusted_truth(sim)
    mu0 = _counterfactual_probability(sim)
    for c in sim.channels:
        touched = sim.users[f"exposed:{c}"]
        sd = float(np.sqrt((mu0.loc[touched, c] * (1 - mu0.loc[touched, c])).sum()))
        assert abs(limit.loc[c, "bias"]) < 4 * sd, c


def test_with_selection_a_noisy_proxy_leaves_confounding_on_the_selected_channels():
    sim = _simulate(proxy_covariates(0.9), n_users=100_000)
    limit = covariate_adjusted_truth(sim)
    mu0 = _counterfactual_probability(sim)
    bias_over_noise = {}
    for c in sim.channels:
        touched = sim.users[f"exposed:{c}"]
        sd = float(np.sqrt((mu0.loc[touched, c] * (1 - mu0.loc[touched, c])).sum()))
        bias_over_noise[c] = limit.loc[c, "bias"] / sd
    # direct (no effect, the strongest selection) and paid search are credited far too much;
    # display (reach independent of intent) is not
    assert bias_over_noise["direct"] > 5
    assert bias_over_noise["paid_search"] > 5
    assert abs(bias_over_noise["display"]) < 3
    shares = limit["adjusted_share"]
    assert shares.sum() == pytest.approx(1.0)
    assert shares.min() >= 0


def test_a_fine_categorical_proxy_carries_the_same_information_as_the_numeric_one():
    # The same signal (same position in the spec list, so the same draws) cut into 400 levels.
    numeric = _simulate((CovariateSpec("score", intent_correlation=0.9),), n_users=10_000)
    binned = _simulate(
        (CovariateSpec("score", intent_correlation=0.9, kind="categorical", levels=400),),
        n_users=10_000,
    )
    a = covariate_adjusted_truth(numeric)["adjusted_conversions"]
    b = covariate_adjusted_truth(binned)["adjusted_conversions"]
    np.testing.assert_allclose(b, a, rtol=0.02, atol=2.0)
    # and a coarse one carries less: it leaves more bias on direct navigation
    coarse = _simulate(
        (CovariateSpec("score", intent_correlation=0.9, kind="categorical", levels=2),),
        n_users=10_000,
    )
    c = covariate_adjusted_truth(coarse)["adjusted_conversions"]
    assert c["direct"] > a["direct"] + 20


def test_a_channel_bought_on_a_numeric_covariate_is_adjusted_for_exactly():
    # Reach on the proxy itself (selection on measured intent only): no confounding left.
    targeted = dataclasses.replace(
        NO_SELECTION_CHANNELS[0], reach_covariate="score", reach_covariate_slope=1.5
    )
    channels = (targeted, *NO_SELECTION_CHANNELS[1:])
    sim = _simulate((CovariateSpec("score", intent_correlation=0.7),), channels=channels)
    limit = covariate_adjusted_truth(sim)
    mu0 = _counterfactual_probability(sim)
    c = targeted.name
    touched = sim.users[f"exposed:{c}"]
    sd = float(np.sqrt((mu0.loc[touched, c] * (1 - mu0.loc[touched, c])).sum()))
    assert abs(limit.loc[c, "bias"]) < 4 * sd


def test_refusals_name_the_fix():
    with pytest.raises(SimulationConfigError, match="no user table"):
        covariate_adjusted_truth(_simulate((), n_users=500))
    channels = (
        dataclasses.replace(
            NO_SELECTION_CHANNELS[0], reach_covariate="band", reach_covariate_slope=1.0
        ),
        *NO_SELECTION_CHANNELS[1:],
    )
    sim = _simulate(
        (CovariateSpec("band", intent_correlation=0.5, kind="categorical", levels=3),),
        channels=channels,
        n_users=500,
    )
    with pytest.raises(SimulationConfigError, match="'band' is categorical"):
        covariate_adjusted_truth(sim)
