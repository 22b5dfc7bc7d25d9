"""The campaign simulator: randomization, truth and reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from uplift.errors import InvalidUpliftOptionError
from uplift.simulate import simulate_campaign


def test_shapes_arms_and_determinism():
    a = simulate_campaign(5000, seed=3)
    b = simulate_campaign(5000, seed=3)
    assert a.data.equals(b.data)
    assert list(a.true_uplift.columns) == ["email", "push"]
    assert set(a.data["arm"]) == {"control", "email", "push"}
    assert set(a.feature_columns) <= set(a.data.columns)
    shares = a.data["arm"].value_counts(normalize=True)
    assert np.allclose(shares.to_numpy(), 1 / 3, atol=0.03)


def test_randomization_balances_features():
    sim = simulate_campaign(60_000, seed=0)
    means = sim.data.groupby("arm")[["age", "recent_visits", "is_dormant"]].mean()
    assert (means.max() - means.min() < [1.0, 0.06, 0.015]).all()


def test_observed_uplift_matches_truth_by_segment():
    """Difference in conversion rates per segment estimates the mean true uplift there."""
    sim = simulate_campaign(200_000, seed=1)
    d = sim.data.assign(true_push=sim.true_uplift["push"], true_email=sim.true_uplift["email"])
    young_app = (d["preferred_channel"] == "app") & (d["age"] < 35)
    for arm, segment in (("push", young_app), ("email", d["is_dormant"] == 1)):
        seg = d[segment]
        observed = (
            seg.loc[seg["arm"] == arm, "converted"].mean()
            - seg.loc[seg["arm"] == "control", "converted"].mean()
        )
        truth = seg[f"true_{arm}"].mean()
        assert observed == pytest.approx(truth, abs=0.02)
    web_tenured = (d["preferred_channel"] == "web") & (d["tenure_years"] > 1)
    sleeping_dogs = (d["is_dormant"] == 1) & ~web_tenured
    assert (sim.true_uplift.loc[sleeping_dogs, "email"] < 0).all()
    assert (sim.true_uplift.loc[~sleeping_dogs, "email"] >= 0).all()


def test_bad_options():
    with pytest.raises(InvalidUpliftOptionError, match="n_customers must be an integer"):
        simulate_campaign(10)
    with pytest.raises(InvalidUpliftOptionError, match="control must differ"):
        simulate_campaign(100, control="email")
