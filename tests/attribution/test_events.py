"""Journey cutting, the one implementation behind ``Journeys.from_events`` and period splits.

The in-memory reference (:func:`attribution._events.cut_journeys`) and the period split
(:func:`attribution.costs.split_events`) both number journeys with
:func:`attribution._events.journey_end_times`' code; the scale engines are checked against the
reference in ``tests/attribution/engines/test_engines.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution._events import journey_end_times
from attribution.costs import split_events
from attribution.errors import InvalidJourneysError
from attribution.journeys import Journeys

from .engines._cases import edge_log, path_dict, random_log

T = pd.Timestamp


def test_journey_end_of_every_row_of_the_edge_log():
    """Hand-computed from the docstring of ``edge_log`` (rows in input order)."""
    ends, converted = journey_end_times(
        edge_log(), user_col="user_id", time_col="timestamp", conversion_col="conversion"
    )
    a1, a2, a3 = T("2024-01-01 11:00"), T("2024-01-01 12:00"), T("2024-01-01 13:00")
    b, d = T("2024-01-01 09:30"), T("2024-01-01 08:00")
    c1, c2 = T("2024-01-03 00:00"), T("2024-01-03 01:00")
    expected = [a1, b, a1, a1, c1, a2, b, b, c1, c1, a2, a3, d, d, c2]
    assert ends.tolist() == [t.value for t in expected]
    assert converted.tolist() == edge_log()["conversion"].astype(bool).tolist()


def test_journey_end_refuses_what_the_reference_refuses():
    log = edge_log()
    log.loc[3, "user_id"] = None
    options = {"user_col": "user_id", "time_col": "timestamp", "conversion_col": "conversion"}
    with pytest.raises(InvalidJourneysError, match="missing user id at row 3"):
        journey_end_times(log, **options)
    with pytest.raises(InvalidJourneysError, match="must be 0/1"):
        journey_end_times(edge_log().assign(conversion=2), **options)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), boundary=st.integers(1, 15))
def test_periods_partition_the_journeys_of_the_whole_log(seed, boundary):
    """Each journey goes whole to one period, so the periods' path counts add up to the log's."""
    log = random_log(seed)
    log["timestamp"] = pd.to_datetime(log["timestamp"], unit="s")
    try:
        previous, current = split_events(log, pd.Timestamp(boundary, unit="s"))
        parts = [Journeys.from_events(previous), Journeys.from_events(current)]
        whole = Journeys.from_events(log)
    except InvalidJourneysError:
        return  # a period without conversions (or without touches) has no journeys to compare
    total: dict[str, np.ndarray] = {}
    for part in parts:
        for path, counts in path_dict(part).items():
            total[path] = total.get(path, np.zeros(3)) + np.array(counts)
    want = {path: np.array(counts, dtype=float) for path, counts in path_dict(whole).items()}
    assert total.keys() == want.keys()
    for path, counts in want.items():
        np.testing.assert_allclose(total[path], counts)
    dropped = sum(p.provenance.dropped_conversions for p in parts)
    assert dropped == whole.provenance.dropped_conversions
