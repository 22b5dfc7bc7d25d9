"""Exact compiled scoring of LightGBM tree ensembles (private).

:class:`CompiledForest` reads a fitted LightGBM model's trees (``Booster.dump_model``), flattens
them into contiguous NumPy arrays and scores rows with a numba kernel that reproduces LightGBM's
``predict`` bit for bit:

* the same split decisions -- LightGBM's ``NumericalDecision`` (``src/io/tree.h``): a ``NaN``
  goes to the default side of a ``missing_type=NaN`` split and is read as ``0.0`` elsewhere;
  with ``missing_type=Zero`` (``zero_as_missing=True``) a zero or ``NaN`` goes to the default
  side; otherwise left iff ``x <= threshold``; like LightGBM's predictor, ``|x| <=
  kZeroThreshold`` (``1e-35f``) is read as ``0.0``. Thresholds are read from the JSON dump,
  printed with 17 significant digits, which round-trips a ``float64`` exactly;
* the leaf values summed in ``float64`` in tree order, so the raw score is identical;
* the same output transform: ``1 / (1 + exp(-sigmoid * raw))`` for ``binary`` (what
  ``predict_proba(X)[:, 1]`` returns), the raw score for ``regression``.

Kernel. Rows are scored in groups of 16 ("lanes"): the group's rows are copied feature-major into
a small buffer, and the 16 lanes step through the trees side by side, with the edge taken as
``2 * split + (x > threshold[split])`` -- no data-dependent branch, and 16 independent walks in
flight to hide the memory latency. The trees' splits are chained (:func:`_chain_layout`): an edge
into a leaf carries the leaf's value and leads straight to the next tree's root, so each lane
walks the whole forest at its own pace, one step per split on its path, adding the value of
every edge it takes (``-0.0`` on edges between splits, which leaves any sum unchanged), until
every lane is on a sink after the last tree. Walking the trees one at a time in lock step
instead would make every lane wait for the deepest leaf of the group: LightGBM's leaf-wise trees
are unbalanced, and lock step took 1.6x the steps and about 1.2x the time; stepping onto each
leaf and off it again (one node array, leaves included) took about 1.2x the time of the edge
chain. The lanes are written out one by one in the source so that numba keeps their state in
registers. A group holding a ``NaN`` (or, for a ``zero_as_missing`` model, a zero; or a number
LightGBM reads as zero), and a short last group, are scored afterwards tree by tree, in lock
step, with the per-node missing-value direction (a ``NaN`` stands for every missing value in the
group buffer). Measured on one core of a shared 2-core VM, 100 trees of 31 leaves on 16
features: about 2.3 million rows/s, 6x LightGBM's single-threaded ``predict`` (2-3x on groups
with missing values).

Unsupported models (categorical splits, linear trees, ``rf`` boosting, multiclass, an objective
other than ``binary`` or plain ``regression``, both ``Zero`` and ``NaN`` missing types in one
model, more than 4095 features) give ``None`` from :meth:`CompiledForest.from_lgbm`; the caller
then uses LightGBM's own ``predict``. :meth:`CompiledForest.from_lgbm` also scores probe rows
built from the split thresholds (each threshold, its two ``nextafter`` neighbours, zeros, tiny
values and ``NaN``) with both LightGBM and itself and returns ``None`` on any difference.

Threads: :meth:`CompiledForest.predict` with ``n_threads > 1`` splits the rows into contiguous
chunks (about 4 per thread, at least 4,096 rows each) scored concurrently by the same kernel
(compiled ``nogil``) on a :class:`concurrent.futures.ThreadPoolExecutor` whose threads take the
chunks in turn; numba's own threading layer is not used. Every row gets the same numbers
whatever the number of threads.

The kernel is compiled on first use, for one signature (C-contiguous ``float64`` ``X``, fixed
array dtypes), and cached on disk by numba (``cache=True``: in ``__pycache__`` next to this file,
or numba's user cache directory when that is not writable; if neither is, numba warns and
compiles in memory).
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import lightgbm as lgb
import numpy as np
from numba import njit

__all__ = ["K_ZERO_THRESHOLD", "LANES", "CompiledForest", "resolve_threads"]

#: Rows walked together through a tree (the kernel is written for exactly 16).
LANES = 16
#: LightGBM's ``kZeroThreshold``: ``1e-35f``, a float32 promoted to double.
K_ZERO_THRESHOLD = float(np.float32(1e-35))
#: Fewest rows per thread worth a thread of its own.
_MIN_ROWS_PER_THREAD = 8_192
#: Chunks of rows per thread (scheduled dynamically) when scoring with several threads.
_CHUNKS_PER_THREAD = 4

# node record ``meta`` (uint64): bits 0-15 feature * LANES (offset in the group buffer, so at
# most 4095 features), bit 30 the direction of a missing value (1 = right), bit 31 leaf, bits
# 32-63 the left child (the right child follows it; a leaf's "left child" is itself, its
# threshold +inf)
_FEATURE_BITS = 16
_U = np.uint64
_FM = np.uint64((1 << _FEATURE_BITS) - 1)
_MISSING_RIGHT = np.uint64(1 << 30)
_LEAF = np.uint64(1 << 31)
_SINK = np.uint64(1 << 29)  # flags the link to the sink, after the last tree (chain layout)
_S30 = np.uint64(30)
_S32 = np.uint64(32)
_ONE = np.uint64(1)
_K_ZERO = K_ZERO_THRESHOLD

_MISSING_NONE, _MISSING_ZERO, _MISSING_NAN = 0, 1, 2
_MISSING_TYPES = {"None": _MISSING_NONE, "Zero": _MISSING_ZERO, "NaN": _MISSING_NAN}
_BINARY_RE = re.compile(r"^binary sigmoid:(\S+)$")


def resolve_threads(n_jobs: int | None) -> int:
    """Return the number of threads for ``n_jobs``, with LightGBM's conventions.

    ``n_jobs >= 1`` is used as is; ``0`` or ``None`` means every available core; a negative
    value means ``cores + 1 + n_jobs`` (``-1``: all cores, ``-2``: all but one), at least 1.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    if n_jobs is None or n_jobs == 0:
        return cores
    if n_jobs < 0:
        return max(cores + 1 + int(n_jobs), 1)
    return int(n_jobs)


# --------------------------------------------------------------------------- kernel
_F = TypeVar("_F", bound=Callable[..., Any])
_CACHE_WARNED = False


def _jit(**options: Any) -> Callable[[_F], _F]:
    """``numba.njit(cache=True, **options)``, compiled in memory if no cache dir is writable.

    numba caches next to this file (``__pycache__``) or, when that is not writable, in its user
    cache directory (``NUMBA_CACHE_DIR``, else ``~/.cache``); with neither it refuses ``cache=True``
    -- then the kernel is compiled in every process (a few seconds, once per process).
    """

    def decorate(func: _F) -> _F:
        global _CACHE_WARNED
        try:
            return njit(cache=True, **options)(func)
        except RuntimeError as exc:  # "cannot cache function ...: no locator available"
            if not _CACHE_WARNED:
                _CACHE_WARNED = True
                warnings.warn(
                    f"numba cannot cache the compiled LightGBM scorer ({exc}); it will be "
                    "compiled in every process. Set NUMBA_CACHE_DIR to a writable directory.",
                    RuntimeWarning,
                    stacklevel=2,
                )
            return njit(cache=False, **options)(func)

    return decorate


@_jit(inline="always")
def _missing_step(  # pragma: no cover - compiled by numba
    thr: np.ndarray, meta: np.ndarray, xb: np.ndarray, n: np.uint64, lane: int
) -> np.uint64:
    """One step of a lane whose row may hold missing values (``NaN`` in the group buffer)."""
    m = meta[n]
    x = xb[(m & _FM) + _U(lane)]
    if x != x:
        return (m >> _S32) + ((m >> _S30) & _ONE)
    return (m >> _S32) + _U(x > thr[n])


@_jit(inline="always")
def _output(raw: float, sigmoid: float) -> float:  # pragma: no cover - compiled by numba
    """LightGBM's output transform: the binary sigmoid when ``sigmoid > 0``, else the identity."""
    if sigmoid > 0.0:
        return 1.0 / (1.0 + math.exp(-sigmoid * raw))
    return raw


@_jit(nogil=True)
def _score_group_missing(  # pragma: no cover - compiled by numba
    X: np.ndarray,
    r0: int,
    nb: int,
    xb: np.ndarray,
    thr: np.ndarray,
    meta: np.ndarray,
    value: np.ndarray,
    roots: np.ndarray,
    min_depths: np.ndarray,
    zero_as_missing: bool,
    sigmoid: float,
    out: np.ndarray,
) -> None:
    """Score the ``nb <= 16`` rows from ``r0`` on, which may hold missing values."""
    zero_to = np.nan if zero_as_missing else 0.0
    for i in range(16):
        row = r0 + i if i < nb else r0  # a short group repeats its first row
        for j in range(X.shape[1]):
            v = X[row, j]
            if math.fabs(v) <= _K_ZERO:  # LightGBM reads |x| <= kZeroThreshold as 0
                v = zero_to
            xb[j * 16 + i] = v
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    a8 = a9 = a10 = a11 = a12 = a13 = a14 = a15 = 0.0
    for t in range(roots.shape[0]):
        n0 = n1 = n2 = n3 = n4 = n5 = n6 = n7 = roots[t]
        n8 = n9 = n10 = n11 = n12 = n13 = n14 = n15 = n0
        for _ in range(min_depths[t]):  # no lane is on a leaf yet
            n0 = _missing_step(thr, meta, xb, n0, 0)
            n1 = _missing_step(thr, meta, xb, n1, 1)
            n2 = _missing_step(thr, meta, xb, n2, 2)
            n3 = _missing_step(thr, meta, xb, n3, 3)
            n4 = _missing_step(thr, meta, xb, n4, 4)
            n5 = _missing_step(thr, meta, xb, n5, 5)
            n6 = _missing_step(thr, meta, xb, n6, 6)
            n7 = _missing_step(thr, meta, xb, n7, 7)
            n8 = _missing_step(thr, meta, xb, n8, 8)
            n9 = _missing_step(thr, meta, xb, n9, 9)
            n10 = _missing_step(thr, meta, xb, n10, 10)
            n11 = _missing_step(thr, meta, xb, n11, 11)
            n12 = _missing_step(thr, meta, xb, n12, 12)
            n13 = _missing_step(thr, meta, xb, n13, 13)
            n14 = _missing_step(thr, meta, xb, n14, 14)
            n15 = _missing_step(thr, meta, xb, n15, 15)
        while True:
            d = _LEAF
            d &= meta[n0]
            n0 = _missing_step(thr, meta, xb, n0, 0)
            d &= meta[n1]
            n1 = _missing_step(thr, meta, xb, n1, 1)
            d &= meta[n2]
            n2 = _missing_step(thr, meta, xb, n2, 2)
            d &= meta[n3]
            n3 = _missing_step(thr, meta, xb, n3, 3)
            d &= meta[n4]
            n4 = _missing_step(thr, meta, xb, n4, 4)
            d &= meta[n5]
            n5 = _missing_step(thr, meta, xb, n5, 5)
            d &= meta[n6]
            n6 = _missing_step(thr, meta, xb, n6, 6)
            d &= meta[n7]
            n7 = _missing_step(thr, meta, xb, n7, 7)
            d &= meta[n8]
            n8 = _missing_step(thr, meta, xb, n8, 8)
            d &= meta[n9]
            n9 = _missing_step(thr, meta, xb, n9, 9)
            d &= meta[n10]
            n10 = _missing_step(thr, meta, xb, n10, 10)
            d &= meta[n11]
            n11 = _missing_step(thr, meta, xb, n11, 11)
            d &= meta[n12]
            n12 = _missing_step(thr, meta, xb, n12, 12)
            d &= meta[n13]
            n13 = _missing_step(thr, meta, xb, n13, 13)
            d &= meta[n14]
            n14 = _missing_step(thr, meta, xb, n14, 14)
            d &= meta[n15]
            n15 = _missing_step(thr, meta, xb, n15, 15)
            if d:  # every lane was on a leaf (a leaf is its own child)
                break
        a0 += value[n0]
        a1 += value[n1]
        a2 += value[n2]
        a3 += value[n3]
        a4 += value[n4]
        a5 += value[n5]
        a6 += value[n6]
        a7 += value[n7]
        a8 += value[n8]
        a9 += value[n9]
        a10 += value[n10]
        a11 += value[n11]
        a12 += value[n12]
        a13 += value[n13]
        a14 += value[n14]
        a15 += value[n15]
    acc = (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15)
    for i in range(nb):
        out[r0 + i] = _output(acc[i], sigmoid)


@_jit(nogil=True)
def _score_groups(  # pragma: no cover - compiled by numba
    X: np.ndarray,
    start: int,
    stop: int,
    thr: np.ndarray,
    edge_value: np.ndarray,
    link: np.ndarray,
    entry: int,
    free_steps: int,
    zero_as_missing: bool,
    sigmoid: float,
    out: np.ndarray,
    deferred: np.ndarray,
) -> int:
    """Score the full groups of rows ``start:stop`` that need no missing-value rule.

    Each lane walks its row through the chained splits on its own (see :func:`_chain_layout`).
    A lane's state is the link it last followed (the split's number and feature); a step
    compares the row's feature with the split's threshold, takes edge ``2 * split + (x >
    threshold)``, adds the edge's value (the leaf value on an edge into a leaf, ``-0.0``
    otherwise, which leaves any sum unchanged) and follows its link: to the next split of the
    tree, or from a leaf straight to the next tree's root. The group is done when every lane
    is on the sink; the first ``free_steps`` steps need no check (no row can reach it sooner).
    The start of every other group (a short last group, or one with a ``NaN``, a zero read as
    missing, or a number LightGBM reads as 0) goes to ``deferred``; returns their count.
    """
    n_features = X.shape[1]
    xb = np.empty(n_features * 16, dtype=np.float64)  # the group's rows, feature-major
    n_deferred = 0
    for r0 in range(start, stop, 16):
        simple = r0 + 16 <= stop
        for i in range(16 if simple else 0):
            for j in range(n_features):
                v = X[r0 + i, j]
                if v != v or (math.fabs(v) <= _K_ZERO and (zero_as_missing or v != 0.0)):
                    simple = False
                xb[j * 16 + i] = v
        if not simple:
            deferred[n_deferred] = r0
            n_deferred += 1
            continue
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
        a8 = a9 = a10 = a11 = a12 = a13 = a14 = a15 = 0.0
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = _U(entry)
        s8 = s9 = s10 = s11 = s12 = s13 = s14 = s15 = s0
        for _ in range(free_steps):  # no lane can be on the sink yet
            n = s0 >> _S32
            e = n + n + _U(xb[(s0 & _FM) + _U(0)] > thr[n])
            a0 += edge_value[e]
            s0 = link[e]
            n = s1 >> _S32
            e = n + n + _U(xb[(s1 & _FM) + _U(1)] > thr[n])
            a1 += edge_value[e]
            s1 = link[e]
            n = s2 >> _S32
            e = n + n + _U(xb[(s2 & _FM) + _U(2)] > thr[n])
            a2 += edge_value[e]
            s2 = link[e]
            n = s3 >> _S32
            e = n + n + _U(xb[(s3 & _FM) + _U(3)] > thr[n])
            a3 += edge_value[e]
            s3 = link[e]
            n = s4 >> _S32
            e = n + n + _U(xb[(s4 & _FM) + _U(4)] > thr[n])
            a4 += edge_value[e]
            s4 = link[e]
            n = s5 >> _S32
            e = n + n + _U(xb[(s5 & _FM) + _U(5)] > thr[n])
            a5 += edge_value[e]
            s5 = link[e]
            n = s6 >> _S32
            e = n + n + _U(xb[(s6 & _FM) + _U(6)] > thr[n])
            a6 += edge_value[e]
            s6 = link[e]
            n = s7 >> _S32
            e = n + n + _U(xb[(s7 & _FM) + _U(7)] > thr[n])
            a7 += edge_value[e]
            s7 = link[e]
            n = s8 >> _S32
            e = n + n + _U(xb[(s8 & _FM) + _U(8)] > thr[n])
            a8 += edge_value[e]
            s8 = link[e]
            n = s9 >> _S32
            e = n + n + _U(xb[(s9 & _FM) + _U(9)] > thr[n])
            a9 += edge_value[e]
            s9 = link[e]
            n = s10 >> _S32
            e = n + n + _U(xb[(s10 & _FM) + _U(10)] > thr[n])
            a10 += edge_value[e]
            s10 = link[e]
            n = s11 >> _S32
            e = n + n + _U(xb[(s11 & _FM) + _U(11)] > thr[n])
            a11 += edge_value[e]
            s11 = link[e]
            n = s12 >> _S32
            e = n + n + _U(xb[(s12 & _FM) + _U(12)] > thr[n])
            a12 += edge_value[e]
            s12 = link[e]
            n = s13 >> _S32
            e = n + n + _U(xb[(s13 & _FM) + _U(13)] > thr[n])
            a13 += edge_value[e]
            s13 = link[e]
            n = s14 >> _S32
            e = n + n + _U(xb[(s14 & _FM) + _U(14)] > thr[n])
            a14 += edge_value[e]
            s14 = link[e]
            n = s15 >> _S32
            e = n + n + _U(xb[(s15 & _FM) + _U(15)] > thr[n])
            a15 += edge_value[e]
            s15 = link[e]
        while True:
            d = _SINK
            n = s0 >> _S32
            e = n + n + _U(xb[(s0 & _FM) + _U(0)] > thr[n])
            a0 += edge_value[e]
            s0 = link[e]
            d &= s0
            n = s1 >> _S32
            e = n + n + _U(xb[(s1 & _FM) + _U(1)] > thr[n])
            a1 += edge_value[e]
            s1 = link[e]
            d &= s1
            n = s2 >> _S32
            e = n + n + _U(xb[(s2 & _FM) + _U(2)] > thr[n])
            a2 += edge_value[e]
            s2 = link[e]
            d &= s2
            n = s3 >> _S32
            e = n + n + _U(xb[(s3 & _FM) + _U(3)] > thr[n])
            a3 += edge_value[e]
            s3 = link[e]
            d &= s3
            n = s4 >> _S32
            e = n + n + _U(xb[(s4 & _FM) + _U(4)] > thr[n])
            a4 += edge_value[e]
            s4 = link[e]
            d &= s4
            n = s5 >> _S32
            e = n + n + _U(xb[(s5 & _FM) + _U(5)] > thr[n])
            a5 += edge_value[e]
            s5 = link[e]
            d &= s5
            n = s6 >> _S32
            e = n + n + _U(xb[(s6 & _FM) + _U(6)] > thr[n])
            a6 += edge_value[e]
            s6 = link[e]
            d &= s6
            n = s7 >> _S32
            e = n + n + _U(xb[(s7 & _FM) + _U(7)] > thr[n])
            a7 += edge_value[e]
            s7 = link[e]
            d &= s7
            n = s8 >> _S32
            e = n + n + _U(xb[(s8 & _FM) + _U(8)] > thr[n])
            a8 += edge_value[e]
            s8 = link[e]
            d &= s8
            n = s9 >> _S32
            e = n + n + _U(xb[(s9 & _FM) + _U(9)] > thr[n])
            a9 += edge_value[e]
            s9 = link[e]
            d &= s9
            n = s10 >> _S32
            e = n + n + _U(xb[(s10 & _FM) + _U(10)] > thr[n])
            a10 += edge_value[e]
            s10 = link[e]
            d &= s10
            n = s11 >> _S32
            e = n + n + _U(xb[(s11 & _FM) + _U(11)] > thr[n])
            a11 += edge_value[e]
            s11 = link[e]
            d &= s11
            n = s12 >> _S32
            e = n + n + _U(xb[(s12 & _FM) + _U(12)] > thr[n])
            a12 += edge_value[e]
            s12 = link[e]
            d &= s12
            n = s13 >> _S32
            e = n + n + _U(xb[(s13 & _FM) + _U(13)] > thr[n])
            a13 += edge_value[e]
            s13 = link[e]
            d &= s13
            n = s14 >> _S32
            e = n + n + _U(xb[(s14 & _FM) + _U(14)] > thr[n])
            a14 += edge_value[e]
            s14 = link[e]
            d &= s14
            n = s15 >> _S32
            e = n + n + _U(xb[(s15 & _FM) + _U(15)] > thr[n])
            a15 += edge_value[e]
            s15 = link[e]
            d &= s15
            if d:  # every lane is on the sink
                break
        out[r0 + 0] = _output(a0, sigmoid)
        out[r0 + 1] = _output(a1, sigmoid)
        out[r0 + 2] = _output(a2, sigmoid)
        out[r0 + 3] = _output(a3, sigmoid)
        out[r0 + 4] = _output(a4, sigmoid)
        out[r0 + 5] = _output(a5, sigmoid)
        out[r0 + 6] = _output(a6, sigmoid)
        out[r0 + 7] = _output(a7, sigmoid)
        out[r0 + 8] = _output(a8, sigmoid)
        out[r0 + 9] = _output(a9, sigmoid)
        out[r0 + 10] = _output(a10, sigmoid)
        out[r0 + 11] = _output(a11, sigmoid)
        out[r0 + 12] = _output(a12, sigmoid)
        out[r0 + 13] = _output(a13, sigmoid)
        out[r0 + 14] = _output(a14, sigmoid)
        out[r0 + 15] = _output(a15, sigmoid)
    return n_deferred


@_jit(nogil=True)
def _score_range(  # pragma: no cover - compiled by numba; covered through CompiledForest
    X: np.ndarray,
    start: int,
    stop: int,
    thr: np.ndarray,
    meta: np.ndarray,
    value: np.ndarray,
    roots: np.ndarray,
    min_depths: np.ndarray,
    chain_thr: np.ndarray,
    edge_value: np.ndarray,
    link: np.ndarray,
    entry: int,
    free_steps: int,
    zero_as_missing: bool,
    sigmoid: float,
    out: np.ndarray,
) -> None:
    """Score rows ``start:stop`` of ``X`` into ``out[start:stop]`` (see the module docstring).

    ``sigmoid > 0``: binary output ``1 / (1 + exp(-sigmoid * raw))``; ``0``: the raw score.
    Complete groups of 16 rows take :func:`_score_groups` (the chained splits of
    :func:`_chain_layout`); the others :func:`_score_group_missing` (the tree layout).
    """
    deferred = np.empty((stop - start + 15) // 16, dtype=np.int64)
    n_deferred = _score_groups(
        X,
        start,
        stop,
        chain_thr,
        edge_value,
        link,
        entry,
        free_steps,
        zero_as_missing,
        sigmoid,
        out,
        deferred,
    )
    xb = np.empty(X.shape[1] * 16, dtype=np.float64)
    for k in range(n_deferred):
        r0 = deferred[k]
        _score_group_missing(
            X,
            r0,
            min(16, stop - r0),
            xb,
            thr,
            meta,
            value,
            roots,
            min_depths,
            zero_as_missing,
            sigmoid,
            out,
        )


def _chain_layout(
    threshold: np.ndarray,
    meta: np.ndarray,
    value: np.ndarray,
    roots: np.ndarray,
    min_depths: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Chain the trees' splits for :func:`_score_groups`: a leaf's edge leads to the next root.

    The splits (internal nodes) of all trees are numbered ``0..k-1`` in tree order; a tree that
    is a single leaf gets a split that always goes left (threshold ``+inf``); split ``k`` is the
    sink, a split that leads back to itself. Split ``i`` has edges ``2 * i`` (``x <=
    threshold``) and ``2 * i + 1``. Returns

    * ``chain_thr``: ``float64`` threshold per split (``+inf`` for the sink);
    * ``edge_value``: ``float64`` per edge, the leaf's value on an edge into a leaf, ``-0.0``
      elsewhere (``x + -0.0 == x`` for every ``x``, so adding it at every step leaves each
      row's sum of leaf values, in tree order, unchanged);
    * ``link``: ``uint64`` per edge, where it leads: the split's number (bits 32-63) and its
      feature times :data:`LANES` (bits 0-15), flagged ``_SINK`` (bit 29) for the sink; an
      edge into a leaf leads to the next tree's root, and the last tree's to the sink;
    * ``entry``: the link to the first tree's root;
    * ``free_steps``: the number of steps before which no row can be on the sink (each tree
      takes at least its shallowest leaf's depth, and the single-leaf trees one step), minus 1.

    A row takes one step per split on its path, so a step less per tree than walking onto the
    leaf itself.
    """
    n = meta.shape[0]
    leaf = (meta & _LEAF) != 0
    starts = roots.astype(np.int64)
    tree = np.searchsorted(starts, np.arange(n), side="right") - 1  # trees are contiguous
    single = leaf[starts]  # single-leaf trees
    split = ~leaf
    split[starts[single]] = True
    nodes = np.flatnonzero(split)  # the node of each split, in tree order
    k = nodes.shape[0]
    number = np.full(n, -1, dtype=np.int64)
    number[nodes] = np.arange(k)
    feature = meta & _FM  # 0 on leaves
    into = (number.astype(np.uint64) << _S32) | feature  # the link into each split's node
    sink = (_U(k) << _S32) | _SINK
    after = np.append(into[starts[1:]], sink)  # where a leaf of each tree leads
    chain_thr = np.append(np.where(leaf[nodes], math.inf, threshold[nodes]), math.inf)
    link = np.full(2 * (k + 1), sink, dtype=np.uint64)
    edge_value = np.full(2 * (k + 1), -0.0)
    for side in (0, 1):
        # a single-leaf tree's split leads to its leaf on both sides
        child = np.where(leaf[nodes], nodes, (meta[nodes] >> _S32).astype(np.int64) + side)
        to_leaf = leaf[child]
        link[side : 2 * k : 2] = np.where(to_leaf, after[tree[nodes]], into[child])
        edge_value[side : 2 * k : 2] = np.where(to_leaf, value[child], -0.0)
    free_steps = int(np.maximum(min_depths, 1).sum()) - 1
    return chain_thr, edge_value, link, int(into[starts[0]]), free_steps


# --------------------------------------------------------------------------- model
class CompiledForest:
    """A LightGBM tree ensemble flattened into arrays and scored by a compiled kernel.

    Build one with :meth:`from_lgbm`. Nodes (internal and leaves) are numbered across all trees;
    the two children of a node are consecutive, and a leaf is its own (left) child with an
    infinite threshold, so a walk from a root ends on the row's leaf whatever its depth.

    Attributes
    ----------
    threshold
        ``float64`` split threshold per node (``x <= threshold`` goes left; ``+inf`` on leaves).
    meta
        ``uint64`` packed node record: split feature times :data:`LANES` (bits 0-15), missing
        value goes right (bit 30), leaf (bit 31), left child (bits 32-63).
    value
        ``float64`` leaf value per node (``0.0`` for internal nodes).
    roots
        ``uint64`` root node of each tree, in tree order.
    min_depths, max_depths
        ``int64`` depth (edges from the root) of the shallowest and deepest leaf of each tree.
    n_features
        Number of input columns the model expects.
    objective
        ``"binary"`` (output ``1 / (1 + exp(-sigmoid * raw))``) or ``"regression"`` (raw).
    sigmoid
        The binary objective's sigmoid parameter (``0.0`` for regression).
    zero_as_missing
        Whether the model has ``missing_type=Zero`` splits (zero read as missing).
    """

    def __init__(
        self,
        *,
        threshold: np.ndarray,
        meta: np.ndarray,
        value: np.ndarray,
        roots: np.ndarray,
        min_depths: np.ndarray,
        max_depths: np.ndarray,
        n_features: int,
        objective: str,
        sigmoid: float,
        zero_as_missing: bool,
    ) -> None:
        self.threshold = np.ascontiguousarray(threshold, dtype=np.float64)
        self.meta = np.ascontiguousarray(meta, dtype=np.uint64)
        self.value = np.ascontiguousarray(value, dtype=np.float64)
        self.roots = np.ascontiguousarray(roots, dtype=np.uint64)
        self.min_depths = np.ascontiguousarray(min_depths, dtype=np.int64)
        self.max_depths = np.ascontiguousarray(max_depths, dtype=np.int64)
        self.n_features = int(n_features)
        self.objective = objective
        self.sigmoid = float(sigmoid)
        self.zero_as_missing = bool(zero_as_missing)

    @property
    def n_trees(self) -> int:
        """Number of trees."""
        return int(self.roots.shape[0])

    @property
    def n_nodes(self) -> int:
        """Number of nodes, leaves included, over all trees."""
        return int(self.threshold.shape[0])

    @property
    def is_leaf(self) -> np.ndarray:
        """``bool`` per node: whether it is a leaf."""
        return (self.meta & _LEAF) != 0

    @property
    def feature(self) -> np.ndarray:
        """``int64`` split feature per node (``0`` for leaves)."""
        return ((self.meta & _FM) // _U(LANES)).astype(np.int64)

    #: :func:`_chain_layout` of this forest, built on first use; derived, so never pickled
    _chain_arrays: tuple[np.ndarray, np.ndarray, np.ndarray, int, int] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_chain_arrays", None)
        return state

    def _chain(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
        """Return the chained splits of :func:`_chain_layout`, built on first use."""
        if self._chain_arrays is None:
            self._chain_arrays = _chain_layout(
                self.threshold, self.meta, self.value, self.roots, self.min_depths
            )
        return self._chain_arrays

    def __repr__(self) -> str:
        return (
            f"CompiledForest({self.n_trees} trees, {self.n_nodes} nodes, "
            f"{self.n_features} features, {self.objective})"
        )

    # ----------------------------------------------------------------- building
    @classmethod
    def from_lgbm(
        cls, model: lgb.LGBMModel | lgb.Booster, *, verify: bool = True
    ) -> CompiledForest | None:
        """Compile a fitted LightGBM model, or return ``None`` when it is not supported.

        Parameters
        ----------
        model
            A fitted :class:`lightgbm.LGBMModel` (scikit-learn API) or a
            :class:`lightgbm.Booster`. The trees used are those of LightGBM's ``predict``
            without arguments: up to ``best_iteration`` when one is set (early stopping), all
            otherwise.
        verify
            Score probe rows built from the split thresholds with both LightGBM and the compiled
            forest and return ``None`` (with a ``RuntimeWarning``) if any output differs.

        Returns
        -------
        CompiledForest or None
            ``None`` for a model with a categorical split, linear trees, ``rf`` boosting
            (averaged output), several trees per iteration (multiclass), both ``Zero`` and
            ``NaN`` missing types, more than 4095 features, or an objective other than
            ``"binary sigmoid:<s>"`` and ``"regression"``.

        Raises
        ------
        TypeError
            If ``model`` is neither a LightGBM scikit-learn model nor a Booster.
        ValueError
            If a scikit-learn model is not fitted.
        """
        booster = _booster_of(model)
        num_iteration = booster.best_iteration if booster.best_iteration > 0 else -1
        dump = booster.dump_model(num_iteration=num_iteration)
        forest = _from_dump(dump, booster.params)
        if forest is None or not verify:
            return forest
        mismatch = forest._verify(booster, num_iteration)
        if mismatch is not None:
            warnings.warn(
                f"the compiled LightGBM scorer disagrees with LightGBM ({mismatch}); "
                "falling back to LightGBM's predict",
                RuntimeWarning,
                stacklevel=2,
            )
            return None
        return forest

    # ----------------------------------------------------------------- scoring
    def predict(self, X: Any, n_threads: int | None = 1) -> np.ndarray:
        """Score ``X`` like the model's ``predict`` (``predict_proba(X)[:, 1]`` if binary).

        Parameters
        ----------
        X
            ``(n_rows, n_features)`` numbers; converted to a C-contiguous ``float64`` array
            (copied only when it is not one already).
        n_threads
            Threads scoring contiguous chunks of rows concurrently: ``1`` scores in the calling
            thread; ``0``, ``None`` or negative follow :func:`resolve_threads`. Small inputs
            use fewer threads (at least 8,192 rows each).

        Returns
        -------
        numpy.ndarray
            ``float64`` of shape ``(n_rows,)``: the probability of class 1 for a binary model,
            the prediction for a regression model.

        Raises
        ------
        ValueError
            If ``X`` is not two-dimensional or has another number of columns than the model.
        """
        return self._predict(X, n_threads, raw=False)

    def predict_raw(self, X: Any, n_threads: int | None = 1) -> np.ndarray:
        """Raw score: the sum of the leaf values, before the binary sigmoid."""
        return self._predict(X, n_threads, raw=True)

    def _predict(self, X: Any, n_threads: int | None, *, raw: bool) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must be two-dimensional, got shape {X.shape}")
        if X.shape[1] != self.n_features:
            raise ValueError(
                f"X has {X.shape[1]} columns but the LightGBM model was trained on "
                f"{self.n_features} features"
            )
        n = X.shape[0]
        out = np.empty(n, dtype=np.float64)
        if n == 0:
            return out
        sigmoid = 0.0 if raw or self.objective != "binary" else self.sigmoid
        threads = min(resolve_threads(n_threads), max(1, n // _MIN_ROWS_PER_THREAD))
        chain = self._chain()
        if threads <= 1:
            self._score(X, 0, n, sigmoid, out, chain)
            return out
        # a few contiguous chunks per thread, taken in turn by the threads: a thread slowed by
        # other load on the machine takes fewer of them
        step = max(-(-n // (threads * _CHUNKS_PER_THREAD)), _MIN_ROWS_PER_THREAD // 2)
        step = -(-step // LANES) * LANES  # chunk boundaries on group boundaries
        bounds = [(lo, min(lo + step, n)) for lo in range(0, n, step)]
        with ThreadPoolExecutor(max_workers=threads) as pool:
            futures = [
                pool.submit(self._score, X, lo, hi, sigmoid, out, chain) for lo, hi in bounds
            ]
            for future in futures:
                future.result()
        return out

    def _score(
        self,
        X: np.ndarray,
        start: int,
        stop: int,
        sigmoid: float,
        out: np.ndarray,
        chain: tuple[np.ndarray, np.ndarray, np.ndarray, int, int],
    ) -> None:
        _score_range(
            X,
            start,
            stop,
            self.threshold,
            self.meta,
            self.value,
            self.roots,
            self.min_depths,
            *chain,
            self.zero_as_missing,
            sigmoid,
            out,
        )

    # ----------------------------------------------------------------- verification
    def probe_rows(self, n_rows: int = 1024, seed: int = 0) -> np.ndarray:
        """Return rows that exercise every split, on both paths of the kernel.

        Each cell is drawn from the feature's split thresholds, exact and ``nextafter`` down and
        up; in the second half of the rows also from ``0.0``, ``-0.0``, ``NaN``, ``±1e-36`` and
        ``±kZeroThreshold`` (the first half has no missing value, so its groups of 16 rows take
        the kernel's fast path).
        """
        rng = np.random.default_rng(seed)
        internal = ~self.is_leaf
        feature = self.feature
        specials = np.array(
            [0.0, -0.0, np.nan, 1e-36, -1e-36, K_ZERO_THRESHOLD, -K_ZERO_THRESHOLD, 1.0, -1.0]
        )
        half = n_rows // 2
        out = np.empty((n_rows, self.n_features))
        for j in range(self.n_features):
            thr = np.unique(self.threshold[internal & (feature == j)])
            pool = np.concatenate([thr, np.nextafter(thr, -np.inf), np.nextafter(thr, np.inf)])
            out[:half, j] = rng.choice(pool, size=half) if pool.size else 1.0
            out[half:, j] = rng.choice(np.concatenate([pool, specials]), size=n_rows - half)
        return out

    def _verify(self, booster: lgb.Booster, num_iteration: int) -> str | None:
        X = self.probe_rows()
        checks = (
            (
                "raw score",
                self.predict_raw(X),
                booster.predict(X, raw_score=True, num_iteration=num_iteration),
            ),
            ("output", self.predict(X), booster.predict(X, num_iteration=num_iteration)),
        )
        for name, got, expected in checks:
            expected = np.asarray(expected, dtype=np.float64)
            if got.shape != expected.shape:
                return f"{name} shape {got.shape} instead of {expected.shape}"
            if not np.array_equal(got, expected):
                diff = float(np.max(np.abs(got - expected)))
                return f"{name} max abs difference {diff:.3g} on probe rows"
        return None


# --------------------------------------------------------------------------- parsing
def _booster_of(model: lgb.LGBMModel | lgb.Booster) -> lgb.Booster:
    if isinstance(model, lgb.Booster):
        return model
    if isinstance(model, lgb.LGBMModel):
        booster = getattr(model, "_Booster", None)
        if booster is None:
            raise ValueError(f"{type(model).__name__} is not fitted; call fit before compiling")
        return booster
    raise TypeError(
        f"expected a fitted lightgbm.LGBMModel or lightgbm.Booster, got {type(model).__name__}"
    )


def _objective(text: str, params: dict[str, Any]) -> tuple[str, float] | None:
    if text == "regression":
        return "regression", 0.0
    match = _BINARY_RE.match(text)
    if match is None:
        return None
    try:
        sigmoid = float(match.group(1))
    except ValueError:
        return None
    # LightGBM prints the sigmoid with 6 significant digits: use the parameter when it matches
    # (otherwise a sigmoid with more digits is caught by the probe-row verification)
    given = params.get("sigmoid")
    if given is not None:
        try:
            exact = float(given)
        except (TypeError, ValueError):
            return None
        if float(f"{exact:.6g}") != sigmoid:
            return None
        sigmoid = exact
    if not sigmoid > 0 or not math.isfinite(sigmoid):
        return None
    return "binary", sigmoid


def _from_dump(dump: dict[str, Any], params: dict[str, Any]) -> CompiledForest | None:
    if dump.get("num_class", 1) != 1 or dump.get("num_tree_per_iteration", 1) != 1:
        return None
    if dump.get("average_output", False):
        return None
    if str(params.get("linear_tree", "false")).lower() in ("true", "1"):
        return None
    objective = _objective(str(dump.get("objective", "")), params)
    if objective is None:
        return None
    n_features = int(dump.get("max_feature_idx", -1)) + 1
    if n_features * LANES >= 1 << _FEATURE_BITS:
        return None  # more than 4095 features
    threshold: list[float] = []
    meta: list[int] = []
    value: list[float] = []
    roots: list[int] = []
    min_depths: list[int] = []
    max_depths: list[int] = []
    types_seen: set[int] = set()
    for tree in dump["tree_info"]:
        if tree.get("num_cat", 0):
            return None
        root = len(threshold)
        roots.append(root)
        threshold.append(0.0)
        meta.append(0)
        value.append(0.0)
        lo, hi = 1 << 30, 0
        # (node, its slot, depth): the slots of a node's two children are allocated together
        stack: list[tuple[dict[str, Any], int, int]] = [(tree["tree_structure"], root, 0)]
        while stack:
            node, slot, depth = stack.pop()
            if "split_feature" not in node:
                if "leaf_coeff" in node or "leaf_const" in node:
                    return None  # linear tree
                threshold[slot] = math.inf
                meta[slot] = (slot << 32) | int(_LEAF)
                value[slot] = float(node["leaf_value"])
                lo, hi = min(lo, depth), max(hi, depth)
                continue
            if node.get("decision_type") != "<=":
                return None  # categorical split ("==")
            mtype = _MISSING_TYPES.get(str(node.get("missing_type")))
            if mtype is None:
                return None
            types_seen.add(mtype)
            thr = float(node["threshold"])
            if mtype == _MISSING_NONE:
                missing_right = 0.0 > thr  # a NaN is read as 0.0
            else:
                missing_right = not node.get("default_left", True)
            left = len(threshold)
            threshold.extend((0.0, 0.0))
            meta.extend((0, 0))
            value.extend((0.0, 0.0))
            threshold[slot] = thr
            meta[slot] = (
                (left << 32)
                | (int(_MISSING_RIGHT) if missing_right else 0)
                | (int(node["split_feature"]) * LANES)
            )
            stack.append((node["right_child"], left + 1, depth + 1))
            stack.append((node["left_child"], left, depth + 1))
        min_depths.append(lo)
        max_depths.append(hi)
    if {_MISSING_ZERO, _MISSING_NAN} <= types_seen:
        return None  # a zero would be missing for some splits and a number for others
    if len(threshold) >= 1 << 32:  # pragma: no cover - 4 billion nodes
        return None
    return CompiledForest(
        threshold=np.asarray(threshold, dtype=np.float64),
        meta=np.asarray(meta, dtype=np.uint64),
        value=np.asarray(value, dtype=np.float64),
        roots=np.asarray(roots, dtype=np.uint64),
        min_depths=np.asarray(min_depths, dtype=np.int64),
        max_depths=np.asarray(max_depths, dtype=np.int64),
        n_features=n_features,
        objective=objective[0],
        sigmoid=objective[1],
        zero_as_missing=_MISSING_ZERO in types_seen,
    )
