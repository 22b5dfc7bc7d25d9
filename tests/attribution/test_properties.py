"""Property tests over every model of the catalog (hypothesis).

Properties and where they hold:

* credits sum to the total conversions and the total value: every model (the support bound,
  ``0 <= credit_c <= S_c``, is checked over the same tables in ``test_support.py``);
* renaming channels permutes the credit: every model except ``data_driven``, whose trees see
  channels as feature columns and categorical codes, so a renaming reorders the columns and
  LightGBM's tie-breaking between equally good splits may differ; there only the sums are
  checked;
* shuffling the order of the path table changes nothing: every model (``data_driven`` within
  a small tolerance, since row order changes floating-point summation inside LightGBM);
* the simplified Shapley gives exactly zero to a channel that never appears in a converting
  journey;
* exact Shapley values equal brute-force enumeration over all orders on small random games,
  for :func:`exact_shapley`, for the per-set values of :func:`restricted_shapley` and for the
  conversion-rate Shapley model; :func:`monotone_cover` is the maximum over subsets.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attribution import ConversionRateShapley, Journeys, SimplifiedShapley
from attribution.catalog import MODELS, models_for
from attribution.shapley import exact_shapley, monotone_cover, restricted_shapley
from tests.attribution.test_shapley import per_set_reference

FAST = {"n_bootstrap": 0}
PARAMS: dict[str, dict[str, Any]] = {"data_driven": {"n_estimators": 10}}
#: every catalog model with its defaults, plus Markov chains of order 2 and 3
CASES = [pytest.param(name, {}, id=name) for name in models_for(has_users=False)] + [
    pytest.param("markov", {"order": k}, id=f"markov_order{k}") for k in (2, 3)
]
RENAME_CASES = [case for case in CASES if case.values[0] != "data_driven"]

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW_SETTINGS = settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def path_tables(draw: st.DrawFn, max_channels: int = 5, max_paths: int = 8) -> pd.DataFrame:
    """Random path tables with at least one conversion and one non-conversion."""
    n_channels = draw(st.integers(1, max_channels))
    n_paths = draw(st.integers(1, max_paths))
    paths = [
        draw(st.lists(st.integers(0, n_channels - 1), min_size=1, max_size=5))
        for _ in range(n_paths)
    ]
    conv = [draw(st.integers(0, 6)) for _ in range(n_paths)]
    nulls = [draw(st.integers(0, 6)) for _ in range(n_paths)]
    for i in range(n_paths):
        if conv[i] + nulls[i] == 0:
            nulls[i] = 1
    if sum(conv) == 0:
        conv[0] = 1
    if sum(nulls) == 0:
        nulls[-1] += 1
    values = [c * draw(st.floats(1.0, 100.0)) for c in conv]
    return pd.DataFrame(
        {
            "path": [" > ".join(f"ch{c}" for c in p) for p in paths],
            "total_conversions": conv,
            "total_null": nulls,
            "total_conversion_value": values,
        }
    )


def fit(name: str, journeys: Journeys, params: dict[str, Any] | None = None) -> Any:
    options = {**FAST, **PARAMS.get(name, {}), **(params or {})}
    return MODELS[name](**options).fit(journeys).result_


def credit_by_channel(name: str, table: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Conversions and value credited by model ``name`` on a path table, by channel."""
    result = fit(name, Journeys.from_paths(table), params)
    return pd.DataFrame(
        {"conversions": result.conversions, "value": result.value}, index=list(result.channels)
    )


def settings_for(name: str) -> settings:
    return SLOW_SETTINGS if name == "data_driven" else SETTINGS


# ------------------------------------------------------------------------------ sums


@pytest.mark.parametrize(("name", "params"), CASES)
def test_credits_sum_to_totals(name: str, params: dict[str, Any]) -> None:
    @settings_for(name)
    @given(table=path_tables())
    def check(table: pd.DataFrame) -> None:
        journeys = Journeys.from_paths(table)
        result = fit(name, journeys, params)
        assert np.all(np.isfinite(result.conversions))
        assert result.conversions.sum() == pytest.approx(journeys.total_conversions, rel=1e-9)
        assert result.value.sum() == pytest.approx(journeys.total_value, rel=1e-9, abs=1e-9)

    check()


# ------------------------------------------------------------------------------ renaming


@pytest.mark.parametrize(("name", "params"), RENAME_CASES)
def test_renaming_channels_permutes_credit(name: str, params: dict[str, Any]) -> None:
    @settings_for(name)
    @given(table=path_tables(), seed=st.integers(0, 2**16))
    def check(table: pd.DataFrame, seed: int) -> None:
        rng = np.random.default_rng(seed)
        new_names = [f"x{i}" for i in rng.permutation(5)]  # reorders the sorted channel codes

        def rename(path: str) -> str:
            return " > ".join(new_names[int(c.strip()[2:])] for c in path.split(">"))

        renamed = table.assign(path=table["path"].map(rename))
        a = credit_by_channel(name, table, params)
        b = credit_by_channel(name, renamed, params)
        b.index = [f"ch{new_names.index(c)}" for c in b.index]
        b = b.loc[a.index]
        np.testing.assert_allclose(b.to_numpy(), a.to_numpy(), rtol=1e-8, atol=1e-9)

    check()


# ------------------------------------------------------------------------------ row order


@pytest.mark.parametrize(("name", "params"), CASES)
def test_shuffling_path_order_changes_nothing(name: str, params: dict[str, Any]) -> None:
    @settings_for(name)
    @given(table=path_tables(), seed=st.integers(0, 2**16))
    def check(table: pd.DataFrame, seed: int) -> None:
        order = np.random.default_rng(seed).permutation(len(table))
        shuffled = table.iloc[order].reset_index(drop=True)
        a = credit_by_channel(name, table, params)
        b = credit_by_channel(name, shuffled, params)
        tol = 1e-6 if name == "data_driven" else 1e-9
        np.testing.assert_allclose(b.to_numpy(), a.to_numpy(), rtol=tol, atol=tol)

    check()


# ------------------------------------------------------------------------------ Shapley specifics


@SETTINGS
@given(table=path_tables(max_channels=4))
def test_simplified_shapley_zero_for_channel_never_in_a_converting_journey(
    table: pd.DataFrame,
) -> None:
    extra = pd.DataFrame(
        {
            "path": ["never > ch0", "never"],
            "total_conversions": [0, 0],
            "total_null": [3, 1],
            "total_conversion_value": [0.0, 0.0],
        }
    )
    journeys = Journeys.from_paths(pd.concat([table, extra], ignore_index=True))
    result = SimplifiedShapley(n_bootstrap=0).fit(journeys).result_
    assert result.conversions[journeys.channels.index("never")] == 0.0
    assert result.value[journeys.channels.index("never")] == 0.0


def brute_force(values: np.ndarray, n: int) -> np.ndarray:
    phi = np.zeros(n)
    for order in itertools.permutations(range(n)):
        mask = 0
        for i in order:
            phi[i] += values[mask | 1 << i] - values[mask]
            mask |= 1 << i
    return phi / math.factorial(n)


@SETTINGS
@given(
    n=st.integers(1, 5),
    data=st.data(),
)
def test_exact_shapley_equals_brute_force(n: int, data: st.DataObject) -> None:
    values = np.array(
        data.draw(st.lists(st.floats(-100, 100, allow_nan=False), min_size=1 << n, max_size=1 << n))
    )
    np.testing.assert_allclose(exact_shapley(values, n), brute_force(values, n), atol=1e-9)


@SETTINGS
@given(n=st.integers(0, 5), data=st.data())
def test_monotone_cover_is_the_smallest_monotone_game_above(n: int, data: st.DataObject) -> None:
    values = np.array(
        data.draw(st.lists(st.floats(-100, 100, allow_nan=False), min_size=1 << n, max_size=1 << n))
    )
    cover = monotone_cover(values, n)
    for t in range(1 << n):
        subsets = [u for u in range(1 << n) if u & t == u]
        assert cover[t] == max(values[u] for u in subsets)
        for i in range(n):
            assert cover[t | 1 << i] >= cover[t]


@SETTINGS
@given(n=st.integers(1, 5), data=st.data())
def test_restricted_shapley_equals_brute_force_on_every_set(n: int, data: st.DataObject) -> None:
    """phi^S = Shapley values of v restricted to the subsets of S (all orders of S's members);
    they sum to v(S) - v(empty), and are non-negative on the monotone cover."""
    values = np.array(
        data.draw(st.lists(st.floats(-100, 100, allow_nan=False), min_size=1 << n, max_size=1 << n))
    )
    masks = np.arange(1 << n)
    phi = restricted_shapley(values, n, masks)
    for s in masks:
        members = [i for i in range(n) if s >> i & 1]
        expected = np.zeros(n)
        for order in itertools.permutations(members):
            mask = 0
            for i in order:
                expected[i] += values[mask | 1 << i] - values[mask]
                mask |= 1 << i
        expected /= math.factorial(len(members))
        np.testing.assert_allclose(phi[s], expected, atol=1e-9)
        assert phi[s].sum() == pytest.approx(values[s] - values[0], abs=1e-9)
    assert np.all(restricted_shapley(monotone_cover(values, n), n, masks) >= -1e-12)


@SETTINGS
@given(table=path_tables(max_channels=4), smoothing=st.floats(0.1, 5.0))
def test_conversion_rate_shapley_equals_brute_force(table: pd.DataFrame, smoothing: float) -> None:
    """The model against its definition computed by brute force (cover and all orders per set)."""
    journeys = Journeys.from_paths(table)
    n = journeys.n_channels
    model = ConversionRateShapley(smoothing=smoothing, n_bootstrap=0).fit(journeys)
    coef = model.coefficients_
    assert coef is not None
    conv: dict[frozenset[int], float] = {}
    total: dict[frozenset[int], float] = {}
    for p in range(journeys.n_paths):
        members = frozenset(journeys.channels.index(c) for c in journeys.path(p))
        conv[members] = conv.get(members, 0.0) + journeys.conversions[p]
        total[members] = total.get(members, 0.0) + journeys.conversions[p] + journeys.nulls[p]
    v: dict[frozenset[int], float] = {frozenset(): 0.0}
    for r in range(1, n + 1):
        for subset in itertools.combinations(range(n), r):
            s = frozenset(subset)
            m = 1.0 / (1.0 + math.exp(-(coef.iloc[0] + sum(coef.iloc[1 + i] for i in s))))
            v[s] = (conv[s] + smoothing * m) / (total[s] + smoothing) if s in total else m
    expected_conv, expected_value = per_set_reference(journeys, v)
    np.testing.assert_allclose(model.result_.conversions, expected_conv, atol=1e-9)
    np.testing.assert_allclose(model.result_.value, expected_value, atol=1e-9)
