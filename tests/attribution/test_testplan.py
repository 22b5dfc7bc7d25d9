"""What to test next: the preposterior value of a lift test on each untested channel."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from attribution.calibration import InvalidLiftTestError, LiftTests
from attribution.testplan import _Beliefs, holdout_standard_error, plan_lift_tests
from tests.attribution.test_calibration import _causal_result, _exact_tests, result

TRUTH = np.array([300.0, 500.0, 200.0, 100.0, 0.0])


def test_holdout_standard_error_by_hand():
    # n = 10,000 journeys, 10% convert with the channel, 8% without, half held out
    se = holdout_standard_error(10_000, 0.10, 0.08, 0.5)
    expected = 10_000 * math.sqrt(0.1 * 0.9 / 5000 + 0.08 * 0.92 / 5000)
    assert float(se) == pytest.approx(expected)
    # a smaller holdout is noisier
    assert holdout_standard_error(10_000, 0.10, 0.08, 0.1) > se


def test_beliefs_update_by_hand():
    # two lambdas; channel 0's mean is 10 or 20 under them, variance 4; observe 20 exactly
    beliefs = _Beliefs(
        weights=np.array([0.5, 0.5]),
        mean=np.array([[10.0, 1.0], [20.0, 2.0]]),
        var=np.full((2, 2), 4.0),
    )
    after = beliefs.observe(0, 20.0, 4.0)
    like = np.exp(-0.5 * np.array([100.0, 0.0]) / 8.0)
    np.testing.assert_allclose(after.weights, like / like.sum())
    np.testing.assert_allclose(after.mean[:, 0], [15.0, 20.0])  # halfway: equal variances
    np.testing.assert_allclose(after.var[:, 0], 2.0)
    exact = beliefs.observe(1, 2.0, 0.0)
    np.testing.assert_allclose(exact.mean[:, 1], 2.0)
    np.testing.assert_allclose(
        exact.weights, np.array([np.exp(-1 / 8), 1.0]) / (np.exp(-1 / 8) + 1)
    )


def test_testing_a_selected_channel_teaches_the_most_about_the_others():
    res = _causal_result(TRUTH, lam0=0.5, se=5.0)
    plan = plan_lift_tests(res, holdout_fraction=0.5, n_sims=100)
    table = plan.table.set_index("channel")
    assert table["tested"].sum() == 0
    # A (largest selection slope) shrinks the total's interval most; C (no selection) least
    assert table.loc["A", "rank"] == 1
    assert table.loc["C", "rank"] == 5
    assert table.loc["C", "width_reduction"] < table.loc["A", "width_reduction"]
    assert (table["width_after"] <= table["width_now"] + 1e-9).all()
    # no test yet: lambda is the uniform prior on [0, 1]
    assert plan.lam_mean == pytest.approx(0.5, abs=0.01)
    assert "test first: A" in repr(plan)


def test_known_tests_and_negative_controls_sharpen_lambda():
    res = _causal_result(TRUTH, lam0=0.5, se=5.0)
    plan = plan_lift_tests(
        res, lift_tests=_exact_tests(TRUTH, [0], se=5.0), negative_controls=("E",), n_sims=50
    )
    assert plan.lam_low <= 0.5 <= plan.lam_high
    assert plan.lam_high - plan.lam_low < 0.2
    table = plan.table.set_index("channel")
    assert table.loc["A", "tested"] and table.loc["E", "tested"]
    assert np.isnan(table.loc["A", "rank"])
    assert table.loc["B", "incremental"] == pytest.approx(TRUTH[1], abs=15)


def test_with_spend_the_test_value_is_a_decision_value():
    res = _causal_result(TRUTH, lam0=0.5, se=40.0)
    spend = {"A": 1000.0, "B": 1000.0, "C": 500.0, "D": 800.0, "E": 700.0}
    plan = plan_lift_tests(res, costs=spend, holdout_fraction=0.5, n_sims=400, seed=3)
    table = plan.table.set_index("channel")
    assert plan.current_move is not None
    # the expected value of sample information is never negative beyond Monte Carlo noise
    assert (table["expected_value"] > -0.05 * table["expected_value"].abs().max()).all()
    assert (table["p_wrong_after"] <= table["p_wrong_now"] + 0.05).all()
    np.testing.assert_allclose(
        table["net_value"], table["expected_value"] - table["holdout_cost_value"]
    )
    assert list(plan.table.dropna(subset=["rank"]).sort_values("rank")["channel"]) == list(
        table.sort_values("net_value", ascending=False).index
    )
    payload = plan.to_dict()
    assert payload["current_move"]["amount"] > 0
    assert {row["channel"] for row in payload["channels"]} == set("ABCDE")


def test_holdout_needed_for_a_target_precision():
    res = _causal_result(TRUTH, lam0=0.0, se=1.0)
    plan = plan_lift_tests(res, target_precision=0.5, n_sims=50)
    row = plan.table.set_index("channel").loc["B"]
    # support 2,000 conversions among 10,000 journeys: p1 = 0.2, p0 = p1 - theta / 10,000
    theta = row["incremental"]
    p0 = 0.2 - theta / 10_000
    needed = row["holdout_needed"]
    assert row["periods_needed"] == 1.0
    assert 1.96 * holdout_standard_error(10_000, 0.2, p0, needed) <= 0.5 * theta
    assert 1.96 * holdout_standard_error(10_000, 0.2, p0, needed - 0.01) > 0.5 * theta
    tight = plan_lift_tests(res, target_precision=0.05, n_sims=50).table.set_index("channel")
    best = holdout_standard_error(10_000, 0.2, p0, np.linspace(0.01, 0.5, 50)).min()
    assert tight.loc["B", "periods_needed"] == pytest.approx(
        (1.96 * best / (0.05 * theta)) ** 2, rel=1e-3
    )


def test_planning_needs_the_causal_model_and_valid_options():
    with pytest.raises(InvalidLiftTestError, match="needs the causal model"):
        plan_lift_tests(result([10.0, 20.0]))
    res = _causal_result(TRUTH, lam0=0.5)
    for kwargs, message in (
        ({"holdout_fraction": 0.7}, r"holdout_fraction must be in \(0, 0.5\]"),
        ({"n_sims": 10}, "n_sims must be an integer >= 50"),
        ({"negative_controls": ("Z",)}, "'Z' is not a channel"),
        ({"costs": [1, 2]}, "costs must be a CostTable or a mapping"),
    ):
        with pytest.raises(InvalidLiftTestError, match=message):
            plan_lift_tests(res, **kwargs)
    unknown = LiftTests.from_frame(
        pd.DataFrame(
            {"channel": ["Q"], "incremental_conversions": [1.0], "ci_low": [0], "ci_high": [2]}
        )
    )
    with pytest.raises(InvalidLiftTestError, match="'Q', which the attribution does not have"):
        plan_lift_tests(res, lift_tests=unknown)


def test_when_no_test_pays_the_ranking_falls_back_to_information():
    res = _causal_result(TRUTH, lam0=0.5, se=40.0)
    tiny = {c: 1.0 for c in "ABCDE"}  # a 10% move of 0.1 is worth less than any holdout
    plan = plan_lift_tests(res, costs=tiny, holdout_fraction=0.5, n_sims=100)
    assert "no test pays for itself" in plan.decision
    table = plan.table.dropna(subset=["rank"]).sort_values("rank")
    assert (table["net_value"] <= 0).all()
    assert list(table["channel"]) == list(
        table.sort_values("width_reduction", ascending=False)["channel"]
    )
