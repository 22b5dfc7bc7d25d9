"""The support mechanism of :mod:`attribution.support`: support, water-filling, bounds.

Hand-computed cases and hypothesis properties; the bound on every model is tested in
``test_support_bound.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution import Journeys
from attribution.errors import SupportBoundError
from attribution.support import (
    ChannelSupport,
    bound_interval,
    capped_proportional,
    channel_support,
    check_within_support,
)
from tests.attribution.test_properties import SETTINGS, path_tables


def test_channel_support_hand_computed() -> None:
    """A > B > A (2 conv, value 20, 3 nulls), B (1 conv, value 5), C (4 nulls)."""
    j = Journeys.from_sequences([["A", "B", "A"], ["B"], ["C"]], [2, 1, 0], [3, 0, 4], [20, 5, 0])
    s = channel_support(j)
    assert s.channels == ("A", "B", "C")
    np.testing.assert_array_equal(s.journeys, [5, 6, 4])
    np.testing.assert_array_equal(s.conversions, [2, 3, 0])
    np.testing.assert_array_equal(s.value, [20, 25, 0])
    assert list(s.to_frame().columns) == ["channel", "journeys", "conversions", "value"]


def _loop_support(j: Journeys) -> np.ndarray:
    out = np.zeros((j.n_channels, 3))
    for p in range(j.n_paths):
        for c in set(j.path(p)):
            out[j.channels.index(c)] += [
                j.conversions[p] + j.nulls[p],
                j.conversions[p],
                j.value[p],
            ]
    return out


@SETTINGS
@given(table=path_tables())
def test_channel_support_equals_a_loop_over_paths(table: pd.DataFrame) -> None:
    j = Journeys.from_paths(table)
    s = channel_support(j)
    np.testing.assert_allclose(
        np.column_stack([s.journeys, s.conversions, s.value]), _loop_support(j)
    )


def test_channel_support_beyond_64_channels() -> None:
    """No bitmasks past 64 channels: every path is its own set, same numbers."""
    paths = [[f"ch{i:03d}", f"ch{(7 * i) % 70:03d}"] for i in range(70)] + [["ch001"]]
    j = Journeys.from_sequences(
        paths, [i % 3 for i in range(71)], [1] * 71, [float(i) for i in range(71)]
    )
    assert j.n_channels == 70
    s = channel_support(j)
    np.testing.assert_allclose(
        np.column_stack([s.journeys, s.conversions, s.value]), _loop_support(j)
    )


@pytest.mark.parametrize(
    ("total", "weights", "caps", "expected"),
    [
        # no cap binds: plain proportional split
        (6.0, [1.0, 2.0, 3.0], [10.0, 10.0, 10.0], [1.0, 2.0, 3.0]),
        # A would get 6 > 4: capped, the other 6 shared 1 : 1
        (10.0, [3.0, 1.0, 1.0], [4.0, 10.0, 10.0], [4.0, 3.0, 3.0]),
        # cascade: lam = 10/7 caps A (5.7 > 2); then lam = 8/3 caps B (5.3 > 3); C gets 5
        (10.0, [4.0, 2.0, 1.0], [2.0, 3.0, 10.0], [2.0, 3.0, 5.0]),
        # a zero cap (no converting journey touches the channel) gets nothing
        (5.0, [1.0, 0.5], [5.0, 0.0], [5.0, 0.0]),
        # weighted channels cannot absorb the total: the rest goes to the others by their caps
        (5.0, [1.0, 0.0, 0.0], [2.0, 1.0, 5.0], [2.0, 0.5, 2.5]),
        # negative weights count as zero; nothing to share
        (0.0, [1.0, -1.0], [1.0, 1.0], [0.0, 0.0]),
    ],
)
def test_capped_proportional_hand_computed(
    total: float, weights: list[float], caps: list[float], expected: list[float]
) -> None:
    out = capped_proportional(total, np.array(weights), np.array(caps))
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_capped_proportional_refuses_infeasible_totals() -> None:
    with pytest.raises(ValueError, match="cannot share 5 under caps summing to 4"):
        capped_proportional(5.0, np.ones(2), np.full(2, 2.0))


@SETTINGS
@given(
    weights=st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 10)), min_size=1, max_size=8),
    data=st.data(),
)
def test_capped_proportional_properties(weights: list[float], data: st.DataObject) -> None:
    """Sums to the total, never above a cap, proportional among the uncapped channels."""
    caps = np.array(
        data.draw(st.lists(st.floats(0, 10), min_size=len(weights), max_size=len(weights)))
    )
    w = np.array(weights)
    total = data.draw(st.floats(0, float(caps.sum())))
    out = capped_proportional(total, w, caps)
    assert out.sum() == pytest.approx(total, abs=1e-9)
    assert np.all(out >= 0)
    assert np.all(out <= caps)
    free = (out < caps - 1e-9) & (w > 0)
    if free.sum() >= 2 and (w[caps > 0] > 0).all():
        ratio = out[free] / w[free]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)


def test_check_within_support_refuses_and_names_the_channel() -> None:
    support = ChannelSupport(("A", "B"), np.array([10.0, 4.0]), np.array([3.0, 1.0]), np.ones(2))
    with pytest.raises(SupportBoundError, match=r"'m' \(point estimate\).*B: credit 2, bound"):
        check_within_support(
            np.array([1.0, 2.0]), np.zeros(2), support, model="m", context="point estimate"
        )
    with pytest.raises(SupportBoundError, match=r"in value .*A: credit -0.5"):
        check_within_support(np.zeros(2), np.array([-0.5, 0.0]), support, model="m")
    with pytest.raises(SupportBoundError, match="A: credit nan"):
        check_within_support(np.array([np.nan, 0.0]), np.zeros(2), support, model="m")
    # rounding errors are clamped, not refused
    conv, value = check_within_support(
        np.array([3.0 + 1e-12, -1e-13]), np.array([1.0, 1.0 + 1e-12]), support, model="m"
    )
    np.testing.assert_array_equal(conv, [3.0, 0.0])
    np.testing.assert_array_equal(value, [1.0, 1.0])


def test_bound_interval_clamps_and_widens() -> None:
    low, high, widened = bound_interval(
        np.array([-1.0, 2.0, 0.5]),
        np.array([3.0, 5.0, 0.8]),
        point=np.array([1.0, 1.0, 0.6]),
        caps=np.array([2.0, 4.0, 1.0]),
    )
    np.testing.assert_array_equal(low, [0.0, 1.0, 0.5])
    np.testing.assert_array_equal(high, [2.0, 4.0, 0.8])
    np.testing.assert_array_equal(widened, [False, True, False])


@pytest.mark.parametrize("chunk", [1, 2, 3, 1 << 16])
def test_path_masks_match_a_python_reference_across_chunks(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bit c of a path's mask is set iff the path touches channel c, whatever the chunking."""
    import attribution.support

    monkeypatch.setattr(attribution.support, "_MASK_CHUNK", chunk)
    rng = np.random.default_rng(7)
    names = [f"ch{c:02d}" for c in range(64)]
    paths = [[names[c] for c in rng.integers(0, 64, rng.integers(1, 6))] for _ in range(50)]
    journeys = Journeys.from_sequences(paths, [1] * 50, [0] * 50)
    masks = attribution.support.path_masks(journeys)
    assert masks.dtype == np.uint64
    assert masks.shape == (journeys.n_paths,)
    for i, mask in enumerate(masks.tolist()):
        codes = journeys.touches[journeys.offsets[i] : journeys.offsets[i + 1]].tolist()
        assert mask == sum(1 << c for c in set(codes))


@pytest.mark.parametrize("n_channels", [1, 12, 20, 21, 64])
def test_channel_sets_are_numbered_as_pandas_factorize_numbers_them(n_channels: int) -> None:
    """A table of all sets up to 20 channels, a hash table beyond: the same sorted numbering."""
    from attribution.support import _number_sets

    rng = np.random.default_rng(14)
    top = np.uint64((1 << n_channels) - 1) if n_channels < 64 else np.iinfo(np.uint64).max
    pool = rng.integers(1, top, size=50, dtype=np.uint64, endpoint=True)
    masks = rng.choice(pool, size=5_000)
    path_set, sets = _number_sets(masks, n_channels)
    expected_set, expected = pd.factorize(masks, sort=True)
    assert path_set.dtype == expected_set.dtype and sets.dtype == expected.dtype
    np.testing.assert_array_equal(path_set, expected_set)
    np.testing.assert_array_equal(sets, expected)
