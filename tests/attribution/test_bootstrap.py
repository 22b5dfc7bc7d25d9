"""Bootstrap intervals for every model: determinism, containment, schemes, width, coverage."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from attribution import Journeys, SimplifiedShapley
from attribution.bootstrap import resample_counts
from attribution.catalog import MODELS, models_for

PARAMS: dict[str, dict[str, Any]] = {"data_driven": {"n_estimators": 20}}
CASES = [pytest.param(name, {}, id=name) for name in models_for(has_users=False)] + [
    pytest.param("markov", {"order": 2}, id="markov_order2")
]


def _journeys(scale: int = 1, seed: int = 0) -> Journeys:
    """A fixed set of paths; counts drawn with expected totals proportional to ``scale``."""
    rng = np.random.default_rng(seed)
    paths = [
        ["search"],
        ["email"],
        ["display", "search"],
        ["email", "search"],
        ["display", "email", "search"],
        ["display"],
        ["social", "email"],
        ["social"],
        ["search", "search", "email"],
    ]
    rates = np.array([0.12, 0.08, 0.10, 0.15, 0.2, 0.01, 0.06, 0.02, 0.18])
    n = rng.poisson(300 * scale, len(paths)) + 1
    conv = rng.binomial(n, rates)
    value = conv * 40.0 + rng.uniform(0, 5, len(paths)) * conv
    return Journeys.from_sequences(paths, conv, n - conv, value)


def _fit(name: str, params: dict[str, Any], journeys: Journeys, **kwargs: Any) -> Any:
    options = {**PARAMS.get(name, {}), **params, **kwargs}
    return MODELS[name](**options).fit(journeys).result_


@pytest.mark.parametrize(("name", "params"), CASES)
def test_intervals_for_every_model(name: str, params: dict[str, Any]) -> None:
    j = _journeys()
    a = _fit(name, params, j, n_bootstrap=60, seed=7)
    b = _fit(name, params, j, n_bootstrap=60, seed=7)
    c = _fit(name, params, j, n_bootstrap=60, seed=8)
    assert a.ci is not None and b.ci is not None and c.ci is not None
    # deterministic given the seed, different with another seed
    np.testing.assert_array_equal(a.ci.conversions_low, b.ci.conversions_low)
    np.testing.assert_array_equal(a.ci.value_high, b.ci.value_high)
    assert not np.array_equal(a.ci.conversions_high, c.ci.conversions_high)
    # ordered bounds that contain the point estimate on these data
    assert np.all(a.ci.conversions_low <= a.ci.conversions_high)
    assert np.all(a.ci.conversions_low <= a.conversions + 1e-9)
    assert np.all(a.conversions <= a.ci.conversions_high + 1e-9)
    assert np.all(a.ci.value_low <= a.value + 1e-6)
    assert np.all(a.value <= a.ci.value_high + 1e-6)
    frame = a.to_frame()
    for column in ("ci_low", "ci_high", "value_ci_low", "value_ci_high"):
        assert column in frame.columns
    interval = a.to_dict()["interval"]
    assert interval == {"level": 0.95, "replicates": 60, "method": "poisson", "seed": 7}


@pytest.mark.parametrize("name", ["shapley", "conversion_rate_shapley", "markov", "data_driven"])
def test_multinomial_and_poisson_both_work(name: str) -> None:
    j = _journeys()
    widths = {}
    for method in ("poisson", "multinomial"):
        r = _fit(name, {}, j, n_bootstrap=100, bootstrap_method=method)
        assert r.ci is not None and r.ci.method == method
        assert np.all(r.ci.conversions_low <= r.conversions + 1e-9)
        assert np.all(r.conversions <= r.ci.conversions_high + 1e-9)
        widths[method] = r.ci.conversions_high - r.ci.conversions_low
    # the multinomial fixes the total number of journeys, so its intervals are not wider by
    # much; both estimate the same sampling variability
    ratio = widths["multinomial"].sum() / widths["poisson"].sum()
    assert 0.6 < ratio < 1.4


def test_multinomial_replicates_keep_the_number_of_journeys() -> None:
    j = _journeys()
    rng = np.random.default_rng(0)
    conv, nulls, value = resample_counts(j, rng, "multinomial")
    assert conv.sum() + nulls.sum() == j.n_journeys
    mean_value = j.value / np.maximum(j.conversions, 1)
    np.testing.assert_allclose(value, conv * mean_value)


@pytest.mark.parametrize(
    "name", ["shapley", "ordered_shapley", "conversion_rate_shapley", "markov"]
)
def test_width_shrinks_with_more_data(name: str) -> None:
    """16 times the journeys: intervals about 4 times narrower (1/sqrt(n))."""
    small = _fit(name, {}, _journeys(scale=1), n_bootstrap=100)
    large = _fit(name, {}, _journeys(scale=16), n_bootstrap=100)
    assert small.ci is not None and large.ci is not None
    # compare relative widths (credit grows with the data)
    rel_small = (
        small.ci.conversions_high - small.ci.conversions_low
    ).sum() / small.conversions.sum()
    rel_large = (
        large.ci.conversions_high - large.ci.conversions_low
    ).sum() / large.conversions.sum()
    assert 0.12 < rel_large / rel_small < 0.45


def test_simplified_shapley_intervals_cover_the_expected_credit() -> None:
    """Counts ~ Poisson(lambda) on fixed paths: the expected credit is F' lambda. Over 120
    simulated data sets the 90% interval of the first channel covers it about 90% of the time.
    """
    base = _journeys()
    lam_conv = base.conversions.astype(float) / 4
    lam_null = base.nulls.astype(float) / 4
    model = SimplifiedShapley(n_bootstrap=0)
    prepared = model._prepare(base)
    truth = prepared.fractions.T @ lam_conv
    rng = np.random.default_rng(123)
    hits = np.zeros(base.n_channels)
    n_sets = 120
    for s in range(n_sets):
        conv = rng.poisson(lam_conv)
        nulls = rng.poisson(lam_null) + (conv == 0)  # keep every path non-empty
        j = Journeys(base.channels, base.offsets, base.touches, conv, nulls, conv * 40.0)
        r = SimplifiedShapley(n_bootstrap=100, ci=0.9, seed=s).fit(j).result_
        assert r.ci is not None
        hits += (r.ci.conversions_low <= truth) & (truth <= r.ci.conversions_high)
    coverage = hits / n_sets
    assert np.all(coverage > 0.78), coverage
    assert np.all(coverage < 0.99), coverage


def test_data_driven_intervals_reaggregate_fixed_fractions() -> None:
    """The model is not refitted per replicate: each replicate is F' c* for resampled c*."""
    j = _journeys()
    model = MODELS["data_driven"](n_estimators=20, n_bootstrap=40, seed=3).fit(j)
    rng = np.random.default_rng(3)
    draws = []
    for _ in range(40):
        conv, _, _ = resample_counts(j, rng, "poisson")
        draws.append(model.prepared_.conversions.T @ conv)
    ci = model.result_.ci
    assert ci is not None
    np.testing.assert_allclose(ci.conversions_low, np.percentile(draws, 2.5, axis=0))
    np.testing.assert_allclose(ci.conversions_high, np.percentile(draws, 97.5, axis=0))


def test_sampled_conversion_rate_shapley_is_deterministic() -> None:
    j = _journeys()
    a = _fit("conversion_rate_shapley", {}, j, max_exact_channels=2, n_bootstrap=30)
    b = _fit("conversion_rate_shapley", {}, j, max_exact_channels=2, n_bootstrap=30)
    np.testing.assert_array_equal(a.conversions, b.conversions)
    assert a.ci is not None and b.ci is not None
    np.testing.assert_array_equal(a.ci.conversions_low, b.ci.conversions_low)
