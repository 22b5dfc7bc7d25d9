"""Reference computations shared by the attribution tests: Shapley values by their definition."""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

M = TypeVar("M", bound=Hashable)


def permutation_sums(members: Sequence[M], value: Mapping[frozenset[M], float]) -> dict[M, float]:
    """Each member's marginal contribution to ``value``, summed over every order of ``members``.

    Divided by ``len(members)!`` these are the Shapley values (the definition, by brute force).
    """
    phi = dict.fromkeys(members, 0.0)
    for order in itertools.permutations(members):
        before: frozenset[M] = frozenset()
        for member in order:
            phi[member] += value[before | {member}] - value[before]
            before = before | {member}
    return phi


def cover_permutation_sums(
    members: Sequence[M], value: Mapping[frozenset[M], float]
) -> dict[M, float]:
    """:func:`permutation_sums` of the monotone cover of ``value`` on the subsets of ``members``:
    cover(T) = the largest ``value`` of a subset of T."""
    subsets = [
        frozenset(t) for r in range(len(members) + 1) for t in itertools.combinations(members, r)
    ]
    cover = {t: max(value[u] for u in subsets if u <= t) for t in subsets}
    return permutation_sums(members, cover)
