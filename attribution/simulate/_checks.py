"""Validation helpers shared by the simulator's configuration types.

Every check raises :class:`SimulationConfigError` naming the owner, the field, the value and the
valid range.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from attribution.errors import AttributionError


class SimulationConfigError(AttributionError):
    """A simulator configuration value is out of range or inconsistent."""


def _check_real(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SimulationConfigError(
            f"{owner}: {name} must be a real number, got {value!r} ({type(value).__name__})"
        )
    out = float(value)
    if not math.isfinite(out):
        raise SimulationConfigError(f"{owner}: {name} must be finite, got {value!r}")
    return out


def _check_range(
    owner: str,
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    hint: str = "",
) -> float:
    out = _check_real(owner, name, value)
    bad_low = low is not None and (out <= low if low_open else out < low)
    bad_high = high is not None and (out >= high if high_open else out > high)
    if bad_low or bad_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        message = f"{owner}: {name} must be in {left}{lo}, {hi}{right}, got {value!r}"
        if hint:
            message += f"; {hint}"
        raise SimulationConfigError(message)
    return out


def _check_int(owner: str, name: str, value: Any, low: int, hint: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise SimulationConfigError(
            f"{owner}: {name} must be an integer, got {value!r} ({type(value).__name__})"
        )
    if value < low:
        message = f"{owner}: {name} must be >= {low}, got {value!r}"
        if hint:
            message += f"; {hint}"
        raise SimulationConfigError(message)
    return int(value)
