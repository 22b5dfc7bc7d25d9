"""Doubly robust effect on the treated: AIPW terms, grouped folds, multiplier bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from uplift.effects import att_dr_terms, cross_fit_propensity, group_folds, multiplier_bootstrap


def test_att_terms_by_hand():
    # treated: Y - m0; untreated: -e / (1 - e) * (Y - m0)
    y = np.array([1.0, 0.0, 1.0, 0.0])
    t = np.array([1, 1, 0, 0])
    m0 = np.array([0.25, 0.5, 0.5, 0.25])
    e = np.array([0.5, 0.5, 0.2, 0.75])
    psi = att_dr_terms(y, t, m0, e)
    np.testing.assert_allclose(psi, [0.75, -0.5, -0.25 * 0.5, -3.0 * -0.25])
    assert psi.sum() == pytest.approx(0.75 - 0.5 - 0.125 + 0.75)


def test_att_terms_recover_a_known_effect_under_confounding():
    # X confounds: treated more often when X = 1, and X = 1 converts more. With the true m0 and
    # e the AIPW total is unbiased for sum over the treated of (Y(1) - Y(0)).
    rng = np.random.default_rng(7)
    n = 400_000
    x = rng.random(n) < 0.5
    e = np.where(x, 0.7, 0.2)
    t = rng.random(n) < e
    m0 = np.where(x, 0.3, 0.1)
    y0 = rng.random(n) < m0
    y1 = rng.random(n) < m0 + 0.05
    y = np.where(t, y1, y0).astype(float)
    truth = 0.05 * t.sum()
    naive = y[t].sum() - y[~t].mean() * t.sum()
    estimate = att_dr_terms(y, t, m0, e).sum()
    se = np.sqrt(((att_dr_terms(y, t, m0, e) - estimate / n) ** 2).sum())
    assert abs(estimate - truth) < 4 * se
    assert naive > truth + 10 * se  # the naive difference is badly confounded


def test_group_folds_keep_groups_together_and_balance():
    groups = np.repeat(np.arange(100), np.arange(1, 101) % 3 + 1)
    folds = group_folds(groups, 3, seed=1)
    for g in np.unique(groups):
        assert np.unique(folds[groups == g]).size == 1
    per_fold_groups = [np.unique(groups[folds == k]).size for k in range(3)]
    assert sorted(per_fold_groups) == [33, 33, 34]
    assert np.array_equal(folds, group_folds(groups, 3, seed=1))
    with pytest.raises(ValueError, match="at least 2"):
        group_folds(groups, 1, seed=0)


def test_multiplier_bootstrap_moves_a_group_together():
    # two rows of one group with terms +1 and -1 always cancel; a lone row varies
    terms = np.array([[1.0, 2.0], [-1.0, 0.0], [0.0, 1.0]])
    groups = np.array([0, 0, 1])
    draws = multiplier_bootstrap(terms, groups, 2, n_replicates=500, seed=3)
    assert draws.shape == (500, 2)
    np.testing.assert_array_equal(draws[:, 0], 0.0)
    # column 2: 2 w_0 + 1 w_1, Poisson(1) weights: mean 3, variance 4 + 1
    assert draws[:, 1].mean() == pytest.approx(3.0, abs=4 * np.sqrt(5 / 500))
    assert draws[:, 1].var() == pytest.approx(5.0, rel=0.25)
    multi = multiplier_bootstrap(terms, groups, 2, n_replicates=200, seed=3, method="multinomial")
    # multinomial weights over 2 groups sum to 2
    assert set(np.unique(multi[:, 1])) <= {2 * a + (2 - a) for a in range(3)}
    with pytest.raises(ValueError, match="poisson"):
        multiplier_bootstrap(terms, groups, 2, n_replicates=2, seed=0, method="wild")


def test_cross_fit_propensity_is_out_of_fold_and_clipped():
    rng = np.random.default_rng(0)
    n = 6000
    x = rng.standard_normal((n, 2))
    t = rng.random(n) < 1 / (1 + np.exp(-2 * x[:, 0]))
    folds = group_folds(np.arange(n), 3, seed=0)
    e = cross_fit_propensity(
        x, t, folds, lgbm_params={"n_estimators": 30, "verbose": -1}, clip=0.05
    )
    assert e.min() >= 0.05 and e.max() <= 0.95
    assert np.corrcoef(e, x[:, 0])[0, 1] > 0.8
    # a fold whose training rows hold one class gets that class's share
    constant = cross_fit_propensity(x, np.zeros(n, dtype=bool), folds, clip=0.01)
    np.testing.assert_array_equal(constant, 0.01)
