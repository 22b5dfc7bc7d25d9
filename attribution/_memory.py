"""Give freed heap memory back to the operating system (glibc ``malloc_trim``)."""

from __future__ import annotations

from typing import Any

__all__ = ["release_memory"]


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
