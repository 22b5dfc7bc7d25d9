"""A randomized multi-arm campaign with known individual uplift.

:func:`simulate_campaign` draws customers with numeric and categorical features, assigns each to
a control or one of several treatment arms completely at random, and draws a binary conversion
from a logistic model whose treatment effect depends on the features. Because the true
conversion probability of every customer under every arm is known, the true uplift of each arm
for each customer is returned alongside the data: the ground truth for tests, examples and the
demo.

Generative model (``x`` = features, ``a`` = arm)::

    logit P(convert | x, control) = -2.6 + 0.35 * recent_visits_z - 0.4 * is_dormant
                                    + 0.3 * [preferred_channel == "app"]
    P(convert | x, arm) = sigmoid(logit_control(x) + effect_arm(x))

    effect_email(x) = 0.9 * [preferred_channel == "web"] * [tenure_years > 1]
                      - 0.5 * is_dormant                     # e-mail annoys dormant customers
    effect_push(x)  = 1.1 * [preferred_channel == "app"] * [age < 35] + 0.15

The true uplift of arm ``a`` for customer ``i`` is ``P(convert | x_i, a) - P(convert | x_i,
control)``. ``revenue`` is the conversion times a log-normal order value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from uplift.errors import InvalidUpliftOptionError

if TYPE_CHECKING:
    from uplift.data import UpliftData

__all__ = ["CampaignSimulation", "simulate_campaign"]

_ARMS = ("email", "push")


@dataclass(frozen=True, eq=False)
class CampaignSimulation:
    """A simulated campaign.

    Attributes
    ----------
    data
        One row per customer: features (``age``, ``tenure_years``, ``recent_visits``,
        ``is_dormant``, ``preferred_channel``, ``region``), the assigned ``arm``, the binary
        outcome ``converted`` and ``revenue``.
    true_uplift
        One column per treatment arm: the customer's true uplift in conversion probability.
    control
        Name of the control arm.
    """

    data: pd.DataFrame
    true_uplift: pd.DataFrame
    control: str

    @property
    def feature_columns(self) -> list[str]:
        """The pre-treatment feature columns."""
        return ["age", "tenure_years", "recent_visits", "is_dormant", "preferred_channel", "region"]

    def uplift_data(self, outcome_col: Literal["converted", "revenue"] = "converted") -> UpliftData:
        """Return the campaign as :class:`~uplift.data.UpliftData`: arm, outcome, features."""
        from uplift.data import UpliftData

        return UpliftData.from_frame(
            self.data,
            treatment_col="arm",
            control=self.control,
            outcome_col=outcome_col,
            feature_cols=self.feature_columns,
        )

    def __repr__(self) -> str:
        arms = ", ".join(self.true_uplift.columns)
        return (
            f"CampaignSimulation({len(self.data):,} customers, control {self.control!r}, "
            f"arms {arms}; mean true uplift "
            + ", ".join(f"{a}={self.true_uplift[a].mean():+.4f}" for a in self.true_uplift)
            + ")"
        )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate_campaign(
    n_customers: int = 20_000, *, control: str = "control", seed: int | None = 0
) -> CampaignSimulation:
    """Simulate a randomized campaign with arms ``email`` and ``push`` and a control.

    Each customer is assigned to control, ``email`` or ``push`` with probability 1/3.

    Examples
    --------
    >>> sim = simulate_campaign(3000, seed=1)
    >>> sorted(sim.data["arm"].unique())
    ['control', 'email', 'push']
    """
    if isinstance(n_customers, bool) or not isinstance(n_customers, int) or n_customers < 30:
        raise InvalidUpliftOptionError(
            f"n_customers must be an integer of at least 30, got {n_customers!r}"
        )
    if control in _ARMS:
        raise InvalidUpliftOptionError(
            f"control must differ from the arms {_ARMS}, got {control!r}"
        )
    rng = np.random.default_rng(seed)
    n = n_customers
    age = rng.integers(18, 80, n)
    tenure = np.round(rng.exponential(3.0, n), 1)
    visits = rng.poisson(2.0, n)
    dormant = (rng.random(n) < 0.2).astype(np.int8)
    visits = np.where(dormant == 1, 0, visits)
    preferred = rng.choice(np.array(["web", "app", "branch"], dtype=object), n, p=[0.45, 0.35, 0.2])
    region = rng.choice(np.array(["north", "south", "east", "west"], dtype=object), n)

    z_visits = (visits - 2.0) / np.sqrt(2.0)
    base = -2.6 + 0.35 * z_visits - 0.4 * dormant + 0.3 * (preferred == "app")
    effects = {
        "email": 0.9 * ((preferred == "web") & (tenure > 1)) - 0.5 * dormant,
        "push": 1.1 * ((preferred == "app") & (age < 35)) + 0.15,
    }
    p_control = _sigmoid(base)
    p_arm = {a: _sigmoid(base + e) for a, e in effects.items()}
    arms = np.array([control, *_ARMS], dtype=object)
    assigned = arms[rng.integers(0, 3, n)]
    p = np.where(assigned == control, p_control, 0.0)
    for a in _ARMS:
        p = np.where(assigned == a, p_arm[a], p)
    converted = (rng.random(n) < p).astype(np.int8)
    revenue = np.round(converted * rng.lognormal(3.8, 0.5, n), 2)
    data = pd.DataFrame(
        {
            "age": age,
            "tenure_years": tenure,
            "recent_visits": visits,
            "is_dormant": dormant,
            "preferred_channel": preferred,
            "region": region,
            "arm": assigned,
            "converted": converted,
            "revenue": revenue,
        }
    )
    truth = pd.DataFrame({a: p_arm[a] - p_control for a in _ARMS})
    return CampaignSimulation(data=data, true_uplift=truth, control=control)
