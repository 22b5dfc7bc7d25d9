"""Tables for people: one number format per column, and no line wider than 120 columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.cli._output import TABLE_WIDTH, fit_width, format_column, render_frame


def test_one_format_per_column():
    assert format_column(pd.Series([1.0, 2.0, 30000.0])) == ["1", "2", "30,000"]
    assert format_column(pd.Series([0.031591, -0.5, np.nan])) == ["0.0316", "-0.5000", "-"]
    assert format_column(pd.Series([12.3456, 150.0])) == ["12.35", "150.00"]
    assert format_column(pd.Series([1234.5, 2.25])) == ["1,234", "2"]  # round half to even
    assert format_column(pd.Series(["a", None])) == ["a", "-"]


def test_a_narrow_table_is_one_block_with_numbers_right_aligned():
    table = pd.DataFrame({"arm": ["email", "sms"], "qini": ["0.0316", "-0.0007"]})
    assert fit_width(table).split("\n") == ["arm       qini", "email   0.0316", "sms    -0.0007"]


def test_a_wide_table_wraps_into_blocks_that_repeat_the_key_column():
    frame = pd.DataFrame({"channel": ["search", "email"]})
    for k in range(12):
        frame[f"model_{k:02d}"] = [f"{1000 + k:,.1f} [{900 + k:,.1f}, {1100 + k:,.1f}]"] * 2
    text = fit_width(frame)
    lines = text.split("\n")
    assert max(map(len, lines)) <= TABLE_WIDTH
    blocks = text.split("\n\n")
    assert len(blocks) > 1
    assert all(b.startswith("channel") for b in blocks)
    shown = [h for b in blocks for h in b.split("\n")[0].split()[1:]]
    assert shown == [f"model_{k:02d}" for k in range(12)]  # every column once, in order


@settings(max_examples=50, deadline=None)
@given(
    n_cols=st.integers(1, 30),
    n_rows=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_rendered_tables_never_exceed_the_width(n_cols, n_rows, seed):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"arm": [f"arm{i}" for i in range(n_rows)]})
    for j in range(n_cols):
        frame[f"column_{j}"] = rng.normal(scale=10.0 ** rng.integers(-4, 7), size=n_rows)
    text = render_frame(frame, "table")
    assert max(len(line) for line in text.splitlines()) <= TABLE_WIDTH
    # the numbers are all there
    assert sum(line.startswith("arm0") for line in text.splitlines()) >= 1
    assert text.count("column_") == n_cols
