"""The exact channel game of a simulation and its Shapley values.

Every user ``i`` has a conversion threshold ``theta_i`` and an exposure set ``E_i``; with the
loading ``L(T) = sum_{c in T} lambda_c`` the user converts under channel set ``S`` iff
``L(E_i & S) > theta_i``. The game ``v(S) = sum_i 1[L(E_i & S) > theta_i]`` is computed for
every ``S`` through its Harsanyi dividends (Möbius transform per exposure group, zeta transform
of the sum); the Shapley value shares each dividend equally among its channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _loading_table(lam: np.ndarray) -> np.ndarray:
    """``L[mask] = sum of lam[c] over the bits c of mask``, added in increasing bit order.

    Every coalition's conversion decision reads this one table, so that removal, re-simulation
    and the Shapley transform compare identical floating-point numbers.
    """
    n = lam.shape[0]
    table = np.zeros(1 << n, dtype=np.float64)
    for bit in range(n):
        width = 1 << bit
        table[width : 2 * width] = table[:width] + lam[bit]
    return table


def _popcount(masks: np.ndarray) -> np.ndarray:
    counts = np.zeros(masks.shape, dtype=np.int64)
    work = masks.astype(np.int64).copy()
    while np.any(work):
        counts += work & 1
        work >>= 1
    return counts


def _mobius_inplace(values: np.ndarray, k: int) -> None:
    """Möbius transform over the subset lattice along axis 1 (``2**k`` entries per row)."""
    rows = values.shape[0]
    for bit in range(k):
        view = values.reshape(rows, -1, 2, 1 << bit)
        view[:, :, 1, :] -= view[:, :, 0, :]


def _zeta_inplace(values: np.ndarray, n: int) -> None:
    """Zeta (subset-sum) transform of a length-``2**n`` vector: ``out[S] = sum_{T<=S} in[T]``."""
    for bit in range(n):
        view = values.reshape(-1, 2, 1 << bit)
        view[:, 1, :] += view[:, 0, :]


@dataclass(frozen=True)
class _Game:
    """The exact channel game computed from the draws."""

    dividends: np.ndarray  # int64 Harsanyi dividends of the conversion game, length 2**n
    values: np.ndarray  # int64 v(S) for every mask S
    revenue_dividends: np.ndarray  # float64 dividends of the revenue game
    revenue_values: np.ndarray  # float64 revenue(S)


def _channel_game(
    theta: np.ndarray,
    masks: np.ndarray,
    weights: np.ndarray,
    loading: np.ndarray,
    n_channels: int,
) -> _Game:
    """Exact game ``v(S) = sum_i 1[L(E_i & S) > theta_i]`` and its revenue analogue.

    Users are grouped by exposure mask ``E``. For a group, ``count_E(T)`` (``T`` a subset of
    ``E``) is the number of its users with ``theta < L(T)``, found by binary search on the
    group's sorted thresholds. The Möbius transform of ``count_E`` on the subsets of ``E`` gives
    that group's Harsanyi dividends; summing them over groups gives the dividends ``d`` of the
    whole game, ``v = zeta(d)``. Cost: ``sum_E 2**|E| <= 3**n`` evaluations plus ``n 2**n``.
    """
    n_masks = 1 << n_channels
    # Exact integer ranks of thresholds and loadings in one common order.
    universe = np.unique(np.concatenate([theta, loading]))
    stride = np.int64(universe.shape[0] + 1)
    rank_theta = np.searchsorted(universe, theta).astype(np.int64)
    rank_loading = np.searchsorted(universe, loading).astype(np.int64)

    group_masks, group_of_user = np.unique(masks, return_inverse=True)
    group_of_user = group_of_user.astype(np.int64)
    keys = group_of_user * stride + rank_theta
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    cum_weight = np.concatenate([[0.0], np.cumsum(weights[order])])
    group_start = np.searchsorted(sorted_keys, np.arange(group_masks.shape[0]) * stride)

    dividends = np.zeros(n_masks, dtype=np.int64)
    revenue_dividends = np.zeros(n_masks, dtype=np.float64)
    sizes = _popcount(group_masks)
    for k in np.unique(sizes):
        k = int(k)
        groups = np.flatnonzero(sizes == k)
        # Bit positions of each group's mask, lowest first: shape (n_groups, k).
        positions = np.zeros((groups.shape[0], k), dtype=np.int64)
        work = group_masks[groups].astype(np.int64).copy()
        for slot in range(k):
            lowest = work & -work
            positions[:, slot] = np.log2(lowest).round().astype(np.int64)
            work ^= lowest
        local = np.arange(1 << k, dtype=np.int64)
        local_bits = (local[:, None] >> np.arange(k, dtype=np.int64)[None, :]) & 1  # (2**k, k)
        subsets = local_bits @ (np.int64(1) << positions).T  # (2**k, n_groups)
        subsets = np.ascontiguousarray(subsets.T)  # (n_groups, 2**k) global masks
        queries = groups[:, None].astype(np.int64) * stride + rank_loading[subsets]
        found = np.searchsorted(sorted_keys, queries, side="left")
        start = group_start[groups][:, None]
        counts = (found - start).astype(np.int64)
        revenue = cum_weight[found] - cum_weight[start]
        _mobius_inplace(counts, k)
        _mobius_inplace(revenue, k)
        np.add.at(dividends, subsets.ravel(), counts.ravel())
        revenue_dividends += np.bincount(
            subsets.ravel(), weights=revenue.ravel(), minlength=n_masks
        )
    values = dividends.copy()
    _zeta_inplace(values, n_channels)
    revenue_values = revenue_dividends.copy()
    _zeta_inplace(revenue_values, n_channels)
    return _Game(dividends, values, revenue_dividends, revenue_values)


def _shapley_from_dividends(dividends: np.ndarray, n_channels: int) -> np.ndarray:
    """``phi_c = sum_{T contains c} d(T) / |T|`` (Harsanyi dividends shared equally)."""
    masks = np.arange(1 << n_channels, dtype=np.int64)
    sizes = _popcount(masks)
    share = np.zeros(dividends.shape[0], dtype=np.float64)
    nonempty = sizes > 0
    share[nonempty] = dividends[nonempty] / sizes[nonempty]
    return np.array(
        [share[(masks >> c) & 1 == 1].sum() for c in range(n_channels)], dtype=np.float64
    )


def _shares(values: np.ndarray) -> np.ndarray:
    total = values.sum()
    if total == 0:
        return np.zeros_like(values, dtype=np.float64)
    out: np.ndarray = values / total
    return out


def _removal_increments(values: np.ndarray, n_channels: int) -> np.ndarray:
    """``v(all) - v(all without c)`` for every channel ``c``, in the dtype of ``values``."""
    full = (1 << n_channels) - 1
    return np.array(
        [values[full] - values[full & ~(1 << c)] for c in range(n_channels)], dtype=values.dtype
    )
