"""Journey-level bootstrap intervals for attribution credit.

Journeys are resampled by reweighting the unique paths, so a replicate costs one call of the
model's ``_credit`` on the same paths with new counts; nothing is re-parsed.

Two resampling schemes (``method``):

* ``"poisson"`` (default): every journey gets an independent Poisson(1) weight, so a path with
  ``c`` conversions and ``n`` nulls gets ``Poisson(c)`` conversions and ``Poisson(n)`` nulls.
* ``"multinomial"``: the classical bootstrap, ``N`` journeys drawn with replacement from the
  ``N`` observed ones: the ``2 * n_paths`` (path, outcome) cells get multinomial counts.

Within a path all converting journeys are taken to carry the path's mean conversion value, so a
replicate's value on a path is its resampled conversions times that mean.

The interval for each channel is the percentile interval of the replicate credits:
``[q((1 - level) / 2), q((1 + level) / 2)]``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from attribution.result import ConfidenceIntervals

if TYPE_CHECKING:
    from attribution.base import Credit
    from attribution.journeys import Journeys

__all__ = ["bootstrap_credit", "resample_counts"]

logger = logging.getLogger(__name__)


def resample_counts(
    journeys: Journeys, rng: np.random.Generator, method: str = "poisson"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw one bootstrap replicate of per-path (conversions, nulls, value)."""
    conv = journeys.conversions
    nulls = journeys.nulls
    if method == "poisson":
        new_conv = rng.poisson(conv).astype(np.float64)
        new_nulls = rng.poisson(nulls).astype(np.float64)
    elif method == "multinomial":
        cells = np.concatenate([conv, nulls]).astype(np.float64)
        total = int(cells.sum())
        draws = rng.multinomial(total, cells / total).astype(np.float64)
        new_conv, new_nulls = draws[: conv.shape[0]], draws[conv.shape[0] :]
    else:  # validated by the model
        raise ValueError(f"unknown bootstrap method {method!r}")
    mean_value = np.divide(journeys.value, conv, out=np.zeros_like(journeys.value), where=conv > 0)
    return new_conv, new_nulls, new_conv * mean_value


def bootstrap_credit(
    credit: Callable[[np.ndarray, np.ndarray, np.ndarray], Credit],
    journeys: Journeys,
    *,
    n_replicates: int = 200,
    level: float = 0.95,
    method: str = "poisson",
    seed: int | None = 0,
    progress: Callable[[int, int], None] | None = None,
) -> ConfidenceIntervals:
    """Percentile intervals of ``credit(conversions, nulls, value)`` over bootstrap replicates.

    A replicate without conversions credits zero to every channel. Replicates in which the
    model cannot be computed (a singular system) are skipped and logged; at least 90% of them
    must succeed.
    """
    rng = np.random.default_rng(seed)
    n_channels = journeys.n_channels
    conv_draws = np.empty((n_replicates, n_channels))
    value_draws = np.empty((n_replicates, n_channels))
    ok = np.zeros(n_replicates, dtype=bool)
    for r in range(n_replicates):
        c, n, v = resample_counts(journeys, rng, method)
        if c.sum() == 0:  # a replicate without conversions credits nothing
            conv_draws[r] = 0.0
            value_draws[r] = 0.0
            ok[r] = True
        else:
            try:
                out = credit(c, n, v)
            except (ArithmeticError, np.linalg.LinAlgError) as exc:
                logger.debug("bootstrap replicate %d failed: %s", r, exc)
            else:
                conv_draws[r] = out.conversions
                value_draws[r] = out.value
                ok[r] = True
        if progress is not None:
            progress(r + 1, n_replicates)
    if ok.sum() < 0.9 * n_replicates:
        raise ArithmeticError(
            f"only {int(ok.sum())} of {n_replicates} bootstrap replicates could be computed: "
            "the data are too sparse for intervals (use more journeys or n_bootstrap=0)"
        )
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    conv_ok, value_ok = conv_draws[ok], value_draws[ok]
    return ConfidenceIntervals(
        conversions_low=np.percentile(conv_ok, lo, axis=0),
        conversions_high=np.percentile(conv_ok, hi, axis=0),
        value_low=np.percentile(value_ok, lo, axis=0),
        value_high=np.percentile(value_ok, hi, axis=0),
        level=level,
        n_replicates=n_replicates,
        method=method,
        seed=seed,
    )
