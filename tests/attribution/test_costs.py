"""Cost tables, CPA/ROAS with intervals, reallocation, period comparison and period split."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from attribution.base import Credit
from attribution.bootstrap import bootstrap_credit
from attribution.costs import (
    CostTable,
    InvalidCostsError,
    channel_economics,
    compare_periods,
    period_journeys,
    split_events,
    suggest_reallocation,
)
from attribution.errors import AttributionError, InvalidJourneysError
from attribution.heuristics import LastTouch
from attribution.journeys import Journeys
from attribution.result import AttributionResult, ConfidenceIntervals
from attribution.simulate import SimulationConfig, simulate_journeys


def make_result(
    model: str,
    channels: tuple[str, ...],
    conv: list[float],
    conv_ci: tuple[list[float], list[float]] | None,
    value: list[float],
    value_ci: tuple[list[float], list[float]] | None = None,
) -> AttributionResult:
    ci = None
    if conv_ci is not None:
        v_lo, v_hi = value_ci if value_ci is not None else (value, value)
        ci = ConfidenceIntervals(
            conversions_low=np.array(conv_ci[0], dtype=float),
            conversions_high=np.array(conv_ci[1], dtype=float),
            value_low=np.array(v_lo, dtype=float),
            value_high=np.array(v_hi, dtype=float),
            level=0.95,
            n_replicates=200,
            method="poisson",
            seed=0,
        )
    return AttributionResult(
        model=model,
        params={},
        channels=channels,
        conversions=np.array(conv, dtype=float),
        value=np.array(value, dtype=float),
        total_conversions=float(sum(conv)),
        total_value=float(sum(value)),
        ci=ci,
    )


@pytest.fixture
def costs() -> CostTable:
    frame = pd.DataFrame(
        {
            "channel": ["A", "A", "B", " B "],
            "period": ["2024-01-01", "2024-01-08", "2024-01-01", "2024-01-01"],
            "cost": [20.0, 30.0, 150.0, 50.0],
        }
    )
    return CostTable.from_frame(frame)


@pytest.fixture
def result() -> AttributionResult:
    return make_result(
        "m",
        ("A", "B", "C"),
        [10, 20, 0],
        ([5, 15, 0], [15, 25, 2]),
        [100, 400, 0],
        ([50, 300, 0], [150, 500, 10]),
    )


# ----------------------------------------------------------------------------- CostTable


def test_cost_table_sums_duplicates_and_trims_names(costs: CostTable) -> None:
    assert costs.spend().to_dict() == {"A": 50.0, "B": 200.0}
    assert len(costs.frame) == 3  # B's two 2024-01-01 rows are one
    assert costs.channels == ("A", "B")
    assert costs.between("2024-01-08").spend().to_dict() == {"A": 30.0}
    assert costs.between(None, "2024-01-08").spend().to_dict() == {"A": 20.0, "B": 200.0}
    assert "2 channels" in repr(costs)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (
            pd.DataFrame({"channel": ["A"], "period": ["2024-01-01"]}),
            "required column 'cost' is missing",
        ),
        (
            pd.DataFrame({"channel": ["A", "B"], "period": ["2024-01-01"] * 2, "cost": [1, -2]}),
            "row 1 has -2.0",
        ),
        (
            pd.DataFrame({"channel": ["A", "B"], "period": ["2024-01-01"] * 2, "cost": [1, "x"]}),
            "row 1 has 'x'",
        ),
        (
            pd.DataFrame({"channel": ["A", ""], "period": ["2024-01-01"] * 2, "cost": [1, 2]}),
            "empty channel at row 1",
        ),
        (
            pd.DataFrame({"channel": ["A", "B"], "period": ["2024-01-01", "soon"], "cost": [1, 2]}),
            "unparseable period at row 1",
        ),
        (
            pd.DataFrame(
                {"channel": ["A", "B"], "period": ["2024-01-01", "3000-01-01"], "cost": [1, 2]}
            ),
            r"'period' has a time out of range at row 1 \(3000-01-01 00:00:00\)",
        ),
        (pd.DataFrame({"channel": [], "period": [], "cost": []}), "empty"),
    ],
)
def test_cost_table_validation(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(InvalidCostsError, match=message) as info:
        CostTable.from_frame(frame)
    assert isinstance(info.value, AttributionError)
    assert isinstance(info.value, ValueError)


def test_cost_table_from_csv_file(tmp_path) -> None:
    path = tmp_path / "costs.csv"
    path.write_text("channel,week,spend\nA,2024-01-01,3.5\nB,2024-01-01,1\n")
    table = CostTable.from_frame(path, period_col="week", cost_col="spend")
    assert table.spend().to_dict() == {"A": 3.5, "B": 1.0}
    with pytest.raises(InvalidCostsError, match="does not exist"):
        CostTable.from_frame(tmp_path / "missing.csv")


def test_cost_table_from_events_matches_simulator_cost_table() -> None:
    sim = simulate_journeys(SimulationConfig(n_users=3000, seed=5))
    from_events = CostTable.from_events(sim.events, period="week")
    reference = sim.costs.groupby(["channel", "period"])["cost"].sum()
    mine = from_events.frame.set_index(["channel", "period"])["cost"]
    both = pd.concat([reference, mine], axis=1, keys=["ref", "mine"]).fillna(0.0)
    np.testing.assert_allclose(both["ref"], both["mine"], rtol=1e-9, atol=1e-9)


def test_cost_table_from_events_refuses_cost_without_channel() -> None:
    events = pd.DataFrame(
        {
            "user_id": [1, 1],
            "timestamp": ["2024-01-01", "2024-01-02"],
            "channel": ["A", None],
            "conversion": [0, 1],
            "cost": [1.0, 2.0],
        }
    )
    with pytest.raises(InvalidCostsError, match="row 1, which has no channel"):
        CostTable.from_events(events)


# ----------------------------------------------------------------------------- economics


def test_channel_economics_hand_computed(result: AttributionResult, costs: CostTable) -> None:
    econ = channel_economics([result], costs).set_index("channel")
    a, b, c = econ.loc["A"], econ.loc["B"], econ.loc["C"]
    assert a["spend"] == 50 and b["spend"] == 200 and c["spend"] == 0
    # CPA = spend / credit; interval = spend / (credit high, credit low)
    assert a["cpa"] == pytest.approx(5.0)
    assert a["cpa_low"] == pytest.approx(50 / 15)
    assert a["cpa_high"] == pytest.approx(10.0)
    assert b["cpa"] == pytest.approx(10.0)
    assert (b["cpa_low"], b["cpa_high"]) == pytest.approx((8.0, 200 / 15))
    # ROAS = value / spend
    assert (a["roas"], a["roas_low"], a["roas_high"]) == pytest.approx((2.0, 1.0, 3.0))
    assert (b["roas"], b["roas_low"], b["roas_high"]) == pytest.approx((2.0, 1.5, 2.5))
    # no spend: ROAS undefined; no credit: CPA undefined
    assert math.isnan(c["roas"]) and math.isnan(c["cpa"])
    assert list(econ.columns[:3]) == ["model", "conversions", "conversions_low"]


def test_cpa_upper_bound_is_unbounded_when_credit_interval_reaches_zero(
    costs: CostTable,
) -> None:
    res = make_result("m", ("A", "B"), [3, 20], ([0, 15], [6, 25]), [30, 400])
    econ = channel_economics([res], costs).set_index("channel")
    assert econ.loc["A", "cpa_high"] == math.inf
    assert econ.loc["A", "cpa_low"] == pytest.approx(50 / 6)


def test_cpa_interval_equals_percentile_interval_of_replicate_cpa() -> None:
    """Cross-check: the swapped bounds are the bootstrap percentile interval of spend/credit."""
    sim = simulate_journeys(SimulationConfig(n_users=6000, seed=11))
    journeys = Journeys.from_events(sim.events)
    # 201 replicates at 90%: the 5th and 95th percentiles fall on order statistics exactly
    model = LastTouch(n_bootstrap=201, ci=0.9, seed=4).fit(journeys)
    costs = CostTable.from_frame(sim.costs)
    econ = channel_economics([model.result_], costs).set_index("channel")
    spend = econ.loc[list(journeys.channels), "spend"].to_numpy()
    paid = spend > 0

    def cpa(c: np.ndarray, n: np.ndarray, v: np.ndarray) -> Credit:
        credit = model._credit(model.prepared_, c, n, v)
        out = spend / np.where(credit.conversions > 0, credit.conversions, np.nan)
        return Credit(conversions=out, value=out)

    replicate = bootstrap_credit(
        cpa, journeys, n_replicates=201, level=0.9, method="poisson", seed=4
    )
    np.testing.assert_allclose(
        econ.loc[list(journeys.channels), "cpa_low"].to_numpy()[paid],
        replicate.conversions_low[paid],
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        econ.loc[list(journeys.channels), "cpa_high"].to_numpy()[paid],
        replicate.conversions_high[paid],
        rtol=1e-12,
    )


def test_channel_economics_unknown_cost_channel(result: AttributionResult) -> None:
    costs = CostTable.from_frame(
        pd.DataFrame({"channel": ["A", "Z"], "period": ["2024-01-01"] * 2, "cost": [1, 2]})
    )
    with pytest.raises(InvalidCostsError, match="channel 'Z'"):
        channel_economics([result], costs)
    econ = channel_economics([result], costs, unknown="ignore")
    assert econ["spend"].sum() == 1.0


def test_channel_economics_several_models_side_by_side(
    result: AttributionResult, costs: CostTable
) -> None:
    other = make_result("n", ("A", "B", "C"), [5, 5, 20], None, [1, 1, 1])
    econ = channel_economics([result, other], costs)
    assert list(econ["model"]) == ["m"] * 3 + ["n"] * 3
    no_ci = econ[econ["model"] == "n"]
    assert no_ci["conversions_low"].isna().all() and no_ci["cpa_low"].isna().all()
    with pytest.raises(InvalidCostsError, match="appears twice"):
        channel_economics([result, result], costs)
    with pytest.raises(InvalidCostsError, match="no attribution results"):
        channel_economics([], costs)


# ----------------------------------------------------------------------------- reallocation


def test_reallocation_hand_computed() -> None:
    res = make_result(
        "markov+calibrated",
        ("A", "B"),
        [10, 10],
        ([8, 9], [12, 11]),
        [200, 250],
        ([100, 200], [300, 300]),
    )
    costs = CostTable.from_frame(
        pd.DataFrame({"channel": ["A", "B"], "period": ["2024-01-01"] * 2, "cost": [100, 50]})
    )
    # ROAS A = 2 [1, 3], B = 5 [4, 6]
    realloc = suggest_reallocation(res, costs, max_shift=0.1)
    move = realloc.moves.iloc[0]
    assert (move["from_channel"], move["to_channel"]) == ("A", "B")
    assert move["amount"] == pytest.approx(5.0)  # 10% of min(100, 50)
    assert move["expected_change"] == pytest.approx(15.0)  # 5 * (5 - 2)
    assert move["expected_low"] == pytest.approx(5.0)  # 5 * (4 - 3)
    assert move["expected_high"] == pytest.approx(25.0)  # 5 * (6 - 1)
    assert move["expected_conversions"] == pytest.approx(5 * (10 / 50 - 10 / 100))
    assert not move["intervals_overlap"]
    assert realloc.warnings == ()
    assert "constant returns" in realloc.assumption
    assert realloc.to_dict()["expected_change"] == pytest.approx(15.0)
    assert "A -> B" in repr(realloc)


def test_reallocation_warns_on_overlap_and_uncalibrated(
    result: AttributionResult, costs: CostTable
) -> None:
    res = make_result(
        "markov", ("A", "B"), [10, 10], ([5, 5], [15, 15]), [100, 150], ([50, 60], [150, 200])
    )
    realloc = suggest_reallocation(res, costs)
    assert bool(realloc.moves["intervals_overlap"].iloc[0])
    assert any("overlap" in w for w in realloc.warnings)
    assert any("calibrate" in w for w in realloc.warnings)


def test_reallocation_uses_conversions_per_spend_without_value(costs: CostTable) -> None:
    res = make_result("m", ("A", "B"), [10, 40], ([9, 39], [11, 41]), [0, 0])
    realloc = suggest_reallocation(res, costs)
    assert realloc.metric == "conversions_per_spend"
    # A: 10/50 = 0.2 per unit, B: 40/200 = 0.2 -> equal: no move
    assert realloc.moves.empty
    assert any("equal" in w for w in realloc.warnings)
    res2 = make_result("m", ("A", "B"), [10, 80], ([9, 79], [11, 81]), [0, 0])
    move = suggest_reallocation(res2, costs).moves.iloc[0]
    assert (move["from_channel"], move["to_channel"]) == ("A", "B")
    assert move["expected_change"] == pytest.approx(5.0 * (80 / 200 - 10 / 50))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_shift": 0.0}, "max_shift"),
        ({"max_shift": 0.9}, "max_shift"),
        ({"n_moves": 0}, "n_moves"),
        ({"metric": "cpc"}, "metric"),
    ],
)
def test_reallocation_options(
    result: AttributionResult, costs: CostTable, kwargs: dict, message: str
) -> None:
    with pytest.raises(InvalidCostsError, match=message):
        suggest_reallocation(result, costs, **kwargs)


# ----------------------------------------------------------------------------- periods


def test_compare_periods_flags_non_overlapping_intervals(costs: CostTable) -> None:
    prev = make_result("m", ("A", "B"), [10, 20], ([8, 15], [12, 25]), [100, 200])
    cur = make_result(
        "m",
        ("A", "B", "C"),
        [20, 22, 1],
        ([16, 18, 0], [24, 26, 3]),
        [200, 220, 5],
        ([150, 180, 0], [250, 260, 10]),
    )
    comp = compare_periods([cur], [prev], costs, costs)
    table = comp.table.set_index("channel")
    assert table.loc["A", "conversions_change"] == 10
    assert bool(table.loc["A", "conversions_flag"])  # [8, 12] vs [16, 24]
    assert not bool(table.loc["B", "conversions_flag"])  # [15, 25] vs [18, 26]
    # a channel absent from the previous period has credit 0 there
    assert table.loc["C", "conversions_previous"] == 0
    assert table.loc["A", "share_change"] == pytest.approx(20 / 43 - 10 / 30)
    assert table.loc["A", "cpa_change"] == pytest.approx(50 / 20 - 50 / 10)
    # CPA intervals [50/12, 50/8] vs [50/24, 50/16] do not overlap
    assert bool(table.loc["A", "cpa_flag"])
    assert list(comp.flagged["channel"]) == ["A"]
    assert "do not overlap" in comp.rule
    assert comp.to_dict()["rows"][0]["channel"] == "A"


def test_compare_periods_requires_matching_models(result: AttributionResult) -> None:
    other = make_result("other", ("A",), [1], None, [1])
    with pytest.raises(InvalidCostsError, match="no result for the previous period"):
        compare_periods([result], [other])


def _events() -> pd.DataFrame:
    rows = [
        # user 1: journey 1 ends Jan 2 (previous), journey 2 ends Jan 10 (current)
        (1, "2024-01-01", "A", 0),
        (1, "2024-01-02", None, 1),
        (1, "2024-01-03", "B", 0),
        (1, "2024-01-09", "A", 0),
        (1, "2024-01-10", None, 1),
        # user 2: an open journey ending Jan 6 (current) and a conversion on Jan 3 (previous)
        (2, "2024-01-02", "B", 0),
        (2, "2024-01-03", "A", 1),
        (2, "2024-01-04", "B", 0),
        (2, "2024-01-06", "B", 0),
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "timestamp", "channel", "conversion"])
    return frame.sample(frac=1.0, random_state=3)  # order must not matter


def test_split_events_assigns_journeys_by_end_time() -> None:
    events = _events()
    previous, current = split_events(events, "2024-01-05")
    assert sorted(previous["timestamp"]) == ["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-03"]
    # the current journey of user 1 keeps its touch of Jan 3, before the boundary
    assert "2024-01-03" in set(current.loc[current["user_id"] == 1, "timestamp"])
    assert len(previous) + len(current) == len(events)
    prev_j, cur_j = period_journeys(events, "2024-01-05")
    assert prev_j.total_conversions == 2 and cur_j.total_conversions == 1
    assert prev_j.n_journeys == 2 and cur_j.n_journeys == 2
    assert sorted(cur_j.path(i) for i in range(cur_j.n_paths)) == [("B", "A"), ("B", "B")]


def test_split_events_window_and_errors() -> None:
    events = _events()
    previous, current = split_events(events, "2024-01-05", start="2024-01-02T12:00")
    assert set(previous["user_id"]) == {2}  # user 1's first journey ended before start
    assert set(current["user_id"]) == {1, 2}
    with pytest.raises(InvalidJourneysError, match="current period has no conversions"):
        # only user 2's open journey (no conversion) ends in [Jan 5, Jan 7)
        split_events(events, "2024-01-05", end="2024-01-07")
    with pytest.raises(InvalidJourneysError, match="current period has no conversions"):
        split_events(events, "2024-01-11")
    with pytest.raises(InvalidJourneysError, match="required column 'when' is missing"):
        split_events(events, "2024-01-05", time_col="when")
    with pytest.raises(InvalidCostsError, match="not a date"):
        split_events(events, "someday")
