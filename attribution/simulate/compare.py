"""Benchmark helpers: compare models' channel credits with the simulation's true shares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from attribution.simulate.config import SimulationConfigError
from attribution.simulate.result import SimulationResult


def _as_share_series(credits: Mapping[str, float] | pd.Series, what: str) -> pd.Series:
    series = (
        pd.Series(credits, dtype="float64")
        if not isinstance(credits, pd.Series)
        else (credits.astype("float64"))
    )
    series.index = series.index.astype(str)
    if series.isna().any():
        first = series.index[series.isna().to_numpy()][0]
        raise SimulationConfigError(f"{what}: credit of channel {first!r} is missing (NaN)")
    if (series < 0).any():
        first = series.index[(series < 0).to_numpy()][0]
        raise SimulationConfigError(
            f"{what}: credit of channel {first!r} is negative ({series[first]}); total-variation "
            "distance compares non-negative shares"
        )
    total = series.sum()
    if total <= 0:
        raise SimulationConfigError(f"{what}: credits sum to {total}; nothing to compare")
    return series / total


def total_variation_distance(
    shares: Mapping[str, float] | pd.Series, reference: Mapping[str, float] | pd.Series
) -> float:
    """Total-variation distance ``0.5 * sum_c |p_c - q_c|`` between two channel distributions.

    Both inputs are non-negative credits by channel name; each is normalised to sum to 1 and
    channels missing from one side count as 0 there. The result is in ``[0, 1]``.
    """
    p = _as_share_series(shares, "shares")
    q = _as_share_series(reference, "reference")
    p, q = p.align(q, fill_value=0.0)
    return float(0.5 * np.abs(p.to_numpy() - q.to_numpy()).sum())


def compare_to_truth(
    credits: Mapping[str, Mapping[str, float] | pd.Series],
    result: SimulationResult,
    *,
    truth: Literal["shapley", "removal"] = "shapley",
) -> pd.DataFrame:
    """Benchmark table: each model's channel shares against the true shares.

    Parameters
    ----------
    credits
        ``{model name: {channel: credited conversions}}``; credits are normalised to shares.
    result
        The simulation whose truth is the reference.
    truth
        ``"shapley"`` compares with the true Shapley shares (``truth["share"]``), ``"removal"``
        with the removal shares (``truth["removal_share"]``).

    Returns
    -------
    pandas.DataFrame
        One row per model plus a first row ``"truth"``, models sorted by ``tv_distance``:
        column ``tv_distance`` (:func:`total_variation_distance` to the true shares) and one
        share column per channel (truth order, then channels unknown to the simulation).
    """
    if truth not in ("shapley", "removal"):
        raise SimulationConfigError(
            f"compare_to_truth: truth must be 'shapley' or 'removal', got {truth!r}"
        )
    column = "share" if truth == "shapley" else "removal_share"
    reference = result.truth[column].clip(lower=0.0)
    reference.index = reference.index.astype(str)
    shares: dict[str, pd.Series] = {}
    for model, model_credits in credits.items():
        if str(model) == "truth":
            raise SimulationConfigError(
                "compare_to_truth: 'truth' is reserved for the reference row; rename that model"
            )
        shares[str(model)] = _as_share_series(model_credits, f"compare_to_truth[{model!r}]")
    extra = sorted({c for series in shares.values() for c in series.index} - set(reference.index))
    columns = [*reference.index, *extra]
    distance = {
        model: total_variation_distance(series, reference) for model, series in shares.items()
    }
    order = sorted(shares, key=lambda model: distance[model])
    table = pd.DataFrame(
        [reference.reindex(columns, fill_value=0.0)]
        + [shares[model].reindex(columns, fill_value=0.0) for model in order],
        index=pd.Index(["truth", *order], name="model"),
    )
    table.insert(0, "tv_distance", [0.0] + [distance[model] for model in order])
    return table
