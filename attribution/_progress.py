"""Progress callbacks, one style for the whole project: ``progress(message: str)``.

Every long-running call (attribution models' ``fit``, uplift models' ``fit``, cross-fitting,
learner selection, the demo) takes ``progress``, a callable that receives a short human-readable
message, e.g. ``"bootstrap 40/200"``; the command line prints them on standard error. Counted
work reports every 10% (and at the end), so a callback is called at most about ten times per
loop.

Attribution models used to call ``progress(done, total)``; a callback that needs two positional
arguments is still called that way for one release, with a :class:`DeprecationWarning`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from attribution._validation import renamed

__all__ = ["Counter", "ProgressCallback", "counter"]

#: the project's progress callback: called with a message
ProgressCallback = Callable[[str], None]

#: ``count(done, total)``: what counted loops call
Counter = Callable[[int, int], None]


def _takes_two_arguments(callback: Callable[..., object]) -> bool:
    try:
        parameters = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature: the message style
        return False
    positional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return len(positional) >= 2


def counter(progress: Callable[..., object] | None, label: str) -> Counter | None:
    """Return ``count(done, total)`` that reports ``"<label> <done>/<total>"`` to ``progress``.

    Messages are sent when the count crosses a 10% step and when it completes. ``None`` when
    there is no callback. A deprecated ``progress(done, total)`` callback is returned as is.
    """
    if progress is None:
        return None
    if _takes_two_arguments(progress):
        renamed("progress(done, total)", "progress(message)", owner="progress", stacklevel=4)
        return progress  # type: ignore[return-value]
    last = [-1]

    def count(done: int, total: int) -> None:
        step = 10 * done // max(total, 1)
        if step > last[0] or done >= total:
            last[0] = step
            progress(f"{label} {done}/{total}")

    return count
