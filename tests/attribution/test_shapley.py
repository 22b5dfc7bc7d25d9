"""Shapley family: hand-computed examples, brute-force cross-checks and input errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from attribution import (
    ConversionRateShapley,
    FirstTouch,
    InvalidModelOptionError,
    Journeys,
    OrderedShapley,
    SimplifiedShapley,
    conversion_rate_shapley_attribution,
    ordered_shapley_attribution,
    shapley_attribution,
)
from attribution.shapley import (
    MAX_SMOOTHING,
    channel_masks,
    empirical_bayes_smoothing,
    exact_shapley,
    shapley_weights,
)
from attribution.support import channel_support
from tests.attribution.conftest import cover_permutation_sums, permutation_sums


def brute_force_shapley(v: dict[frozenset[int], float], n: int) -> np.ndarray:
    """Average marginal contribution over all n! orders (the definition)."""
    phi = permutation_sums(range(n), v)
    return np.array([phi[i] for i in range(n)]) / math.factorial(n)


def all_sets(n: int) -> list[frozenset[int]]:
    return [frozenset(s) for r in range(n + 1) for s in itertools.combinations(range(n), r)]


@pytest.fixture
def three_paths() -> Journeys:
    return Journeys.from_sequences(
        [["A", "B", "A"], ["B"], ["C"], ["A", "C"]],
        [2, 1, 0, 1],
        [0, 3, 1, 2],
        [30.0, 10.0, 0.0, 8.0],
    )


# ------------------------------------------------------------------------------ simplified


def test_simplified_hand_computed(three_paths: Journeys) -> None:
    """Channel sets and conversions: {A,B}: 2 (value 30), {B}: 1 (10), {C}: 0, {A,C}: 1 (8).

    phi_A = 2/2 + 1/2 = 1.5, phi_B = 2/2 + 1/1 = 2, phi_C = 1/2 = 0.5;
    value: A = 30/2 + 8/2 = 19, B = 30/2 + 10 = 25, C = 8/2 = 4.
    """
    result = SimplifiedShapley(n_bootstrap=0).fit(three_paths).result_
    assert result.channels == ("A", "B", "C")
    np.testing.assert_allclose(result.conversions, [1.5, 2.0, 0.5])
    np.testing.assert_allclose(result.value, [19.0, 25.0, 4.0])
    np.testing.assert_allclose(result.share, [1.5 / 4, 2 / 4, 0.5 / 4])
    assert result.model == "shapley"


def test_simplified_equals_shapley_of_the_coverage_game(three_paths: Journeys) -> None:
    """v(S) = sum of R(T) over T within S; brute-force Shapley of that game."""
    r = {frozenset({0, 1}): 2.0, frozenset({1}): 1.0, frozenset({2}): 0.0, frozenset({0, 2}): 1.0}
    v = {s: sum(val for t, val in r.items() if t <= s) for s in all_sets(3)}
    expected = brute_force_shapley(v, 3)
    np.testing.assert_allclose(
        shapley_attribution(three_paths, n_bootstrap=0).conversions, expected
    )


def test_simplified_zero_for_channel_only_in_non_converting_journeys() -> None:
    j = Journeys.from_sequences([["A", "Z"], ["Z", "Z"], ["A"]], [0, 0, 3], [5, 2, 1])
    result = shapley_attribution(j, n_bootstrap=0)
    np.testing.assert_array_equal(result.conversions, [3.0, 0.0])


def test_channel_masks() -> None:
    j = Journeys.from_sequences([["A", "C", "A"], ["B"], ["C", "B"]], [1, 1, 1], [0, 0, 0])
    np.testing.assert_array_equal(channel_masks(j), np.array([0b101, 0b010, 0b110], np.uint64))


# ------------------------------------------------------------------------------ ordered


def test_ordered_hand_computed(three_paths: Journeys) -> None:
    """A>B>A (2 conv, 2 distinct channels): A gets 2/(2*2) = 0.5 at positions 1 and 3, B gets
    1.0 at position 2; B (1 conv): 1.0 at position 1; A>C (1 conv): 0.5 each at positions 1, 2;
    C alone has no conversion and gets nothing.
    """
    model = OrderedShapley(n_bootstrap=0, max_position=4).fit(three_paths)
    table = model.position_credit_
    assert list(table.columns) == ["position_1", "position_2", "position_3", "position_4+"]
    np.testing.assert_allclose(table.loc["A"], [1.0, 0.0, 0.5, 0.0])
    np.testing.assert_allclose(table.loc["B"], [1.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(table.loc["C"], [0.0, 0.5, 0.0, 0.0])
    result = model.result_
    np.testing.assert_allclose(result.conversions, [1.5, 2.0, 0.5])
    np.testing.assert_allclose(result.value, [19.0, 25.0, 4.0])
    frame = result.to_frame()
    assert "position_4+" in frame.columns


def test_ordered_uses_conversions_not_journey_counts() -> None:
    """A peer implementation credits every journey; only converting journeys count here."""
    j = Journeys.from_sequences([["A", "B"], ["B", "C"]], [1, 0], [0, 50])
    result = ordered_shapley_attribution(j, n_bootstrap=0)
    np.testing.assert_allclose(result.conversions, [0.5, 0.5, 0.0])
    assert result.conversions.sum() == pytest.approx(j.total_conversions)


def test_ordered_pools_late_positions() -> None:
    j = Journeys.from_sequences([["A", "B", "C", "D", "E", "F", "G"]], [7], [0])
    table = OrderedShapley(n_bootstrap=0, max_position=3).fit(j).position_credit_
    np.testing.assert_allclose(table.sum(axis=1).to_numpy(), np.ones(7))
    np.testing.assert_allclose(table["position_3+"].to_numpy(), [0, 0, 1, 1, 1, 1, 1])


# ------------------------------------------------------------------------------ conversion rate


def per_set_reference(j: Journeys, v: dict[frozenset[int], float]) -> tuple[np.ndarray, np.ndarray]:
    """The definition, by brute force: for each observed channel set S, the monotone cover
    vbar(T) = max over U within T of v(U) on the subsets of S, Shapley values of vbar over all
    orders of S, conversions and value of S split in proportion (equally if they sum to 0)."""
    n = j.n_channels
    conv, value = np.zeros(n), np.zeros(n)
    for p in range(j.n_paths):
        members = sorted({j.channels.index(c) for c in j.path(p)})
        phi = cover_permutation_sums(members, v)
        total = sum(phi.values())
        for i in members:
            share = phi[i] / total if total > 1e-12 else 1.0 / len(members)
            conv[i] += share * j.conversions[p]
            value[i] += share * j.value[p]
    return conv, value


def test_conversion_rate_hand_computed() -> None:
    """v(A) = 1/4, v(B) = 2/4, v(AB) = 3/4, v() = 0 (monotone: the cover changes nothing).

    {A} gives its 1 conversion to A and {B} its 2 to B. In {A, B}:
    phi_A = 1/2 (v(A) - v()) + 1/2 (v(AB) - v(B)) = 0.25 and phi_B = 1/2 * 0.5 + 1/2 * 0.5 = 0.5,
    so its 3 conversions are split 1 : 2. Credit: A = 1 + 1 = 2, B = 2 + 2 = 4.
    rate_contribution: A = (4 * 0.25 + 4 * 0.25) / 8 = 0.25, B = 0.5.
    """
    j = Journeys.from_sequences([["A"], ["B", "B"], ["A", "B"]], [1, 2, 3], [3, 2, 1])
    result = conversion_rate_shapley_attribution(j, unobserved="zero", n_bootstrap=0)
    np.testing.assert_allclose(result.conversions, [2.0, 4.0])
    np.testing.assert_allclose(result.extras["rate_contribution"], [0.25, 0.5])
    np.testing.assert_allclose(result.extras["credit_se"], [0.0, 0.0])
    assert result.diagnostics["exact"] == 1.0
    assert result.diagnostics["n_raised_by_cover"] == 0.0


def test_conversion_rate_cover_hand_computed() -> None:
    """C lowers the rate where it appears: v(A) = 0.4, v(C) = 0.01, v(AC) = 0.1, v() = 0.

    The monotone cover raises v(AC) to max(0.1, 0.4, 0.01) = 0.4. In {A, C}:
    phi_A = 1/2 (0.4 - 0) + 1/2 (0.4 - 0.01) = 0.395, phi_C = 1/2 (0.01 - 0) + 1/2 (0.4 - 0.4)
    = 0.005, total 0.4: A gets 98.75% and C 1.25% of the 10 conversions (value 100) of {A, C}.
    Credit: A = 40 + 9.875 = 49.875, C = 1 + 0.125 = 1.125 (at most S_C = 11, never negative;
    the former scaled global Shapley values gave C a negative credit). Value: A = 400 + 98.75,
    C = 10 + 1.25.
    """
    j = Journeys.from_sequences(
        [["A"], ["C"], ["A", "C"]], [40, 1, 10], [60, 99, 90], [400.0, 10.0, 100.0]
    )
    result = ConversionRateShapley(unobserved="zero", n_bootstrap=0).fit(j).result_
    np.testing.assert_allclose(result.conversions, [49.875, 1.125])
    np.testing.assert_allclose(result.value, [498.75, 11.25])
    assert result.diagnostics["n_raised_by_cover"] == 1.0
    # rate_contribution: A = (100 * 0.4 + 100 * 0.395) / 200, C = (100 * 0.01 + 100 * 0.005) / 200
    np.testing.assert_allclose(result.extras["rate_contribution"], [0.3975, 0.0075])


def _random_journeys(rng: np.random.Generator, n_channels: int, n_paths: int) -> Journeys:
    names = [f"c{i}" for i in range(n_channels)]
    paths = []
    for _ in range(n_paths):
        length = int(rng.integers(1, 5))
        paths.append([names[int(c)] for c in rng.integers(0, n_channels, length)])
    conv = rng.integers(0, 6, n_paths)
    nulls = rng.integers(1, 20, n_paths)
    conv[0] = max(conv[0], 1)
    return Journeys.from_sequences(paths, conv, nulls, conv * rng.uniform(5, 50, n_paths))


def _rate_table(j: Journeys) -> dict[frozenset[int], tuple[float, float]]:
    out: dict[frozenset[int], tuple[float, float]] = {}
    for p in range(j.n_paths):
        s = frozenset(j.channels.index(c) for c in j.path(p))
        c0, n0 = out.get(s, (0.0, 0.0))
        out[s] = (c0 + j.conversions[p], n0 + j.conversions[p] + j.nulls[p])
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conversion_rate_zero_policy_equals_brute_force(seed: int) -> None:
    """Raw rates, 0 for unobserved sets. Seed 1 has no journey touching all four channels,
    which the former scaled definition had to refuse (v(all) = 0); the per-set split does not
    need v(all)."""
    rng = np.random.default_rng(seed)
    j = _random_journeys(rng, 4, 12)
    counts = _rate_table(j)
    if seed == 1:
        assert frozenset(range(4)) not in counts
    v = {s: (counts[s][0] / counts[s][1] if s in counts else 0.0) for s in all_sets(j.n_channels)}
    v[frozenset()] = 0.0
    conv, value = per_set_reference(j, v)
    result = ConversionRateShapley(unobserved="zero", n_bootstrap=0).fit(j).result_
    np.testing.assert_allclose(result.conversions, conv, atol=1e-9)
    np.testing.assert_allclose(result.value, value, atol=1e-9)
    assert result.conversions.sum() == pytest.approx(j.total_conversions)


def _logistic_game(
    j: Journeys, coef: pd.Series, smoothing: float, v_empty: float
) -> dict[frozenset[int], float]:
    counts = _rate_table(j)
    v = {}
    for s in all_sets(j.n_channels):
        m = 1 / (1 + np.exp(-(coef["intercept"] + sum(coef[j.channels[i]] for i in s))))
        if s in counts:
            c, t = counts[s]
            v[s] = (c + smoothing * m) / (t + smoothing)
        else:
            v[s] = m
    v[frozenset()] = v_empty
    return v


def test_conversion_rate_logistic_policy_equals_brute_force_with_model_values() -> None:
    """Unobserved sets get sigmoid(b0 + sum b_c); observed ones are shrunk with k = 2."""
    rng = np.random.default_rng(5)
    j = _random_journeys(rng, 4, 6)
    model = ConversionRateShapley(smoothing=2.0, n_bootstrap=0).fit(j)
    coef = model.coefficients_
    assert coef is not None
    conv, value = per_set_reference(j, _logistic_game(j, coef, 2.0, 0.0))
    np.testing.assert_allclose(model.result_.conversions, conv, atol=1e-9)
    np.testing.assert_allclose(model.result_.value, value, atol=1e-9)


def test_logistic_fallback_matches_scikit_learn() -> None:
    """Penalty 1/2 |b|^2 with unpenalised intercept = scikit-learn's C=1 L2 logistic fit."""
    rng = np.random.default_rng(3)
    j = _random_journeys(rng, 5, 30)
    coef = ConversionRateShapley(n_bootstrap=0).fit(j).coefficients_
    assert coef is not None
    rows, labels, weights = [], [], []
    for p in range(j.n_paths):
        x = np.zeros(j.n_channels)
        for c in set(j.path(p)):
            x[j.channels.index(c)] = 1.0
        for label, weight in ((1, j.conversions[p]), (0, j.nulls[p])):
            if weight > 0:
                rows.append(x)
                labels.append(label)
                weights.append(weight)
    sk = LogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(
        np.array(rows), np.array(labels), sample_weight=np.array(weights, dtype=float)
    )
    np.testing.assert_allclose(coef.iloc[1:].to_numpy(), sk.coef_[0], atol=1e-5)
    assert coef["intercept"] == pytest.approx(sk.intercept_[0], abs=1e-5)


def test_conversion_rate_all_sets_observed_logistic_without_smoothing_is_empirical() -> None:
    j = Journeys.from_sequences([["A"], ["B"], ["A", "B"]], [1, 2, 3], [3, 2, 1])
    a = conversion_rate_shapley_attribution(j, smoothing=0.0, n_bootstrap=0)
    b = conversion_rate_shapley_attribution(j, unobserved="zero", n_bootstrap=0)
    np.testing.assert_allclose(a.conversions, b.conversions)


def test_conversion_rate_per_set_computation_equals_the_all_sets_table() -> None:
    """With more channels than max_exact_channels each set is computed on its own subsets;
    sets of at most max_exact_channels channels give exactly the all-sets result."""
    rng = np.random.default_rng(11)
    j = _random_journeys(rng, 6, 40)
    assert max(len(set(j.path(p))) for p in range(j.n_paths)) <= 4
    table = conversion_rate_shapley_attribution(j, n_bootstrap=0, max_exact_channels=6)
    per_set = conversion_rate_shapley_attribution(j, n_bootstrap=0, max_exact_channels=4)
    assert table.diagnostics["exact"] == per_set.diagnostics["exact"] == 1.0
    np.testing.assert_allclose(per_set.conversions, table.conversions, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(per_set.value, table.value, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        per_set.extras["rate_contribution"], table.extras["rate_contribution"], atol=1e-12
    )


def test_conversion_rate_sampling_agrees_with_exact() -> None:
    """Sets with more than max_exact_channels channels are split from random orders of their
    own channels. Here every channel raises the rate (all logistic coefficients > 0 and the
    model trusted, smoothing 1e9), so the game is monotone, the running maximum along an order
    is the cover, and the estimate is unbiased: within 5 standard errors of the exact split."""
    rng = np.random.default_rng(4)
    names = [f"c{i}" for i in range(6)]
    paths = [[names[c] for c in rng.permutation(6)[: rng.integers(1, 7)]] for _ in range(60)]
    journeys = rng.integers(50, 200, 60)
    conv = rng.binomial(journeys, [0.02 + 0.05 * len(p) for p in paths])
    j = Journeys.from_sequences(paths, conv, journeys - conv)
    exact = ConversionRateShapley(smoothing=1e9, n_bootstrap=0).fit(j)
    assert exact.coefficients_ is not None and (exact.coefficients_.iloc[1:] > 0).all()
    sampled = conversion_rate_shapley_attribution(
        j, smoothing=1e9, n_bootstrap=0, max_exact_channels=3, n_permutations=400
    )
    se = sampled.extras["credit_se"]
    assert sampled.diagnostics["exact"] == 0.0
    assert sampled.diagnostics["n_sampled_sets"] > 0
    assert np.all(se > 0)
    assert np.all(np.abs(sampled.conversions - exact.result_.conversions) < 5 * se + 1e-9)
    assert sampled.conversions.sum() == pytest.approx(j.total_conversions)
    assert any("random orders" in note for note in sampled.notes)


def test_conversion_rate_exact_at_20_channels_is_efficient_and_bounded() -> None:
    """All 2^20 sets: credit sums to the conversions and stays within each channel's support."""
    rng = np.random.default_rng(2)
    j = _random_journeys(rng, 20, 400)
    assert j.n_channels == 20
    result = conversion_rate_shapley_attribution(j, n_bootstrap=0)
    assert result.diagnostics["exact"] == 1.0
    assert result.conversions.sum() == pytest.approx(j.total_conversions)
    assert np.all(result.conversions >= 0)
    assert np.all(result.conversions <= channel_support(j).conversions + 1e-9)


def test_conversion_rate_model_baseline() -> None:
    j = Journeys.from_sequences([["A"], ["B"], ["A", "B"]], [1, 2, 3], [3, 2, 1])
    model = ConversionRateShapley(baseline="model", n_bootstrap=0).fit(j)
    coef = model.coefficients_
    assert coef is not None
    expected = 1 / (1 + np.exp(-coef["intercept"]))
    assert model.result_.diagnostics["v_empty"] == pytest.approx(expected)
    k = model.result_.diagnostics["smoothing"]
    conv, value = per_set_reference(j, _logistic_game(j, coef, k, expected))
    np.testing.assert_allclose(model.result_.conversions, conv, atol=1e-9)
    np.testing.assert_allclose(model.result_.value, value, atol=1e-9)


def test_conversion_rate_set_without_contribution_is_split_equally() -> None:
    """baseline='model' with one set whose rate never beats the baseline: the cover is flat on
    it (vbar(S) = v(empty)), so its conversions are split equally among its channels."""
    j = Journeys.from_sequences(
        [["A"], ["B"], ["A", "B"], ["C"], ["C", "D"]],
        [30, 30, 30, 1, 1],
        [70, 70, 70, 999, 999],
    )
    model = ConversionRateShapley(baseline="model", smoothing=0.0, n_bootstrap=0).fit(j)
    result = model.result_
    v_empty = result.diagnostics["v_empty"]
    assert 0.002 < v_empty  # C and D convert at 0.001, below the intercept's rate
    assert result.diagnostics["n_equal_split"] == 2.0  # {C} and {C, D}
    c, d = result.channels.index("C"), result.channels.index("D")
    assert result.conversions[c] == pytest.approx(1.5)
    assert result.conversions[d] == pytest.approx(0.5)


# ------------------------------------------------------------------------------ exact_shapley


def _mobius_shapley(values: np.ndarray, n: int) -> np.ndarray:
    """Independent formula: phi_i = sum over T containing i of dividend(T) / |T|."""
    phi = np.zeros(n)
    for t in range(1, 1 << n):
        dividend = 0.0
        sub = t
        while True:  # all subsets of t
            dividend += (-1) ** (bin(t).count("1") - bin(sub).count("1")) * values[sub]
            if sub == 0:
                break
            sub = (sub - 1) & t
        members = [i for i in range(n) if t >> i & 1]
        for i in members:
            phi[i] += dividend / len(members)
    return phi


def test_exact_shapley_matches_harsanyi_dividends_at_8_players() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=1 << 8)
    np.testing.assert_allclose(exact_shapley(values, 8), _mobius_shapley(values, 8), atol=1e-10)


def test_exact_shapley_batches_games() -> None:
    rng = np.random.default_rng(1)
    games = rng.normal(size=(3, 2, 1 << 4))
    out = exact_shapley(games, 4)
    assert out.shape == (3, 2, 4)
    np.testing.assert_allclose(out[2, 1], exact_shapley(games[2, 1], 4))


def test_shapley_weights_sum_to_one_over_coalitions() -> None:
    n = 7
    w = shapley_weights(n)
    total = sum(w[s] * math.comb(n - 1, s) for s in range(n))
    assert total == pytest.approx(1.0)


def test_exact_shapley_rejects_wrong_length() -> None:
    with pytest.raises(ValueError, match="2\\*\\*3"):
        exact_shapley(np.zeros(7), 3)


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"unobserved": "mean"}, "unobserved must be 'logistic' or 'zero'"),
        ({"baseline": "one"}, "baseline must be 'zero' or 'model'"),
        ({"baseline": "model", "unobserved": "zero"}, "needs the logistic model"),
        ({"smoothing": -1.0}, "smoothing must be .auto. or a non-negative number"),
        ({"smoothing": "a lot"}, "smoothing must be .auto. or a non-negative number"),
        ({"max_exact_channels": 30}, "max_exact_channels must be at least 1 and at most 24"),
        ({"n_permutations": 1}, "n_permutations must be at least 2"),
        ({"max_exact_channels": 2.5}, "max_exact_channels must be an integer"),
    ],
)
def test_conversion_rate_option_errors(params: dict[str, object], match: str) -> None:
    j = Journeys.from_sequences([["A"], ["B"]], [1, 1], [1, 1])
    with pytest.raises(InvalidModelOptionError, match=match):
        ConversionRateShapley(n_bootstrap=0, **params).fit(j)


def test_ordered_option_error() -> None:
    j = Journeys.from_sequences([["A"], ["B"]], [1, 1], [1, 1])
    with pytest.raises(InvalidModelOptionError, match="max_position must be at least 1"):
        OrderedShapley(max_position=0, n_bootstrap=0).fit(j)


def test_more_than_64_channels_is_a_clear_error() -> None:
    paths = [[f"ch{i:03d}"] for i in range(70)]
    j = Journeys.from_sequences(paths, [1] * 70, [1] * 70)
    with pytest.raises(InvalidModelOptionError, match=r"at most 64 channels.*group rare channels"):
        ConversionRateShapley(n_bootstrap=0).fit(j)
    # the simplified Shapley needs no bitmasks
    assert shapley_attribution(j, n_bootstrap=0).conversions.sum() == pytest.approx(70)


def test_params_and_repr() -> None:
    model = ConversionRateShapley(smoothing=3.0)
    assert model.get_params()["smoothing"] == 3.0
    assert "ConversionRateShapley(unobserved='logistic'" in repr(model)
    j = Journeys.from_sequences([["A"], ["B"]], [1, 1], [1, 1])
    fitted = ConversionRateShapley(n_bootstrap=0).fit(j).result_
    assert fitted.params["unobserved"] == "logistic"
    assert isinstance(fitted.to_frame(), pd.DataFrame)


# ------------------------------------------------------------------------------ smoothing


def test_empirical_bayes_smoothing_hand_computed() -> None:
    """n = (10, 10), c = (2, 8), m = 0.5: rho = (6.5 + 6.5) / (2 * 10 * 9 * 0.25) = 13/45,
    k = 45/13 - 1 = 32/13."""
    k = empirical_bayes_smoothing(np.array([2.0, 8.0]), np.array([10.0, 10.0]), np.full(2, 0.5))
    assert k == pytest.approx(32 / 13)


def test_empirical_bayes_smoothing_limits() -> None:
    # counts exactly at the model: no over-dispersion, the model is trusted
    n = np.array([100.0, 200.0, 50.0])
    m = np.array([0.1, 0.2, 0.3])
    assert empirical_bayes_smoothing(n * m, n, m) == MAX_SMOOTHING
    # one journey per set: nothing to estimate from
    assert empirical_bayes_smoothing(np.array([1.0, 0.0]), np.ones(2), np.full(2, 0.5)) == (
        MAX_SMOOTHING
    )
    # sets far from the model: little shrinkage
    k = empirical_bayes_smoothing(np.array([0.0, 1000.0]), np.full(2, 1000.0), np.full(2, 0.5))
    assert k < 0.01


def test_auto_smoothing_is_reported_and_used() -> None:
    rng = np.random.default_rng(8)
    j = _random_journeys(rng, 4, 30)
    model = ConversionRateShapley(n_bootstrap=0).fit(j)
    k = model.result_.diagnostics["smoothing"]
    explicit = ConversionRateShapley(n_bootstrap=0, smoothing=k).fit(j)
    np.testing.assert_allclose(model.result_.conversions, explicit.result_.conversions)
    assert model.get_params()["smoothing"] == "auto"


# ------------------------------------------------------------------------------ known truth


def _tv(credit: np.ndarray, channels: tuple[str, ...], truth: pd.Series) -> float:
    p = pd.Series(credit / credit.sum(), index=list(channels))
    q = truth / truth.sum()
    return float(0.5 * (p - q.reindex(p.index).fillna(0.0)).abs().sum())


def test_conversion_rate_shapley_against_the_simulator_truth() -> None:
    """Without selection bias the causal game is close to the truth (and much closer than
    first touch); with the default selection bias the non-causal 'direct' channel, which only
    reaches high-intent users, gets substantial credit: the bias the benchmark documents."""
    from attribution.simulate import SimulationConfig, simulate_journeys

    clean = simulate_journeys(SimulationConfig.preset("no_selection", n_users=100_000, seed=0))
    j = Journeys.from_events(clean.events)
    truth = clean.truth["share"]
    truth.index = truth.index.astype(str)
    crs = conversion_rate_shapley_attribution(j, n_bootstrap=0)
    first = FirstTouch(n_bootstrap=0).fit(j).result_
    assert _tv(crs.conversions, crs.channels, truth) < 0.25
    assert _tv(first.conversions, first.channels, truth) > 0.4

    biased = simulate_journeys(SimulationConfig.preset("selection_bias", n_users=100_000, seed=0))
    jb = Journeys.from_events(biased.events)
    assert biased.truth.loc["direct", "share"] == 0.0
    result = conversion_rate_shapley_attribution(jb, n_bootstrap=0)
    assert result.share[result.channels.index("direct")] > 0.08
