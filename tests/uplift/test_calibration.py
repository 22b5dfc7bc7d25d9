"""Calibrated uplift: bins, the constrained line, cross-fitting, calibrated models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from uplift import InvalidUpliftDataError, InvalidUpliftOptionError, UpliftData, UpliftModel
from uplift.calibration import BETA_FLOOR, calibration_bins, fit_calibration, fit_line
from uplift.crossfit import cross_fit, fold_ids
from uplift.metrics import evaluate_uplift


def test_bins_hand_case():
    # 8 rows ranked by score; 2 bins of 4
    score = np.array([0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4])
    y = np.array([1, 0, 1, 1, 0, 0, 1, 1], dtype=float)
    t = np.array([1, 1, 0, 0, 1, 0, 1, 0], dtype=bool)
    bins = calibration_bins(score, y, t, 2)
    # bin 1: scores 0.9 (t,1) 0.8 (c,1) 0.7 (t,0) 0.6 (t,1): treated mean 2/3, control 1
    # bin 2: 0.4 (c,1) 0.3 (c,0) 0.2 (c,1) 0.1 (t,0): treated 0, control 2/3
    assert bins["n"].tolist() == [4, 4]
    assert bins["n_treated"].tolist() == [3, 1]
    assert bins["mean_predicted_uplift"].tolist() == pytest.approx([0.75, 0.25])
    assert bins["observed_uplift"].tolist() == pytest.approx([2 / 3 - 1, 0 - 2 / 3])
    # bin 1: var(1,0,1) = 1/3 over 3 treated; one control row -> the variance of all four
    # control rows (1, 1, 0, 1): 0.25
    assert bins.loc[0, "se"] == pytest.approx(np.sqrt((1 / 3) / 3 + 0.25 / 1))


def test_line_hand_case_and_constraint():
    alpha, beta = fit_line(np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0]), np.ones(3))
    assert (float(alpha), float(beta)) == pytest.approx((1.0, 1.0))
    # weights: observed (0, 0, 3) at (0, 1, 2) with weights (1, 1, 2): p=1.25, o=1.5
    # sxy = (-1.25*-1.5 + -0.25*-1.5 + 2*0.75*1.5)/4, sxx = (1.5625 + 0.0625 + 2*0.5625)/4
    weights = np.array([1, 1, 2])
    alpha, beta = fit_line(np.array([0.0, 1.0, 2.0]), np.array([0.0, 0.0, 3.0]), weights)
    b = (1.875 + 0.375 + 2.25) / (1.5625 + 0.0625 + 1.125)
    assert float(beta) == pytest.approx(b) and float(alpha) == pytest.approx(1.5 - b * 1.25)
    # a negative slope becomes the floor 1e-6 (the ranking survives) and the line passes
    # through the weighted means (p, o) = (0.25, 1.5)
    alpha, beta = fit_line(np.array([0.0, 1.0]), np.array([2.0, 0.0]), np.array([3.0, 1.0]))
    assert float(beta) == BETA_FLOOR == 1e-6
    assert float(alpha) == pytest.approx(1.5 - 1e-6 * 0.25, abs=1e-15)
    # constant predictions: the floor slope, the intercept at the weighted mean
    alpha, beta = fit_line(np.array([0.2, 0.2]), np.array([1.0, 3.0]), np.ones(2))
    assert float(beta) == 1e-6 and float(alpha) == pytest.approx(2.0 - 2e-7, abs=1e-15)
    # vectorised over replicates
    alphas, betas = fit_line(np.array([0.0, 1.0]), np.array([[0.0, 1.0], [1.0, 0.0]]), np.ones(2))
    assert alphas.tolist() == pytest.approx([0.0, 0.5], abs=1e-6)
    assert betas.tolist() == [1.0, 1e-6]


def test_calibration_recovers_an_overconfident_score():
    """Known truth: the score is 3x the true uplift minus 0.05; the line must undo it."""
    rng = np.random.default_rng(20240611)
    n = 200_000
    tau = rng.uniform(0.0, 0.2, n)
    arm = rng.choice(np.array(["c", "A"]), n)
    p = 0.2 + np.where(arm == "A", tau, 0.0)
    y = (rng.random(n) < p).astype(float)
    score = 3 * tau - 0.05
    cal = fit_calibration(score[:, None], y, arm, control="c", arms=["A"], n_bins=10)
    fit = cal.fits["A"]
    assert fit.beta == pytest.approx(1 / 3, abs=0.04)
    assert fit.alpha == pytest.approx(0.05 / 3, abs=0.01)
    assert np.abs(cal.apply(score[:, None])[:, 0] - tau).mean() < 0.01
    # the parametric replicates centre on the fit
    _alphas, betas = cal.draws(400, seed=1)
    assert betas.shape == (400, 1) and abs(betas.mean() - fit.beta) < 0.02


def test_calibration_errors():
    y = np.zeros(10)
    arm = np.array(["c", "A"] * 5)
    with pytest.raises(InvalidUpliftOptionError, match="integer >= 2"):
        fit_calibration(np.zeros((10, 1)), y, arm, control="c", arms=["A"], n_bins=1)
    with pytest.raises(InvalidUpliftOptionError, match="too few for 10 calibration bins"):
        fit_calibration(np.zeros((10, 1)), y, arm, control="c", arms=["A"], n_bins=10)
    with pytest.raises(InvalidUpliftDataError, match=r"\(rows, arms\) = \(10, 2\)"):
        fit_calibration(np.zeros((10, 1)), y, arm, control="c", arms=["A", "B"])
    with pytest.raises(InvalidUpliftDataError, match="missing values"):
        fit_calibration(np.full((10, 1), np.nan), y, arm, control="c", arms=["A"], n_bins=2)


def test_fold_ids_are_stratified_and_seeded():
    treatment = np.array(["a"] * 7 + ["b"] * 5)
    folds = fold_ids(treatment, n_folds=3, seed=4)
    assert np.array_equal(folds, fold_ids(treatment, n_folds=3, seed=4))
    assert sorted(np.bincount(folds[:7]).tolist()) == [2, 2, 3]
    assert sorted(np.bincount(folds[7:]).tolist()) == [1, 2, 2]
    with pytest.raises(InvalidUpliftOptionError, match="n_folds must be an integer >= 2"):
        fold_ids(treatment, n_folds=1)
    with pytest.raises(InvalidUpliftOptionError, match="arm 'b' has 5 row"):
        fold_ids(treatment, n_folds=6)


def test_calibrated_model_predicts_saves_and_loads(data, tmp_path):
    cf = cross_fit(data, "t", params={"n_estimators": 30, "seed": 1}, n_folds=3, seed=2)
    assert cf.oof.shape == (len(data), 2) and np.isfinite(cf.oof).all() and cf.n_folds == 3
    for k, m in enumerate(cf.models):  # each fold model never saw its fold
        assert m.metadata_["training"]["n_rows"] == int((cf.folds != k).sum())
    model = UpliftModel("t", n_estimators=30, seed=1).fit(data)
    raw = model.predict_uplift(data.features)
    model.calibrate(cf, data)
    cal = model.calibration_
    assert cal is not None and len(model.fold_models_) == 3
    calibrated = model.predict_uplift(data.features)
    assert np.allclose(calibrated, cal.alpha + cal.beta * raw)
    assert np.array_equal(model.predict_uplift(data.features, calibrated=False), raw)
    pred = model.predict(data.features)
    assert np.allclose(pred[["uplift_A", "uplift_B"]].to_numpy(), calibrated)
    model.save(tmp_path / "m")
    loaded = UpliftModel.load(tmp_path / "m")
    assert np.array_equal(loaded.predict_uplift(data.features), calibrated)
    assert len(loaded.fold_models_) == 3 and loaded.metadata_["cross_fit"]["n_folds"] == 3
    # refitting drops the calibration
    assert model.fit(data).calibration_ is None


def test_calibration_shrinks_the_calibration_error(frame):
    """Known truth: on fresh rows the calibrated model is better calibrated than the raw one."""
    from tests.uplift.conftest import make_frame

    train = UpliftData.from_frame(
        make_frame(6000, seed=5), treatment_col="arm", control="ctl", outcome_col="y"
    )
    test = UpliftData.from_frame(
        make_frame(30000, seed=6), treatment_col="arm", control="ctl", outcome_col="y"
    )
    params = {"n_estimators": 60, "num_leaves": 31, "seed": 0}
    model = UpliftModel("t", **params).fit(train)
    raw = evaluate_uplift(
        model.predict(test.features), test.outcome, test.treatment, "ctl", n_bootstrap=0
    )
    model.calibrate(cross_fit(train, "t", params=params, n_folds=3, seed=0), train)
    cal = evaluate_uplift(
        model.predict(test.features), test.outcome, test.treatment, "ctl", n_bootstrap=0
    )
    for arm in ("A", "B"):
        assert cal.value(arm, "calibration_error") < 0.5 * raw.value(arm, "calibration_error")
        # calibration keeps the ranking within an arm
        assert cal.value(arm, "qini") == pytest.approx(raw.value(arm, "qini"))


def test_calibration_error_metric_hand_case():
    # 4 rows, 2 bins: bin 1 (scores 0.4, 0.3): treated y=1, control y=0 -> observed 1, pred .35
    # bin 2 (0.2, 0.1): treated y=0, control y=0 -> observed 0, predicted 0.15
    ev = evaluate_uplift(
        {"A": [0.4, 0.3, 0.2, 0.1]},
        [1, 0, 0, 0],
        ["A", "c", "A", "c"],
        "c",
        n_bins=2,
        n_bootstrap=0,
    )
    assert ev.value("A", "calibration_error") == pytest.approx((0.65 + 0.15) / 2)
    row = ev.to_frame().set_index("metric").loc["calibration_error"]
    assert np.isnan(row["random_baseline"])
    assert isinstance(pd.DataFrame(ev.to_dict()["metrics"]), pd.DataFrame)


def test_a_negative_slope_keeps_the_ranking():
    """Scores that look anti-correlated out of fold: flat level, same order within the arm."""
    rng = np.random.default_rng(8)
    n = 4000
    arm = rng.choice(np.array(["c", "A"]), n)
    score = rng.normal(size=n)
    y = (rng.random(n) < 0.3 - 0.05 * np.where(arm == "A", score > 0, 0)).astype(float)
    cal = fit_calibration(score[:, None], y, arm, control="c", arms=["A"])
    assert cal.fits["A"].beta == BETA_FLOOR
    out = cal.apply(score[:, None])[:, 0]
    assert np.array_equal(np.argsort(out, kind="stable"), np.argsort(score, kind="stable"))
    assert np.ptp(out) < 1e-4
