"""The support bound, for every model: 0 <= credit_c <= S_c and 0 <= value credit_c <= V_c.

``S_c`` and ``V_c`` are the conversions and the value of the journeys touching channel ``c``.
The reference support in these tests is computed independently of :mod:`attribution.support`
(a loop over the paths). Covered: the check in :class:`attribution.base.AttributionModel` that
refuses a result outside the bound, interval clamping and widening, the low-support warning, a
hypothesis property over random path tables for every model of the catalog with and without
intervals, and every model on ChannelAttribution's sample data
(``../shared/data/channelattribution_Data.csv`` through the ``shared_data`` fixture: skipped
when absent, a failure when ``CI=true``). The mechanism itself is tested in ``test_support.py``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution import FirstTouch, Journeys, Linear, MarkovAttribution
from attribution.base import AttributionModel, Credit
from attribution.bootstrap import bootstrap_credit
from attribution.catalog import MODELS, models_for
from attribution.errors import AttributionWarning, LowSupportWarning, SupportBoundError
from attribution.support import channel_support, low_support_message
from tests.attribution.test_properties import SETTINGS, SLOW_SETTINGS, path_tables

PARAMS: dict[str, dict[str, Any]] = {"data_driven": {"n_estimators": 10}}
CASES = (
    [pytest.param(name, {}, id=name) for name in models_for(has_users=False)]
    + [pytest.param("markov", {"order": k}, id=f"markov_order{k}") for k in (2, 3)]
    + [
        pytest.param("conversion_rate_shapley", p, id=f"conversion_rate_shapley_{v}")
        for v, p in (
            ("zero", {"unobserved": "zero"}),
            ("model_baseline", {"baseline": "model"}),
            ("sampled", {"max_exact_channels": 2, "n_permutations": 50}),
        )
    ]
    + [pytest.param("data_driven", {"baseline": "model"}, id="data_driven_model_baseline")]
)
BOOTSTRAP_CASES = [
    pytest.param(name, {}, id=name)
    for name in ("time_decay", "markov", "conversion_rate_shapley", "data_driven")
]


def reference_support(journeys: Journeys) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(journeys, conversions, value) touching each channel, by a loop over the paths."""
    n = journeys.n_channels
    jour, conv, value = np.zeros(n), np.zeros(n), np.zeros(n)
    for p in range(journeys.n_paths):
        for c in set(journeys.path(p)):
            i = journeys.channels.index(c)
            jour[i] += journeys.conversions[p] + journeys.nulls[p]
            conv[i] += journeys.conversions[p]
            value[i] += journeys.value[p]
    return jour, conv, value


def fit_quietly(name: str, journeys: Journeys, params: dict[str, Any], **kwargs: Any) -> Any:
    options = {"n_bootstrap": 0, **PARAMS.get(name, {}), **params, **kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LowSupportWarning)
        return MODELS[name](**options).fit(journeys).result_


def assert_within_support(result: Any, journeys: Journeys) -> None:
    _, s_conv, s_value = reference_support(journeys)
    tol = 1e-9 * (1 + s_conv.sum())
    vtol = 1e-9 * (1 + s_value.sum())
    assert np.all(result.conversions >= 0), result.conversions
    assert np.all(result.conversions <= s_conv + tol), (result.conversions, s_conv)
    assert np.all(result.value >= 0), result.value
    assert np.all(result.value <= s_value + vtol), (result.value, s_value)
    # every model of the catalog is efficient
    assert result.conversions.sum() == pytest.approx(journeys.total_conversions, rel=1e-9)
    assert result.value.sum() == pytest.approx(journeys.total_value, rel=1e-9, abs=1e-9)
    if result.ci is not None:
        ci = result.ci
        for low, high, point, cap, t in (
            (ci.conversions_low, ci.conversions_high, result.conversions, s_conv, tol),
            (ci.value_low, ci.value_high, result.value, s_value, vtol),
        ):
            assert np.all(low >= 0)
            assert np.all(high <= cap + t)
            assert np.all(low <= point + t)
            assert np.all(point <= high + t)


# ------------------------------------------------------------------------------ the check


class _OverCredit(AttributionModel):
    """A deliberately wrong model: every conversion to the first channel, touched or not."""

    name = "over_credit"

    def __init__(self, *, n_bootstrap: int = 0, replicate_only: bool = False) -> None:
        super().__init__(n_bootstrap=n_bootstrap)
        self.replicate_only = replicate_only
        self._calls = 0

    def _prepare(self, journeys: Journeys) -> int:
        return journeys.n_channels

    def _credit(
        self, prepared: int, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> Credit:
        self._calls += 1
        out = np.zeros(prepared)
        if self.replicate_only and self._calls == 1:
            out[1] = conversions.sum()  # the point estimate is right on these journeys
            return Credit(conversions=out, value=np.where(out > 0, value.sum(), 0.0))
        out[0] = conversions.sum()
        return Credit(conversions=out, value=np.where(out > 0, value.sum(), 0.0))


def test_a_result_outside_the_bound_raises_instead_of_being_shown() -> None:
    j = Journeys.from_sequences([["A"], ["B"]], [0, 50], [40, 50], [0.0, 500.0])
    model = _OverCredit()
    with pytest.raises(SupportBoundError, match=r"'over_credit' \(point estimate\).*A: credit 50"):
        model.fit(j)
    assert not hasattr(model, "result_")


def test_a_bootstrap_replicate_outside_the_bound_raises() -> None:
    j = Journeys.from_sequences([["A"], ["B"]], [0, 50], [40, 50], [0.0, 500.0])
    with pytest.raises(SupportBoundError, match="bootstrap replicate"):
        _OverCredit(n_bootstrap=20, replicate_only=True).fit(j)


def test_intervals_are_clamped_to_the_observed_support() -> None:
    """X is on one path with 1 conversion: Poisson replicates give it up to 3 or 4, so the
    percentile interval of first touch reaches above S_X = 1 and is clamped to it."""
    j = Journeys.from_sequences([["X"], ["Y"]], [1, 40], [1, 60], [10.0, 400.0])
    model = FirstTouch(n_bootstrap=200, seed=0)
    with pytest.warns(LowSupportWarning):
        result = model.fit(j).result_
    raw = bootstrap_credit(
        lambda c, n, v: model._credit(model.prepared_, c, n, v), j, n_replicates=200, seed=0
    )
    assert raw.conversions_high[0] > 1.0 and raw.value_high[0] > 10.0
    assert result.ci is not None
    assert result.ci.conversions_high[0] == 1.0
    assert result.ci.value_high[0] == 10.0
    assert result.ci.conversions_low[0] == raw.conversions_low[0] == 0.0


def test_an_interval_that_misses_the_point_estimate_is_widened() -> None:
    j = Journeys.from_sequences([["A"], ["B"]], [5, 5], [5, 5], [50.0, 50.0])
    support = channel_support(j)

    def credit(c: np.ndarray, n: np.ndarray, v: np.ndarray) -> Credit:
        return Credit(conversions=np.array([c.sum(), 0.0]), value=np.array([v.sum(), 0.0]))

    ci = bootstrap_credit(
        credit, j, n_replicates=50, support=support, point=(np.array([0.5, 0.0]), np.zeros(2))
    )
    assert ci.widened is not None
    assert ci.widened.tolist() == [True, False]
    assert ci.conversions_low[0] == 0.5  # widened down to the point
    assert ci.conversions_high[0] == 5.0  # clamped to S_A


# ------------------------------------------------------------------------------ warnings


def test_low_support_warning_names_channels_with_counts() -> None:
    j = Journeys.from_sequences(
        [["big"], ["few"], ["once", "big"], ["rare"]], [200, 3, 1, 2], [800, 40, 0, 10]
    )
    with pytest.warns(LowSupportWarning) as record:
        result = Linear(n_bootstrap=0).fit(j).result_
    message = str(record[0].message)
    assert record[0].filename == __file__  # points at the user's call
    assert issubclass(LowSupportWarning, AttributionWarning)
    assert "few (43 journeys, 3 conversions)" in message
    assert "once (1 journey, 1 conversion)" in message
    assert "rare (12 journeys, 2 conversions)" in message
    assert "big" not in message
    assert "intervals are wide" in message
    assert message in result.notes


def test_no_warning_with_enough_support() -> None:
    j = Journeys.from_sequences([["A"], ["A", "B"]], [20, 20], [20, 20])
    with warnings.catch_warnings():
        warnings.simplefilter("error", LowSupportWarning)
        result = Linear(n_bootstrap=0).fit(j).result_
    assert not any("low support" in n for n in result.notes)
    assert low_support_message(channel_support(j)) is None


def test_support_is_exposed_in_the_result_and_its_frame() -> None:
    j = Journeys.from_sequences([["A", "B"], ["B"]], [2, 1], [3, 0], [20.0, 5.0])
    with pytest.warns(LowSupportWarning):
        result = Linear(n_bootstrap=0).fit(j).result_
    assert result.support is not None
    frame = result.to_frame()
    np.testing.assert_array_equal(frame["support_journeys"], [5, 6])
    np.testing.assert_array_equal(frame["support_conversions"], [2, 3])
    np.testing.assert_array_equal(frame["support_value"], [20, 25])
    assert result.to_dict()["channels"][1]["support_conversions"] == 3.0


# ------------------------------------------------------------------------------ every model


@pytest.mark.parametrize(("name", "params"), CASES)
def test_every_model_stays_within_support(name: str, params: dict[str, Any]) -> None:
    settings_for = SLOW_SETTINGS if name == "data_driven" else SETTINGS

    @settings_for
    @given(table=path_tables())
    def check(table: pd.DataFrame) -> None:
        journeys = Journeys.from_paths(table)
        assert_within_support(fit_quietly(name, journeys, params), journeys)

    check()


@pytest.mark.parametrize(("name", "params"), BOOTSTRAP_CASES)
def test_every_replicate_and_interval_stays_within_support(
    name: str, params: dict[str, Any]
) -> None:
    """20 replicates: each is checked against its own support inside fit (a violation would
    raise); the reported intervals lie in the observed bound and contain the point estimate."""

    @SLOW_SETTINGS
    @given(table=path_tables(), seed=st.integers(0, 1000))
    def check(table: pd.DataFrame, seed: int) -> None:
        journeys = Journeys.from_paths(table)
        result = fit_quietly(name, journeys, params, n_bootstrap=20, seed=seed)
        assert result.ci is not None
        assert_within_support(result, journeys)

    check()


def test_markov_new_journeys_stay_within_their_support() -> None:
    fitted = Journeys.from_sequences([["A", "B"], ["B"], ["A"]], [5, 1, 4], [5, 9, 6])
    new = Journeys.from_sequences([["A"], ["B", "C"], ["C"]], [3, 2, 1], [1, 1, 1], [3, 2, 1])
    with pytest.warns(LowSupportWarning):
        model = MarkovAttribution(n_bootstrap=0).fit(fitted)
    result = model.attribute(new)
    support = result.support
    assert support is not None
    np.testing.assert_array_equal(support.conversions, [3, 2, 3])
    assert np.all(result.conversions <= support.conversions)
    assert result.conversions.sum() == pytest.approx(5.0)  # path C: no fitted channel


# ------------------------------------------------------------------------------ real data


@pytest.fixture(scope="module")
def ca_journeys(shared_data) -> Journeys:
    return Journeys.from_paths(pd.read_csv(shared_data("channelattribution_Data.csv"), sep=";"))


def test_channel_attribution_sample_support(ca_journeys: Journeys) -> None:
    """The counts quoted in the warning are those of the file (checked by a loop)."""
    jour, conv, _ = reference_support(ca_journeys)
    mi = ca_journeys.channels.index("mi")
    assert (jour[mi], conv[mi]) == (15, 4)
    s = channel_support(ca_journeys)
    np.testing.assert_array_equal(s.journeys, jour)
    np.testing.assert_array_equal(s.conversions, conv)


@pytest.mark.parametrize(("name", "params"), CASES)
def test_every_model_on_channel_attribution_sample(
    ca_journeys: Journeys, name: str, params: dict[str, Any]
) -> None:
    """Formerly conversion-rate Shapley gave `mi` (15 journeys, 4 conversions) 3,471
    conversions and `delta` -432; every model now keeps every channel within its support."""
    options = {"n_bootstrap": 0, **params}
    with pytest.warns(LowSupportWarning) as record:
        result = MODELS[name](**options).fit(ca_journeys).result_
    message = str(record[0].message)
    assert "mi (15 journeys, 4 conversions)" in message
    assert "delta (42 journeys, 9 conversions)" in message
    assert_within_support(result, ca_journeys)
    assert result.conversions[ca_journeys.channels.index("mi")] <= 4.0


def test_the_causal_model_refuses_channel_attribution_sample(ca_journeys: Journeys) -> None:
    """A path table has no users: the causal model says so instead of guessing."""
    with pytest.raises(ValueError, match=r"needs user covariates.*a path table has no users"):
        MODELS["causal"](n_bootstrap=0).fit(ca_journeys)


@pytest.mark.parametrize("name", ["markov", "conversion_rate_shapley"])
def test_intervals_on_channel_attribution_sample(ca_journeys: Journeys, name: str) -> None:
    with pytest.warns(LowSupportWarning):
        result = MODELS[name](n_bootstrap=20).fit(ca_journeys).result_
    assert_within_support(result, ca_journeys)
    assert result.ci is not None
    assert result.ci.conversions_high[ca_journeys.channels.index("mi")] <= 4.0


@st.composite
def event_logs_with_users(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random event logs over 2-4 channels with a user table (numeric and categorical)."""
    n_users = draw(st.integers(60, 160))
    channels = ["a", "b", "c", "d"][: draw(st.integers(2, 4))]
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n_users)
    rows = []
    for u in range(n_users):
        reached = [c for k, c in enumerate(channels) if rng.random() < 0.25 + 0.1 * k + 0.1 * x[u]]
        for t, c in enumerate(reached):
            rows.append((u, t, c, 0, 0.0))
        if rng.random() < 0.15 + 0.1 * len(reached):
            rows.append((u, 9, None, 1, float(rng.integers(1, 100))))
    events = pd.DataFrame(rows, columns=["user_id", "timestamp", "channel", "conversion", "value"])
    users = pd.DataFrame(
        {"user_id": range(n_users), "x": x, "segment": rng.choice(["p", "q", "r"], n_users)}
    )
    return events, users


@given(event_logs_with_users(), st.booleans())
@SLOW_SETTINGS
def test_the_causal_model_stays_within_support(data, bootstrap):
    events, users = data
    if events["conversion"].sum() == 0 or events["channel"].isna().all():
        return
    try:
        journeys = Journeys.from_events(events).with_users(users)
    except ValueError:
        return  # e.g. no conversion left on a touched journey: refused before any fitting
    present = set(events["channel"].dropna())
    if len(present) < 2:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AttributionWarning)
        try:
            result = (
                MODELS["causal"](
                    n_estimators=10, min_child_samples=5, n_bootstrap=20 if bootstrap else 0
                )
                .fit(journeys)
                .result_
            )
        except ValueError as exc:  # a channel on every journey: refused with a message
            assert "touch every journey" in str(exc)
            return
    # no efficiency here: causal credit is the caused conversions, not a share of the total
    _, s_conv, s_value = reference_support(journeys)
    assert np.all(result.conversions >= 0) and np.all(result.conversions <= s_conv + 1e-9)
    assert np.all(result.value >= 0) and np.all(result.value <= s_value + 1e-9)
    if result.ci is not None:
        assert np.all(result.ci.conversions_low >= 0)
        assert np.all(result.ci.conversions_high <= s_conv + 1e-9)
        assert np.all(result.ci.conversions_low <= result.conversions + 1e-9)
        assert np.all(result.conversions <= result.ci.conversions_high + 1e-9)
