"""The support of each channel, and the bound every model's credit obeys.

**Support.** The support of channel ``c`` is the set of journeys whose path touches ``c`` at
least once. Its size ``J_c`` (journeys), its conversions ``S_c`` and its conversion value
``V_c`` are

    J_c = sum over paths p touching c of (conversions_p + nulls_p)
    S_c = sum over paths p touching c of conversions_p
    V_c = sum over paths p touching c of value_p.

**The bound.** A channel cannot have caused more conversions than the journeys that touched it
had, nor a negative number of them. Every model of :mod:`attribution.catalog` is defined so that

    0 <= credit_c <= S_c        and        0 <= value credit_c <= V_c

for every channel, for the point estimate and for every bootstrap replicate (with the
replicate's own counts); bootstrap intervals are clamped to the observed ``[0, S_c]`` and
``[0, V_c]`` (see :mod:`attribution.bootstrap`). :class:`attribution.base.AttributionModel`
checks the bound after every call of a model's ``_credit`` with :func:`check_within_support`:
credit outside it by more than a rounding error (``BOUND_RTOL`` times ``1 + sum_c S_c``) is a
bug and raises :class:`attribution.errors.SupportBoundError` instead of being reported; rounding
errors within that tolerance are clamped to the bound. A new model gets the check for free.

How each model meets the bound is part of its definition: heuristics and the simplified and
ordered Shapley split each journey's conversion among its own channels; conversion-rate Shapley
and data-driven attribution split each journey's conversion by Shapley values of a monotone
game restricted to its channels; the Markov model shares the total by removal effects with
:func:`capped_proportional` (water-filling under the caps ``S_c``).

**Low support.** A channel touched by fewer than ``LOW_SUPPORT_JOURNEYS`` (30) journeys or
with fewer than ``LOW_SUPPORT_CONVERSIONS`` (10) conversions gets a
:class:`attribution.errors.LowSupportWarning` and a note in the result naming it with its counts:
its credit rests on a handful of journeys, so its interval is wide (a binomial proportion from
30 journeys has a standard error of up to 0.09; 10 conversions have a Poisson relative standard
error of about 0.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from attribution.errors import SupportBoundError
from attribution.journeys import Journeys

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BOUND_RTOL",
    "LOW_SUPPORT_CONVERSIONS",
    "LOW_SUPPORT_JOURNEYS",
    "MAX_MASK_CHANNELS",
    "ChannelPresence",
    "ChannelSupport",
    "bound_interval",
    "capped_proportional",
    "channel_support",
    "check_within_support",
    "low_support_message",
    "path_masks",
    "presence_matrix",
]

#: fewer journeys than this touching a channel is low support
LOW_SUPPORT_JOURNEYS = 30
#: fewer conversions than this among them is low support
LOW_SUPPORT_CONVERSIONS = 10
#: credit outside the bound by more than this times (1 + sum of the caps) is a bug
BOUND_RTOL = 1e-9
#: channel sets are 64-bit masks
MAX_MASK_CHANNELS = 64
#: paths whose masks are computed together
_MASK_CHUNK = 1 << 16
#: up to this many channels, channel sets are numbered through a table of all ``2**n`` sets
_TABLE_CHANNELS = 20


def path_masks(journeys: Journeys) -> np.ndarray:
    """Channel set of every path as a ``uint64`` bitmask (bit ``c`` set iff channel ``c`` occurs).

    Raises
    ------
    ValueError
        If there are more than 64 channels (:data:`MAX_MASK_CHANNELS`).
    """
    if journeys.n_channels > MAX_MASK_CHANNELS:
        raise ValueError(f"bitmasks hold at most {MAX_MASK_CHANNELS} channels")
    bit = np.left_shift(np.uint64(1), np.arange(MAX_MASK_CHANNELS, dtype=np.uint64))
    offsets = journeys.offsets.astype(np.intp)
    masks = np.empty(journeys.n_paths, dtype=np.uint64)
    # a chunk of paths at a time: the per-touch temporary stays small (every path has a touch)
    for lo in range(0, journeys.n_paths, _MASK_CHUNK):
        hi = min(lo + _MASK_CHUNK, journeys.n_paths)
        touches = journeys.touches[offsets[lo] : offsets[hi]]
        masks[lo:hi] = np.bitwise_or.reduceat(bit[touches], offsets[lo:hi] - offsets[lo])
    return masks


def _number_sets(masks: np.ndarray, n_channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Each path's index among the distinct channel sets, and those sets in increasing order.

    Neither sorts the paths: up to :data:`_TABLE_CHANNELS` channels a table over every possible
    set (at most ``2**20`` entries), beyond that a hash table (``pandas.factorize``).
    """
    if n_channels <= _TABLE_CHANNELS:
        seen = np.zeros(1 << n_channels, dtype=np.bool_)
        seen[masks] = True
        number = np.cumsum(seen, dtype=np.intp) - 1
        return number[masks], np.flatnonzero(seen).astype(np.uint64)
    import pandas as pd

    path_set, sets = pd.factorize(masks, sort=True)
    return path_set, sets


def presence_matrix(journeys: Journeys) -> sp.csr_matrix:
    """``(n_paths, n_channels)`` 0/1 matrix: 1 where the path touches the channel."""
    matrix = sp.csr_matrix(
        (np.ones(journeys.touches.shape[0]), (journeys.path_of_touch(), journeys.touches)),
        shape=(journeys.n_paths, journeys.n_channels),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


@dataclass(frozen=True, eq=False)
class ChannelSupport:
    """Journeys, conversions and value of the journeys touching each channel.

    Attributes
    ----------
    channels
        Channel names, in the order of the arrays.
    journeys, conversions, value
        ``J_c``, ``S_c`` and ``V_c`` (see the module docstring), ``(n_channels,)`` floats.
    """

    channels: tuple[str, ...]
    journeys: np.ndarray
    conversions: np.ndarray
    value: np.ndarray

    def low(
        self,
        *,
        min_journeys: float = LOW_SUPPORT_JOURNEYS,
        min_conversions: float = LOW_SUPPORT_CONVERSIONS,
    ) -> np.ndarray:
        """Boolean mask of the channels with fewer journeys or conversions than the minimums."""
        return (self.journeys < min_journeys) | (self.conversions < min_conversions)

    def to_frame(self) -> pd.DataFrame:
        """One row per channel: ``channel``, ``journeys``, ``conversions``, ``value``."""
        import pandas as pd

        return pd.DataFrame(
            {
                "channel": list(self.channels),
                "journeys": self.journeys,
                "conversions": self.conversions,
                "value": self.value,
            }
        )


@dataclass(frozen=True, eq=False)
class ChannelPresence:
    """Which channels each path touches; turns per-path counts into :class:`ChannelSupport`.

    Paths are grouped by their channel set once, so :meth:`support` costs three ``bincount``
    over the paths and a product over the (few) distinct sets: cheap enough for the point
    estimate and every bootstrap replicate.
    """

    channels: tuple[str, ...]
    #: ``(n_paths,)`` index of each path's channel set
    path_set: np.ndarray
    #: ``(n_sets, n_channels)`` 0/1: the channels of each set
    set_members: sp.csr_matrix

    @classmethod
    def of(cls, journeys: Journeys) -> ChannelPresence:
        """Presence of the channels of ``journeys`` on its paths."""
        n = journeys.n_channels
        if n > MAX_MASK_CHANNELS:  # no bitmasks: every path is its own set
            return cls(journeys.channels, np.arange(journeys.n_paths), presence_matrix(journeys))
        path_set, sets = _number_sets(path_masks(journeys), n)
        rows, cols = [], []
        for c in range(n):
            members = np.flatnonzero((sets >> np.uint64(c)) & np.uint64(1))
            rows.append(members)
            cols.append(np.full(members.shape[0], c))
        members = sp.csr_matrix(
            (np.ones(sum(r.shape[0] for r in rows)), (np.concatenate(rows), np.concatenate(cols))),
            shape=(sets.shape[0], n),
        )
        return cls(journeys.channels, path_set.ravel(), members)

    def support(
        self, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> ChannelSupport:
        """Support of every channel for per-path counts (observed or a bootstrap replicate)."""
        d = self.set_members.shape[0]
        conversions = np.asarray(conversions, dtype=np.float64)
        per_set = np.column_stack(
            [
                np.bincount(self.path_set, conversions + np.asarray(nulls, np.float64), d),
                np.bincount(self.path_set, conversions, d),
                np.bincount(self.path_set, np.asarray(value, np.float64), d),
            ]
        )
        out = np.asarray(self.set_members.T @ per_set)
        return ChannelSupport(self.channels, out[:, 0], out[:, 1], out[:, 2])

    def support_batch(
        self, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> ChannelSupport:
        """Support of many replicates at once: counts ``(n_paths, k)``, arrays ``(k, n_channels)``.

        Row ``r`` equals :meth:`support` of column ``r``.
        """
        d, n_paths = self.set_members.shape[0], self.path_set.shape[0]
        # by paths (columns): the products stream the counts row after row
        by_set = sp.csc_matrix(
            (np.ones(n_paths), (self.path_set, np.arange(n_paths))), shape=(d, n_paths)
        )
        members = self.set_members.T.tocsr()
        conv = by_set @ np.asarray(conversions, dtype=np.float64)
        jour = conv + by_set @ np.asarray(nulls, dtype=np.float64)
        val = by_set @ np.asarray(value, dtype=np.float64)
        return ChannelSupport(
            self.channels,
            np.asarray(members @ jour).T,
            np.asarray(members @ conv).T,
            np.asarray(members @ val).T,
        )


def channel_support(journeys: Journeys) -> ChannelSupport:
    """Support (journeys, conversions, value) of every channel of ``journeys``.

    Examples
    --------
    >>> j = Journeys.from_sequences([["A", "B", "A"], ["B"]], [2, 1], [3, 0], [20.0, 5.0])
    >>> s = channel_support(j)
    >>> s.journeys.tolist(), s.conversions.tolist(), s.value.tolist()
    ([5.0, 6.0], [2.0, 3.0], [20.0, 25.0])
    """
    return ChannelPresence.of(journeys).support(
        journeys.conversions, journeys.nulls, journeys.value
    )


def _tolerance(caps: np.ndarray) -> Any:
    """``BOUND_RTOL * (1 + sum of the caps)``: a float, or one per row of ``(k, n)`` caps."""
    if caps.ndim == 2:
        return BOUND_RTOL * (1.0 + np.abs(caps).sum(axis=1, keepdims=True))
    return BOUND_RTOL * (1.0 + float(np.abs(caps).sum()))


def check_within_support(
    conversions: np.ndarray,
    value: np.ndarray,
    support: ChannelSupport,
    *,
    model: str,
    context: str = "",
) -> tuple[np.ndarray, np.ndarray]:
    """Return the credits with rounding errors clamped into ``[0, S_c]`` and ``[0, V_c]``.

    The credits and the support are one per channel, or ``(k, n_channels)`` for ``k``
    replicates checked at once (each row against its own support and tolerance).

    Raises
    ------
    SupportBoundError
        If a credit is not finite or lies outside its bound by more than the tolerance
        (``BOUND_RTOL * (1 + sum of the caps)``): the model broke its own definition.
    """
    conversions = np.asarray(conversions, dtype=np.float64)
    value = np.asarray(value, dtype=np.float64)
    for label, credit, caps in (
        ("conversions", conversions, support.conversions),
        ("value", value, support.value),
    ):
        tol = _tolerance(caps)
        bad = ~np.isfinite(credit) | (credit < -tol) | (credit > caps + tol)
        if bad.any():
            where = f" ({context})" if context else ""
            if bad.ndim == 2:  # report the first replicate that breaks the bound
                row = int(np.flatnonzero(bad.any(axis=1))[0])
                bad, credit, caps = bad[row], credit[row], caps[row]
            details = ", ".join(
                f"{support.channels[i]}: credit {credit[i]:.6g}, bound [0, {caps[i]:.6g}]"
                for i in np.flatnonzero(bad)[:5]
            )
            raise SupportBoundError(
                f"model {model!r}{where} gave credit in {label} outside [0, support] of the "
                f"journeys touching the channel: {details}. This is a bug in the model, not in "
                "your data; please report it with the data that triggers it"
            )
    return (
        np.clip(conversions, 0.0, support.conversions),
        np.clip(value, 0.0, support.value),
    )


def bound_interval(
    low: np.ndarray,
    high: np.ndarray,
    *,
    point: np.ndarray | None = None,
    caps: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Widen an interval to contain the point estimate, then clamp it into ``[0, caps]``.

    Returns ``(low, high, widened)`` where ``widened`` marks the channels whose interval did
    not contain ``point`` and was extended to it (all ``False`` without ``point``).
    """
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    widened = np.zeros(low.shape, dtype=bool)
    if point is not None:
        widened = (point < low) | (point > high)
        low, high = np.minimum(low, point), np.maximum(high, point)
    if caps is not None:
        low, high = np.clip(low, 0.0, caps), np.clip(high, 0.0, caps)
    return low, high, widened


def capped_proportional(total: float, weights: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Share ``total`` in proportion to ``weights`` with no share above its cap (water-filling).

    The result is ``x_c = min(caps_c, lam * w_c)`` with ``lam`` such that ``sum_c x_c = total``:
    channels that would exceed their cap get exactly the cap and the rest is redistributed in
    proportion to the weights of the others. Negative weights count as 0. If the channels with
    positive weight cannot absorb the total (their caps sum to less), the remainder goes to the
    other channels in proportion to their caps.

    Raises
    ------
    ValueError
        If ``total`` exceeds the sum of the caps (no such split exists).

    Examples
    --------
    >>> capped_proportional(10.0, np.array([3.0, 1.0, 1.0]), np.array([4.0, 10.0, 10.0])).tolist()
    [4.0, 3.0, 3.0]
    """
    weights = np.maximum(np.asarray(weights, dtype=np.float64), 0.0)
    caps = np.maximum(np.asarray(caps, dtype=np.float64), 0.0)
    out = np.zeros_like(caps)
    if not total > 0:
        return out
    if total > float(caps.sum()) + _tolerance(caps):
        raise ValueError(f"cannot share {total:.6g} under caps summing to {float(caps.sum()):.6g}")
    free = (weights > 0) & (caps > 0)
    remaining = float(total)
    while free.any():
        share = np.zeros_like(caps)
        share[free] = remaining * (weights[free] / float(weights[free].sum()))
        over = free & (share >= caps)
        if not over.any():
            out[free] = share[free]
            remaining = 0.0
            break
        out[over] = caps[over]
        remaining -= float(caps[over].sum())
        free &= ~over
    if remaining > 0:
        room = caps - out
        if float(room.sum()) > 0:
            out += min(remaining, float(room.sum())) * room / float(room.sum())
    return np.minimum(out, caps)


def _count(x: float, noun: str) -> str:
    """``"15 journeys"``, ``"1 journey"``, ``"2.5 conversions"`` (weighted counts)."""
    number = f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"
    return f"{number} {noun[:-1] if x == 1 else noun}"


def low_support_message(
    support: ChannelSupport,
    *,
    min_journeys: float = LOW_SUPPORT_JOURNEYS,
    min_conversions: float = LOW_SUPPORT_CONVERSIONS,
) -> str | None:
    """Return the low-support caveat naming each such channel with its counts, or ``None``."""
    low = np.flatnonzero(support.low(min_journeys=min_journeys, min_conversions=min_conversions))
    if low.size == 0:
        return None
    listed = ", ".join(
        f"{support.channels[i]} ({_count(support.journeys[i], 'journeys')}, "
        f"{_count(support.conversions[i], 'conversions')})"
        for i in low
    )
    return (
        f"low support (fewer than {min_journeys:g} journeys or {min_conversions:g} conversions "
        f"touch the channel): {listed}; their credit rests on few journeys and their "
        "intervals are wide"
    )
