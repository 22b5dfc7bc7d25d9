"""Real data: the MineThatData e-mail RCT (the ``shared_data`` fixture: skipped when absent)."""

from __future__ import annotations

import numpy as np
import pytest

from uplift import UpliftData, UpliftModel, evaluate_model, load_frame

#: the assignment and the three outcomes; every other column is a pre-treatment feature
NOT_FEATURES = ("segment", "visit", "conversion", "spend")


@pytest.fixture(scope="module")
def hillstrom(shared_data):
    frame = load_frame(shared_data("hillstrom.csv"))
    # a seeded random subsample keeps the test fast
    return frame.iloc[np.random.default_rng(0).permutation(len(frame))[:24000]]


def email_rct(hillstrom, outcome_col: str) -> UpliftData:
    """Both e-mails against no e-mail, on the eight pre-treatment features."""
    features = [c for c in hillstrom.columns if c not in NOT_FEATURES]
    return UpliftData.from_frame(
        hillstrom,
        treatment_col="segment",
        control="No E-Mail",
        outcome_col=outcome_col,
        feature_cols=features,
    )


def test_hillstrom_visit_uplift_with_intervals(hillstrom):
    data = email_rct(hillstrom, "visit")
    assert data.arms == ("Mens E-Mail", "Womens E-Mail")
    assert data.schema.categories["channel"] == ("Multichannel", "Phone", "Web")
    train, test = data.split(test_size=0.5, seed=0)
    model = UpliftModel("t", n_estimators=30, num_leaves=15, seed=0).fit(train)
    ev = evaluate_model(model, test, n_bootstrap=100)
    table = ev.to_frame().set_index(["arm", "metric"])
    for arm in data.arms:
        # both e-mails raise visits (published: about +7.7 and +4.5 points)
        lo = table.loc[(arm, "ate"), "ci_low"]
        assert lo > 0.02
        u30 = table.loc[(arm, "uplift@30%")]
        assert u30["ci_low"] < u30["value"] < u30["ci_high"]
    # the Mens e-mail's top 30% respond more than average
    assert (
        table.loc[("Mens E-Mail", "uplift@30%"), "value"]
        > table.loc[("Mens E-Mail", "ate"), "value"]
    )


def test_hillstrom_spend_continuous(hillstrom):
    data = email_rct(hillstrom, "spend")
    assert data.outcome_type == "continuous"
    train, test = data.split(test_size=0.5, seed=1)
    model = UpliftModel("s", n_estimators=20, num_leaves=15).fit(train)
    pred = model.predict(test.features)
    assert list(pred.columns) == [
        "uplift_Mens E-Mail",
        "uplift_Womens E-Mail",
        "best_arm",
        "best_uplift",
    ]


@pytest.mark.slow
def test_hillstrom_auto_is_as_good_as_the_best_hand_picked_learner(hillstrom):
    """Done-when of issue 17 on real data (a 24,000-row sample): paired held-out Qini."""
    from uplift.metrics import compare_evaluations
    from uplift.selection import default_candidates
    from uplift.workflow import train_and_evaluate

    data = email_rct(hillstrom, "visit")
    common = {"seed": 0, "n_bootstrap": 100, "calibrate": True}
    hand = {name: train_and_evaluate(data, learner=name, **common) for name in ("s", "t", "x")}
    auto = train_and_evaluate(
        data,
        learner="auto",
        candidates=default_candidates("binary", learners=["s", "t", "x"]),
        **common,
    )
    assert auto.selection is not None
    best = max(
        hand, key=lambda n: np.mean([hand[n].evaluation.value(a, "qini") for a in data.arms])
    )
    diff = compare_evaluations(auto.evaluation, hand[best].evaluation)
    qini = diff[diff["metric"] == "qini"]
    # at least as good within the interval: the paired interval of auto - best reaches 0
    assert (qini["ci_high"] >= 0).all(), qini


def test_hillstrom_spend_through_curve_and_promise(hillstrom):
    """Continuous outcome (spend, pre-treatment features only) through calibration and plans."""
    from uplift.multiarm import multiarm_qini
    from uplift.promise import promise_plan
    from uplift.targeting import plan_targeting
    from uplift.workflow import train_and_evaluate

    data = email_rct(hillstrom, "spend")
    result = train_and_evaluate(
        data, learner="t", params={"n_estimators": 30, "num_leaves": 15}, n_bootstrap=20
    )
    pred = result.model.predict(result.test.features)
    plan = plan_targeting(
        pred, control="No E-Mail", budget=2000, value_per_conversion=0.3, cost_per_contact=0.1
    )
    promise = promise_plan(result.model, plan, result.test.features, n_draws=100)
    lo, hi = promise.interval
    assert lo <= promise.incremental_conversions <= hi
    curve = multiarm_qini(
        pred,
        result.test.outcome,
        result.test.treatment,
        control="No E-Mail",
        cost_per_contact=0.1,
        value_per_conversion=0.3,
        n_bootstrap=20,
    )
    assert len(curve.curve) == 100 and curve.recommendation
