r"""Spend, CPA and ROAS joined to attribution credit.

Definitions
-----------
For one attribution result (one model) and channel ``c`` with attributed conversions ``x_c``
(percentile bootstrap interval ``[x_lo, x_hi]``), attributed value ``v_c`` (interval
``[v_lo, v_hi]``) and spend ``s_c`` over the same period (spend is a known quantity, it carries
no interval):

* ``CPA_c = s_c / x_c`` (cost per attributed conversion). Its interval is
  ``[s_c / x_hi, s_c / x_lo]``: the bounds swap because ``s / x`` decreases in ``x``. Because the
  map is monotone, this is exactly the percentile interval of ``s_c / x`` over the bootstrap
  replicates whenever every replicate credits ``x > 0``. When ``x_lo <= 0`` the upper bound is
  ``+inf`` (unbounded). ``CPA`` is undefined (NaN) when ``x_c <= 0``; ``CPA = 0`` when ``s_c = 0``.
* ``ROAS_c = v_c / s_c`` (attributed value per unit of spend), interval
  ``[v_lo / s_c, v_hi / s_c]``; undefined (NaN) when ``s_c = 0``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from attribution._validation import repeated
from attribution.costs.table import CostTable, InvalidCostsError
from attribution.result import AttributionResult

logger = logging.getLogger(__name__)

ECONOMICS_COLUMNS = (
    "model",
    "channel",
    "conversions",
    "conversions_low",
    "conversions_high",
    "share",
    "value",
    "value_low",
    "value_high",
    "spend",
    "cpa",
    "cpa_low",
    "cpa_high",
    "roas",
    "roas_low",
    "roas_high",
)


def _check_results(
    results: Sequence[AttributionResult] | AttributionResult, what: str
) -> list[AttributionResult]:
    if isinstance(results, AttributionResult):
        return [results]
    out = list(results)
    if not out:
        raise InvalidCostsError(f"{what}: no attribution results given; fit at least one model")
    for item in out:
        if not isinstance(item, AttributionResult):
            raise InvalidCostsError(
                f"{what}: expected AttributionResult objects, got {type(item).__name__}"
            )
    dupes = repeated(r.model for r in out)
    if dupes:
        raise InvalidCostsError(
            f"{what}: model {dupes[0]!r} appears twice; give each result a distinct model name"
        )
    return out


def _spend_for(costs: CostTable | None, channels: Sequence[str], unknown: str) -> dict[str, float]:
    if costs is None:
        return {c: math.nan for c in channels}
    spend = costs.spend()
    extra = sorted(set(spend.index) - set(channels))
    if extra and unknown == "error":
        raise InvalidCostsError(
            f"the cost table has channel {extra[0]!r}, which the attribution does not know "
            f"(channels: {', '.join(channels)}): rename it to match the event log, drop it, or "
            "pass unknown='ignore'"
        )
    if extra:
        logger.warning("cost rows of channels %s are ignored: no attributed journeys", extra)
    return {c: float(spend.get(c, 0.0)) for c in channels}


def _safe_div(num: Any, den: Any) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(num, dtype=float) / np.asarray(den, dtype=float)


def _cpa(spend: np.ndarray, credit: np.ndarray) -> np.ndarray:
    """``spend / credit``: NaN where credit <= 0 (unless spend is 0 and credit > 0)."""
    out = _safe_div(spend, credit)
    out = np.where(credit > 0, out, np.nan)
    return np.where(np.isnan(spend), np.nan, out)


def _cpa_upper(spend: np.ndarray, credit_low: np.ndarray) -> np.ndarray:
    """Upper CPA bound: ``spend / credit_low``, ``+inf`` when ``credit_low <= 0``."""
    out = np.where(credit_low > 0, _safe_div(spend, credit_low), np.inf)
    out = np.where(spend == 0, 0.0, out)
    return np.where(np.isnan(spend) | np.isnan(credit_low), np.nan, out)


def _roas(value: np.ndarray, spend: np.ndarray) -> np.ndarray:
    out = np.where(spend > 0, _safe_div(value, spend), np.nan)
    return np.where(np.isnan(spend), np.nan, out)


def channel_economics(
    results: Sequence[AttributionResult] | AttributionResult,
    costs: CostTable | None,
    *,
    unknown: Literal["error", "ignore"] = "error",
) -> pd.DataFrame:
    """Attributed credit, spend, CPA and ROAS per model and channel, side by side.

    Parameters
    ----------
    results
        Results of one or several models fitted on the same journeys (distinct model names).
    costs
        Spend over the period the journeys cover (use :meth:`CostTable.between` to cut it);
        ``None`` gives NaN spend, CPA and ROAS.
    unknown
        What to do with cost rows of channels no result knows: ``"error"`` (default) or
        ``"ignore"`` (logged). Channels without cost rows have spend 0.

    Returns
    -------
    pandas.DataFrame
        One row per (model, channel), models in the given order, channels in each result's
        order. Columns: ``model, channel, conversions, conversions_low, conversions_high, share,
        value, value_low, value_high, spend, cpa, cpa_low, cpa_high, roas, roas_low,
        roas_high``. Interval columns are NaN for results fitted without bootstrap. See the
        module docstring for the CPA/ROAS interval definitions.
    """
    checked = _check_results(results, "channel_economics")
    if unknown not in ("error", "ignore"):
        raise InvalidCostsError(f"unknown must be 'error' or 'ignore', got {unknown!r}")
    all_channels = sorted({c for r in checked for c in r.channels})
    spend_map = _spend_for(costs, all_channels, unknown)
    frames = []
    for result in checked:
        n = len(result.channels)
        conv = np.asarray(result.conversions, dtype=float)
        value = np.asarray(result.value, dtype=float)
        if result.ci is not None:
            c_lo, c_hi = result.ci.conversions_low, result.ci.conversions_high
            v_lo, v_hi = result.ci.value_low, result.ci.value_high
        else:
            c_lo = c_hi = v_lo = v_hi = np.full(n, np.nan)
        c_lo, c_hi = np.asarray(c_lo, dtype=float), np.asarray(c_hi, dtype=float)
        v_lo, v_hi = np.asarray(v_lo, dtype=float), np.asarray(v_hi, dtype=float)
        spend = np.array([spend_map[c] for c in result.channels], dtype=float)
        frames.append(
            pd.DataFrame(
                {
                    "model": result.model,
                    "channel": list(result.channels),
                    "conversions": conv,
                    "conversions_low": c_lo,
                    "conversions_high": c_hi,
                    "share": np.asarray(result.share, dtype=float),
                    "value": value,
                    "value_low": v_lo,
                    "value_high": v_hi,
                    "spend": spend,
                    "cpa": _cpa(spend, conv),
                    "cpa_low": np.where(np.isnan(c_hi), np.nan, _cpa(spend, c_hi)),
                    "cpa_high": _cpa_upper(spend, c_lo),
                    "roas": _roas(value, spend),
                    "roas_low": _roas(v_lo, spend),
                    "roas_high": _roas(v_hi, spend),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    return out[list(ECONOMICS_COLUMNS)]
