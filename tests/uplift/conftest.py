"""Seeded synthetic uplift data with a known treatment effect per customer."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

CONTROL = "ctl"
ARMS = ("A", "B")


def true_uplift(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Known uplift (difference in conversion probability) of each arm."""
    x1 = frame["x1"].to_numpy()
    north = (frame["region"] == "north").to_numpy()
    return {
        "A": np.where(x1 > 0, 0.25, 0.0),
        "B": np.where(north, 0.15, -0.05),
    }


def make_frame(n: int = 3000, seed: int = 0, *, continuous: bool = False) -> pd.DataFrame:
    """RCT with arms ctl/A/B (1/3 each), numeric x1, x2 and a string feature ``region``."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "region": rng.choice(["north", "south", "east"], size=n),
            "arm": rng.choice([CONTROL, *ARMS], size=n),
        }
    )
    base = 0.3 + 0.1 * (frame["x2"].to_numpy() > 0)
    tau = true_uplift(frame)
    arm = frame["arm"].to_numpy()
    p = base + np.where(arm == "A", tau["A"], 0.0) + np.where(arm == "B", tau["B"], 0.0)
    if continuous:
        frame["spend"] = 10 * p + rng.normal(scale=1.0, size=n)
    else:
        frame["y"] = (rng.random(n) < p).astype(int)
    return frame


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    return make_frame()


@pytest.fixture(scope="session")
def data(frame):
    from uplift import UpliftData

    return UpliftData.from_frame(frame, treatment_col="arm", control=CONTROL, outcome_col="y")


@pytest.fixture(scope="session")
def fitted_t(data):
    from uplift import UpliftModel

    return UpliftModel("t", n_estimators=30, seed=1).fit(data)
