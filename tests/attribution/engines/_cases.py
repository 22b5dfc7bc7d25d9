"""Hand-made event logs with hand-computed journeys, and comparison helpers for engine tests."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from attribution.journeys import Journeys

T = pd.Timestamp


def edge_log() -> pd.DataFrame:
    """Four users, rows interleaved and out of time order.

    * A: two touches tied at 10:00 (input order: search, then social), a conversion *with* a
      channel (display, the last touch of its journey), then email and a conversion with channel
      search both at 12:00 (tie: email first), then a trailing social touch.
    * B: a touch, then two conversion markers (no channel) at the same time: the first closes
      ``email``, the second closes an empty journey (dropped: 1 conversion, value 7).
    * C: search at 23:59:59 and email exactly one day before the conversion marker, then a
      trailing display; with ``lookback="1d"`` email sits on the boundary (kept), search is one
      second outside (dropped).
    * D: two touches in reverse input order, never converting.
    """
    rows = [
        ("A", T("2024-01-01 10:00"), "search", 0, 0.0),
        ("B", T("2024-01-01 09:00"), "email", 0, 0.0),
        ("A", T("2024-01-01 10:00"), "social", 0, 0.0),
        ("A", T("2024-01-01 11:00"), "display", 1, 10.0),
        ("C", T("2024-01-02 00:00:00"), "email", 0, 0.0),
        ("A", T("2024-01-01 12:00"), "email", 0, 0.0),
        ("B", T("2024-01-01 09:30"), None, 1, 5.0),
        ("B", T("2024-01-01 09:30"), None, 1, 7.0),
        ("C", T("2024-01-03 00:00:00"), None, 1, 3.0),
        ("C", T("2024-01-01 23:59:59"), "search", 0, 0.0),
        ("A", T("2024-01-01 12:00"), "search", 1, 2.0),
        ("A", T("2024-01-01 13:00"), "social", 0, 0.0),
        ("D", T("2024-01-01 08:00"), "display", 0, 0.0),
        ("D", T("2024-01-01 07:00"), "search", 0, 0.0),
        ("C", T("2024-01-03 01:00"), "display", 0, 0.0),
    ]
    return pd.DataFrame(rows, columns=["user_id", "timestamp", "channel", "conversion", "value"])


# path -> (conversions, nulls, value), computed by hand from the docstring above
EDGE_EXPECTED = {
    "search > social > display": (1, 0, 10.0),
    "email > search": (1, 0, 2.0),
    "social": (0, 1, 0.0),
    "email": (1, 0, 5.0),
    "search > email": (1, 0, 3.0),
    "search > display": (0, 1, 0.0),
    "display": (0, 1, 0.0),
}
EDGE_EXPECTED_LOOKBACK_1D = {
    **{k: v for k, v in EDGE_EXPECTED.items() if k not in ("email", "search > email")},
    "email": (2, 0, 8.0),
}
EDGE_EXPECTED_CAP_2 = {
    **{k: v for k, v in EDGE_EXPECTED.items() if k != "search > social > display"},
    "social > display": (1, 0, 10.0),
}


def path_dict(journeys: Journeys) -> dict[str, tuple[int, int, float]]:
    table = journeys.to_path_table()
    return {
        row.path: (
            int(row.total_conversions),
            int(row.total_null),
            float(row.total_conversion_value),
        )
        for row in table.itertuples()
    }


def sorted_paths(journeys: Journeys) -> pd.DataFrame:
    return journeys.to_path_table().sort_values("path").reset_index(drop=True)


def assert_same_journeys(got: Journeys, want: Journeys) -> None:
    """Same unique paths, counts, values, channels and provenance (apart from ``source``)."""
    assert got.channels == want.channels
    pd.testing.assert_frame_equal(sorted_paths(got), sorted_paths(want), rtol=1e-12)
    got_prov = dataclasses.replace(got.provenance, source="x").to_dict()
    want_prov = dataclasses.replace(want.provenance, source="x").to_dict()
    assert got_prov.pop("dropped_value") == pytest.approx(want_prov.pop("dropped_value"), abs=1e-9)
    assert got_prov == want_prov


def random_log(seed: int, n: int = 60) -> pd.DataFrame:
    """A random log with many ties (integer seconds 0..15), several users and markers."""
    rng = np.random.default_rng(seed)
    conversion = rng.random(n) < 0.3
    channel = rng.choice(np.array(["a", "b", "c", "d"], dtype=object), n)
    marker = conversion & (rng.random(n) < 0.5)
    channel[marker] = None
    return pd.DataFrame(
        {
            "user_id": rng.choice(np.array(["u1", "u2", "u3", "u4", "u5"], dtype=object), n),
            "timestamp": rng.integers(0, 16, n),
            "channel": channel,
            "conversion": conversion.astype(int),
            "value": np.where(conversion, rng.integers(0, 50, n).astype(float), 0.0),
        }
    )
