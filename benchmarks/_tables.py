"""Helpers shared by the benchmark scripts: the model variants compared and Markdown tables."""

from __future__ import annotations

from typing import Any

import pandas as pd

from attribution.catalog import MODEL_NAMES

#: (label, model name, parameters) of every model, Markov at orders 1-3, and the variants of the
#: conversion-rate Shapley and data-driven models (``smoothing`` is bench_truth's addition)
VARIANTS: list[tuple[str, str, dict[str, Any]]] = [
    (name, name, {}) for name in MODEL_NAMES if name != "markov"
] + [
    ("markov (order 1)", "markov", {"order": 1}),
    ("markov (order 2)", "markov", {"order": 2}),
    ("markov (order 3)", "markov", {"order": 3}),
    (
        "conversion_rate_shapley (unobserved=zero)",
        "conversion_rate_shapley",
        {"unobserved": "zero"},
    ),
    ("conversion_rate_shapley (baseline=model)", "conversion_rate_shapley", {"baseline": "model"}),
    ("data_driven (baseline=model)", "data_driven", {"baseline": "model"}),
]


def markdown(frame: pd.DataFrame) -> str:
    """A Markdown table (no extra dependency)."""
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)
