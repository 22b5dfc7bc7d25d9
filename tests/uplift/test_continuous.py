"""Continuous outcomes (revenue) through the whole path: auto, calibration, curves, plans."""

from __future__ import annotations

import numpy as np
import pytest

from uplift.multiarm import multiarm_qini
from uplift.promise import promise_plan
from uplift.selection import default_candidates
from uplift.simulate import simulate_campaign
from uplift.targeting import evaluate_targeting, plan_targeting
from uplift.workflow import train_and_evaluate

#: the outcome is revenue, so a unit of outcome is worth 1; contact costs per arm
ECONOMICS = {"value_per_conversion": 1.0, "cost_per_contact": {"email": 0.5, "push": 0.8}}


@pytest.mark.slow
def test_revenue_outcome_end_to_end():
    sim = simulate_campaign(12_000, seed=77)
    data = sim.uplift_data("revenue")
    assert data.outcome_type == "continuous"
    result = train_and_evaluate(
        data,
        learner="auto",
        candidates=default_candidates("continuous", learners=["s", "t"]),
        n_folds=2,
        n_bootstrap=50,
        **ECONOMICS,
    )
    assert result.selection is not None and result.selection.metric == "profit"
    ev = result.evaluation
    assert set(ev.arms) == {"email", "push"}
    assert np.isfinite(ev.value("email", "calibration_error"))
    model, test = result.model, result.test
    pred = model.predict(test.features)
    plan = plan_targeting(pred, control=sim.control, budget=800, **ECONOMICS)
    promise = promise_plan(model, plan, test.features, n_draws=200)
    held = evaluate_targeting(plan, test.outcome, test.treatment, n_bootstrap=50, promise=promise)
    row = held.to_frame().iloc[0]
    # revenue per converted customer is about exp(3.8 + 0.125) = 50: the plan's incremental
    # revenue is in currency units, dozens of times the incremental conversions
    truth = sim.true_uplift.iloc[result.test_rows].reset_index(drop=True)
    a = plan.assignments.reset_index(drop=True)
    conversions = sum(truth.loc[a["targeted"] & (a["arm"] == arm), arm].sum() for arm in truth)
    assert promise.incremental_conversions > 10 * conversions
    assert row["promised_ci_low"] <= row["promised_incremental_conversions"]
    curve = multiarm_qini(
        pred, test.outcome, test.treatment, control=sim.control, n_bootstrap=30, **ECONOMICS
    )
    end = curve.curve.iloc[-1]
    assert end["profit"] == pytest.approx(end["gain"] - end["spend"])
    assert curve.recommendation["spend_total"] >= 0
