"""The simulator's user table: pre-exposure covariates that carry intent with noise, or noise."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from attribution.simulate import (
    CovariateSpec,
    SimulationConfig,
    SimulationConfigError,
    proxy_covariates,
    proxy_quality,
    simulate_journeys,
)

SEED = 20261207


@pytest.fixture(scope="module")
def with_covariates():
    config = SimulationConfig(n_users=60_000, seed=SEED, covariates=proxy_covariates(0.9))
    return simulate_journeys(config)


def test_covariates_leave_events_and_truth_unchanged(with_covariates):
    plain = simulate_journeys(SimulationConfig(n_users=60_000, seed=SEED))
    pd.testing.assert_frame_equal(plain.events, with_covariates.events)
    pd.testing.assert_frame_equal(plain.truth, with_covariates.truth)
    pd.testing.assert_frame_equal(plain.users, with_covariates.users)
    assert list(plain.covariates.columns) == ["user_id"]


def test_user_table_has_every_user_and_the_declared_columns(with_covariates):
    cov = with_covariates.covariates
    assert list(cov.columns) == ["user_id", "crm_score", "segment", "tenure_years", "region"]
    assert cov["user_id"].tolist() == list(range(60_000))
    assert cov["crm_score"].dtype == np.float64
    assert isinstance(cov["segment"].dtype, pd.CategoricalDtype)
    # users without any touch are in the user table too
    touched = set(with_covariates.events["user_id"].unique())
    assert len(touched) < len(cov)


def test_signal_correlation_matches_the_spec(with_covariates):
    cov, intent = with_covariates.covariates, with_covariates.users["intent"].to_numpy()
    n = len(cov)
    # sd of a sample correlation near rho is about (1 - rho^2) / sqrt(n); allow 4 sd
    assert np.corrcoef(cov["crm_score"], intent)[0, 1] == pytest.approx(0.9, abs=4 * 0.19 / n**0.5)
    assert abs(np.corrcoef(cov["tenure_years"], intent)[0, 1]) < 4 / n**0.5
    assert cov["crm_score"].mean() == pytest.approx(50.0, abs=4 * 15 / n**0.5)
    assert cov["tenure_years"].std() == pytest.approx(2.0, rel=0.02)


def test_categorical_levels_are_equally_likely_and_follow_their_source(with_covariates):
    cov = with_covariates.covariates
    shares = cov["segment"].value_counts(normalize=True).sort_index()
    assert list(shares.index) == ["segment_1", "segment_2", "segment_3", "segment_4"]
    np.testing.assert_allclose(shares.to_numpy(), 0.25, atol=0.01)
    # the segment buckets crm_score: its levels are ordered intervals of the score
    by_level = cov.groupby("segment", observed=True)["crm_score"].agg(["min", "max"])
    assert (by_level["max"].to_numpy()[:-1] <= by_level["min"].to_numpy()[1:]).all()
    # standard normal quartile cut at 0 is the score's mean, 50
    assert by_level.loc["segment_2", "max"] <= 50.0 <= by_level.loc["segment_3", "min"]
    region = cov["region"].value_counts(normalize=True)
    np.testing.assert_allclose(region.to_numpy(), 0.2, atol=0.01)


def test_proxy_quality_closed_form_and_simulated():
    assert proxy_quality(proxy_covariates(0.9)) == pytest.approx(0.9)
    assert proxy_quality(()) == 0.0
    assert proxy_quality([CovariateSpec("a", intent_correlation=1.0)]) == 1.0
    two = [CovariateSpec("a", intent_correlation=0.6), CovariateSpec("b", intent_correlation=-0.6)]
    # precision 2 * 0.36 / 0.64 = 1.125, quality sqrt(1 - 1 / 2.125)
    assert proxy_quality(two) == pytest.approx(math.sqrt(1 - 1 / 2.125))
    sim = simulate_journeys(SimulationConfig(n_users=40_000, seed=1, covariates=tuple(two)))
    x = sim.covariates[["a", "b"]].to_numpy()
    z = sim.users["intent"].to_numpy()
    design = np.column_stack([np.ones(len(z)), x])
    fitted = design @ np.linalg.lstsq(design, z, rcond=None)[0]
    assert np.corrcoef(fitted, z)[0, 1] == pytest.approx(proxy_quality(two), abs=0.01)


def test_covariates_round_trip_through_dict():
    config = SimulationConfig(n_users=10, covariates=proxy_covariates(0.5))
    again = SimulationConfig.from_dict(config.to_dict())
    assert again == config
    from_mappings = SimulationConfig.from_dict(
        {"n_users": 10, "covariates": [{"name": "score", "intent_correlation": 0.3}]}
    )
    assert from_mappings.covariates == (CovariateSpec("score", intent_correlation=0.3),)


@pytest.mark.parametrize(
    ("covariates", "message"),
    [
        ([CovariateSpec("a"), CovariateSpec("a")], "name 'a' twice"),
        ([CovariateSpec("b", kind="categorical", source="a")], "source 'a'"),
        ([{"name": "a", "rho": 0.5}], "only the fields"),
        ("crm_score", "must be a list"),
        ([42], "must be a CovariateSpec or a mapping"),
    ],
)
def test_bad_covariate_lists_are_refused(covariates, message):
    with pytest.raises(SimulationConfigError, match=message):
        SimulationConfig(n_users=10, covariates=covariates)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "user_id"}, "user table's key"),
        ({"name": " a"}, "without surrounding spaces"),
        ({"name": "a", "intent_correlation": 1.5}, r"intent_correlation must be in \[-1, 1\]"),
        ({"name": "a", "kind": "ordinal"}, "kind must be 'numeric' or 'categorical'"),
        ({"name": "a", "kind": "categorical", "levels": 1}, "levels must be >= 2"),
        ({"name": "a", "sd": 0.0}, r"sd must be in \(0, inf\]"),
        ({"name": "a", "source": "b", "intent_correlation": 0.2}, "leave intent_correlation"),
        ({"name": "a", "source": "a"}, "source must name another covariate"),
    ],
)
def test_bad_covariate_specs_are_refused(kwargs, message):
    with pytest.raises(SimulationConfigError, match=message):
        CovariateSpec(**kwargs)


def test_a_channel_can_target_a_covariate_without_changing_the_other_draws():
    from attribution.simulate import DEFAULT_CHANNELS, ChannelSpec

    audience = ChannelSpec(
        "crm_audience", 0.1, effect=0.02, reach_covariate="crm_score", reach_covariate_slope=1.8
    )
    untargeted = ChannelSpec("crm_audience", 0.1, effect=0.02)
    plain = SimulationConfig(
        channels=(*DEFAULT_CHANNELS, untargeted),
        n_users=40_000,
        seed=SEED,
        covariates=proxy_covariates(0.9),
    )
    targeted = SimulationConfig(
        channels=(*DEFAULT_CHANNELS, audience),
        n_users=40_000,
        seed=SEED,
        covariates=proxy_covariates(0.9),
    )
    a, b = simulate_journeys(plain), simulate_journeys(targeted)
    pd.testing.assert_frame_equal(a.covariates, b.covariates)
    exposed = b.users["exposed:crm_audience"].to_numpy()
    score = b.covariates["crm_score"].to_numpy()
    # reach follows the score: logistic slope 1.8 per sd of its signal, (score - 50) / 15
    signal = (score - 50.0) / 15.0
    high, low = exposed[signal > 1].mean(), exposed[signal < -1].mean()
    assert high > 4 * low
    # no selection on intent beyond what the score carries
    residual = b.users["intent"].to_numpy() - 0.9 * signal
    assert abs(np.corrcoef(exposed, residual)[0, 1]) < 0.02
    for name in DEFAULT_CHANNELS:
        np.testing.assert_array_equal(
            a.users[f"exposed:{name.name}"].to_numpy(), b.users[f"exposed:{name.name}"].to_numpy()
        )


def test_targeting_an_unknown_covariate_is_refused():
    from attribution.simulate import ChannelSpec

    spec = ChannelSpec("x", 0.1, reach_covariate="score", reach_covariate_slope=1.0)
    with pytest.raises(SimulationConfigError, match="targets covariate 'score'"):
        SimulationConfig(channels=(spec,), n_users=10)
