"""Data-driven (LightGBM) attribution: brute-force cross-check, removal definition, metrics."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from attribution import (
    DataDrivenAttribution,
    InvalidModelOptionError,
    Journeys,
    data_driven_attribution,
)
from attribution.data_driven import (
    _build_units,
    _coalition_features,
    _full_features,
    _touch_table,
)
from attribution.support import channel_support
from tests.attribution.conftest import cover_permutation_sums


@pytest.fixture(scope="module")
def causal_paths() -> Journeys:
    """Channel A causes conversions (rate 0.3 with A, 0.02 without); B is noise."""
    rng = np.random.default_rng(0)
    paths = [["A"], ["B"], ["A", "B"], ["B", "A"], ["B", "B"], ["A", "A", "B"], ["C"], ["C", "A"]]
    rates = [0.3 if "A" in p else 0.02 for p in paths]
    n = 400
    conv = rng.binomial(n, rates)
    return Journeys.from_sequences(paths, conv, n - conv, conv * 20.0)


def _features(path: list[str], channels: tuple[str, ...]) -> np.ndarray:
    """Features of a path as documented: counts, length, first and last channel codes."""
    x = np.zeros(len(channels) + 3)
    for c in path:
        x[channels.index(c)] += 1
    x[len(channels)] = len(path)
    x[len(channels) + 1] = channels.index(path[0]) if path else np.nan
    x[len(channels) + 2] = channels.index(path[-1]) if path else np.nan
    return x


def test_credit_equals_brute_force_over_the_fitted_model(causal_paths: Journeys) -> None:
    """Per converting path: drop channels outside S, predict, take the monotone cover (best
    prediction of any sub-journey), permute, normalise, aggregate."""
    model = DataDrivenAttribution(n_bootstrap=0, n_estimators=30).fit(causal_paths)
    chans = causal_paths.channels
    expected = np.zeros(len(chans))
    expected_value = np.zeros(len(chans))
    for p in range(causal_paths.n_paths):
        if causal_paths.conversions[p] == 0:
            continue
        path = list(causal_paths.path(p))
        members = sorted(set(path))
        k = len(members)
        cache: dict[frozenset[str], float] = {frozenset(): 0.0}
        for r in range(1, k + 1):
            for subset in itertools.combinations(members, r):
                kept = [c for c in path if c in subset]
                x = _features(kept, chans)[None, :]
                cache[frozenset(subset)] = float(model.model_.predict_proba(x)[0, 1])
        phi = cover_permutation_sums(members, cache)
        total = sum(phi.values())
        for c in members:
            share = phi[c] / total
            expected[chans.index(c)] += share * causal_paths.conversions[p]
            expected_value[chans.index(c)] += share * causal_paths.value[p]
    np.testing.assert_allclose(model.result_.conversions, expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(model.result_.value, expected_value, rtol=1e-9, atol=1e-9)
    assert model.result_.conversions.sum() == pytest.approx(causal_paths.total_conversions)
    assert model.result_.value.sum() == pytest.approx(causal_paths.total_value)


def test_causal_channel_gets_most_credit(causal_paths: Journeys) -> None:
    result = data_driven_attribution(causal_paths, n_bootstrap=0)
    a = result.conversions[0]
    assert a > 0.8 * result.conversions.sum()
    assert result.diagnostics["heldout_auc"] > 0.6
    assert result.diagnostics["heldout_log_loss"] < result.diagnostics["heldout_base_log_loss"]
    assert result.model == "data_driven"
    assert any("no timestamps" in note for note in result.notes)


def test_removing_a_channel_recomputes_features() -> None:
    """Path A > B > A > C without A is B > C: counts (0, 1, 1), length 2, first B, last C."""
    j = Journeys.from_sequences([["A", "B", "A", "C"], ["B", "C"]], [1, 1], [1, 1])
    units = _build_units(*_touch_table(j, False), n_channels=3)
    keep = np.array([[[False, True, True], [True, False, False], [True, True, True]]])
    x = _coalition_features(units, np.array([0]), 3, keep, 3)
    np.testing.assert_allclose(x[0], [0, 1, 1, 2, 1, 2])  # = features of B > C
    np.testing.assert_allclose(x[0], _full_features(units, 3)[1])
    np.testing.assert_allclose(x[1], [2, 0, 0, 2, 0, 0])  # A > A
    np.testing.assert_allclose(x[2], [2, 1, 1, 4, 0, 2])


def _event_log() -> pd.DataFrame:
    t0 = pd.Timestamp("2024-01-01")
    rows = [
        # user 1: A (0h) > B (10h) > A (30h), converts at 40h
        (1, t0, "A", 0),
        (1, t0 + pd.Timedelta(hours=10), "B", 0),
        (1, t0 + pd.Timedelta(hours=30), "A", 0),
        (1, t0 + pd.Timedelta(hours=40), None, 1),
        # user 2: B (0h) > C (4h), no conversion
        (2, t0, "B", 0),
        (2, t0 + pd.Timedelta(hours=4), "C", 0),
        # user 3: C (0h), converts at 1h
        (3, t0, "C", 0),
        (3, t0 + pd.Timedelta(hours=1), None, 1),
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "timestamp", "channel", "conversion"])
    frame["value"] = np.where(frame["conversion"] == 1, 10.0, 0.0)
    return frame


def test_timing_features_follow_the_kept_touches() -> None:
    """Without B, user 1's journey is A (0h) > A (30h): duration 30h, mean gap 30h; without the
    second A nothing changes in time. No feature looks at the conversion time (no leak)."""
    j = Journeys.from_events(_event_log())
    assert j.timing is not None
    units = _build_units(*_touch_table(j, True), n_channels=j.n_channels)
    u = int(np.flatnonzero(units.distinct == 2)[0])  # user 1 (A, B)
    keep = np.array([[[True, False], [False, True], [True, True]]])
    x = _coalition_features(units, np.array([u]), 2, keep, j.n_channels)
    n = j.n_channels
    assert x[0, n + 3] == pytest.approx(30.0) and x[0, n + 4] == pytest.approx(30.0)
    assert x[1, n + 3] == pytest.approx(0.0) and x[1, n + 4] == pytest.approx(0.0)
    assert x[2, n + 3] == pytest.approx(30.0) and x[2, n + 4] == pytest.approx(15.0)
    full = _full_features(units, n)
    converted = j.timing.converted
    # duration is measured between touches only: user 3 (converted, one touch) has duration 0
    assert full[converted & (units.distinct == 1), n + 3].tolist() == [0.0]


def test_timestamped_journeys_sum_to_totals_and_use_timing() -> None:
    from attribution.simulate import SimulationConfig, simulate_journeys

    sim = simulate_journeys(SimulationConfig(n_users=8000, seed=3))
    j = Journeys.from_events(sim.events)
    model = DataDrivenAttribution(n_bootstrap=0, n_estimators=40).fit(j)
    result = model.result_
    assert "duration_hours" in model.feature_names_
    assert result.conversions.sum() == pytest.approx(j.total_conversions)
    assert result.value.sum() == pytest.approx(j.total_value)
    assert 0.5 < result.diagnostics["heldout_auc"] <= 1.0
    plain = DataDrivenAttribution(n_bootstrap=0, n_estimators=40, use_timing=False).fit(j)
    assert "duration_hours" not in plain.feature_names_


def test_sampled_shapley_agrees_with_exact(causal_paths: Journeys) -> None:
    exact = data_driven_attribution(causal_paths, n_bootstrap=0, n_estimators=30)
    sampled = data_driven_attribution(
        causal_paths, n_bootstrap=0, n_estimators=30, max_exact_channels=1, n_permutations=3000
    )
    assert sampled.diagnostics["n_sampled_journeys"] > 0
    np.testing.assert_allclose(sampled.conversions, exact.conversions, rtol=0.02, atol=1.0)
    assert sampled.conversions.sum() == pytest.approx(causal_paths.total_conversions)


def test_deterministic_given_seed(causal_paths: Journeys) -> None:
    a = data_driven_attribution(causal_paths, n_bootstrap=20, n_estimators=20, seed=4)
    b = data_driven_attribution(causal_paths, n_bootstrap=20, n_estimators=20, seed=4)
    np.testing.assert_array_equal(a.conversions, b.conversions)
    assert a.ci is not None and b.ci is not None
    np.testing.assert_array_equal(a.ci.conversions_low, b.ci.conversions_low)


def test_model_baseline_is_prediction_of_empty_journey(causal_paths: Journeys) -> None:
    model = DataDrivenAttribution(n_bootstrap=0, n_estimators=30, baseline="model").fit(
        causal_paths
    )
    empty = np.zeros((1, causal_paths.n_channels + 3))
    empty[0, -2:] = np.nan
    expected = model.model_.predict_proba(empty)[0, 1]
    assert model.result_.diagnostics["v_empty"] == pytest.approx(expected)
    assert model.result_.conversions.sum() == pytest.approx(causal_paths.total_conversions)


def test_needs_non_converting_journeys() -> None:
    j = Journeys.from_sequences([["A"], ["B"]], [1, 2], [0, 0])
    with pytest.raises(InvalidModelOptionError, match="needs non-converting journeys"):
        DataDrivenAttribution(n_bootstrap=0).fit(j)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_estimators": 0}, "n_estimators must be between 1"),
        ({"min_child_weight": -1.0}, "min_child_weight must be a non-negative number"),
        ({"max_exact_channels": 20}, "max_exact_channels must be between 1 and 16"),
        ({"learning_rate": 2.0}, "learning_rate must be in"),
        ({"test_size": 1.0}, "test_size must be in"),
        ({"baseline": "mean"}, "baseline must be 'zero' or 'model'"),
        ({"n_permutations": True}, "n_permutations must be an integer"),
    ],
)
def test_option_errors(causal_paths: Journeys, params: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidModelOptionError, match=match):
        DataDrivenAttribution(n_bootstrap=0, **params).fit(causal_paths)


@pytest.mark.parametrize("baseline", ["zero", "model"])
def test_journeys_predicted_below_a_sub_journey_are_raised_by_the_cover(baseline: str) -> None:
    """A > D converts less than A alone: without the cover D's Shapley value in A > D would be
    negative; with it the fractions stay in [0, 1] and the raised journeys are counted."""
    rng = np.random.default_rng(1)
    paths = [["A"], ["D"], ["A", "D"]]
    conv = rng.binomial(500, [0.3, 0.1, 0.05])
    j = Journeys.from_sequences(paths, conv, 500 - conv)
    result = data_driven_attribution(j, n_bootstrap=0, n_estimators=30, baseline=baseline)
    assert result.diagnostics["n_raised_by_cover"] >= 1
    assert result.conversions.sum() == pytest.approx(j.total_conversions)
    assert np.all(result.conversions >= 0)
    assert np.all(result.conversions <= channel_support(j).conversions)


def test_a_split_that_leaves_one_outcome_out_of_training_reports_no_held_out_metrics() -> None:
    """Two conversions and one null: some seeds hold out the only null and one conversion, which
    leaves a single training row of one class; the held-out model is skipped, the model still
    fits on all rows and credits both conversions."""
    journeys = Journeys.from_sequences([["A", "B"], ["B"]], [2, 0], [0, 1])
    skipped = 0
    for seed in range(12):
        result = DataDrivenAttribution(n_bootstrap=0, seed=seed, test_size=0.5).fit(journeys)
        assert result.result_.conversions.sum() == pytest.approx(2.0)
        skipped += "heldout_auc" not in result.result_.diagnostics
    assert skipped > 0
