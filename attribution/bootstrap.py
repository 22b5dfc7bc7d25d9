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
``[q((1 - level) / 2), q((1 + level) / 2)]``. Each replicate follows the model's own definition
with the replicate's counts, so its credit lies in ``[0, S_c]`` of the *replicate*; a resampled
support can exceed the observed one, so when the observed support is given the endpoints are
**clamped into the observed** ``[0, S_c]`` (conversions) and ``[0, V_c]`` (value), and when the
point estimate is given an interval that misses it is **widened to contain it** (it can for a
model that is not linear in the counts, e.g. Markov or conversion-rate Shapley on few journeys;
such channels are flagged in :attr:`ConfidenceIntervals.widened`). The point estimate itself lies
in ``[0, S_c]``, so after both steps ``0 <= low <= point <= high <= S_c``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from attribution.result import ConfidenceIntervals, Credit
from attribution.support import bound_interval

if TYPE_CHECKING:
    from attribution.journeys import Journeys
    from attribution.support import ChannelSupport

__all__ = ["Resampler", "bootstrap_credit", "resample_counts"]

logger = logging.getLogger(__name__)


class _PoissonSampler:
    """Poisson draws with fixed means, by inverse CDF for small integer means.

    Cells are grouped by their (integer) count once; each replicate draws one uniform per cell
    and maps it through the Poisson CDF of its group (``searchsorted``), which is about twice as
    fast as ``Generator.poisson`` for the small counts that dominate path tables. Counts above
    ``SMALL`` use ``Generator.poisson``.
    """

    SMALL = 30

    def __init__(self, counts: np.ndarray) -> None:
        from scipy.stats import poisson

        self.n = counts.shape[0]
        order = np.argsort(counts, kind="stable")
        sorted_counts = counts[order]
        values, starts = np.unique(sorted_counts, return_index=True)
        bounds = np.append(starts, self.n)
        self.groups: list[tuple[int, np.ndarray, np.ndarray | None]] = []
        for k, lo, hi in zip(values, bounds[:-1], bounds[1:], strict=True):
            idx = order[lo:hi]
            if k == 0:
                continue  # Poisson(0) is always 0
            if k <= self.SMALL:
                top = int(k + 12 * np.sqrt(k) + 20)
                cdf = poisson.cdf(np.arange(top), k)
                self.groups.append((int(k), idx, cdf))
            else:
                self.groups.append((int(k), idx, None))

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.float64)
        for k, idx, cdf in self.groups:
            if cdf is None:
                out[idx] = rng.poisson(k, idx.shape[0])
            else:
                out[idx] = np.searchsorted(cdf, rng.random(idx.shape[0]), side="right")
        return out


class Resampler:
    """Bootstrap replicates of per-path (conversions, nulls, value) for one :class:`Journeys`.

    Everything that does not change between replicates (mean values, count groups) is computed
    once.
    """

    def __init__(self, journeys: Journeys, method: str = "poisson") -> None:
        if method not in ("poisson", "multinomial"):
            raise ValueError(f"unknown bootstrap method {method!r}")
        self.method = method
        self.conversions = journeys.conversions
        self.nulls = journeys.nulls
        self.mean_value = np.divide(
            journeys.value,
            self.conversions,
            out=np.zeros_like(journeys.value),
            where=self.conversions > 0,
        )
        if method == "poisson":
            self._conv = _PoissonSampler(self.conversions)
            self._nulls = _PoissonSampler(self.nulls)
        else:
            cells = np.concatenate([self.conversions, self.nulls]).astype(np.float64)
            self._total = int(cells.sum())
            self._p = cells / self._total

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One replicate of per-path (conversions, nulls, value)."""
        if self.method == "poisson":
            conv = self._conv.draw(rng)
            nulls = self._nulls.draw(rng)
        else:
            draws = rng.multinomial(self._total, self._p).astype(np.float64)
            n = self.conversions.shape[0]
            conv, nulls = draws[:n], draws[n:]
        return conv, nulls, conv * self.mean_value


def resample_counts(
    journeys: Journeys, rng: np.random.Generator, method: str = "poisson"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw one bootstrap replicate of per-path (conversions, nulls, value)."""
    return Resampler(journeys, method).draw(rng)


def bootstrap_credit(
    credit: Callable[[np.ndarray, np.ndarray, np.ndarray], Credit],
    journeys: Journeys,
    *,
    n_replicates: int = 200,
    level: float = 0.95,
    method: str = "poisson",
    seed: int | None = 0,
    progress: Callable[[int, int], None] | None = None,
    support: ChannelSupport | None = None,
    point: tuple[np.ndarray, np.ndarray] | None = None,
) -> ConfidenceIntervals:
    """Percentile intervals of ``credit(conversions, nulls, value)`` over bootstrap replicates.

    A replicate without conversions credits zero to every channel. Replicates in which the
    model cannot be computed (a singular system) are skipped and logged; at least 90% of them
    must succeed.

    Parameters
    ----------
    support
        The observed support: the endpoints are clamped into ``[0, S_c]`` and ``[0, V_c]``.
    point
        The point estimate ``(conversions, value)``: intervals that miss it are widened to
        contain it (see the module docstring).
    """
    rng = np.random.default_rng(seed)
    n_channels = journeys.n_channels
    conv_draws = np.empty((n_replicates, n_channels))
    value_draws = np.empty((n_replicates, n_channels))
    ok = np.zeros(n_replicates, dtype=bool)
    resampler = Resampler(journeys, method)
    for r in range(n_replicates):
        c, n, v = resampler.draw(rng)
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
    c_lo, c_hi = np.percentile(conv_ok, lo, axis=0), np.percentile(conv_ok, hi, axis=0)
    v_lo, v_hi = np.percentile(value_ok, lo, axis=0), np.percentile(value_ok, hi, axis=0)
    c_lo, c_hi, c_wide = bound_interval(
        c_lo,
        c_hi,
        point=None if point is None else point[0],
        caps=None if support is None else support.conversions,
    )
    v_lo, v_hi, v_wide = bound_interval(
        v_lo,
        v_hi,
        point=None if point is None else point[1],
        caps=None if support is None else support.value,
    )
    widened = None if point is None else c_wide | v_wide
    return ConfidenceIntervals(
        conversions_low=c_lo,
        conversions_high=c_hi,
        value_low=v_lo,
        value_high=v_hi,
        level=level,
        n_replicates=n_replicates,
        method=method,
        seed=seed,
        widened=widened,
    )
