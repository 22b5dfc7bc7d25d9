"""Journey-level bootstrap intervals for attribution credit.

Journeys are resampled by reweighting the unique paths, so a replicate is the model's credit of
the same paths with new counts; nothing is re-parsed. Replicates are drawn in chunks, one
replicate after the other in one random stream (replicate ``r`` of a seed does not depend on the
chunk size), and a model that can evaluates a whole chunk at once from its sufficient
statistics (``AttributionModel._replicate_batch``: sparse products, batched solves and fits);
chunks are evaluated on up to :data:`MAX_WORKERS` threads while the next one is drawn. Other
models get one ``_credit`` call per replicate.

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
import os
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from attribution.result import ConfidenceIntervals, Credit
from attribution.support import bound_interval

if TYPE_CHECKING:
    from concurrent.futures import Future

    import scipy.sparse as sp

    from attribution.journeys import Journeys
    from attribution.support import ChannelSupport

__all__ = ["BatchCredit", "Resampler", "bootstrap_credit", "linear_batch", "resample_counts"]

logger = logging.getLogger(__name__)


class _PoissonSampler:
    """Poisson draws with fixed means, by inverse CDF for small integer means.

    Cells are ordered by their (integer) count once. A replicate draws one uniform per cell with
    a count of 1 to ``SMALL`` (in that order, one call) and maps it through the Poisson CDF of
    its count: the draw is ``searchsorted(cdf, u, side="right")``, the number of CDF values
    ``<= u``. The cells with a count above ``SMALL`` then get ``Generator.poisson`` (one call
    with one mean per cell, in the same order). This is the random stream of one call per count
    in increasing order, so the draws do not depend on how many replicates are drawn together.

    The mapping (a compiled kernel, :func:`attribution._replicate_kernels.poisson_counts`)
    looks the draw up in a table of ``BINS`` equal bins of ``[0, 1)`` per count: where the draw
    is the same at both ends of a bin (all but about 1% of ``u`` for ``BINS = 4096``) that is
    the draw, since it is non-decreasing in ``u``; the others are searched. The result is
    exactly ``searchsorted``'s, several times faster.
    """

    SMALL = 30
    BINS = 1 << 12

    def __init__(self, counts: np.ndarray) -> None:
        from scipy.stats import poisson

        self.n = counts.shape[0]
        order = np.argsort(counts, kind="stable")
        sorted_counts = counts[order]
        values, starts = np.unique(sorted_counts, return_index=True)
        bounds = np.append(starts, self.n)
        small: list[np.ndarray] = []
        large: list[np.ndarray] = []
        large_mean: list[np.ndarray] = []
        #: (start, stop) of each small count's cells within ``small_idx``, and its CDF
        self.small_groups: list[tuple[int, int, np.ndarray]] = []
        edges = np.arange(self.BINS + 1) / self.BINS
        tables, ambiguous, cdfs = [], [], []
        position = 0
        for k, lo, hi in zip(values, bounds[:-1], bounds[1:], strict=True):
            idx = order[lo:hi]
            if k == 0:
                continue  # Poisson(0) is always 0
            if k <= self.SMALL:
                top = int(k + 12 * np.sqrt(k) + 20)
                cdf = poisson.cdf(np.arange(top), k)
                self.small_groups.append((position, position + idx.shape[0], cdf))
                position += idx.shape[0]
                small.append(idx)
                # the draw for u in [b / BINS, (b + 1) / BINS) lies between these two
                at_start = np.searchsorted(cdf, edges[:-1], side="right")
                below_end = np.searchsorted(cdf, edges[1:], side="left")
                tables.append(at_start.astype(np.uint8))
                ambiguous.append(at_start != below_end)
                cdfs.append(cdf)
            else:
                large.append(idx)
                large_mean.append(np.full(idx.shape[0], float(k)))
        self.small_idx = np.concatenate(small) if small else np.zeros(0, dtype=np.intp)
        self.large_idx = np.concatenate(large) if large else np.zeros(0, dtype=np.intp)
        self.large_mean = np.concatenate(large_mean) if large_mean else np.zeros(0)
        self.zero_idx = np.flatnonzero(counts == 0)
        self.table = np.concatenate(tables) if tables else np.zeros(0, dtype=np.uint8)
        self.ambiguous = np.concatenate(ambiguous) if ambiguous else np.zeros(0, dtype=bool)
        #: group of each small cell, and the groups' CDFs padded with inf to one width
        self.group = np.repeat(
            np.arange(len(self.small_groups), dtype=np.intp),
            [hi - lo for lo, hi, _ in self.small_groups],
        )
        width = max((c.shape[0] for c in cdfs), default=1)
        self.cdf = np.full((max(len(cdfs), 1), width), np.inf)
        for g, cdf in enumerate(cdfs):
            self.cdf[g, : cdf.shape[0]] = cdf

    def raw(self, rng: np.random.Generator, uniforms: np.ndarray, large: np.ndarray) -> None:
        """Draw one replicate's uniforms (small counts) and Poisson draws (large) in place."""
        if uniforms.shape[0]:
            rng.random(out=uniforms)
        if large.shape[0]:
            large[:] = rng.poisson(self.large_mean)

    def counts(self, uniforms: np.ndarray, large: np.ndarray, out: np.ndarray) -> None:
        """Fill ``out`` (``(n, k)``: cells x replicates) from ``k`` replicates' raw draws.

        ``uniforms`` is ``(k, n_small)`` and ``large`` is ``(k, n_large)``, as drawn by
        :meth:`raw`; cells with a zero count stay 0.
        """
        from attribution._replicate_kernels import poisson_counts

        out[self.zero_idx] = 0.0
        if self.small_idx.shape[0]:
            poisson_counts(
                uniforms,
                self.small_idx,
                self.group,
                self.table,
                self.ambiguous,
                self.cdf,
                self.BINS,
                out,
            )
        if self.large_idx.shape[0]:
            out[self.large_idx] = large.T


class Resampler:
    """Bootstrap replicates of per-path (conversions, nulls, value) for one :class:`Journeys`.

    Everything that does not change between replicates (mean values, count groups) is computed
    once. :meth:`draw_batch` draws several replicates at once as ``(n_paths, k)`` arrays, with
    the same random stream as ``k`` calls of :meth:`draw`: replicate ``r`` of a seed is the same
    whichever way it is drawn. The random draws themselves (:meth:`raw_batch`, the only part
    that must run in order) are separate from turning them into counts (:meth:`counts`).
    """

    def __init__(self, journeys: Journeys, method: str = "poisson") -> None:
        if method not in ("poisson", "multinomial"):
            raise ValueError(f"unknown bootstrap method {method!r}")
        self.method = method
        self.conversions = journeys.conversions
        self.nulls = journeys.nulls
        self.n_paths = int(self.conversions.shape[0])
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
        conv, nulls, value = self.draw_batch(rng, 1)
        return conv[:, 0], nulls[:, 0], value[:, 0]

    def draw_batch(
        self, rng: np.random.Generator, k: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``k`` replicates of per-path (conversions, nulls, value), each ``(n_paths, k)``.

        Column ``r`` is what the ``r``-th of ``k`` successive calls of :meth:`draw` returns.
        """
        return self.counts(self.raw_batch(rng, k))

    def raw_batch(self, rng: np.random.Generator, k: int) -> tuple[np.ndarray, ...]:
        """Draw the random numbers of ``k`` replicates, one replicate after the other.

        :meth:`counts` turns them into counts.
        """
        if self.method == "multinomial":
            return (rng.multinomial(self._total, self._p, size=k),)
        samplers = (self._conv, self._nulls)
        raw = [
            (np.empty((k, s.small_idx.shape[0])), np.empty((k, s.large_idx.shape[0])))
            for s in samplers
        ]
        for r in range(k):  # one replicate after the other: the stream of draw()
            for sampler, (uniforms, large) in zip(samplers, raw, strict=True):
                sampler.raw(rng, uniforms[r], large[r])
        return (*raw[0], *raw[1])

    def counts(self, raw: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-path (conversions, nulls, value), each ``(n_paths, k)``, from :meth:`raw_batch`."""
        n = self.n_paths
        if self.method == "multinomial":
            draws = raw[0].T.astype(np.float64)
            conv, nulls = np.ascontiguousarray(draws[:n]), np.ascontiguousarray(draws[n:])
        else:
            k = raw[0].shape[0]
            conv, nulls = np.empty((n, k)), np.empty((n, k))
            self._conv.counts(raw[0], raw[1], out=conv)
            self._nulls.counts(raw[2], raw[3], out=nulls)
        return conv, nulls, conv * self.mean_value[:, None]


def resample_counts(
    journeys: Journeys, rng: np.random.Generator, method: str = "poisson"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw one bootstrap replicate of per-path (conversions, nulls, value)."""
    return Resampler(journeys, method).draw(rng)


#: ``credit_batch(conversions, nulls, value)`` with ``(n_paths, k)`` counts (one column per
#: replicate) returns the ``(k, n_channels)`` conversion and value credit of the ``k`` replicates
BatchCredit = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def linear_batch(conversions: sp.spmatrix, value: sp.spmatrix) -> BatchCredit:
    """Return the :data:`BatchCredit` of credit linear in the counts.

    The credit is ``F_conv.T @ conversions`` and ``F_value.T @ value`` for fixed
    ``(n_paths, n_channels)`` fraction matrices: one sparse product per chunk of replicates.
    """

    def batch(c: np.ndarray, n: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(conversions.T @ c).T, np.asarray(value.T @ v).T

    return batch


#: cells (paths x replicates) of one chunk of replicates drawn and evaluated together
CHUNK_CELLS = 1 << 22
#: threads evaluating chunks while the main thread draws the next one (1: no threads)
MAX_WORKERS = 2


def _workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


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
    batch: BatchCredit | None = None,
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
    batch
        The same credit for many replicates at once (:data:`BatchCredit`). Replicates are then
        drawn in chunks of about :data:`CHUNK_CELLS` cells, in the same random stream as one at
        a time, and each chunk is evaluated by one call, on up to :data:`MAX_WORKERS` threads
        while the next chunk is drawn. A chunk whose call raises (a singular system) is
        evaluated again one replicate at a time with ``credit``.
    """
    rng = np.random.default_rng(seed)
    n_channels = journeys.n_channels
    conv_draws = np.empty((n_replicates, n_channels))
    value_draws = np.empty((n_replicates, n_channels))
    ok = np.zeros(n_replicates, dtype=bool)
    resampler = Resampler(journeys, method)

    def one(r: int, c: np.ndarray, n: np.ndarray, v: np.ndarray) -> None:
        if c.sum() == 0:  # a replicate without conversions credits nothing
            conv_draws[r] = 0.0
            value_draws[r] = 0.0
            ok[r] = True
            return
        try:
            out = credit(c, n, v)
        except (ArithmeticError, np.linalg.LinAlgError) as exc:
            logger.debug("bootstrap replicate %d failed: %s", r, exc)
        else:
            conv_draws[r] = out.conversions
            value_draws[r] = out.value
            ok[r] = True

    def chunk(first: int, raw: tuple[np.ndarray, ...]) -> int:
        assert batch is not None
        c, n, v = resampler.counts(raw)
        rows = first + np.arange(c.shape[1])
        has = c.sum(axis=0) > 0
        conv_draws[rows[~has]] = 0.0  # a replicate without conversions credits nothing
        value_draws[rows[~has]] = 0.0
        ok[rows[~has]] = True
        if has.any():
            cols = None if has.all() else np.flatnonzero(has)
            try:
                if cols is None:
                    conv, value = batch(c, n, v)
                else:
                    conv, value = batch(c[:, cols], n[:, cols], v[:, cols])
            except (ArithmeticError, np.linalg.LinAlgError) as exc:
                logger.debug(
                    "bootstrap chunk at %d failed (%s): one replicate at a time", first, exc
                )
                for j in np.flatnonzero(has):
                    one(int(rows[j]), c[:, j], n[:, j], v[:, j])
            else:
                conv_draws[rows[has]] = conv
                value_draws[rows[has]] = value
                ok[rows[has]] = True
        return c.shape[1]

    if batch is None:
        for r in range(n_replicates):
            one(r, *resampler.draw(rng))
            if progress is not None:
                progress(r + 1, n_replicates)
    else:
        size = max(1, min(n_replicates, CHUNK_CELLS // max(resampler.n_paths, 1)))
        starts = range(0, n_replicates, size)
        workers = min(_workers(), len(starts))
        done = 0
        if workers == 1:
            for first in starts:
                k = min(size, n_replicates - first)
                done += chunk(first, resampler.raw_batch(rng, k))
                if progress is not None:
                    progress(done, n_replicates)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=workers) as pool:
                pending: deque[Future[int]] = deque()
                for first in starts:
                    k = min(size, n_replicates - first)
                    raw = resampler.raw_batch(rng, k)  # the random stream stays in this thread
                    pending.append(pool.submit(chunk, first, raw))
                    while len(pending) > workers or (pending and pending[0].done()):
                        done += pending.popleft().result()
                        if progress is not None:
                            progress(done, n_replicates)
                while pending:
                    done += pending.popleft().result()
                    if progress is not None:
                        progress(done, n_replicates)
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
