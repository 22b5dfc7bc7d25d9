"""Compiled kernels for bootstrap replicates in chunks (loaded only when intervals are computed).

* :func:`poisson_counts` -- Poisson draws from uniforms by inverse CDF, per cell of a path table;
* :func:`family_cover` and :func:`family_transform` -- the passes of the monotone cover and of
  the Moebius and zeta transforms on a down-closed family of sets
  (:class:`attribution._coalitions.SetFamily`), for many games at once.

Each performs exactly the floating-point operations of the NumPy code it replaces (the same
comparisons, the same additions in the same order), so results are bit-identical; they only
avoid that code's temporaries. The module is imported by the bootstrap, not by the models, so
a run without intervals does not load it.
"""

from __future__ import annotations

import numpy as np

from attribution._kernels import _compiled

__all__ = ["family_cover", "family_transform", "poisson_counts"]


@_compiled
def _poisson_counts(
    uniforms: np.ndarray,
    cells: np.ndarray,
    group: np.ndarray,
    table: np.ndarray,
    ambiguous: np.ndarray,
    cdf: np.ndarray,
    bins: int,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    k, n_cells = uniforms.shape
    width = cdf.shape[1]
    for t in range(n_cells):
        g = group[t]
        row = cells[t]
        for r in range(k):
            u = uniforms[r, t]
            slot = g * bins + int(u * bins)
            if ambiguous[slot]:
                # searchsorted(cdf[g], u, side="right"): the number of CDF values <= u
                lo, hi = 0, width
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if cdf[g, mid] <= u:
                        lo = mid + 1
                    else:
                        hi = mid
                out[row, r] = lo
            else:
                out[row, r] = table[slot]


def poisson_counts(
    uniforms: np.ndarray,
    cells: np.ndarray,
    group: np.ndarray,
    table: np.ndarray,
    ambiguous: np.ndarray,
    cdf: np.ndarray,
    bins: int,
    out: np.ndarray,
) -> None:
    """Write ``out[cells[t], r]``, the Poisson draw of cell ``t`` in replicate ``r``.

    ``uniforms`` is ``(k, n_cells)``; cell ``t`` has the CDF ``cdf[group[t]]`` (rows padded
    with ``inf``). The draw is ``searchsorted(cdf, u, side="right")``, read from ``table`` at
    ``group * bins + floor(u * bins)`` unless that bin is ``ambiguous`` (the CDF has a value
    inside it), where it is searched.
    """
    _poisson_counts(uniforms, cells, group, table, ambiguous, cdf, bins, out)


@_compiled
def _family_cover(
    values: np.ndarray, with_i: np.ndarray, without: np.ndarray, offsets: np.ndarray
) -> None:  # pragma: no cover - compiled
    k = values.shape[1]
    for i in range(offsets.shape[0] - 1):
        for t in range(offsets[i], offsets[i + 1]):
            a, b = with_i[t], without[t]
            for r in range(k):
                if values[b, r] > values[a, r]:
                    values[a, r] = values[b, r]


@_compiled
def _family_transform(
    values: np.ndarray, with_i: np.ndarray, without: np.ndarray, offsets: np.ndarray, sign: float
) -> None:  # pragma: no cover - compiled
    k = values.shape[1]
    for i in range(offsets.shape[0] - 1):
        for t in range(offsets[i], offsets[i + 1]):
            a, b = with_i[t], without[t]
            for r in range(k):
                values[a, r] = values[a, r] + sign * values[b, r]


def family_cover(
    values: np.ndarray, with_i: np.ndarray, without: np.ndarray, offsets: np.ndarray
) -> None:
    """Monotone cover of ``(m, k)`` game values in place, channel by channel.

    Pass ``i`` sets ``values[a] = max(values[a], values[b])`` for the pairs
    ``(with_i[t], without[t])``, ``offsets[i] <= t < offsets[i + 1]``.
    """
    _family_cover(values, with_i, without, offsets)


def family_transform(
    values: np.ndarray, with_i: np.ndarray, without: np.ndarray, offsets: np.ndarray, sign: float
) -> None:
    """Zeta (``sign=1``) or Moebius (``sign=-1``) transform of ``(m, k)`` values in place.

    Pass ``i`` adds ``sign * values[b]`` to ``values[a]`` for the pairs of channel ``i``.
    """
    _family_transform(values, with_i, without, offsets, float(sign))
