"""Lazy imports: package namespaces (PEP 562) and modules loaded in the background.

* :func:`lazy_namespace` -- shared by ``attribution`` and ``uplift``: a package lists its public
  names with their defining modules; a name's module is imported on first use, so
  ``import attribution.errors`` or the command line's ``--help`` load neither NumPy nor the
  models.
* :func:`preload` -- import a module on a background thread while the caller does other work.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any

__all__ = ["lazy_namespace", "preload"]


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


def preload(module: str) -> None:
    """Start importing ``module`` on a background thread, unless it is imported already.

    For a module that costs a fixed load time and is needed after a step that does not hold the
    GIL: loading numba's kernels (:mod:`attribution._kernels`, 0.5-0.7 s of numba's registries
    and cached machine code) while Arrow reads a CSV file. The code that needs the module still
    imports it as usual; Python's import lock makes that import wait for the background one, and
    if the background import failed, it is tried again there and its error raised there. Start
    it only where the calling thread imports nothing that the module imports meanwhile, so that
    no import waits on the other thread's (Python then hands one side a partially initialised
    module).
    """
    if module in sys.modules:
        return

    def load() -> None:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: S110 - raised again where the module is imported
            pass

    threading.Thread(target=load, name=f"preload {module}").start()
