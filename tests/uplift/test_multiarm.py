"""Cost-aware multi-arm Qini curves: hulls, the budget path against brute force and an LP."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uplift import InvalidUpliftDataError, InvalidUpliftOptionError
from uplift.multiarm import convex_hull, multiarm_qini, plot_multiarm_qini


def _frame(reward: np.ndarray, arms=("A", "B")) -> pd.DataFrame:
    return pd.DataFrame({f"uplift_{a}": reward[:, j] for j, a in enumerate(arms)})


def _one_arm(reward: np.ndarray, y: np.ndarray, treatment: np.ndarray, n_bootstrap: int):
    """Arm A against control c: a contact costs 1, a conversion is worth 10."""
    return multiarm_qini(
        _frame(reward, ("A",)),
        y,
        treatment,
        control="c",
        cost_per_contact=1.0,
        value_per_conversion=10.0,
        n_bootstrap=n_bootstrap,
    )


def test_hull_hand_cases():
    # costs (1, 2, 3): rewards (1, 1.5, 3): slopes from origin 1, then 0.5 and 1 from A ->
    # B (slope 0.5 < 1) is under the hull once C (slope (3-1)/2 = 1 from A) comes; A then C
    reward = np.array([[1.0, 1.5, 3.0]])
    cost = np.array([[1.0, 2.0, 3.0]])
    assert convex_hull(reward, cost) == [[0, 2]]
    # C's slope from the origin (3/3 = 1) is not steeper than A's (1): A stays (collinear kept)
    # negative rewards never enter; a dearer arm with less reward is dominated
    assert convex_hull(np.array([[-1.0, 2.0, 1.0]]), cost) == [[1]]
    # every reward non-positive: nobody is treated
    assert convex_hull(np.array([[-1.0, 0.0, -2.0]]), cost) == [[]]
    # the cheaper arm is replaced when the dearer one is more efficient from the origin
    assert convex_hull(np.array([[0.5, 4.0, 4.5]]), cost) == [[1, 2]]


def _brute_force(reward: np.ndarray, cost: np.ndarray, budget: float) -> float:
    """Best total predicted reward over all integral allocations (arm or none per row)."""
    n, k = reward.shape
    best = 0.0
    for choice in itertools.product(range(-1, k), repeat=n):
        c = sum(cost[i, a] for i, a in enumerate(choice) if a >= 0)
        if c <= budget + 1e-9:
            best = max(best, sum(reward[i, a] for i, a in enumerate(choice) if a >= 0))
    return best


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.floats(-1, 3),
            st.floats(-1, 3),
            st.floats(0.1, 2),
            st.floats(0.1, 2),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_path_points_are_optimal_against_brute_force(data):
    arr = np.array(data, dtype=float)
    reward, cost = arr[:, :2], arr[:, 2:]
    n = reward.shape[0]
    treatment = np.array(["c", "A", "B"] * 2)[: max(3, n)]
    # the evaluation scores do not matter for the path; give enough rows of each arm
    outcome = np.zeros(treatment.size)
    pad = treatment.size - n
    pred = _frame(np.vstack([reward, -np.ones((pad, 2))]))
    cost_full = np.vstack([cost, np.ones((pad, 2))])
    res = multiarm_qini(
        pred,
        outcome,
        treatment,
        control="c",
        cost_per_contact=0.0,
        customer_cost=cost_full,
        n_bootstrap=0,
    )
    total = treatment.size
    for row in res.path.itertuples(index=False):
        budget = row.spend * total
        assert row.predicted_gain * total == pytest.approx(
            _brute_force(reward, cost, budget), abs=1e-9
        )


def test_between_path_points_the_curve_is_the_lp_optimum():
    from scipy.optimize import linprog

    rng = np.random.default_rng(7)
    n, k = 12, 3
    reward = rng.normal(0.5, 1.0, (n, k))
    cost = rng.uniform(0.2, 2.0, (n, k))
    treatment = np.array(["c", "A", "B", "C"] * 3)
    res = multiarm_qini(
        _frame(reward, ("A", "B", "C")),
        np.zeros(n),
        treatment,
        control="c",
        cost_per_contact=0.0,
        customer_cost=cost,
        n_bootstrap=0,
        grid_size=9,
    )
    for row in res.curve.itertuples(index=False):
        # maximise sum pi*reward s.t. sum pi*cost <= B*n, sum_k pi_ik <= 1, 0 <= pi <= 1
        a_ub = [cost.ravel()]
        b_ub = [row.spend * n]
        for i in range(n):
            line = np.zeros(n * k)
            line[i * k : (i + 1) * k] = 1
            a_ub.append(line)
            b_ub.append(1.0)
        lp = linprog(-reward.ravel(), A_ub=np.array(a_ub), b_ub=b_ub, bounds=(0, 1))
        assert row.predicted_gain * n == pytest.approx(-lp.fun, abs=1e-7)


def test_gain_is_the_ipw_estimate_and_single_arm_end_is_the_difference_in_means():
    rng = np.random.default_rng(3)
    n = 600
    treatment = rng.choice(np.array(["c", "A"]), n)
    y = rng.random(n) < np.where(treatment == "A", 0.3, 0.2)
    reward = rng.uniform(0.01, 0.2, (n, 1))  # everyone has positive predicted uplift
    res = _one_arm(reward, y, treatment, n_bootstrap=50)
    end = res.path.iloc[-1]
    dim = y[treatment == "A"].mean() - y[treatment == "c"].mean()
    assert end["gain"] == pytest.approx(dim) and end["spend"] == pytest.approx(1.0)
    # path order: by predicted uplift per cost, highest first
    assert res.path["priority"].is_monotonic_decreasing
    # the gain after j steps is the IPW sum over the treated rows so far
    j = 100
    rows = res.path["row"].to_numpy()[:j]
    e_a, e_c = np.mean(treatment == "A"), np.mean(treatment == "c")
    ipw = ((treatment == "A") * y / e_a - (treatment == "c") * y / e_c)[rows].sum() / n
    assert res.path["gain"].iloc[j - 1] == pytest.approx(ipw)
    curve = res.curve
    assert (curve["gain_ci_low"] <= curve["gain_ci_high"]).all()
    assert curve["profit"].iloc[-1] == pytest.approx(10 * dim - 1.0)
    # value 10 per conversion, cost 1: every step has 10 * tau / 1 < 2 <- marginal profit >= 0
    # only for tau >= 0.1
    worth = (reward[:, 0] * 10 >= 1.0).sum()
    assert res.recommendation["n_contacts"] == worth
    assert res.recommendation["spend_total"] == pytest.approx(worth * 1.0)
    lo, hi = res.recommendation["profit_total_ci_low"], res.recommendation["profit_total_ci_high"]
    assert lo <= res.recommendation["profit_total"] <= hi


def test_allocation_and_per_customer_costs():
    reward = np.array([[0.5, 0.9], [0.4, 0.1], [-0.1, -0.2], [0.3, 0.8]])
    treatment = np.array(["c", "A", "B", "c"])
    res = multiarm_qini(
        _frame(reward),
        np.zeros(4),
        treatment,
        control="c",
        cost_per_contact={"A": 1.0, "B": 2.0},
        customer_cost=np.array([0.0, 0.0, 0.0, 1.0]),
        n_bootstrap=0,
    )
    # row 0: A (0.5/1), then upgrade to B ((0.9-0.5)/(2-1) = 0.4); row 1: A (0.4); row 3 pays
    # one more: A 0.3/2 = 0.15, B 0.8/3 = 0.267 -> B only (A is under the hull)
    steps = list(zip(res.path["row"], res.path["arm"], strict=True))
    assert steps == [(0, "A"), (0, "B"), (1, "A"), (3, "B")]
    assert res.allocation(0.0).tolist() == ["c"] * 4
    assert res.allocation(res.path["spend"].iloc[1]).tolist() == ["B", "c", "c", "c"]
    assert res.allocation(10.0).tolist() == ["B", "A", "c", "B"]
    assert "recommended" not in repr(res)


def test_multiarm_errors():
    pred = _frame(np.ones((3, 2)))
    t = np.array(["c", "A", "B"])
    with pytest.raises(InvalidUpliftOptionError, match="every cost must be positive"):
        multiarm_qini(pred, np.zeros(3), t, control="c", cost_per_contact=0.0)
    with pytest.raises(InvalidUpliftDataError, match="no held-out row"):
        multiarm_qini(pred, np.zeros(3), np.array(["c", "A", "A"]), control="c",
                      cost_per_contact=1.0)  # fmt: skip
    with pytest.raises(InvalidUpliftDataError, match="one value per row"):
        multiarm_qini(pred, np.zeros(3), t, control="c", cost_per_contact=1.0,
                      customer_cost=np.ones(5))  # fmt: skip
    with pytest.raises(InvalidUpliftOptionError, match="unknown arm"):
        multiarm_qini(pred, np.zeros(3), t, control="c", cost_per_contact=1.0,
                      customer_cost={"Z": np.ones(3)})  # fmt: skip


def test_continuous_outcome_curve_and_plot(data, fitted_t):
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    revenue = data.outcome * rng.lognormal(3.0, 0.5, len(data))
    res = multiarm_qini(
        fitted_t.predict(data.features) * 40,  # uplift in currency units
        revenue,
        data.treatment,
        control="ctl",
        cost_per_contact={"A": 1.0, "B": 0.5},
        value_per_conversion=1.0,
        n_bootstrap=30,
    )
    assert res.curve["gain_total"].iloc[-1] == pytest.approx(res.path["gain"].iloc[-1] * len(data))
    ax = plot_multiarm_qini(res, profit=True)
    assert ax.get_lines()[0].get_data()[0][-1] == pytest.approx(res.curve["spend_total"].iloc[-1])
    plt.close("all")
    assert res.to_dict()["recommendation"]["spend"] == res.recommendation["spend"]


def test_path_equals_grf_maq_reference():
    """Reference from grf's maq 0.2.2 (Python bindings built from github.com/grf-labs/maq).

    Produced with::

        W = [0, 1, 2, 0, 1, 2, 0, 1, 2, 1]; Y, tau, cost as below (n = 10, K = 2)
        shares = [mean(W == k) for k in 0..2]
        G = maq.get_ipw_scores(Y, W, np.tile(shares, (10, 1)))
        maq.MAQ(n_bootstrap=0).fit(tau, cost, G)._path   # spend, gain, ipath, kpath

    On 20 random cases (n 50-400, K 1-3) the paths agreed exactly (same allocations, spend and
    gain within 4e-16); this case is kept here so the check runs without maq installed.
    """
    w = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 1])
    y = [1.101, 0.338, -0.54, -1.26, -1.895, 0.019, -0.811, -0.872, -0.222, -0.052]
    tau = np.array(
        [[-2.077, 1.125], [-1.827, 2.06], [0.791, -0.272], [1.543, 0.221], [0.891, 0.307],
         [1.297, 1.261], [-0.707, -0.412], [0.543, -0.01], [-2.085, 2.226], [-1.975, -1.882]]
    )  # fmt: skip
    cost = np.array(
        [[0.992, 0.609], [0.313, 0.693], [0.694, 0.563], [0.351, 0.667], [0.531, 0.688],
         [0.588, 0.209], [0.918, 0.115], [0.38, 0.254], [0.409, 0.656], [0.596, 0.744]]
    )  # fmt: skip
    spend = [0.0209, 0.056, 0.1216, 0.1909, 0.2518, 0.3049, 0.3429, 0.4123, 0.4502]
    gain = [0.006333333333333334, 0.4263333333333334, 0.3523333333333334, 0.3523333333333334,
            -0.014666666666666606, -0.4884166666666666, -0.7064166666666666,
            -0.7064166666666666, -0.7127499999999999]  # fmt: skip
    ipath = [5, 3, 8, 1, 0, 4, 7, 2, 5]
    kpath = [1, 0, 1, 1, 1, 0, 0, 0, 0]
    res = multiarm_qini(
        _frame(tau),
        y,
        np.array(["c", "A", "B"])[w],
        control="c",
        cost_per_contact=0.0,
        customer_cost=cost,
        n_bootstrap=0,
    )
    assert res.path["row"].tolist() == ipath
    assert res.path["arm"].tolist() == [("A", "B")[k] for k in kpath]
    assert res.path["spend"].to_numpy() == pytest.approx(spend, abs=1e-12)
    assert res.path["gain"].to_numpy() == pytest.approx(gain, abs=1e-12)


def test_recommended_profit_interval_is_that_of_the_same_allocation():
    """A recommendation of a handful of customers: its interval resamples that allocation."""
    rng = np.random.default_rng(12)
    n = 3000
    treatment = rng.choice(np.array(["c", "A"]), n)
    y = (rng.random(n) < 0.1).astype(float)
    reward = np.full((n, 1), 0.001)
    reward[:5, 0] = 0.5  # only five customers are worth a contact at value 10, cost 1
    res = _one_arm(reward, y, treatment, n_bootstrap=200)
    rec = res.recommendation
    assert rec["n_contacts"] == 5 and rec["spend_total"] == pytest.approx(5.0)
    e_a, e_c = np.mean(treatment == "A"), np.mean(treatment == "c")
    ipw = ((treatment == "A") * y / e_a - (treatment == "c") * y / e_c)[:5].sum()
    assert rec["profit_total"] == pytest.approx(10 * ipw - 5.0)
    assert rec["profit_total_ci_low"] <= rec["profit_total"] <= rec["profit_total_ci_high"]
