"""Known-truth simulator: exact ground truth, event-log format, lift tests, validation."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.calibration import LiftTests
from attribution.costs import CostTable
from attribution.errors import AttributionError
from attribution.journeys import Journeys
from attribution.simulate import (
    DEFAULT_CHANNELS,
    MAX_CHANNELS,
    ChannelSpec,
    LiftTestResult,
    SimulationConfig,
    SimulationConfigError,
    SimulationResult,
    compare_to_truth,
    mean_reach,
    simulate_journeys,
    simulate_lift_test,
    total_variation_distance,
)
from tests.attribution.conftest import permutation_sums

SMALL_CHANNELS = (
    ChannelSpec("search", 0.3, 1.5, 0.05, 1.0, 1.5, 0.9),
    ChannelSpec("email", 0.5, 0.3, 0.08, 0.01, 2.0, 0.5),
    ChannelSpec("display", 0.6, 0.0, 0.02, 0.005, 3.0, 0.1),
    ChannelSpec("direct", 0.2, 2.0, 0.0, 0.0, 1.0, 1.0),
)


@pytest.fixture(scope="module")
def small() -> SimulationResult:
    config = SimulationConfig(channels=SMALL_CHANNELS, n_users=4000, base_rate=0.05, seed=11)
    return simulate_journeys(config)


@pytest.fixture(scope="module")
def default_result() -> SimulationResult:
    return simulate_journeys(SimulationConfig(n_users=30_000, seed=5))


def _direct_values(result: SimulationResult) -> dict[frozenset[str], int]:
    """v(S) for every S, straight from the noisy-OR formula (independent of the transforms)."""
    users = result.users
    config = result.config
    u = users["conversion_draw"].to_numpy()
    p0 = users["base_probability"].to_numpy()
    out = {}
    names = config.channel_names
    for size in range(len(names) + 1):
        for subset in itertools.combinations(names, size):
            not_convert = 1.0 - p0
            for name in subset:
                exposed = users[f"exposed:{name}"].to_numpy()
                not_convert = not_convert * np.where(exposed, 1.0 - config.channel(name).effect, 1)
            out[frozenset(subset)] = int((u < 1.0 - not_convert).sum())
    return out


# ---- ground truth ----------


def test_coalition_values_match_direct_noisy_or_evaluation(small: SimulationResult) -> None:
    direct = _direct_values(small)
    for subset, value in direct.items():
        assert small.coalition_value(subset) == value, sorted(subset)
    assert small.total_conversions == int(small.users["converted"].sum())
    assert small.baseline_conversions == direct[frozenset()]


def test_shapley_efficiency(small: SimulationResult, default_result: SimulationResult) -> None:
    for result in (small, default_result):
        truth = result.truth
        assert truth["shapley"].sum() == pytest.approx(
            result.total_conversions - result.baseline_conversions, abs=1e-8
        )
        assert truth.attrs["baseline_conversions"] == result.baseline_conversions
        assert truth["share"].sum() == pytest.approx(1.0)
        assert truth["removal_share"].sum() == pytest.approx(1.0)
        assert result.truth["shapley_revenue"].sum() == pytest.approx(
            result.total_revenue - result.baseline_revenue, rel=1e-9
        )


def test_exact_shapley_equals_permutation_enumeration(small: SimulationResult) -> None:
    direct = _direct_values(small)
    names = small.config.channel_names
    phi = permutation_sums(names, direct)
    for name in names:
        assert small.truth.loc[name, "shapley"] == pytest.approx(
            phi[name] / math.factorial(len(names)), abs=1e-9
        )


def test_removal_truth_is_drop_in_total_conversions(small: SimulationResult) -> None:
    direct = _direct_values(small)
    everything = frozenset(small.config.channel_names)
    for name in small.config.channel_names:
        assert small.truth.loc[name, "incremental_conversions"] == (
            direct[everything] - direct[everything - {name}]
        )


def test_exact_shapley_with_ten_channels_matches_subset_formula() -> None:
    rng = np.random.default_rng(3)
    channels = tuple(
        ChannelSpec(
            f"ch{i}",
            reach_base=float(rng.uniform(0.1, 0.6)),
            reach_intent_slope=float(rng.normal(0, 1)),
            effect=float(rng.uniform(0, 0.1)),
        )
        for i in range(10)
    )
    result = simulate_journeys(SimulationConfig(channels=channels, n_users=5000, seed=2))
    values = result._require_game().values
    n = len(channels)
    for c in range(n):
        phi = 0.0
        for mask in range(1 << n):
            if mask >> c & 1:
                continue
            size = bin(mask).count("1")
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            phi += weight * (values[mask | 1 << c] - values[mask])
        assert result.truth["shapley"].iloc[c] == pytest.approx(phi, abs=1e-8)
    # spot-check v(S) against a direct evaluation for a few random coalitions
    users = result.users
    u = users["conversion_draw"].to_numpy()
    p0 = users["base_probability"].to_numpy()
    for mask in rng.integers(0, 1 << n, size=8):
        keep = 1.0 - p0
        for c in range(n):
            if mask >> c & 1:
                exposed = users[f"exposed:ch{c}"].to_numpy()
                keep = keep * np.where(exposed, 1.0 - channels[c].effect, 1.0)
        assert values[mask] == int((u < 1.0 - keep).sum())


def test_hand_computed_two_channel_game_in_expectation() -> None:
    # Everyone reached by both channels, no intent: v(S)/n -> 1 - 0.9 * prod(1 - e).
    channels = (ChannelSpec("a", 1.0, 0.0, 0.2), ChannelSpec("b", 1.0, 0.0, 0.1))
    n = 200_000
    result = simulate_journeys(
        SimulationConfig(channels=channels, n_users=n, base_rate=0.1, intent_effect=0.0, seed=4)
    )
    per_user = result.truth["shapley"] / n
    # phi_a = 1/2 (0.28 - 0.10) + 1/2 (0.352 - 0.19) = 0.171; phi_b = 0.081
    assert per_user["a"] == pytest.approx(0.171, abs=0.004)
    assert per_user["b"] == pytest.approx(0.081, abs=0.004)
    assert result.baseline_conversions / n == pytest.approx(0.10, abs=0.003)
    assert result.total_conversions / n == pytest.approx(0.352, abs=0.004)
    # removal: a -> 0.352 - 0.19 = 0.162
    assert result.truth.loc["a", "incremental_conversions"] / n == pytest.approx(0.162, abs=0.004)


def test_zero_effect_channel_gets_exactly_zero(default_result: SimulationResult) -> None:
    assert default_result.config.channel("direct").effect == 0.0
    direct = default_result.truth.loc["direct"]
    assert direct["users_reached"] > 0
    assert direct["incremental_conversions"] == 0
    assert direct["shapley"] == 0.0
    assert direct["shapley_revenue"] == 0.0
    others = default_result.truth.drop(index="direct")
    assert (others["shapley"] > 0).all()


def test_removal_truth_equals_resimulation_with_channel_off(small: SimulationResult) -> None:
    for name in small.config.channel_names:
        off = simulate_journeys(small.config.switch_off(name))
        assert off.truth.loc[name, "users_reached"] == 0
        assert off.total_conversions == (
            small.total_conversions - small.truth.loc[name, "incremental_conversions"]
        )
        others = [f"exposed:{c}" for c in small.config.channel_names if c != name]
        pd.testing.assert_frame_equal(off.users[others], small.users[others])
        assert off.baseline_conversions == small.baseline_conversions


# ---- determinism, selection bias ----------


def test_deterministic_given_seed() -> None:
    config = SimulationConfig(channels=SMALL_CHANNELS, n_users=2000, seed=7)
    a, b = simulate_journeys(config), simulate_journeys(config)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.costs, b.costs)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    c = simulate_journeys(SimulationConfig(channels=SMALL_CHANNELS, n_users=2000, seed=8))
    assert not a.events["timestamp"].equals(c.events["timestamp"])


def _intent_correlation(result: SimulationResult, name: str) -> float:
    users = result.users
    return float(np.corrcoef(users["intent"], users[f"exposed:{name}"].astype(float))[0, 1])


def test_no_selection_preset_has_reach_independent_of_intent() -> None:
    n = 40_000
    biased = simulate_journeys(SimulationConfig.preset("selection_bias", n_users=n, seed=1))
    flat = simulate_journeys(SimulationConfig.preset("no_selection", n_users=n, seed=1))
    assert all(spec.reach_intent_slope == 0.0 for spec in flat.config.channels)
    assert [s.effect for s in flat.config.channels] == [s.effect for s in DEFAULT_CHANNELS]
    bound = 4.0 / math.sqrt(n)
    for name in flat.config.channel_names:
        assert abs(_intent_correlation(flat, name)) < bound, name
    assert _intent_correlation(biased, "paid_search") > 0.2
    assert _intent_correlation(biased, "direct") > 0.2
    # same expected reach in both presets (binomial standard error ~ 0.0025 at n = 40,000)
    for name in flat.config.channel_names:
        rate_flat = flat.users[f"exposed:{name}"].mean()
        rate_biased = biased.users[f"exposed:{name}"].mean()
        assert rate_flat == pytest.approx(rate_biased, abs=0.012), name
    assert mean_reach(DEFAULT_CHANNELS[0]) > DEFAULT_CHANNELS[0].reach_base


def test_naive_exposed_vs_unexposed_is_biased_only_under_selection() -> None:
    # Observational difference in conversion rates (exposed - unexposed) times reached users,
    # against the true incremental conversions of paid search.
    n = 60_000
    ratios = {}
    for preset in ("selection_bias", "no_selection"):
        result = simulate_journeys(SimulationConfig.preset(preset, n_users=n, seed=2))
        users = result.users
        exposed = users["exposed:paid_search"].to_numpy()
        converted = users["converted"].to_numpy()
        naive = (converted[exposed].mean() - converted[~exposed].mean()) * exposed.sum()
        ratios[preset] = naive / result.truth.loc["paid_search", "incremental_conversions"]
    assert ratios["selection_bias"] > 2.5
    assert ratios["no_selection"] == pytest.approx(1.0, abs=0.5)


# ---- event log and cost table ----------


def test_event_log_format(default_result: SimulationResult) -> None:
    events = default_result.events
    assert list(events.columns) == [
        "user_id",
        "timestamp",
        "channel",
        "conversion",
        "value",
        "cost",
    ]
    assert events["user_id"].dtype == np.int64
    assert events["timestamp"].dtype == np.dtype("datetime64[ns]")
    assert isinstance(events["channel"].dtype, pd.StringDtype)
    assert events["channel"].dtype.na_value is pd.NA
    assert events["conversion"].dtype == np.int8
    assert events["value"].dtype == np.float64
    assert events["cost"].dtype == np.float64

    conv = events["conversion"] == 1
    assert events["channel"].isna().equals(conv)
    assert (events.loc[conv, "value"] > 0).all()
    assert (events.loc[~conv, "value"] == 0).all()
    assert (events.loc[conv, "cost"] == 0).all()
    assert (events.loc[~conv, "cost"] >= 0).all()
    assert set(events.loc[~conv, "channel"].unique()) <= set(default_result.channels)

    # sorted by user then time, strictly increasing within a user, conversion row last
    user = events["user_id"].to_numpy()
    ts = events["timestamp"].to_numpy().astype(np.int64)
    same_user = user[1:] == user[:-1]
    assert (user[1:] >= user[:-1]).all()
    assert (ts[1:][same_user] > ts[:-1][same_user]).all()
    last_of_user = np.r_[~same_user, True]
    assert not conv.to_numpy()[~last_of_user].any()

    config = default_result.config
    assert events["timestamp"].min() >= config.start_timestamp
    assert events["timestamp"].max() < config.end

    # every conversion of a touched user is in the log; untouched ones are not (default)
    users = default_result.users
    touched_converters = int((users["converted"] & (users["n_touches"] > 0)).sum())
    assert int(conv.sum()) == touched_converters
    assert events.loc[conv, "value"].sum() == pytest.approx(
        users.loc[users["n_touches"] > 0, "value"].sum()
    )
    assert int((~conv).sum()) == int(users["n_touches"].sum())


def test_untouched_conversions_can_be_logged() -> None:
    config = SimulationConfig(
        channels=SMALL_CHANNELS, n_users=3000, seed=3, include_untouched_conversions=True
    )
    result = simulate_journeys(config)
    assert int(result.events["conversion"].sum()) == result.total_conversions
    counts = result.events.groupby("user_id").size()
    lone = result.users.loc[result.users["converted"] & (result.users["n_touches"] == 0)]
    assert len(lone) > 0
    assert (counts.loc[lone["user_id"]] == 1).all()


def test_cost_table_weekly_and_monthly(default_result: SimulationResult) -> None:
    costs = default_result.costs
    assert list(costs.columns) == ["channel", "period", "cost", "touches"]
    periods = sorted(costs["period"].unique())
    # 2024-01-01 is a Monday: 56 days are exactly 8 ISO weeks
    assert periods == list(pd.date_range("2024-01-01", periods=8, freq="7D"))
    assert len(costs) == 8 * len(default_result.channels)
    events = default_result.events
    assert costs["cost"].sum() == pytest.approx(events["cost"].sum())
    assert costs["touches"].sum() == int((events["conversion"] == 0).sum())
    by_channel = costs.groupby("channel")["cost"].sum()
    truth_cost = default_result.truth["cost"]
    for name in default_result.channels:
        assert by_channel[name] == pytest.approx(truth_cost[name])
    # per-week cost recomputed from the log
    touches = events[events["conversion"] == 0]
    week = touches["timestamp"].dt.to_period("W-SUN").dt.start_time
    manual = touches.groupby([touches["channel"], week])["cost"].sum()
    table = costs.set_index(["channel", "period"])["cost"]
    for (channel, period), value in manual.items():
        assert table[(channel, period)] == pytest.approx(value)
    # constant cost per touch when cost_sigma == 0
    email = touches[touches["channel"] == "email"]["cost"]
    assert np.allclose(email, DEFAULT_CHANNELS[1].cost_per_touch)

    monthly = simulate_journeys(
        SimulationConfig(channels=SMALL_CHANNELS, n_users=1000, cost_period="month", n_days=70)
    ).costs
    assert sorted(monthly["period"].unique()) == list(
        pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"])
    )


def test_event_log_reads_as_journeys(small: SimulationResult) -> None:
    journeys = Journeys.from_events(
        small.events,
        user_col="user_id",
        time_col="timestamp",
        channel_col="channel",
        conversion_col="conversion",
        value_col="value",
    )
    conv = small.events["conversion"] == 1
    assert journeys.total_conversions == int(conv.sum())
    assert journeys.total_value == pytest.approx(small.events.loc[conv, "value"].sum())
    assert journeys.n_journeys == small.events["user_id"].nunique()


# ---- lift tests ----------


def test_lift_test_arithmetic_and_truth(small: SimulationResult) -> None:
    test = simulate_lift_test(small, "email", holdout_fraction=0.2, seed=0)
    assert isinstance(test, LiftTestResult)
    assert test.population == small.config.n_users
    assert test.n_treatment + test.n_holdout == test.population
    assert test.rate_treatment == test.conversions_treatment / test.n_treatment
    expected = (test.rate_treatment - test.rate_holdout) * test.population
    assert test.incremental_conversions == pytest.approx(expected)
    se = test.population * math.sqrt(
        test.rate_treatment * (1 - test.rate_treatment) / test.n_treatment
        + test.rate_holdout * (1 - test.rate_holdout) / test.n_holdout
    )
    assert test.ci_upper - test.ci_lower == pytest.approx(2 * 1.959963984540054 * se)
    assert test.true_incremental_conversions == small.truth.loc["email", "incremental_conversions"]
    assert test.start == small.config.start_timestamp and test.end == small.config.end
    frame = test.to_frame()
    assert frame.shape[0] == 1 and frame.loc[0, "channel"] == "email"
    assert test.to_dict()["start"] == "2024-01-01T00:00:00"


def test_lift_test_interval_covers_truth_in_most_repetitions() -> None:
    result = simulate_journeys(SimulationConfig(n_users=20_000, seed=9))
    truth = result.truth.loc["email", "incremental_conversions"]
    assert truth > 0
    tests = [simulate_lift_test(result, "email", holdout_fraction=0.3, seed=s) for s in range(20)]
    covered = sum(t.covers_truth for t in tests)
    assert covered >= 17
    # unbiased on average over assignments
    mean = np.mean([t.incremental_conversions for t in tests])
    assert abs(mean - truth) < 3 * np.mean([t.standard_error for t in tests]) / math.sqrt(20)


def test_lift_test_period_restricts_population(small: SimulationResult) -> None:
    test = simulate_lift_test(
        small, "search", holdout_fraction=0.5, seed=1, start="2024-01-15", end="2024-01-29"
    )
    arrival = small.users["arrival"]
    in_window = (arrival >= "2024-01-15") & (arrival < "2024-01-29")
    assert test.population == int(in_window.sum())
    assert 0 < test.population < small.config.n_users


def test_lift_test_accepts_a_config() -> None:
    config = SimulationConfig(channels=SMALL_CHANNELS, n_users=1500, seed=2)
    test = simulate_lift_test(config, "display", seed=3)
    assert test.population == 1500 and test.channel == "display"


# ---- benchmark helpers ----------


def test_total_variation_distance_by_hand() -> None:
    assert total_variation_distance({"a": 1, "b": 1}, {"a": 1, "b": 3}) == pytest.approx(0.25)
    assert total_variation_distance({"a": 2.0}, {"b": 5.0}) == pytest.approx(1.0)
    assert total_variation_distance({"a": 2, "b": 6}, {"b": 3, "a": 1}) == pytest.approx(0.0)
    with pytest.raises(SimulationConfigError, match="negative"):
        total_variation_distance({"a": -1, "b": 2}, {"a": 1})


def test_compare_to_truth_table(small: SimulationResult) -> None:
    truth_credit = small.truth["shapley"]
    last = small.events.groupby("user_id").nth(-2)  # touch before each final row
    converters = small.events.loc[small.events["conversion"] == 1, "user_id"]
    last = last[last["user_id"].isin(converters) & last["channel"].notna()]
    last_touch = last["channel"].value_counts()
    table = compare_to_truth({"last_touch": last_touch, "oracle": truth_credit * 3}, small)
    assert list(table.index) == ["truth", "oracle", "last_touch"]
    assert table.loc["oracle", "tv_distance"] == pytest.approx(0.0, abs=1e-12)
    assert table.loc["last_touch", "tv_distance"] == pytest.approx(
        total_variation_distance(last_touch, small.truth["share"])
    )
    assert table.loc["last_touch", "tv_distance"] > 0.05


# ---- result objects ----------


def test_result_repr_summary_and_dict(small: SimulationResult) -> None:
    assert repr(small).startswith("SimulationResult(n_users=4000")
    text = small.summary()
    assert "baseline" in text and "search" in text
    data = small.to_dict()
    assert data["total_conversions"] == small.total_conversions
    assert len(data["truth"]) == 4
    assert SimulationConfig.from_dict(data["config"]) == small.config
    values = small.coalition_values()
    assert values[()] == small.baseline_conversions
    assert values[("direct", "display", "email", "search")] == small.total_conversions


# ---- validation ----------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "x", "reach_base": 1.5}, r"'x'.*reach_base must be in \[0, 1\]"),
        ({"name": "x", "reach_base": 0.5, "effect": 1.0}, r"effect must be in \[0, 1\)"),
        ({"name": "x", "reach_base": 0.5, "effect": -0.1}, "effect"),
        ({"name": "x", "reach_base": 0.5, "mean_touches": 0.5}, "mean_touches"),
        ({"name": "x", "reach_base": 0.5, "cost_per_touch": -1}, "cost_per_touch"),
        ({"name": "x", "reach_base": float("nan")}, "reach_base must be finite"),
        ({"name": "x", "reach_base": "0.5"}, "reach_base must be a real number"),
        ({"name": "", "reach_base": 0.5}, "name must be a non-empty string"),
        ({"name": "a>b", "reach_base": 0.5}, "must not contain '>'"),
    ],
)
def test_channel_spec_validation(kwargs: dict, match: str) -> None:
    with pytest.raises(SimulationConfigError, match=match):
        ChannelSpec(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_users": 0}, "n_users must be >= 1"),
        ({"n_users": 10.5}, "n_users must be an integer"),
        ({"base_rate": 0.0}, r"base_rate must be in \(0, 1\)"),
        ({"n_days": 0}, "n_days"),
        ({"cost_period": "year"}, "cost_period must be one of"),
        ({"start": "not a date"}, "start 'not a date' is not a date"),
        ({"start": datetime(2024, 1, 1, tzinfo=UTC)}, "time zone"),
        ({"seed": -1}, "seed"),
        ({"mean_gap_hours": 0}, "mean_gap_hours"),
        ({"conversion_lag_hours": 0.001}, "conversion_lag_hours must be at least 1/60"),
        ({"channels": ()}, "1 to 12 channels"),
        ({"channels": DEFAULT_CHANNELS[:2] * 2}, "duplicate names"),
        (
            {"channels": tuple(ChannelSpec(f"c{i}", 0.1) for i in range(MAX_CHANNELS + 1))},
            "1 to 12 channels",
        ),
        ({"channels": ("email",)}, r"channels\[0\] must be a ChannelSpec"),
    ],
)
def test_simulation_config_validation(kwargs: dict, match: str) -> None:
    with pytest.raises(SimulationConfigError, match=match):
        SimulationConfig(**kwargs)


def test_other_input_errors(small: SimulationResult) -> None:
    assert issubclass(SimulationConfigError, AttributionError)
    assert issubclass(SimulationConfigError, ValueError)
    with pytest.raises(SimulationConfigError, match="unknown preset 'biased'"):
        SimulationConfig.preset("biased")
    with pytest.raises(SimulationConfigError, match=r"unknown field\(s\) \['users'\]"):
        SimulationConfig.from_dict({"users": 10})
    with pytest.raises(SimulationConfigError, match="unknown channel 'tv'"):
        simulate_lift_test(small, "tv")
    with pytest.raises(SimulationConfigError, match="holdout_fraction"):
        simulate_lift_test(small, "email", holdout_fraction=1.0)
    with pytest.raises(SimulationConfigError, match=r"end .* must be after start"):
        simulate_lift_test(small, "email", start="2024-02-01", end="2024-01-01")
    with pytest.raises(SimulationConfigError, match="wrap it in a list"):
        small.coalition_value("email")
    with pytest.raises(SimulationConfigError, match="must be a SimulationConfig"):
        simulate_journeys({"n_users": 10})  # type: ignore[arg-type]
    with pytest.raises(SimulationConfigError, match="effect"):
        small.config.with_channel("email", effect=2.0)


def test_config_from_dict_with_channel_mappings() -> None:
    config = SimulationConfig.from_dict(
        {
            "n_users": 10,
            "start": "2024-03-04",
            "channels": [{"name": "a", "reach_base": 0.5, "effect": 0.1}],
        }
    )
    assert config.channels == (ChannelSpec("a", 0.5, effect=0.1),)
    assert config.start == pd.Timestamp("2024-03-04")
    assert config.end == pd.Timestamp("2024-04-29")


# ---- consumers of the simulator's outputs --------------------------------------------------------


def test_cost_table_and_lift_results_are_readable(small: SimulationResult) -> None:
    table = CostTable.from_frame(small.costs)
    assert table.frame["cost"].sum() == pytest.approx(small.costs["cost"].sum())
    from_log = CostTable.from_events(small.events, period="week").frame
    ours = small.costs.set_index(["channel", "period"])["cost"]
    for row in from_log.itertuples():
        assert ours[(row.channel, row.period)] == pytest.approx(row.cost)
    tests = [simulate_lift_test(small, name, seed=0) for name in ("email", "search")]
    lift = LiftTests.from_results(tests)
    frame = lift.frame.set_index("channel")
    assert frame.loc["email", "incremental_conversions"] == pytest.approx(
        tests[0].incremental_conversions
    )
    assert frame.loc["search", "ci_high"] == pytest.approx(tests[1].ci_upper)


def test_channel_that_reaches_nobody_gives_empty_log_with_fixed_dtypes() -> None:
    config = SimulationConfig(channels=(ChannelSpec("a", 0.0, effect=0.5),), n_users=300, seed=1)
    result = simulate_journeys(config)
    assert len(result.events) == 0
    assert result.events["timestamp"].dtype == np.dtype("datetime64[ns]")
    assert result.costs["cost"].dtype == np.float64
    assert result.truth["cost"].dtype == np.float64
    assert result.truth.loc["a", "shapley"] == 0.0
    assert result.total_conversions == result.baseline_conversions > 0


@settings(max_examples=25, deadline=None)
@given(
    params=st.lists(
        st.tuples(
            st.floats(0.0, 1.0),
            st.floats(-3.0, 3.0),
            st.sampled_from([0.0, 0.01, 0.1, 0.5, 0.9]),
        ),
        min_size=1,
        max_size=4,
    ),
    base_rate=st.floats(0.01, 0.9),
    seed=st.integers(0, 10_000),
)
def test_exact_truth_matches_brute_force_on_random_configs(
    params: list[tuple[float, float, float]], base_rate: float, seed: int
) -> None:
    channels = tuple(
        ChannelSpec(f"c{i}", reach, slope, effect)
        for i, (reach, slope, effect) in enumerate(params)
    )
    result = simulate_journeys(
        SimulationConfig(channels=channels, n_users=300, base_rate=base_rate, seed=seed)
    )
    direct = _direct_values(result)
    names = result.config.channel_names
    for subset, value in direct.items():
        assert result.coalition_value(subset) == value
    permutations = list(itertools.permutations(names))
    for name in names:
        total = 0
        for order in permutations:
            before = frozenset(order[: order.index(name)])
            total += direct[before | {name}] - direct[before]
        assert result.truth.loc[name, "shapley"] == pytest.approx(
            total / len(permutations), abs=1e-9
        )
        if result.config.channel(name).effect == 0.0:
            assert result.truth.loc[name, "shapley"] == 0.0
