"""Heuristic models on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attribution import (
    FirstTouch,
    InvalidModelOptionError,
    Journeys,
    LastNonDirect,
    LastTouch,
    Linear,
    PositionBased,
    TimeDecay,
    heuristic_attribution,
)

# Paths (conversions, nulls, value):
#   search > email > direct   2, 1, 100
#   direct                    1, 0, 10
#   email > search            1, 3, 30
#   display > display > search > email  1, 0, 40
PATHS = [
    (["search", "email", "direct"], 2, 1, 100.0),
    (["direct"], 1, 0, 10.0),
    (["email", "search"], 1, 3, 30.0),
    (["display", "display", "search", "email"], 1, 0, 40.0),
]


@pytest.fixture
def journeys():
    return Journeys.from_sequences(
        [p for p, *_ in PATHS],
        [c for _, c, _, _ in PATHS],
        [n for _, _, n, _ in PATHS],
        [v for *_, v in PATHS],
    )


def credit(journeys, model):
    r = model.fit(journeys).result_
    return dict(zip(r.channels, r.conversions, strict=True)), dict(
        zip(r.channels, r.value, strict=True)
    )


def test_first_touch(journeys):
    conv, value = credit(journeys, FirstTouch(n_bootstrap=0))
    assert conv == {"direct": 1, "display": 1, "email": 1, "search": 2}
    assert value == {"direct": 10, "display": 40, "email": 30, "search": 100}


def test_last_touch(journeys):
    conv, _ = credit(journeys, LastTouch(n_bootstrap=0))
    assert conv == {"direct": 3, "display": 0, "email": 1, "search": 1}


def test_last_non_direct(journeys):
    conv, value = credit(journeys, LastNonDirect(n_bootstrap=0))
    # search > email > direct -> email; direct only -> direct
    assert conv == {"direct": 1, "display": 0, "email": 3, "search": 1}
    assert value == {"direct": 10, "display": 0, "email": 140, "search": 30}
    conv2, _ = credit(journeys, LastNonDirect(direct_channel="email", n_bootstrap=0))
    assert conv2 == {"direct": 3, "display": 0, "email": 0, "search": 2}


def test_linear(journeys):
    conv, _ = credit(journeys, Linear(n_bootstrap=0))
    expected = {
        "search": 2 / 3 + 1 / 2 + 1 / 4,
        "email": 2 / 3 + 1 / 2 + 1 / 4,
        "direct": 2 / 3 + 1,
        "display": 2 / 4,
    }
    assert conv == pytest.approx(expected)


def test_position_based_default_and_short_paths(journeys):
    conv, _ = credit(journeys, PositionBased(n_bootstrap=0))
    expected = {
        # 3 touches: .4/.2/.4 (x2 conversions); 1 touch: 1; 2 touches: .5/.5; 4 touches .4 .1 .1 .4
        "search": 2 * 0.4 + 0.5 + 0.1,
        "email": 2 * 0.2 + 0.5 + 0.4,
        "direct": 2 * 0.4 + 1.0,
        "display": 0.4 + 0.1,
    }
    assert conv == pytest.approx(expected)
    conv2, _ = credit(journeys, PositionBased(first=30, middle=40, last=30, n_bootstrap=0))
    assert conv2["display"] == pytest.approx(0.3 + 0.2)
    with pytest.raises(InvalidModelOptionError, match="position weights"):
        PositionBased(first=-1, n_bootstrap=0).fit(journeys)


def test_time_decay_positional_is_labelled(journeys):
    model = TimeDecay(half_life=1, n_bootstrap=0).fit(journeys)
    r = model.result_
    assert r.params["basis"] == "positions"
    assert any("positional" in n for n in r.notes)
    conv = dict(zip(r.channels, r.conversions, strict=True))
    # email > search: weights 1/2 : 1 -> 1/3, 2/3
    w3 = np.array([0.25, 0.5, 1.0]) / 1.75
    assert conv["direct"] == pytest.approx(2 * w3[2] + 1.0)
    with pytest.raises(InvalidModelOptionError, match="no timestamps"):
        TimeDecay(half_life="7d", n_bootstrap=0).fit(journeys)


def test_time_decay_on_timestamps():
    events = pd.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 2],
            "timestamp": pd.to_datetime(
                ["2024-01-01", "2024-01-08", "2024-01-08", "2024-01-01", "2024-01-02", "2024-01-15"]
            ),
            "channel": ["a", "b", None, "a", "b", None],
            "conversion": [0, 0, 1, 0, 0, 1],
            "value": [0, 0, 10.0, 0, 0, 30.0],
        }
    )
    j = Journeys.from_events(events)
    r = TimeDecay(half_life="7d", n_bootstrap=0).fit(j).result_
    assert r.params["basis"] == "timestamps"
    # user 1: ages 7d and 0d -> weights 1/2, 1 -> a 1/3, b 2/3 (value 10)
    # user 2: ages 14d and 13d -> weights 2^-2, 2^-13/7
    wa, wb = 2.0**-2, 2.0 ** (-13 / 7)
    a2 = wa / (wa + wb)
    conv = dict(zip(r.channels, r.conversions, strict=True))
    value = dict(zip(r.channels, r.value, strict=True))
    assert conv["a"] == pytest.approx(1 / 3 + a2)
    assert conv["b"] == pytest.approx(2 / 3 + 1 - a2)
    assert value["a"] == pytest.approx(10 / 3 + 30 * a2)


@pytest.mark.parametrize(
    "name",
    ["first_touch", "last_touch", "last_non_direct", "linear", "position_based", "time_decay"],
)
def test_credit_sums_to_totals(journeys, name):
    r = heuristic_attribution(journeys, name, n_bootstrap=0)
    assert r.conversions.sum() == pytest.approx(journeys.total_conversions)
    assert r.value.sum() == pytest.approx(journeys.total_value)
    assert r.share.sum() == pytest.approx(1.0)


def test_unknown_model(journeys):
    with pytest.raises(InvalidModelOptionError, match="unknown heuristic model 'lineer'"):
        heuristic_attribution(journeys, "lineer")


def test_bootstrap_interval_contains_estimate():
    j = Journeys.from_sequences(
        [["a", "b"], ["b"], ["a"], ["c", "a"]],
        [300, 120, 80, 40],
        [500, 900, 400, 100],
        [3000, 1200, 800, 400],
    )
    r = Linear(n_bootstrap=100, seed=1).fit(j).result_
    assert np.all(r.ci.conversions_low <= r.conversions)
    assert np.all(r.conversions <= r.ci.conversions_high)
    assert np.all(r.ci.conversions_high - r.ci.conversions_low > 0)
    r_multi = Linear(n_bootstrap=100, bootstrap_method="multinomial").fit(j).result_
    assert r_multi.ci.method == "multinomial"
