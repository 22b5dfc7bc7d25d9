"""Calibration of attribution with lift tests: hand-computed cases, capping, intervals, truth."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.calibration import (
    CalibratedAttribution,
    Calibrator,
    InvalidLiftTestError,
    LiftTests,
    calibrate,
)
from attribution.errors import AttributionError
from attribution.journeys import Journeys
from attribution.markov import MarkovAttribution
from attribution.result import AttributionResult, ConfidenceIntervals
from attribution.simulate import (
    SimulationConfig,
    simulate_journeys,
    simulate_lift_test,
    total_variation_distance,
)


def result(
    conv: list[float],
    ci: tuple[list[float], list[float]] | None = None,
    value: list[float] | None = None,
    total: float = 100.0,
) -> AttributionResult:
    channels = tuple("ABCDEFG"[: len(conv)])
    value = value if value is not None else [10.0 * c for c in conv]
    intervals = None
    if ci is not None:
        intervals = ConfidenceIntervals(
            np.array(ci[0], float),
            np.array(ci[1], float),
            np.array(value, float),
            np.array(value, float),
            0.95,
            200,
            "poisson",
            0,
        )
    return AttributionResult(
        model="markov",
        params={},
        channels=channels,
        conversions=np.array(conv, float),
        value=np.array(value, float),
        total_conversions=total,
        total_value=float(sum(value)),
        ci=intervals,
    )


def lift_for(**rows: tuple[float, float, float]) -> LiftTests:
    frame = pd.DataFrame(
        [
            {"channel": k, "incremental_conversions": v[0], "ci_low": v[1], "ci_high": v[2]}
            for k, v in rows.items()
        ]
    )
    return LiftTests.from_frame(frame)


# ----------------------------------------------------------------------------- hand-computed


def test_keep_untested_hand_computed() -> None:
    cal = calibrate(result([40, 60]), lift_for(A=(10, 6, 14)), n_draws=400)
    t = cal.table.set_index("channel")
    assert t.loc["A", "calibrated"] == pytest.approx(10)
    assert t.loc["B", "calibrated"] == pytest.approx(60)
    assert t.loc["A", "factor"] == pytest.approx(0.25)
    assert t.loc["B", "factor"] == pytest.approx(1.0)
    assert cal.baseline == pytest.approx(30)  # 100 - 10 - 60
    assert cal.pooled_factor == pytest.approx(0.25)
    assert t.loc["A", "calibrated_share"] == pytest.approx(10 / 70)
    # value per conversion of the channel is kept: 10 per conversion
    assert t.loc["A", "calibrated_value"] == pytest.approx(100)
    assert bool(t.loc["A", "tested"]) and not bool(t.loc["B", "tested"])
    assert "1/2 channels tested" in repr(cal)


def test_pooled_untested_hand_computed() -> None:
    cal = calibrate(result([40, 60]), lift_for(A=(10, 6, 14)), untested="pooled", n_draws=400)
    t = cal.table.set_index("channel")
    assert t.loc["B", "calibrated"] == pytest.approx(15)  # 0.25 * 60
    assert cal.baseline == pytest.approx(75)


def test_untested_scaled_down_when_calibrated_credit_exceeds_total() -> None:
    cal = calibrate(result([40, 60]), lift_for(A=(80, 70, 90)), n_draws=400)
    t = cal.table.set_index("channel")
    assert t.loc["A", "calibrated"] == pytest.approx(80)
    assert t.loc["B", "calibrated"] == pytest.approx(20)  # scaled to fill 100 - 80
    assert cal.baseline == pytest.approx(0)
    assert any("scaled down" in w for w in cal.warnings)


def test_everything_scaled_when_tested_alone_exceed_total() -> None:
    cal = calibrate(result([40, 60]), lift_for(A=(120, 110, 130)), n_draws=400)
    t = cal.table.set_index("channel")
    assert t.loc["A", "calibrated"] == pytest.approx(100)
    assert t.loc["B", "calibrated"] == pytest.approx(0)
    assert cal.baseline == pytest.approx(0)
    assert any("disagree" in w or "exceed" in w for w in cal.warnings)


def test_negative_measurement_is_clipped_to_zero() -> None:
    cal = calibrate(result([40, 60]), lift_for(A=(-5, -15, 5)), n_draws=400)
    assert cal.table.set_index("channel").loc["A", "calibrated"] == 0
    assert any("negative" in w for w in cal.warnings)


def test_population_share_and_period_scaling() -> None:
    frame = pd.DataFrame(
        {
            "channel": ["A"],
            "incremental_conversions": [5.0],
            "ci_low": [3.0],
            "ci_high": [7.0],
            "population_share": [0.5],
            "period_start": ["2024-01-01"],
            "period_end": ["2024-01-08"],
        }
    )
    tests = LiftTests.from_frame(frame)
    # share 0.5 doubles; a 14-day attribution over a 7-day test doubles again
    cal = calibrate(
        result([40, 60]), tests, attribution_period=("2024-01-01", "2024-01-15"), n_draws=400
    )
    row = cal.table.set_index("channel").loc["A"]
    assert row["measured"] == pytest.approx(20)
    assert (row["measured_low"], row["measured_high"]) == pytest.approx((12, 28))
    cal = calibrate(result([40, 60]), tests, n_draws=400)  # no period: share only
    assert cal.table.set_index("channel").loc["A", "measured"] == pytest.approx(10)


# ----------------------------------------------------------------------------- intervals


def test_interval_of_tested_channel_is_the_lift_interval_without_attribution_ci() -> None:
    cal = calibrate(result([40, 60]), lift_for(A=(10, 6, 14)), n_draws=20000, seed=1)
    t = cal.table.set_index("channel")
    # Monte Carlo percentiles of Normal(10, 2.04) -> [6, 14] within sampling error
    assert t.loc["A", "calibrated_low"] == pytest.approx(6, abs=0.15)
    assert t.loc["A", "calibrated_high"] == pytest.approx(14, abs=0.15)
    # baseline = 100 - 60 - A: interval [26, 34]
    assert cal.baseline_low == pytest.approx(26, abs=0.15)
    assert cal.baseline_high == pytest.approx(34, abs=0.15)
    assert any("no bootstrap intervals" in w for w in cal.warnings)


def test_pooled_interval_matches_delta_method() -> None:
    """Cross-check of the Monte Carlo propagation against the delta method (small errors)."""
    res = result([400, 600], ci=([390.2, 590.2], [409.8, 609.8]), total=2000)
    tests = lift_for(A=(100, 98.04, 101.96))  # se 1
    cal = calibrate(res, tests, untested="pooled", n_draws=40000, seed=3)
    # z_B = y_A / x_A * x_B; se by the delta method with se(x_A) = se(x_B) = 5, se(y_A) = 1
    y, x_a, x_b = 100.0, 400.0, 600.0
    grad = np.array([x_b / x_a, -y * x_b / x_a**2, y / x_a])
    se = float(np.sqrt(grad @ np.diag([1.0, 25.0, 25.0]) @ grad))
    t = cal.table.set_index("channel")
    width = t.loc["B", "calibrated_high"] - t.loc["B", "calibrated_low"]
    assert width == pytest.approx(2 * 1.959964 * se, rel=0.03)
    assert t.loc["B", "calibrated"] == pytest.approx(150)


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (
            pd.DataFrame({"channel": ["A"], "incremental_conversions": [1.0]}),
            "required column 'ci_low' is missing",
        ),
        (
            pd.DataFrame(
                {
                    "channel": ["A", "A"],
                    "incremental_conversions": [1, 2],
                    "ci_low": [0, 0],
                    "ci_high": [3, 3],
                }
            ),
            "tested twice",
        ),
        (
            pd.DataFrame(
                {"channel": ["A"], "incremental_conversions": [5], "ci_low": [6], "ci_high": [7]}
            ),
            "does not contain its estimate",
        ),
        (
            pd.DataFrame(
                {"channel": ["A"], "incremental_conversions": ["x"], "ci_low": [0], "ci_high": [1]}
            ),
            "row 0 has 'x'",
        ),
        (
            pd.DataFrame(
                {
                    "channel": ["A"],
                    "incremental_conversions": [1],
                    "ci_low": [0],
                    "ci_high": [2],
                    "population_share": [1.5],
                }
            ),
            "population share",
        ),
        (
            pd.DataFrame(
                {
                    "channel": ["A"],
                    "incremental_conversions": [1],
                    "ci_low": [0],
                    "ci_high": [2],
                    "level": [95],
                }
            ),
            "level must be in",
        ),
        (
            pd.DataFrame(
                {
                    "channel": ["A"],
                    "incremental_conversions": [1],
                    "ci_low": [0],
                    "ci_high": [2],
                    "period_start": ["2024-02-01"],
                    "period_end": ["2024-01-01"],
                }
            ),
            "before it starts",
        ),
    ],
)
def test_lift_test_validation(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(InvalidLiftTestError, match=message) as info:
        LiftTests.from_frame(frame)
    assert isinstance(info.value, AttributionError)


def test_unknown_channel_and_options() -> None:
    res = result([40, 60])
    with pytest.raises(InvalidLiftTestError, match="channel 'Z'"):
        calibrate(res, lift_for(Z=(1, 0, 2)))
    with pytest.raises(InvalidLiftTestError, match="no lift test matches"):
        calibrate(res, lift_for(Z=(1, 0, 2)), unknown_channels="ignore")
    with pytest.raises(InvalidLiftTestError, match="untested"):
        calibrate(res, lift_for(A=(1, 0, 2)), untested="drop")
    with pytest.raises(InvalidLiftTestError, match="n_draws"):
        calibrate(res, lift_for(A=(1, 0, 2)), n_draws=10)
    assert "untested='keep'" in repr(Calibrator())


def test_lift_tests_from_csv_and_to_result(tmp_path) -> None:
    path = tmp_path / "lift.csv"
    path.write_text("channel,incremental_conversions,ci_low,ci_high,level\nA,10,6,14,0.9\n")
    tests = LiftTests.from_frame(path)
    assert tests.frame["level"].iloc[0] == 0.9
    cal = calibrate(result([40, 60], ci=([30, 50], [50, 70])), tests, n_draws=400)
    assert cal.level == 0.9
    out = cal.to_result()
    assert out.model == "markov+calibrated"
    np.testing.assert_allclose(out.conversions, [10, 60])
    assert out.ci is not None and out.ci.level == 0.9
    assert out.diagnostics["baseline_conversions"] == pytest.approx(30)
    d = cal.to_dict()
    assert d["baseline"] == pytest.approx(30) and d["channels"][0]["channel"] == "A"


# ----------------------------------------------------------------------------- integrations


def test_from_uplift_evaluation() -> None:
    from uplift.metrics import evaluate_uplift

    rng = np.random.default_rng(0)
    n = 4000
    treatment = np.where(rng.random(n) < 0.5, "email", "control")
    outcome = (rng.random(n) < np.where(treatment == "email", 0.12, 0.08)).astype(float)
    scores = {"email": rng.random(n)}
    evaluation = evaluate_uplift(scores, outcome, treatment, "control", n_bootstrap=50, seed=1)
    tests = LiftTests.from_uplift(evaluation, {"email": "A"}, population=1000)
    ate = evaluation.value("email", "ate")
    row = tests.frame.iloc[0]
    assert row["channel"] == "A"
    assert row["incremental_conversions"] == pytest.approx(ate * 1000)
    lo, hi = evaluation.arms["email"].intervals["ate"]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo * 1000, hi * 1000))
    assert row["level"] == evaluation.ci
    with pytest.raises(InvalidLiftTestError, match="arm 'sms'"):
        LiftTests.from_uplift(evaluation, {"sms": "A"}, population=1000)


@pytest.fixture(scope="module")
def simulation():
    return simulate_journeys(SimulationConfig(n_users=150_000, seed=7))


def test_calibration_with_exact_lift_moves_shares_towards_truth(simulation) -> None:
    """Known truth: exact increments shrink the TV distance to the true incremental shares."""
    truth = simulation.truth
    journeys = Journeys.from_events(simulation.events)
    res = MarkovAttribution(n_bootstrap=0).fit(journeys).result_
    before = total_variation_distance(
        pd.Series(res.conversions, index=res.channels), truth["removal_share"]
    )
    distances = {}
    for label, tested in {
        "two": ["paid_search", "display"],
        "all but direct": [c for c in truth.index if c != "direct"],
        "all": list(truth.index),
    }.items():
        inc = truth.loc[tested, "incremental_conversions"].to_numpy(dtype=float)
        tests = LiftTests.from_frame(
            pd.DataFrame(
                {"channel": tested, "incremental_conversions": inc, "ci_low": inc, "ci_high": inc}
            )
        )
        cal = calibrate(res, tests, n_draws=400)
        t = cal.table.set_index("channel")
        np.testing.assert_allclose(t.loc[tested, "calibrated"], inc)  # exactly the increments
        distances[label] = total_variation_distance(t["calibrated"], truth["removal_share"])
    assert distances["two"] < before
    assert distances["all but direct"] < before - 0.05
    assert distances["all"] == pytest.approx(0.0, abs=1e-12)
    # with every channel tested, the baseline is what the channels did not cause
    assert cal.baseline == pytest.approx(
        res.total_conversions - truth["incremental_conversions"].sum()
    )


def test_simulated_lift_interval_propagates_and_covers_truth(simulation) -> None:
    lift = simulate_lift_test(simulation, "email", holdout_fraction=0.5, seed=3)
    tests = LiftTests.from_results([lift])
    journeys = Journeys.from_events(simulation.events)
    res = MarkovAttribution(n_bootstrap=0).fit(journeys).result_
    cal = calibrate(res, tests, n_draws=4000, seed=0)
    row = cal.table.set_index("channel").loc["email"]
    true = simulation.truth.loc["email", "incremental_conversions"]
    assert lift.covers_truth  # seed chosen so; then the propagated interval must cover too
    assert row["calibrated_low"] <= true <= row["calibrated_high"]
    assert isinstance(cal, CalibratedAttribution)
    assert not math.isnan(cal.baseline_low)


# ----------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(
    credit=st.lists(st.floats(0.0, 500.0), min_size=2, max_size=6),
    measured=st.floats(-50.0, 800.0),
    half_width=st.floats(0.0, 100.0),
    extra=st.floats(0.0, 300.0),
    pooled=st.booleans(),
)
def test_calibration_invariants(credit, measured, half_width, extra, pooled) -> None:
    total = sum(credit) + extra
    res = result(credit, total=total)
    tests = lift_for(A=(measured, measured - half_width, measured + half_width))
    cal = calibrate(res, tests, untested="pooled" if pooled else "keep", n_draws=200)
    z = cal.table["calibrated"].to_numpy()
    assert (z >= 0).all()
    # credit and baseline add up to the attributed total; the baseline is never negative
    assert z.sum() + cal.baseline == pytest.approx(total, abs=1e-6 * max(total, 1))
    assert cal.baseline >= -1e-9
    # the tested channel gets its measurement unless that alone exceeds the total
    if max(measured, 0) <= total:
        assert z[0] == pytest.approx(max(measured, 0))
    # intervals bracket the point estimates
    t = cal.table
    assert (t["calibrated_low"] <= t["calibrated_high"] + 1e-9).all()
    assert cal.baseline_low <= cal.baseline_high + 1e-9


# ------------------------------------------------------------------------------- transfer


def _causal_result(truth: np.ndarray, lam0: float, se: float = 1.0) -> AttributionResult:
    """A causal-style result whose estimates are the truth plus the bias at ``lam0``."""
    from attribution.sensitivity import LAMBDA_GRID, SensitivityCurve
    from attribution.support import ChannelSupport

    channels = ("A", "B", "C", "D", "E")
    slopes = np.array([2.0, 1.0, 0.0, 0.5, 1.5])
    bias = np.outer(slopes * 100, LAMBDA_GRID**1.5)
    curve = SensitivityCurve(channels, LAMBDA_GRID, bias, bias * 10, slopes, 0.7)
    estimate = truth + curve.bias(lam0)[0]
    z = 1.959963984540054
    return AttributionResult(
        model="causal",
        params={},
        channels=channels,
        conversions=estimate,
        value=estimate * 10,
        total_conversions=5000.0,
        total_value=50000.0,
        extras={"incremental_unbounded": estimate},
        ci=ConfidenceIntervals(
            estimate - z * se,
            estimate + z * se,
            10 * (estimate - z * se),
            10 * (estimate + z * se),
            0.95,
            200,
            "poisson",
            0,
        ),
        sensitivity=curve,
        support=ChannelSupport(channels, np.full(5, 1e4), np.full(5, 2000.0), np.full(5, 2e4)),
    )


def _exact_tests(truth: np.ndarray, channels: list[int], se: float = 1.0) -> LiftTests:
    names = "ABCDE"
    return LiftTests.from_frame(
        pd.DataFrame(
            {
                "channel": [names[i] for i in channels],
                "incremental_conversions": truth[channels],
                "ci_low": truth[channels] - 1.96 * se,
                "ci_high": truth[channels] + 1.96 * se,
            }
        )
    )


def test_transfer_recovers_untested_channels_from_the_tested_ones():
    truth = np.array([300.0, 500.0, 200.0, 100.0, 0.0])
    res = _causal_result(truth, lam0=0.6)
    cal = calibrate(res, _exact_tests(truth, [0, 1]), untested="transfer")
    calibrated = cal.table["calibrated"].to_numpy()
    np.testing.assert_allclose(calibrated, truth, atol=2.0)
    assert cal.lam == pytest.approx(0.6, abs=0.01)
    assert cal.lam_low <= 0.6 <= cal.lam_high
    assert cal.implied_lambda["A"] == pytest.approx(0.6, abs=0.01)
    # keep would leave the untested channels' bias in place
    kept = calibrate(res, _exact_tests(truth, [0, 1]), untested="keep")
    assert kept.table["calibrated"].iloc[4] == pytest.approx(res.conversions[4])
    assert "lambda = 0.60" in cal.method
    # untested intervals contain the truth
    t = cal.table
    assert ((t["calibrated_low"] <= truth + 1e-6) & (truth - 1e-6 <= t["calibrated_high"])).all()
    assert cal.to_dict()["lambda"] == pytest.approx(cal.lam)


def test_a_negative_control_calibrates_the_transfer_alone():
    truth = np.array([300.0, 500.0, 200.0, 100.0, 0.0])
    res = _causal_result(truth, lam0=0.4)
    tests = _exact_tests(truth, [2])  # C has no selection: says nothing about lambda
    cal = calibrate(res, tests, untested="transfer", negative_controls=("E",))
    np.testing.assert_allclose(cal.table["calibrated"].to_numpy(), truth, atol=2.0)
    assert cal.table.set_index("channel").loc["E", "tested"]
    assert cal.negative_controls == ("E",)
    assert "negative controls (E)" in cal.method


def test_uninformative_and_disagreeing_tests_are_flagged():
    truth = np.array([300.0, 500.0, 200.0, 100.0, 0.0])
    res = _causal_result(truth, lam0=0.5)
    blind = calibrate(res, _exact_tests(truth, [2]), untested="transfer")
    assert any("say nothing about unmeasured confounding" in w for w in blind.warnings)
    # B's test says lambda is 0, A's says 0.5: one lambda cannot fit both
    lying = truth.copy()
    lying[1] = res.conversions[1]
    disagree = calibrate(res, _exact_tests(lying, [0, 1]), untested="transfer")
    assert any("tested channels disagree" in w for w in disagree.warnings)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"untested": "transfer"}, "needs the causal model's sensitivity"),
        ({"untested": "keep", "negative_controls": ("A",)}, "use untested='transfer'"),
        ({"untested": "cheat"}, "'keep', 'pooled' or 'transfer'"),
    ],
)
def test_transfer_options_are_checked(kwargs, message):
    with pytest.raises(InvalidLiftTestError, match=message):
        calibrate(result([10.0, 20.0]), _exact_tests(np.array([5.0, 5.0]), [0]), **kwargs)


def test_negative_controls_must_be_channels_and_untested():
    truth = np.array([300.0, 500.0, 200.0, 100.0, 0.0])
    res = _causal_result(truth, lam0=0.5)
    with pytest.raises(InvalidLiftTestError, match="'Z' is not a channel"):
        calibrate(res, _exact_tests(truth, [0]), untested="transfer", negative_controls=("Z",))
    with pytest.raises(InvalidLiftTestError, match="both lift-tested and a negative control"):
        calibrate(res, _exact_tests(truth, [0]), untested="transfer", negative_controls=("A",))
