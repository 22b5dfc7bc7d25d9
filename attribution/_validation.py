"""Input checks shared by the three packages: required columns, "did you mean", shown values.

Like :mod:`attribution._io`, this module lives in the package the others build on and imports
nothing heavy. Each caller passes its own domain error class, so a missing column of a cost
table is an ``InvalidCostsError`` and one of an uplift frame an ``InvalidUpliftDataError``, with
one wording everywhere.
"""

from __future__ import annotations

import difflib
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "did_you_mean",
    "first_true",
    "renamed",
    "renamed_options",
    "repeated",
    "require_columns",
    "shown",
]


def did_you_mean(name: str, candidates: Iterable[str], *, fallback: str = "") -> str:
    """Return ``"; did you mean 'x'?"`` for the closest candidate, else ``fallback``.

    Closeness is :func:`difflib.get_close_matches` with its default cutoff (0.6).
    """
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else fallback


def require_columns(
    columns: Iterable[Any],
    required: Mapping[str, str | None],
    *,
    error: type[Exception],
    what: str | None = None,
    cli: bool = False,
) -> None:
    """Raise ``error`` for the first column of ``required`` that is missing or duplicated.

    ``required`` maps the option naming a column (``"channel_col"``) to the column name
    (``None``: not needed). The message names the column, the available ones, the closest one,
    and the option to pass; with ``cli`` also the command-line flag (``--channel-col``).
    ``what`` (``"cost table"``) prefixes the message.
    """
    available = [str(c) for c in columns]
    for option, name in required.items():
        if name is not None and available.count(name) > 1:
            raise error(
                f"{f'{what}: ' if what else ''}column {name!r} appears {available.count(name)} "
                "times in the header: rename or drop the duplicates so that it names one column"
            )
        if name is None or name in available:
            continue
        flag = f" (CLI: --{option.replace('_', '-')})" if cli else ""
        fix = f"pass {option}=<name>{flag} to use another column"
        split = _other_delimiter(available)
        if split is not None:
            shown_as = "tab" if split == "\t" else repr(split)
            fix = (
                f"the header looks delimited by {shown_as}, not by the delimiter it was read "
                f"with: pass delimiter={split!r}"
                + (f" (CLI: --delimiter {shown_as})" if cli else "")
            )
        raise error(
            f"{f'{what}: ' if what else ''}required column {name!r} is missing (available: "
            f"{', '.join(map(repr, available))}){did_you_mean(name, available)}; {fix}"
        )


def _other_delimiter(available: list[str]) -> str | None:
    """Return the delimiter a lone column name holds (a CSV read with the wrong one), if any."""
    if len(available) != 1:
        return None
    for delimiter in (";", "\t", ",", "|"):
        if delimiter in available[0]:
            return delimiter
    return None


def first_true(mask: Any) -> int | None:
    """Return the position of the first true entry of a boolean mask (the row to name), or None."""
    import numpy as np

    rows = np.flatnonzero(mask)
    return int(rows[0]) if rows.size else None


def repeated(names: Iterable[str]) -> list[str]:
    """Return the names that occur more than once in ``names``, sorted."""
    return sorted(name for name, count in Counter(names).items() if count > 1)


def shown(value: Any) -> Any:
    """Return a cell as a plain Python value for a message (``2``, not ``np.int64(2)``)."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return value.item()
    return value


def renamed(old: str, new: str, *, owner: str, stacklevel: int = 3) -> None:
    """Warn that ``owner``'s ``old`` name is deprecated in favour of ``new``.

    Old names stay accepted for one release: the project renamed its options to one name per
    concept across attribution and uplift (``seed``, ``ci``, ``progress(message)``,
    :class:`~attribution.errors.NotFittedError`).
    """
    warnings.warn(
        f"{owner}: {old!r} is deprecated and will be removed in the next release; use {new!r}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def renamed_options(
    given: Mapping[str, Any], renames: Mapping[str, str], *, owner: str, stacklevel: int = 4
) -> dict[str, Any]:
    """Return the former-name keyword arguments ``given`` under their new names, warning once each.

    ``renames`` maps each former name to its new one; any other name is a :class:`TypeError`,
    as Python raises for an unknown keyword argument. ``stacklevel`` counts from the caller of
    this function (``4``: the caller's caller, the user).
    """
    out: dict[str, Any] = {}
    for old, value in given.items():
        if old not in renames:
            raise TypeError(f"{owner}() got an unexpected keyword argument {old!r}")
        renamed(old, renames[old], owner=owner, stacklevel=stacklevel)
        out[renames[old]] = value
    return out
