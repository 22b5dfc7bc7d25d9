"""Honest plans: the promise of a plan, its interval, and known truth on the simulator."""

from __future__ import annotations

import numpy as np
import pytest

from uplift import InvalidUpliftOptionError, UpliftModel
from uplift.calibration import fit_calibration
from uplift.promise import promise_plan
from uplift.simulate import simulate_campaign
from uplift.targeting import evaluate_targeting, plan_targeting
from uplift.workflow import train_and_evaluate

COSTS = {"email": 0.5, "push": 0.8}


@pytest.fixture(scope="module")
def campaign():
    sim = simulate_campaign(12_000, seed=2024)
    data = sim.uplift_data()
    result = train_and_evaluate(
        data, learner="t", params={"n_estimators": 60}, seed=1, n_bootstrap=0
    )
    plan = plan_targeting(
        result.model.predict(result.test.features),
        control=sim.control,
        budget=1000,
        value_per_conversion=40,
        cost_per_contact=COSTS,
    )
    return sim, result, plan


def test_promise_point_is_the_cross_fitted_segment_value(campaign):
    _sim, result, plan = campaign
    model = result.model
    promise = promise_plan(model, plan, result.test.features, n_draws=200, seed=3)
    # recompute the documented estimator by hand
    oof = model.out_of_fold_
    u, y, tr, fold = oof["uplift"], oof["outcome"], oof["treatment"], oof["fold"]
    cal_u = np.empty_like(u)
    for f in range(3):
        other = fold != f
        cal = fit_calibration(u[other], y[other], tr[other], control="control", arms=model.arms_)
        cal_u[~other] = cal.apply(u[~other])
    profit = cal_u * 40 - np.array([COSTS[a] for a in model.arms_])
    best = profit.argmax(axis=1)
    key = profit[np.arange(best.size), best]
    take = np.argsort(-key, kind="stable")[
        : round(plan.n_contacts / len(plan.assignments) * best.size)
    ]
    seg = np.zeros(best.size, dtype=bool)
    seg[take] = True
    seg &= key > 0
    a = plan.assignments
    expected = 0.0
    for j, arm in enumerate(model.arms_):
        t_a = seg & (best == j)
        v = y[t_a & (tr == arm)].mean() - y[t_a & (tr == "control")].mean()
        expected += int((a["targeted"] & (a["arm"] == arm)).sum()) * v
    assert promise.incremental_conversions == pytest.approx(expected)
    assert promise.profit == pytest.approx(40 * expected - plan.total_cost)
    lo, hi = promise.interval
    assert lo < promise.incremental_conversions < hi
    table = promise.to_frame()
    assert table["arm"].tolist()[-1] == "total"
    assert table["n_contacts"].iloc[-1] == plan.n_contacts
    assert promise.rows_sd > 0 and promise.model_sd >= 0
    assert "PlanPromise(incremental_conversions=" in repr(promise)


def test_promise_is_far_closer_to_the_truth_than_the_summed_predictions(campaign):
    """Known truth: the raw sum over-promises several-fold; the promise covers the truth."""
    sim, result, plan = campaign
    promise = promise_plan(result.model, plan, result.test.features, n_draws=500, seed=0)
    truth = sim.true_uplift.iloc[result.test_rows].reset_index(drop=True)
    a = plan.assignments.reset_index(drop=True)
    v = sum(truth.loc[a["targeted"] & (a["arm"] == arm), arm].sum() for arm in COSTS)
    raw = promise.to_frame()["raw_incremental_conversions"].iloc[-1]
    assert raw > 2 * v
    assert abs(promise.incremental_conversions - v) < 0.3 * abs(raw - v)
    lo, hi = promise.interval
    assert lo <= v <= hi


def test_promise_survives_save_and_load_and_sits_beside_the_held_out_estimate(campaign, tmp_path):
    _sim, result, plan = campaign
    result.model.save(tmp_path / "m")
    loaded = UpliftModel.load(tmp_path / "m")
    one = promise_plan(result.model, plan, result.test.features, n_draws=100, seed=5)
    two = promise_plan(loaded, plan, result.test.features, n_draws=100, seed=5)
    assert one.to_frame().equals(two.to_frame())
    ev = evaluate_targeting(
        plan, result.test.outcome, result.test.treatment, n_bootstrap=20, promise=one
    )
    table = ev.to_frame().set_index("strategy")
    assert table.loc["model", "promised_incremental_conversions"] == one.incremental_conversions
    assert table.loc["model", "promised_profit_ci_high"] == one.profit_interval[1]
    assert np.isnan(table.loc["everyone: email", "promised_profit"])


def test_promise_needs_a_calibrated_model(campaign):
    _sim, result, plan = campaign
    raw = UpliftModel("t", n_estimators=5).fit(result.train)
    with pytest.raises(InvalidUpliftOptionError, match="needs a model calibrated"):
        promise_plan(raw, plan, result.test.features)
    with pytest.raises(InvalidUpliftOptionError, match="n_draws must be an integer >= 20"):
        promise_plan(result.model, plan, result.test.features, n_draws=5)
