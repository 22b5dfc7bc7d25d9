"""Memory of large temporaries: give freed heap back to the OS, fault pages in cheaply.

* :func:`release_memory` -- hand freed heap pages back to the OS (glibc ``malloc_trim``);
* :func:`small_pages` -- allocate NumPy arrays without the transparent-huge-page hint.

NumPy (>= 1.20, Linux) asks the kernel for transparent huge pages (``madvise(MADV_HUGEPAGE)``)
on every array of 4 MB or more. Where the kernel's THP ``defrag`` setting is ``madvise`` (the
default of common distributions), a page fault in such an array may compact memory
synchronously before it returns, and on a busy machine that costs more system time than the
fewer TLB misses save. Reading the 3M-journey path table of ``benchmarks/bench_markov.py`` and
fitting an order-1 Markov chain (in process, five runs each, load average about 4) took
0.9-1.6 s of system CPU time with the hint and 0.56-0.85 s without it (CPU time in all, median
2.03 s against 1.71 s), for the same peak memory (615-667 MB). Large temporaries are short-lived
here, so huge pages have no time to pay back. The hint only changes how pages are mapped, never
a value; the environment variable ``NUMPY_MADVISE_HUGEPAGE``, when set, takes precedence.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["release_memory", "small_pages"]


def _trim_function() -> Any:
    try:
        import ctypes
        import ctypes.util

        name = ctypes.util.find_library("c")
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        return None


_MALLOC_TRIM = _trim_function()


def release_memory() -> None:
    """Hand freed heap pages back to the OS (glibc keeps them otherwise, inflating peak RSS)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _hugepage_switch() -> Any:
    """NumPy's run-time switch of the huge-page hint (``None`` if this NumPy has none)."""
    import numpy as np

    core = getattr(np, "_core", None) or getattr(np, "core", None)
    return getattr(getattr(core, "multiarray", None), "_set_madvise_hugepage", None)


@contextmanager
def small_pages() -> Iterator[None]:
    """Allocate NumPy arrays without the huge-page hint inside the block, then restore it.

    A no-op when ``NUMPY_MADVISE_HUGEPAGE`` is set (the user's choice stands) or when NumPy has
    no such switch. Values are never affected; see the module docstring for why it pays.
    """
    switch = None if "NUMPY_MADVISE_HUGEPAGE" in os.environ else _hugepage_switch()
    if switch is None:
        yield
        return
    previous = switch(False)
    try:
        yield
    finally:
        switch(previous)
