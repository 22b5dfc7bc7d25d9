"""Causal attribution: covariate-adjusted incremental conversions, against the exact truth."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from attribution import Journeys
from attribution.causal import CausalAttribution
from attribution.errors import AttributionWarning, InvalidCovariatesError, InvalidModelOptionError
from attribution.heuristics import LastTouch
from attribution.simulate import (
    ChannelSpec,
    CovariateSpec,
    SimulationConfig,
    covariate_adjusted_truth,
    simulate_journeys,
)

SEED = 20261207
FAST = {"n_estimators": 60, "learning_rate": 0.15, "min_child_samples": 40}

CHANNELS = (
    # strongly intent-selected, causal
    ChannelSpec("search", 0.15, 1.5, 0.05, mean_touches=1.5, funnel_position=0.8),
    # mildly selected, clearly causal
    ChannelSpec("email", 0.30, 0.3, 0.08, mean_touches=2.0, funnel_position=0.5),
    # very intent-selected navigation, no effect
    ChannelSpec("direct", 0.10, 2.0, 0.0, mean_touches=1.2, funnel_position=0.95),
)


def _simulate(quality: float, n_users: int = 40_000, seed: int = SEED):
    covariates = (
        CovariateSpec("score", intent_correlation=quality),
        CovariateSpec("band", kind="categorical", levels=3, source="score"),
        CovariateSpec("noise"),
    )
    config = SimulationConfig(
        channels=CHANNELS,
        n_users=n_users,
        base_rate=0.05,
        seed=seed,
        covariates=covariates,
        include_untouched_conversions=True,
    )
    sim = simulate_journeys(config)
    journeys = Journeys.from_events(sim.events).with_users(sim.covariates)
    return sim, journeys


def _tv(credit: pd.Series, truth: pd.Series) -> float:
    p = credit.clip(lower=0) / credit.clip(lower=0).sum()
    q = truth / truth.sum()
    return float(0.5 * (p - q.reindex(p.index)).abs().sum())


def _fitted(quality: float):
    """A simulation with a proxy of the given quality, its journeys and the fitted model."""
    sim, journeys = _simulate(quality)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AttributionWarning)
        model = CausalAttribution(**FAST, n_bootstrap=200, seed=1).fit(journeys)
    return sim, journeys, model


@pytest.fixture(scope="module")
def perfect():
    return _fitted(1.0)


def test_known_truth_with_a_perfect_covariate(perfect):
    sim, journeys, model = perfect
    result = model.result_
    credit = pd.Series(result.conversions, index=list(result.channels))
    truth = sim.truth["incremental_conversions"].rename(index=str).astype(float)
    frame = result.to_frame().set_index("channel")
    # every channel's true increment is inside its 95% interval (slack of 10% of the width)
    width = frame["ci_high"] - frame["ci_low"]
    for channel in result.channels:
        assert frame.loc[channel, "ci_low"] - 0.1 * width[channel] <= truth[channel], channel
        assert truth[channel] <= frame.loc[channel, "ci_high"] + 0.1 * width[channel], channel
    assert _tv(credit, truth) < 0.08
    # the zero-effect navigation channel gets almost nothing; last touch gives it a lot
    assert credit["direct"] < 0.1 * credit.sum()
    last = LastTouch(n_bootstrap=0).fit(journeys).result_
    last_credit = pd.Series(last.conversions, index=list(last.channels))
    assert _tv(last_credit, truth) > 0.2


def test_result_reports_totals_baseline_and_bounds(perfect):
    sim, journeys, model = perfect
    result = model.result_
    d = result.diagnostics
    assert d["population_conversions"] == sim.total_conversions
    assert d["attributed_conversions"] == journeys.total_conversions
    assert d["baseline"] == pytest.approx(d["population_conversions"] - d["incremental_total"])
    true_incremental = sim.total_conversions - sim.baseline_conversions
    assert d["incremental_total_ci_low"] <= true_incremental * 1.05
    assert true_incremental * 0.95 <= d["incremental_total_ci_high"]
    assert d["baseline_ci_low"] <= d["baseline"] <= d["baseline_ci_high"]
    assert d["n_users"] == len(sim.covariates)
    assert d["n_users_without_events"] > 0
    assert 0.6 < d["outcome_auc"] < 1.0
    # support bound: credit (and its interval) within [0, conversions of touched journeys]
    frame = result.to_frame().set_index("channel")
    touched = {c: 0.0 for c in result.channels}
    for p in range(journeys.n_paths):
        for c in set(journeys.path(p)):
            touched[c] += journeys.conversions[p]
    for c in result.channels:
        assert 0 <= frame.loc[c, "ci_low"] <= frame.loc[c, "conversions"]
        assert frame.loc[c, "conversions"] <= frame.loc[c, "ci_high"] <= touched[c]
    exposed = frame["exposed_journeys"]
    assert exposed["email"] == pytest.approx(sim.truth.loc["email", "users_reached"])
    assert set(result.extras) >= {"incremental_unbounded", "overlap_outside", "selection_slope"}
    # selection on the measured intent: direct > search > email
    slope = frame["selection_slope"]
    assert slope["direct"] > slope["search"] > slope["email"] > 0


@pytest.fixture(scope="module")
def weak():
    sim, _, model = _fitted(0.8)
    return sim, model.result_


def test_sensitivity_curve_explains_residual_confounding(weak):
    # With a weak proxy the estimate of the zero-effect channel is biased upwards; the bias curve
    # at the lambda the proxy implies, sqrt(1 - q^2) / q, removes most of it.
    sim, result = weak
    raw = pd.Series(result.extras["incremental_unbounded"], index=list(result.channels))
    truth = sim.truth["incremental_conversions"].rename(index=str).astype(float)
    assert raw["direct"] > 0.1 * truth.sum()
    lam = np.sqrt(1 - 0.8**2) / 0.8
    bias = pd.Series(result.sensitivity.bias(lam)[0], index=list(result.channels))
    corrected = raw - bias
    assert abs(corrected["direct"]) < 0.5 * raw["direct"]
    assert _tv(corrected, truth) < _tv(raw, truth)


def test_estimate_converges_to_the_covariate_adjusted_limit(weak):
    # With a proxy of quality 0.8 the estimate misses the truth by the unmeasured confounding, and
    # only by that: every channel's 95% interval holds the exact no-unmeasured-confounding limit
    # of the simulator (slack of 10% of the width), while the truth of the two intent-selected
    # channels lies far outside.
    sim, result = weak
    limit = covariate_adjusted_truth(sim)
    frame = result.to_frame().set_index("channel")
    width = frame["ci_high"] - frame["ci_low"]
    for channel in result.channels:
        target = limit.loc[channel, "adjusted_conversions"]
        assert frame.loc[channel, "ci_low"] - 0.1 * width[channel] <= target, channel
        assert target <= frame.loc[channel, "ci_high"] + 0.1 * width[channel], channel
    for channel in ("direct", "search"):
        assert limit.loc[channel, "bias"] > width[channel], channel
        assert frame.loc[channel, "ci_low"] > limit.loc[channel, "incremental_conversions"]


def test_a_harmful_looking_channel_gets_zero_credit_with_a_warning():
    rng = np.random.default_rng(3)
    n = 6000
    users = pd.DataFrame({"user_id": np.arange(n), "x": rng.standard_normal(n)})
    rows = []
    for u in range(n):
        chans = ["a"] if rng.random() < 0.5 else []
        if rng.random() < 0.4:
            chans.append("bad")
        converts = rng.random() < (0.0 if "bad" in chans else 0.3)
        for k, ch in enumerate(chans):
            rows.append((u, k, ch, 0))
        if converts:
            rows.append((u, 9, None, 1))
    events = pd.DataFrame(rows, columns=["user_id", "timestamp", "channel", "conversion"])
    journeys = Journeys.from_events(events).with_users(users)
    with pytest.warns(AttributionWarning, match=r"bad: the estimate is negative"):
        result = CausalAttribution(**FAST, n_bootstrap=50).fit(journeys).result_
    frame = result.to_frame().set_index("channel")
    assert frame.loc["bad", "conversions"] == 0.0
    assert frame.loc["bad", "incremental_unbounded"] < 0
    assert frame.loc["bad", "ci_high"] == 0.0
    assert any("bad: the estimate is negative" in note for note in result.notes)


def test_a_user_table_without_silent_users_is_flagged():
    sim, _ = _simulate(1.0, n_users=8000)
    users_with_events = sim.events["user_id"].unique()
    table = sim.covariates[sim.covariates["user_id"].isin(users_with_events)]
    journeys = Journeys.from_events(sim.events).with_users(table)
    with pytest.warns(AttributionWarning, match="no user without events"):
        result = CausalAttribution(**FAST, n_bootstrap=0).fit(journeys).result_
    assert result.diagnostics["n_users_without_events"] == 0
    assert any("include every user of the population" in note for note in result.notes)


def test_causal_needs_users():
    sim, _ = _simulate(1.0, n_users=2000)
    bare = Journeys.from_events(sim.events)
    with pytest.raises(InvalidModelOptionError, match="needs user covariates"):
        CausalAttribution(n_bootstrap=0).fit(bare)
    paths = Journeys.from_paths(bare.to_path_table())
    with pytest.raises(InvalidCovariatesError, match="a path table carries no user ids"):
        paths.with_users(sim.covariates)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_folds": 1}, "n_folds must be at least 2"),
        ({"n_estimators": 0}, "n_estimators must be a positive integer"),
        ({"learning_rate": -1}, "learning_rate must be a positive number"),
        ({"clip": 0.6}, r"clip must be in \(0, 0.5\)"),
        ({"overlap_limit": 1.0}, r"overlap_limit must be in \(0.5, 1\)"),
        ({"n_bootstrap": 5}, "n_bootstrap must be 0"),
    ],
)
def test_bad_options_are_refused_before_fitting(kwargs, message):
    _, journeys = _simulate(1.0, n_users=2000)
    with pytest.raises(InvalidModelOptionError, match=message):
        CausalAttribution(**kwargs).fit(journeys)


def test_a_channel_on_every_journey_is_refused():
    users = pd.DataFrame({"user_id": [1, 2, 3], "x": [0.1, 0.5, 0.9]})
    events = pd.DataFrame(
        {
            "user_id": [1, 2, 2, 3, 3],
            "timestamp": [1, 1, 2, 1, 2],
            "channel": ["a", "a", None, "a", "b"],
            "conversion": [0, 0, 1, 0, 0],
        }
    )
    journeys = Journeys.from_events(events).with_users(users)
    with pytest.raises(InvalidModelOptionError, match="a touch every journey"):
        CausalAttribution(n_bootstrap=0).fit(journeys)


def test_results_are_deterministic_given_the_seed():
    _, journeys = _simulate(1.0, n_users=5000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AttributionWarning)
        a = CausalAttribution(**FAST, n_bootstrap=30, seed=5).fit(journeys).result_
        b = CausalAttribution(**FAST, n_bootstrap=30, seed=5).fit(journeys).result_
    np.testing.assert_array_equal(a.conversions, b.conversions)
    assert a.ci is not None and b.ci is not None
    np.testing.assert_array_equal(a.ci.conversions_high, b.ci.conversions_high)
