"""The shared SQL text and its two dialects."""

from __future__ import annotations

import re

import duckdb
import pytest

from attribution.engines.sql import (
    DUCKDB,
    SPARK,
    journey_paths_sql,
    path_aggregate_sql,
    validation_sql,
)

WEIRD = "it's a \\ back'slash > \"quoted\"\tand tab"


def test_duckdb_literal_round_trips_through_the_engine():
    con = duckdb.connect()
    assert con.execute(f"SELECT {DUCKDB.literal(WEIRD)}").fetchone()[0] == WEIRD
    name = 'we"ird'
    assert con.execute(f"SELECT 1 AS {DUCKDB.ident(name)}").description[0][0] == name


def test_spark_literal_escapes_backslashes_and_quotes():
    assert SPARK.literal("it's") == "'it\\'s'"
    assert SPARK.literal("a\\b") == "'a\\\\b'"
    assert SPARK.ident("we`ird") == "`we``ird`"


@pytest.mark.parametrize("options", [{"lookback_ns": None}, {"lookback_ns": 10**9}])
def test_both_dialects_render_the_same_text_outside_the_dialect_hooks(options):
    texts = [journey_paths_sql(d, "events", max_touches=None, **options) for d in (DUCKDB, SPARK)]
    steps = [re.findall(r"^(?:WITH )?(\w+) AS \($", t, flags=re.M) for t in texts]
    assert steps[0] == steps[1] == ["numbered", "journeys", "cut"]
    masks = [
        r"struct_pack\([^)]*\)|named_struct\([^)]*\)",
        r"lambda x: |x -> ",
        r"list_transform|transform|array_to_string|array_join",
    ]
    masked = []
    for text in texts:
        for mask in masks:
            text = re.sub(mask, "#", text)
        masked.append(text)
    assert masked[0] == masked[1]
    assert path_aggregate_sql("(").split("FROM")[0] in texts[0]


def test_touch_cap_renders_an_equivalent_slice_in_each_dialect():
    con = duckdb.connect()
    for n, expected in [(2, [3, 4]), (5, [1, 2, 3, 4])]:
        got = con.execute(f"SELECT {DUCKDB.array_last('[1, 2, 3, 4]', n)}").fetchone()[0]
        assert got == expected
    assert (
        SPARK.array_last("a", 2)
        == "slice(a, greatest(CAST(cardinality(a) AS BIGINT) - 2 + 1, 1), 2)"
    )


def test_validation_reports_first_offending_row_per_check():
    con = duckdb.connect()
    typed = """(SELECT * FROM (VALUES
        (0, 'u', 1::BIGINT, false, 'a', 0, 0.0::DOUBLE, false),
        (1, NULL, 2::BIGINT, false, 'b', 0, 0.0, false),
        (2, 'u', NULL, false, 'a>b', 1, -1.0, false),
        (3, 'v', 3::BIGINT, false, NULL, 0, 0.0, false)
    ) AS t(rn, user_id, ts, ts_missing, channel, conv, value_num, value_missing))"""
    cur = con.execute(validation_sql(DUCKDB, typed, separator=">"))
    row = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
    assert row["n"] == 4
    assert row["n_conversions"] == 1
    assert row["bad_user"] == 1
    assert row["bad_ts"] == 2
    assert row["bad_value_range"] == 2
    assert row["bad_separator"] == 2
    assert row["bad_channel"] == 3
    assert row["bad_ts_missing"] is None
    assert row["n_unordered"] == 0
