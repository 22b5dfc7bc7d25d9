"""Markov-chain attribution: the hand-checked case, an independent implementation, options."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from attribution import InvalidModelOptionError, Journeys, MarkovAttribution, select_order
from attribution.markov import markov_attribution


@pytest.fixture
def hand_case():
    """Paths A > B (1 conv, value 10), B (1 null), A (1 conv value 5, 1 null)."""
    return Journeys.from_sequences([["A", "B"], ["B"], ["A"]], [1, 0, 1], [0, 1, 1], [10, 0, 5])


def test_hand_case_order_1(hand_case):
    m = MarkovAttribution(order=1, n_bootstrap=0).fit(hand_case)
    assert m.conversion_probability_ == pytest.approx(0.5)
    np.testing.assert_allclose(m.result_.extras["removal_effect"], [0.75, 0.5])
    np.testing.assert_allclose(m.result_.conversions, [1.2, 0.8])
    np.testing.assert_allclose(m.result_.value, [7.5, 7.5])
    matrix = m.transition_matrix()
    assert matrix.loc["(start)", "A"] == pytest.approx(0.75)
    assert matrix.loc["A", "B"] == pytest.approx(1 / 3)
    assert matrix.loc["B", "(null)"] == pytest.approx(0.5)


def test_hand_case_order_2(hand_case):
    r = markov_attribution(hand_case, order=2, n_bootstrap=0)
    np.testing.assert_allclose(r.conversions, [4 / 3, 2 / 3])
    np.testing.assert_allclose(r.value, [9.0, 6.0])
    np.testing.assert_allclose(r.extras["removal_effect"], [1.0, 0.5])


def test_support_caps_bind_water_filling_hand_computed():
    """Paths C > A (1 conv, value 10, 9 nulls), A (4 conv, value 40, 6 nulls), B (5 conv, value
    100, 5 nulls); order 1.

    Chain: (start) -> C, A, B with 10 journeys each; C -> A; A converts 5/20 = 0.25, B 0.5.
    P(conversion) = (10 * 0.25 + 10 * 0.25 + 10 * 0.5) / 30 = 1/3. Removing C leaves
    7.5/30 = 0.25 (RE_C = 0.25), removing A or B leaves 5/30 (RE_A = RE_B = 0.5).
    Unbounded credit 10 * RE / 1.25 = (A 4, B 4, C 2), but only 1 conversion touched C
    (S = A 5, B 5, C 1): C gets its cap 1 and the other 9 are shared 0.5 : 0.5, 4.5 each.
    Value: E = (25 + 25 + 100) / 30 = 5; removing C, A, B leaves 125/30, 100/30, 50/30, so
    RE^value = (A 1/3, B 2/3, C 1/6); unbounded C would get 150 * (1/6) / (7/6) = 21.4 > V_C = 10,
    so C gets 10 and A, B share 140 as 1 : 2 (46.67 and 93.33, under V = 50 and 100).
    """
    j = Journeys.from_sequences(
        [["C", "A"], ["A"], ["B"]], [1, 4, 5], [9, 6, 5], [10.0, 40.0, 100.0]
    )
    r = MarkovAttribution(order=1, n_bootstrap=0).fit(j).result_
    assert r.channels == ("A", "B", "C")
    np.testing.assert_allclose(r.extras["removal_effect"], [0.5, 0.5, 0.25])
    np.testing.assert_allclose(r.extras["value_removal_effect"], [1 / 3, 2 / 3, 1 / 6])
    np.testing.assert_allclose(r.conversions, [4.5, 4.5, 1.0])
    np.testing.assert_allclose(r.value, [140 / 3, 280 / 3, 10.0])


def test_channel_only_in_non_converting_journeys_gets_nothing():
    """C > A never converts, but at order 1 the state C leads to A, which does: RE_C = 0.5 with
    no converting journey touching C (S_C = 0), so C gets 0 and A all 5 conversions."""
    j = Journeys.from_sequences([["C", "A"], ["A"]], [0, 5], [10, 5])
    r = MarkovAttribution(order=1, n_bootstrap=0).fit(j).result_
    np.testing.assert_allclose(r.extras["removal_effect"], [1.0, 0.5])
    np.testing.assert_allclose(r.conversions, [5.0, 0.0])


# ----------------------------------------------------------------------------- reference


def reference_markov(paths, conv, null, value, order, keep_self_loops=False):
    """Direct implementation: dict transition counts and a dense solve per removal."""
    trans: dict[tuple, dict] = {}
    end_value: dict[tuple, float] = {}

    def add(a, b, w):
        trans.setdefault(a, {}).setdefault(b, 0.0)
        trans[a][b] += w

    for p, c, n, v in zip(paths, conv, null, value, strict=True):
        if len(p) < order:
            states = [tuple(p)]
        else:
            states = [tuple(p[i : i + order]) for i in range(len(p) - order + 1)]
        if not keep_self_loops:
            states = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
        add("start", states[0], c + n)
        for a, b in itertools.pairwise(states):
            add(a, b, c + n)
        add(states[-1], "conv", c)
        add(states[-1], "null", n)
        end_value[states[-1]] = end_value.get(states[-1], 0.0) + v
    transient = sorted({s for s in trans if s != "start"}, key=str)
    idx = {s: i for i, s in enumerate(transient)}

    def solve(removed_channel):
        n = len(transient)
        q = np.zeros((n, n))
        r = np.zeros((n, 2))
        for s in transient:
            if removed_channel is not None and removed_channel in s:
                continue
            out = sum(trans[s].values())
            for t, w in trans[s].items():
                if t == "conv":
                    conv_w = trans[s].get("conv", 0.0)
                    mean_v = end_value[s] / conv_w if conv_w else 0.0
                    r[idx[s]] = [w / out, w / out * mean_v]
                elif t != "null" and not (removed_channel is not None and removed_channel in t):
                    q[idx[s], idx[t]] = w / out
        x = np.linalg.solve(np.eye(n) - q, r)
        start_out = sum(trans["start"].values())
        total = np.zeros(2)
        for t, w in trans["start"].items():
            if removed_channel is None or removed_channel not in t:
                total += w / start_out * x[idx[t]]
        return total

    base = solve(None)
    channels = sorted({ch for p in paths for ch in p})
    re = np.array([1 - solve(ch) / base for ch in channels])
    credit = sum(conv) * re[:, 0] / re[:, 0].sum()
    value_credit = sum(value) * re[:, 1] / re[:, 1].sum()
    return channels, re, credit, value_credit


def random_journeys(seed, n_paths=60, n_channels=5, max_len=6):
    rng = np.random.default_rng(seed)
    names = [f"ch{i}" for i in range(n_channels)]
    paths = set()
    while len(paths) < n_paths:
        length = int(rng.integers(1, max_len + 1))
        paths.add(tuple(rng.choice(names, length)))
    paths = sorted(paths)
    conv = rng.integers(0, 6, len(paths))
    null = rng.integers(0, 6, len(paths))
    null[(conv + null) == 0] = 1
    value = conv * rng.uniform(5, 50, len(paths))
    return paths, conv, null, value


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("keep_self_loops", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_reference_implementation(order, keep_self_loops, seed):
    paths, conv, null, value = random_journeys(seed)
    j = Journeys.from_sequences([list(p) for p in paths], conv, null, value)
    channels, re, credit, value_credit = reference_markov(
        paths, conv, null, value, order, keep_self_loops
    )
    r = markov_attribution(j, order=order, keep_self_loops=keep_self_loops, n_bootstrap=0)
    assert list(r.channels) == channels
    np.testing.assert_allclose(r.extras["removal_effect"], re[:, 0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r.extras["value_removal_effect"], re[:, 1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r.conversions, credit, rtol=1e-10)
    np.testing.assert_allclose(r.value, value_credit, rtol=1e-10)


def test_self_loops_collapse_by_default():
    j = Journeys.from_sequences([["A", "A", "B"], ["A", "B"], ["B", "B"]], [1, 1, 0], [1, 0, 1])
    collapsed = markov_attribution(j, order=1, n_bootstrap=0)
    expanded = markov_attribution(j, order=1, keep_self_loops=True, n_bootstrap=0)
    same_as = Journeys.from_sequences([["A", "B"], ["B"]], [2, 0], [1, 1])
    np.testing.assert_allclose(
        collapsed.conversions, markov_attribution(same_as, order=1, n_bootstrap=0).conversions
    )
    m = MarkovAttribution(order=1, keep_self_loops=True, n_bootstrap=0).fit(j)
    assert m.transition_matrix().loc["A", "A"] > 0
    assert expanded.conversions.sum() == pytest.approx(2.0)


def test_deterministic_and_row_order_invariant():
    paths, conv, null, value = random_journeys(3, n_paths=200)
    frame = pd.DataFrame(
        {
            "path": [" > ".join(p) for p in paths],
            "total_conversions": conv,
            "total_null": null,
            "total_conversion_value": value,
        }
    )
    r1 = markov_attribution(Journeys.from_paths(frame), order=2, n_bootstrap=0)
    shuffled = frame.sample(frac=1.0, random_state=7)
    r2 = markov_attribution(Journeys.from_paths(shuffled), order=2, n_bootstrap=0)
    np.testing.assert_allclose(r1.conversions, r2.conversions, rtol=1e-12)


def test_bootstrap_intervals_deterministic_and_cover_estimate():
    paths, conv, null, value = random_journeys(5, n_paths=150)
    j = Journeys.from_sequences([list(p) for p in paths], conv * 20, null * 20, value * 20)
    r1 = markov_attribution(j, n_bootstrap=50, seed=3)
    r2 = markov_attribution(j, n_bootstrap=50, seed=3)
    np.testing.assert_array_equal(r1.ci.conversions_low, r2.ci.conversions_low)
    assert np.all(r1.ci.conversions_low <= r1.conversions)
    assert np.all(r1.conversions <= r1.ci.conversions_high)
    frame = r1.to_frame()
    assert {"ci_low", "ci_high", "value_ci_low", "value_ci_high"} <= set(frame.columns)


def test_attribute_new_journeys_by_removal_effects(hand_case):
    m = MarkovAttribution(order=1, n_bootstrap=0).fit(hand_case)
    new = Journeys.from_sequences([["A", "B"], ["B", "C"]], [2, 1], [0, 0], [20.0, 3.0])
    r = m.attribute(new)
    # A > B split 0.75 : 0.5 -> 0.6 / 0.4 of 2 conversions; B > C: C unseen -> all to B
    np.testing.assert_allclose(r.conversions, [1.2, 0.8 + 1.0, 0.0])
    np.testing.assert_allclose(r.value, [12.0, 8.0 + 3.0, 0.0])


def test_order_validation(hand_case):
    with pytest.raises(InvalidModelOptionError, match="order must be"):
        MarkovAttribution(order=0).fit(hand_case)
    with pytest.raises(InvalidModelOptionError, match="n_bootstrap must be 0"):
        MarkovAttribution(n_bootstrap=5).fit(hand_case)


def test_select_order_prefers_true_order():
    """Data from a second-order process: held-out log-loss picks order 2, not higher."""
    rng = np.random.default_rng(0)
    names = ["a", "b", "c"]
    rows = []
    for _ in range(20000):
        length = int(rng.integers(2, 6))
        path = list(rng.choice(names, length))
        # conversion depends on the last two channels only
        p = 0.6 if path[-2:] == ["a", "b"] else (0.3 if path[-1] == "c" else 0.1)
        rows.append((tuple(path), rng.random() < p))
    frame = pd.DataFrame(rows, columns=["path", "converted"])
    agg = frame.groupby("path")["converted"].agg(["sum", "count"]).reset_index()
    j = Journeys.from_sequences(
        [list(p) for p in agg["path"]], agg["sum"], agg["count"] - agg["sum"]
    )
    selection = select_order(j, orders=(1, 2, 3, 4), seed=1)
    assert selection.best_order == 2
    table = selection.table.set_index("order")
    assert table.loc[2, "log_loss"] < table.loc[1, "log_loss"]
    assert table.loc[2, "auc"] > table.loc[1, "auc"]
