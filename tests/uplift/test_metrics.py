from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from causalml.metrics import auuc_score as cm_auuc_score
from causalml.metrics import get_cumgain, get_qini, qini_score

from uplift import (
    InvalidUpliftDataError,
    InvalidUpliftOptionError,
    auuc_score,
    compare_evaluations,
    evaluate_uplift,
    gain_curve,
    qini_coefficient,
    qini_curve,
    uplift_at_k,
    uplift_by_decile,
)

# Tiny case computed by hand (see the test for the arithmetic).
S = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
T = np.array([1, 0, 1, 0, 1, 0])
Y = np.array([1, 0, 1, 1, 0, 0])


def test_hand_computed_qini_curve_and_coefficient():
    # k=1: no control yet -> interpolated; k=2: 1 - 0*1/1 = 1; k=3: 2 - 0 = 2;
    # k=4: 2 - 1*2/2 = 1; k=5: 2 - 1*3/2 = 0.5; k=6: 2 - 1*3/3 = 1.
    q = qini_curve(S, Y, T)
    np.testing.assert_allclose(q["qini"], [0, 0.5, 1, 2, 1, 0.5, 1])
    np.testing.assert_allclose(q["random"], np.arange(7) / 6)
    # (sum Q - sum random) / (N+1) / N = (6 - 3.5) / 7 / 6
    assert qini_coefficient(S, Y, T) == pytest.approx(2.5 / 42)


def test_hand_computed_gain_and_auuc():
    # lift(k) = mean_t - mean_c: k=2: 1; k=3: 1; k=4: 0.5; k=5: 2/3-1/2; k=6: 1/3; k=1 -> 0.5.
    g = gain_curve(S, Y, T)
    expected = [0, 0.5, 2, 3, 2, 5 / 6, 2]
    np.testing.assert_allclose(g["gain"], expected)
    assert auuc_score(S, Y, T) == pytest.approx(sum(expected) / 7 / 6)


def test_hand_computed_uplift_at_k_and_deciles():
    assert uplift_at_k(S, Y, T, 0.5) == pytest.approx(1.0)  # top 3: 2/2 - 0/1
    assert uplift_at_k(S, Y, T, 0.7) == pytest.approx(0.5)  # top floor(4.2)=4: 2/2 - 1/2
    assert uplift_at_k(S, Y, T, 1.0) == pytest.approx(1 / 3)  # everyone = ATE
    dec = uplift_by_decile(S, Y, T, n_bins=2)
    np.testing.assert_allclose(dec["observed_uplift"], [1.0, -0.5])
    np.testing.assert_allclose(dec["mean_predicted_uplift"], [0.8, 0.5])
    assert dec["n"].tolist() == [3, 3]
    assert dec["n_treated"].tolist() == [2, 1]


def test_ties_are_broken_by_row_order():
    tied = np.zeros(6)
    by_row = np.arange(6, 0, -1, dtype=float)
    pd.testing.assert_frame_equal(qini_curve(tied, Y, T), qini_curve(by_row, Y, T))
    # reversing the rows of tied scores changes the curve: order really is by row
    assert not np.allclose(
        qini_curve(tied, Y[::-1], T[::-1])["qini"], qini_curve(by_row, Y, T)["qini"]
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cross_check_against_causalml(seed):
    rng = np.random.default_rng(seed)
    n = 1500
    s = rng.normal(size=n)  # continuous scores: no ties, so sort orders agree
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.3 + 0.15 * t * (s > 0)).astype(float)
    df = pd.DataFrame({"y": y, "w": t, "model": s})
    q = qini_curve(s, y, t)["qini"].to_numpy()
    np.testing.assert_allclose(q, get_qini(df)["model"].to_numpy(), rtol=1e-12, atol=1e-9)
    g = gain_curve(s, y, t)["gain"].to_numpy()
    np.testing.assert_allclose(g, get_cumgain(df)["model"].to_numpy(), rtol=1e-12, atol=1e-9)
    ours = qini_coefficient(s, y, t)
    # constant factors: N without normalisation, N/|Q(N)| with causalml's default normalisation
    assert ours * n == pytest.approx(qini_score(df, normalize=False)["model"], rel=1e-10)
    assert ours * n / abs(q[-1]) == pytest.approx(qini_score(df)["model"], rel=1e-10)
    assert auuc_score(s, y, t) * n == pytest.approx(
        cm_auuc_score(df, normalize=False)["model"], rel=1e-10
    )


def test_random_scores_have_qini_near_zero_and_true_scores_win():
    rng = np.random.default_rng(5)
    n = 20000
    tau = np.where(rng.random(n) < 0.5, 0.3, 0.0)
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.2 + tau * t).astype(float)
    arm = np.where(t == 1, "A", "c")
    ev_true = evaluate_uplift({"A": tau + 1e-3 * rng.random(n)}, y, arm, "c", n_bootstrap=100)
    ev_noise = evaluate_uplift({"A": rng.random(n)}, y, arm, "c", n_bootstrap=100)
    lo, _hi = ev_true.arms["A"].intervals["qini"]
    assert lo > 0
    assert abs(ev_noise.value("A", "qini")) < 0.2 * ev_true.value("A", "qini")
    # uplift@30%: all top rows have tau = 0.3 with the true score
    assert ev_true.value("A", "uplift@30%") == pytest.approx(0.3, abs=0.05)  # ~4 s.e.
    assert ev_true.arms["A"].baselines["uplift@30%"] == pytest.approx(0.15, abs=0.02)
    diff = compare_evaluations(ev_true, ev_noise).set_index("metric")
    assert diff.loc["qini", "ci_low"] > 0
    # ate does not depend on the scores: paired replicates cancel exactly
    assert diff.loc["ate", "difference"] == 0
    assert (diff.loc["ate", "ci_low"], diff.loc["ate", "ci_high"]) == (0.0, 0.0)


def test_evaluate_uplift_multi_arm_frames(data, fitted_t):
    pred = fitted_t.predict(data.features)
    ev = evaluate_uplift(pred, data.outcome, data.treatment, "ctl", n_bootstrap=50, seed=3)
    frame = ev.to_frame()
    assert set(frame["arm"]) == {"A", "B"}
    assert set(frame["metric"]) == {
        "ate",
        "qini",
        "auuc",
        "uplift@10%",
        "uplift@20%",
        "uplift@30%",
        "calibration_error",
    }
    counts = data.arm_counts()
    a = frame[frame["arm"] == "A"].iloc[0]
    assert a["n"] == counts["A"] + counts["ctl"] and a["n_treated"] == counts["A"]
    assert (frame["ci_low"] <= frame["ci_high"]).all()
    q = frame[frame["metric"] == "qini"]
    assert (q["random_baseline"] == 0).all()
    dec = ev.deciles_frame()
    assert len(dec) == 20 and dec.groupby("arm")["n"].sum()["A"] == a["n"]
    d = ev.to_dict()
    assert d["n_bootstrap"] == 50 and len(d["metrics"]) == 14
    again = evaluate_uplift(pred, data.outcome, data.treatment, "ctl", n_bootstrap=50, seed=3)
    pd.testing.assert_frame_equal(again.to_frame(), frame)
    curves = ev.curves_frame("A")
    assert curves["fraction"].iloc[-1] == 1.0
    assert curves["qini"].iloc[-1] == pytest.approx(curves["qini_random"].iloc[-1])
    assert "ArmEvaluation(arm='A'" in repr(ev)


def test_no_bootstrap_gives_nan_intervals():
    ev = evaluate_uplift({"A": S}, Y, np.where(T == 1, "A", "c"), "c", n_bootstrap=0)
    row = ev.to_frame().set_index("metric").loc["qini"]
    assert row["value"] == pytest.approx(2.5 / 42)
    assert np.isnan(row["ci_low"])


def test_evaluation_errors():
    arm = np.where(T == 1, "A", "c")
    with pytest.raises(InvalidUpliftDataError, match=r"lack column\(s\) \['uplift_B'\]"):
        evaluate_uplift(pd.DataFrame({"uplift_A": S}), Y, arm, "c", arms=["B"])
    with pytest.raises(InvalidUpliftDataError, match="control arm 'zz' not found"):
        evaluate_uplift({"A": S}, Y, arm, "zz")
    with pytest.raises(InvalidUpliftDataError, match="same number of rows"):
        evaluate_uplift({"A": S[:4]}, Y, arm, "c")
    with pytest.raises(InvalidUpliftOptionError, match="ci must be"):
        evaluate_uplift({"A": S}, Y, arm, "c", ci=95)
    with pytest.raises(InvalidUpliftDataError, match="both treated and control"):
        qini_coefficient(S, Y, np.ones(6))
    with pytest.raises(InvalidUpliftDataError, match="score has 1 missing"):
        qini_coefficient(np.r_[S[:5], np.nan], Y, T)


@pytest.mark.slow
def test_bootstrap_interval_coverage_for_random_ranking():
    """A random ranking has Qini 0 in expectation: the 95% interval should cover 0 mostly."""
    covered = 0
    sims = 40
    for seed in range(sims):
        rng = np.random.default_rng(100 + seed)
        n = 2000
        tau = np.where(rng.random(n) < 0.5, 0.3, 0.0)
        t = rng.integers(0, 2, n)
        y = (rng.random(n) < 0.2 + tau * t).astype(float)
        ev = evaluate_uplift(
            {"A": rng.random(n)}, y, np.where(t == 1, "A", "c"), "c", n_bootstrap=100, seed=seed
        )
        lo, hi = ev.arms["A"].intervals["qini"]
        covered += lo < 0 < hi
    assert covered / sims >= 0.8


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_cross_check_against_scikit_uplift():
    sk = pytest.importorskip("sklift.metrics")
    rng = np.random.default_rng(8)
    n = 1200
    s = rng.normal(size=n)
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.3 + 0.15 * t * (s > 0)).astype(int)
    # top row control, second treated: both curves are defined from k = 2 on (no leading run,
    # where scikit-uplift uses 0 and we interpolate)
    top = np.argsort(-s)[:2]
    t[top[0]], t[top[1]] = 0, 1
    x, q = sk.qini_curve(y, s, t)
    np.testing.assert_allclose(q, qini_curve(s, y, t)["qini"].to_numpy()[x], atol=1e-9)
    xu, u = sk.uplift_curve(y, s, t)
    np.testing.assert_allclose(u[2:], gain_curve(s, y, t)["gain"].to_numpy()[xu][2:], atol=1e-9)
    for k in (0.1, 0.2, 0.3):
        assert sk.uplift_at_k(y, s, t, strategy="overall", k=k) == pytest.approx(
            uplift_at_k(s, y, t, k), rel=1e-12
        )
    # scikit-uplift's qini_auc_score = (trapezoid area of Q - random) / (same for the perfect
    # model); the trapezoid area between Q and the random line equals sum_k [Q(k) - k/N Q(N)],
    # i.e. our qini * N * (N + 1). The ratio of the two scores is data dependent.
    xp, qp = sk.perfect_qini_curve(y, t)
    perfect = np.trapezoid(qp, xp) - qp[-1] * xp[-1] / 2
    assert sk.qini_auc_score(y, s, t) * perfect == pytest.approx(
        qini_coefficient(s, y, t) * n * (n + 1), rel=1e-9
    )
