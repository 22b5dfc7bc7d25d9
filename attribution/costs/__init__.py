"""Spend, CPA and ROAS joined to attribution credit; reallocation; period-over-period comparison.

Modules, each stating its exact definitions:

* :mod:`attribution.costs.table`: :class:`CostTable`, validated spend per channel and period;
* :mod:`attribution.costs.economics`: :func:`channel_economics`, credit joined to spend, with the
  CPA and ROAS intervals;
* :mod:`attribution.costs.reallocation`: :func:`suggest_reallocation`, a capped budget move under
  :data:`CONSTANT_RETURNS`;
* :mod:`attribution.costs.periods`: :func:`compare_periods` (the flag rule), and
  :func:`split_events` / :func:`period_journeys` to split an event log into two periods.

Every name is importable from :mod:`attribution.costs`.
"""

from attribution.costs.economics import channel_economics
from attribution.costs.periods import (
    PeriodComparison,
    compare_periods,
    period_journeys,
    split_events,
)
from attribution.costs.reallocation import CONSTANT_RETURNS, Reallocation, suggest_reallocation
from attribution.costs.table import CostTable, InvalidCostsError

__all__ = [
    "CONSTANT_RETURNS",
    "CostTable",
    "InvalidCostsError",
    "PeriodComparison",
    "Reallocation",
    "channel_economics",
    "compare_periods",
    "period_journeys",
    "split_events",
    "suggest_reallocation",
]
