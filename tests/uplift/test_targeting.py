from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uplift import (
    InvalidUpliftDataError,
    InvalidUpliftOptionError,
    evaluate_targeting,
    plan_targeting,
)
from uplift.targeting import _greedy_fill

PRED = pd.DataFrame(
    {
        "uplift_A": [0.10, 0.02, -0.05, 0.30, 0.05],
        "uplift_B": [0.05, 0.04, -0.01, 0.10, 0.20],
    },
    index=[10, 11, 12, 13, 14],
)


def _plan(budget: float, cost_per_contact, **options):
    """The plan for the five customers of ``PRED`` (arms A and B), a conversion worth 10."""
    return plan_targeting(
        PRED,
        control="c",
        budget=budget,
        value_per_conversion=10,
        cost_per_contact=cost_per_contact,
        **options,
    )


def test_contacts_budget_hand_case():
    # value 10, cost A 0.5, B 0.1 -> profit A: [0.5, -0.3, -1, 2.5, 0];
    # B: [0.4, 0.3, -0.2, 0.9, 1.9]
    plan = _plan(3, {"A": 0.5, "B": 0.1})
    a = plan.assignments
    # best arm: 10->A (0.5), 11->B (0.3), 12->none, 13->A (2.5), 14->B (1.9); top 3 by profit
    assert a["targeted"].tolist() == [True, False, False, True, True]
    assert a["arm"].tolist() == ["A", "c", "c", "A", "B"]
    assert a.loc[[13, 14, 10], "priority"].tolist() == [1, 2, 3]
    assert plan.n_contacts == 3
    assert plan.total_cost == pytest.approx(0.5 + 0.5 + 0.1)
    assert plan.expected_incremental_conversions == pytest.approx(0.10 + 0.30 + 0.20)
    assert plan.expected_profit == pytest.approx(0.5 + 2.5 + 1.9)
    summary = plan.to_frame().set_index("arm")
    assert summary.loc["A", "n_contacts"] == 2 and summary.loc["total", "n_contacts"] == 3
    assert plan.targets().index.tolist() == [13, 14, 10]


def test_non_positive_profit_is_never_contacted():
    plan = _plan(100, 0.45)
    # profits: 10: max(0.55, 0.05); 11: max(-0.25,-0.05)<0; 12 <0; 13: 2.55; 14: 1.55
    assert plan.assignments["targeted"].tolist() == [True, False, False, True, True]


def test_money_budget_greedy_by_profit_per_cost():
    # profit/cost: 10: A 0.5/0.5=1 vs B 0.4/0.1=4 -> best by profit is A (ratio 1);
    # 13: A 2.5/0.5=5; 14: B 1.9/0.1=19; 11: B 0.3/0.1=3
    plan = _plan(0.7, {"A": 0.5, "B": 0.1}, budget_type="money")
    a = plan.assignments
    # order by ratio: 14 (0.1), 13 (0.5) -> 0.6 spent; 11 (0.1) -> 0.7; 10 (0.5) does not fit
    assert a.loc[a["targeted"]].sort_values("priority").index.tolist() == [14, 13, 11]
    assert plan.total_cost == pytest.approx(0.7)


def test_a_money_budget_needs_a_contact_cost():
    for free in (0.0, {"A": 0.0, "B": 0.0}):
        with pytest.raises(InvalidUpliftOptionError, match="money budget needs a cost per contact"):
            _plan(5, free, budget_type="money")
    # one free arm among paid ones is a real price list
    plan = _plan(0.1, {"A": 0.0, "B": 0.1}, budget_type="money")
    assert plan.total_cost <= 0.1


@settings(max_examples=60, deadline=None)
@given(
    costs=st.lists(st.sampled_from([0.0, 0.3, 1.0, 2.5]), min_size=0, max_size=40),
    budget=st.floats(0.1, 20),
)
def test_greedy_fill_matches_one_by_one_loop(costs, budget):
    cost = np.array(costs, dtype=float)
    order = np.arange(cost.size)
    expected, remaining = [], budget
    for i in order:
        if cost[i] <= remaining + 1e-9 * max(1.0, remaining):
            expected.append(i)
            remaining -= cost[i]
    assert _greedy_fill(order, cost, budget).tolist() == expected


def test_evaluate_targeting_hand_case():
    # 8 held-out rows; plan contacts rows 0-3 with A; observed arms and outcomes below.
    pred = pd.DataFrame({"uplift_A": [0.9, 0.8, 0.7, 0.6, -0.1, -0.2, -0.3, -0.4]})
    plan = plan_targeting(
        pred, control="c", budget=4, value_per_conversion=10, cost_per_contact=1.0
    )
    treatment = np.array(["A", "c", "A", "c", "A", "c", "A", "c"])
    outcome = np.array([1, 0, 1, 1, 0, 0, 0, 1])
    ev = evaluate_targeting(plan, outcome, treatment, n_bootstrap=50, seed=1)
    t = ev.to_frame().set_index("strategy")
    # segment: treated mean 1, control mean 0.5 -> 4 * 0.5 = 2 incremental conversions
    assert t.loc["model", "incremental_conversions"] == pytest.approx(2.0)
    assert t.loc["model", "profit"] == pytest.approx(2.0 * 10 - 4 * 1.0)
    assert t.loc["model", "predicted_incremental_conversions"] == pytest.approx(3.0)
    # everyone: ate = 2/4 - 2/4 = 0 -> 0 conversions, cost 8
    assert t.loc["everyone: A", "incremental_conversions"] == pytest.approx(0.0)
    assert t.loc["everyone: A", "profit"] == pytest.approx(-8.0)
    assert t.loc["random: A", "n_contacts"] == 4
    assert t.loc["random: A", "incremental_conversions"] == pytest.approx(0.0)
    assert t.loc["model", "ci_low"] <= 2.0 <= t.loc["model", "ci_high"]
    assert ev.to_dict()["strategies"][0]["strategy"] == "model"
    assert "TargetingEvaluation(model: contacts=4" in repr(ev)


def test_plan_beats_random_on_known_truth(data, fitted_t):
    from tests.uplift.conftest import make_frame
    from uplift import UpliftData

    test = UpliftData.from_frame(
        make_frame(4000, seed=21), treatment_col="arm", control="ctl", outcome_col="y"
    )
    pred = fitted_t.predict(test.features)
    plan = plan_targeting(
        pred, control="ctl", budget=800, value_per_conversion=10, cost_per_contact=0.2
    )
    ev = evaluate_targeting(plan, test.outcome, test.treatment, n_bootstrap=100)
    t = ev.to_frame().set_index("strategy")
    assert t.loc["model", "incremental_conversions"] > t.loc["random: A", "ci_high"]
    assert t.loc["model", "ci_low"] > 0


def test_targeting_errors():
    with pytest.raises(InvalidUpliftOptionError, match="budget must be a positive"):
        plan_targeting(PRED, control="c", budget=0, value_per_conversion=1)
    with pytest.raises(InvalidUpliftOptionError, match=r"unknown arm\(s\) \['Z'\]"):
        plan_targeting(
            PRED,
            control="c",
            budget=1,
            value_per_conversion=1,
            cost_per_contact={"A": 1, "B": 1, "Z": 1},
        )
    with pytest.raises(InvalidUpliftOptionError, match="of arm 'A' must be a finite number >= 0"):
        plan_targeting(
            PRED, control="c", budget=1, value_per_conversion=1, cost_per_contact={"A": -1, "B": 1}
        )
    with pytest.raises(InvalidUpliftOptionError, match="budget_type"):
        plan_targeting(PRED, control="c", budget=1, value_per_conversion=1, budget_type="euros")
    with pytest.raises(InvalidUpliftDataError, match="no uplift_<arm> columns"):
        plan_targeting(
            PRED.rename(columns=str.upper), control="c", budget=1, value_per_conversion=1
        )
    plan = plan_targeting(PRED, control="c", budget=1, value_per_conversion=1)
    with pytest.raises(InvalidUpliftDataError, match="one value per row"):
        evaluate_targeting(plan, [1, 0], ["A", "c"])
    with pytest.raises(InvalidUpliftDataError, match="no held-out row is in the control"):
        evaluate_targeting(plan, [1] * 5, ["A"] * 5)
