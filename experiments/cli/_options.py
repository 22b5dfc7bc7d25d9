"""Options shared by the commands that read journeys (``attribute``, ``report``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

__all__ = ["check_bootstrap", "journey_input_options", "value_kwargs"]

_INPUT_OPTIONS: tuple[Callable[[Callable[..., Any]], Callable[..., Any]], ...] = (
    click.option("--path-col", default="path", show_default=True),
    click.option("--conversions-col", default="total_conversions", show_default=True),
    click.option("--nulls-col", default="total_null", show_default=True),
    click.option(
        "--value-col",
        default=None,
        help="Value column (default: total_conversion_value / value if present; 'none' to ignore).",
    ),
    click.option("--separator", default=">", show_default=True, help="Path separator."),
    click.option("--user-col", default="user_id", show_default=True),
    click.option("--time-col", default="timestamp", show_default=True),
    click.option("--channel-col", default="channel", show_default=True),
    click.option("--conversion-col", default="conversion", show_default=True),
    click.option("--lookback", default=None, help="Event logs: lookback window, e.g. 30d."),
    click.option("--max-touches", default=None, type=click.IntRange(min=1)),
)


def journey_input_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add the column, separator, lookback and touch-cap options of both input formats."""
    for option in reversed(_INPUT_OPTIONS):
        fn = option(fn)
    return fn


def value_kwargs(value_col: str | None) -> dict[str, Any]:
    """Keyword arguments for ``--value-col``: absent -> the default column, ``none`` -> no value."""
    if value_col is None:
        return {}
    return {"value_col": None if value_col == "none" else value_col}


def check_bootstrap(n_bootstrap: int) -> None:
    """Refuse a replicate count too small for percentile intervals."""
    from attribution.errors import InvalidModelOptionError

    if n_bootstrap and n_bootstrap < 20:
        raise InvalidModelOptionError(
            f"--bootstrap must be 0 (no intervals) or at least 20, got {n_bootstrap}"
        )
