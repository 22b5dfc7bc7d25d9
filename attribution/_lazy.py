"""Lazy package namespaces (PEP 562), shared by ``attribution`` and ``uplift``.

A package lists its public names with their defining modules; a name's module is imported on
first use, so ``import attribution.errors`` or the command line's ``--help`` load neither NumPy
nor the models.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any

__all__ = ["lazy_namespace"]


def lazy_namespace(
    package: str,
    sources: Mapping[str, str],
    names: Sequence[str],
    namespace: MutableMapping[str, Any],
    *,
    deprecated: Mapping[str, str] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return the ``__getattr__`` and ``__dir__`` of a package.

    ``sources`` maps each public name to its defining module; a resolved name is stored in the
    package's ``namespace`` (its ``globals()``) and found there directly afterwards.
    ``deprecated`` maps former names to the module that still answers them (with its own
    warning); they are not cached, so every use warns.
    """
    former = dict(deprecated or {})

    def __getattr__(name: str) -> Any:
        if name in sources:
            value = getattr(importlib.import_module(sources[name]), name)
            namespace[name] = value  # resolved once
            return value
        if name in former:
            return getattr(importlib.import_module(former[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*namespace, *names})

    return __getattr__, __dir__
