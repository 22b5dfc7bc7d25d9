"""The Shapley family of attribution models: simplified, ordered and conversion-rate Shapley.

Notation: a journey's *channel set* is the set of distinct channels on its path; ``n`` is the
number of channels; ``|S|`` the size of a set ``S``.

Simplified Shapley (``"shapley"``, Zhao, Mahboobi & Bagheri 2018)
    ``R(T)`` is the number of conversions of journeys whose channel set is exactly ``T`` and the
    game is ``v(S) = sum_{T subset of S} R(T)``. ``R`` is the Harsanyi dividend of ``v``, so the
    Shapley value has the closed form

        phi_i = sum_{S containing i} R(S) / |S|

    i.e. every converting journey gives ``1 / |S|`` of a conversion to each distinct channel it
    touched, however often. A channel that never appears in a converting journey gets exactly
    zero. Value credit is the same with conversion value in place of conversions. Credits sum to
    the total conversions and value.

Ordered Shapley (``"ordered_shapley"``, same paper)
    The simplified Shapley credit ``R(S) / |S|`` of each distinct channel of a converting journey
    is split equally over the touch positions where the channel occurs: a channel touched ``m``
    times in a journey with ``|S|`` distinct channels and ``c`` conversions gives
    ``c / (|S| m)`` to each of its positions. The per-position credit ``phi_i^j`` (channel ``i``,
    position ``j = 1, 2, ...``; positions from ``max_position`` on are pooled) is reported as
    extras ``position_1`` ... ``position_K+``; a channel's total over positions equals its
    simplified Shapley credit, so credits again sum to the total conversions. The weights use
    conversions, never the bare number of journeys.

Conversion-rate Shapley (``"conversion_rate_shapley"``, after Dalessandro et al. 2012)
    The *rate game* is the conversion probability of a journey whose channel set is exactly
    ``S``, estimated from converting *and* non-converting journeys:
    ``v(S) = conversions(S) / journeys(S)``, smoothed as below. Each observed channel set's
    conversions are then split among *its own* channels by the Shapley values of the monotone
    cover of ``v`` restricted to that set, so a channel's credit always lies in ``[0, S_c]``
    (the conversions of the journeys touching it).

    *Unobserved coalitions* (policy ``unobserved``):

    ``"logistic"`` (default)
        A main-effects logistic model ``m(S) = sigmoid(b0 + sum_{c in S} b_c)`` is fitted by
        Newton's method to the counts of every observed channel set (weights: conversions and
        non-conversions; an L2 penalty of 1 on ``b_c`` keeps channels that never convert
        finite). Unobserved sets get ``v(S) = m(S)``; observed sets are shrunk towards it,
        ``v(S) = (conversions(S) + k m(S)) / (journeys(S) + k)`` with ``k = smoothing``
        pseudo-journeys (hierarchical shrinkage: a set seen on a handful of journeys stays near
        the main-effects model). ``smoothing="auto"`` (default) estimates ``k`` by empirical
        Bayes: the observed sets are treated as beta-binomial around ``m(S)`` with intra-set
        correlation ``rho = 1 / (k + 1)``, estimated by the method of moments

            rho = sum_S [(c_S - n_S m_S)^2 - n_S m_S (1 - m_S)] / sum_S n_S (n_S - 1) m_S (1 - m_S)

        (``c_S`` conversions, ``n_S`` journeys of set ``S``), and ``k = 1 / rho - 1`` clipped to
        ``[0, 1e9]``; ``rho <= 0`` (the main-effects model explains the observed sets within
        binomial noise) gives ``k = 1e9``, i.e. ``v = m``. The ``k`` used is reported in
        ``diagnostics["smoothing"]``.
    ``"zero"``
        ``v(S) = conversions(S) / journeys(S)`` for observed sets and ``0`` otherwise: the
        naive estimate of other tools, kept for comparison.

    *Baseline* ``v(empty)`` (no journey without touches is observed): ``baseline="zero"``
    (default) sets it to 0, so each set's whole conversion probability is shared; ``"model"``
    uses the logistic model's intercept ``sigmoid(b0)``, so only the part above it is.

    *Monotone cover* (free disposal: adding a channel to a journey never lowers its conversion
    probability; a set estimated below one of its subsets is noise or a channel that hurts,
    and neither earns negative credit):

        vbar(T) = max over U subset of T of v(U),

    computed by a max-zeta transform in ``O(n 2^n)`` (:func:`monotone_cover`; on the sets named
    under *Computation*). The number of observed sets that the cover raises
    (``vbar(S) > v(S)``) is ``diagnostics["n_raised_by_cover"]``.

    *Split per channel set.* For an observed channel set ``S`` and ``i`` in ``S``, ``phi_i^S`` is
    the Shapley value of ``i`` in ``vbar`` restricted to the subsets of ``S``:

        phi_i^S = sum_{T subset of S - {i}} |T|! (|S| - |T| - 1)! / |S|! (vbar(T + i) - vbar(T))
                = G(S) - G(S - {i}),

    with ``d`` the Harsanyi dividends of ``vbar`` (its Moebius transform), ``g(T) = d(T) / |T|``
    (``g(empty) = 0``) and ``G`` the zeta transform of ``g``: two more ``O(n 2^n)`` transforms
    give ``phi^S`` for every set at once (:func:`restricted_shapley`). By efficiency
    ``sum_{i in S} phi_i^S = vbar(S) - vbar(empty)``, and ``phi_i^S >= 0`` because ``vbar`` is
    monotone. The conversions ``c_S`` and the value ``V_S`` of the journeys with channel set
    ``S`` are split with the shares ``phi_i^S / (vbar(S) - vbar(empty))`` (equally among the
    members of ``S`` when ``vbar(S) = vbar(empty)``, which only ``baseline="model"`` allows:
    no subset of ``S`` converts above the baseline; counted in ``diagnostics["n_equal_split"]``):

        credit_i = sum_{S containing i} c_S phi_i^S / (vbar(S) - vbar(empty)),

    and the same with ``V_S`` for value (value uses the conversion shares; there is no separate
    value game). Hence ``0 <= credit_i <= S_i``, ``0 <= value credit_i <= V_i`` and the credits
    sum to the total conversions and value.

    This replaces the former global definition (Shapley values of ``v`` over all ``n`` channels,
    scaled to the total conversions), which credited channels for coalitions no journey had and
    gave, on ChannelAttribution's sample data, 3,471 conversions to a channel touched by 15
    journeys with 4 conversions and -432 to another. The ``rate_contribution`` extra is the
    journey-weighted mean of ``phi_i^S`` over the journeys touching ``i`` (probability units:
    what the channel adds to the conversion probability of the journeys it touched, by this
    split).

    *Computation.* For ``n <= max_exact_channels`` (default 20, at most 24) the transforms above
    run once for all sets, on the *down-closure* of the observed sets (every subset of an
    observed set, :class:`attribution._coalitions.SetFamily`): each step updates a set from its
    subsets, so at every set of the closure they perform exactly the floating-point operations
    of the full ``2^n`` table and the result is bit-identical (a closure with more than an
    eighth of all sets is run as the full table). Bootstrap replicates are computed in chunks
    (:class:`attribution._coalitions.RateReplicates`), each as defined here. With more channels each
    observed set ``S`` is computed on its own ``2^|S|`` subsets (the same numbers), exactly
    when ``|S| <= max_exact_channels``; a larger set is sampled over ``n_permutations`` random
    orders of its own channels (drawn once with ``seed``, the same for every bootstrap
    replicate): along each order the cover is approximated by the running maximum of ``v`` over
    the order's prefixes (exact when ``v`` is monotone along it), and a channel's share is its
    mean marginal contribution divided by the sum of the means. Its Monte-Carlo standard error
    (delta method) gives the ``credit_se`` extra (0 when every set is exact). Shares of sampled
    sets are in ``[0, 1]`` and sum to 1, so the bound holds there too. At most 64 channels (sets
    are 64-bit masks).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import comb, expit

from attribution._coalitions import RateReplicates, SetFamily
from attribution.base import AttributionModel, Credit
from attribution.bootstrap import BatchCredit, linear_batch
from attribution.errors import InvalidModelOptionError
from attribution.journeys import Journeys
from attribution.result import AttributionResult
from attribution.support import MAX_MASK_CHANNELS, path_masks, presence_matrix

__all__ = [
    "ConversionRateShapley",
    "OrderedShapley",
    "SimplifiedShapley",
    "channel_masks",
    "conversion_rate_shapley_attribution",
    "empirical_bayes_smoothing",
    "exact_shapley",
    "ordered_shapley_attribution",
    "shapley_attribution",
    "shapley_weights",
]

logger = logging.getLogger(__name__)

MAX_EXACT_CHANNELS = 24
_RIDGE = 1.0


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def channel_masks(journeys: Journeys) -> np.ndarray:
    """Channel set of every path as a ``uint64`` bitmask (bit ``c`` set iff channel ``c`` occurs).

    Raises
    ------
    InvalidModelOptionError
        If there are more than 64 channels.
    """
    if journeys.n_channels > MAX_MASK_CHANNELS:
        raise InvalidModelOptionError(
            f"channel-set models handle at most {MAX_MASK_CHANNELS} channels, these journeys have "
            f"{journeys.n_channels}: group rare channels (e.g. into 'other') first"
        )
    return path_masks(journeys)


def shapley_weights(n: int) -> np.ndarray:
    """``w[s] = s! (n - s - 1)! / n!`` for ``s = 0 .. n - 1`` (weight of a coalition of size s)."""
    s = np.arange(n)
    return 1.0 / (n * comb(n - 1, s))


def exact_shapley(values: np.ndarray, n: int) -> np.ndarray:
    """Exact Shapley values of games given on all ``2^n`` coalitions.

    Parameters
    ----------
    values
        ``(..., 2**n)`` array: ``values[..., mask]`` is ``v(S)`` for the set ``S`` whose members
        are the set bits of ``mask`` (player ``i`` is bit ``i``). Leading axes are independent
        games.
    n
        Number of players.

    Returns
    -------
    numpy.ndarray
        ``(..., n)``: ``phi_i = sum_{S not containing i} w(|S|) (v(S + i) - v(S))`` with
        ``w`` from :func:`shapley_weights`; ``O(2^n n)`` array operations.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.shape[-1] != 1 << n:
        raise ValueError(f"values must have 2**{n} = {1 << n} entries on the last axis")
    lead = values.shape[:-1]
    weights = shapley_weights(n)
    size = np.bitwise_count(np.arange(1 << n, dtype=np.uint32)).astype(np.intp)
    out = np.empty((*lead, n))
    for i in range(n):
        shape = (1 << (n - i - 1), 2, 1 << i)
        v = values.reshape(*lead, *shape)
        w = weights[size.reshape(shape)[:, 0, :]]
        out[..., i] = ((v[..., 1, :] - v[..., 0, :]) * w).sum(axis=(-2, -1))
    return out


def _check_int_option(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidModelOptionError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        upper = f" and at most {high}" if high is not None else ""
        raise InvalidModelOptionError(f"{name} must be at least {low}{upper}, got {value}")
    return int(value)


# --------------------------------------------------------------------------------------------
# Simplified and ordered Shapley
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Linear:
    """Credit linear in the counts: ``fractions.T @ conversions`` (and value)."""

    fractions: sp.csr_matrix  # (n_paths, n_channels)
    positions: sp.csr_matrix | None = None  # (n_paths, n_channels * n_positions)
    n_positions: int = 0


class SimplifiedShapley(AttributionModel):
    """Simplified Shapley value (Zhao et al. 2018): ``phi_i = sum_{S containing i} R(S) / |S|``.

    Each converting journey gives ``1 / |S|`` of its conversion (and value) to each of the
    ``|S|`` distinct channels it touched (see the module docstring for the game behind it).

    Parameters
    ----------
    n_bootstrap, ci, bootstrap_method, seed
        Bootstrap intervals (see :class:`attribution.base.AttributionModel`).

    Examples
    --------
    >>> from attribution import Journeys
    >>> j = Journeys.from_sequences([["A", "B", "A"], ["B"], ["C"]], [2, 1, 0], [0, 3, 1])
    >>> SimplifiedShapley(n_bootstrap=0).fit(j).result_.conversions.tolist()
    [1.0, 2.0, 0.0]
    """

    name = "shapley"

    def _prepare(self, journeys: Journeys) -> _Linear:
        presence = presence_matrix(journeys)
        k = np.diff(presence.indptr).astype(np.float64)
        return _Linear(fractions=sp.diags(1.0 / k) @ presence)

    def _credit(
        self, prepared: _Linear, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> Credit:
        f = prepared.fractions
        return Credit(
            conversions=np.asarray(f.T @ conversions, dtype=np.float64),
            value=np.asarray(f.T @ value, dtype=np.float64),
        )

    def _replicate_batch(self, prepared: _Linear, point: Credit) -> BatchCredit:
        return linear_batch(prepared.fractions, prepared.fractions)


class OrderedShapley(AttributionModel):
    """Ordered (position-aware) Shapley value of Zhao et al. (2018).

    A converting journey with ``c`` conversions and ``|S|`` distinct channels gives
    ``c / (|S| m)`` to each of the ``m`` touch positions of each of its channels; the credit of
    channel ``i`` at position ``j`` (1-based) is ``phi_i^j``, and ``phi_i = sum_j phi_i^j``
    (equal to the simplified Shapley credit). Positions ``>= max_position`` are pooled.

    Parameters
    ----------
    max_position
        Number of position columns reported (``position_1`` .. ``position_{K}+``), ``>= 1``.
    n_bootstrap, ci, bootstrap_method, seed
        Bootstrap intervals (see :class:`attribution.base.AttributionModel`).

    Attributes
    ----------
    result_ : AttributionResult
        Credit per channel, with one extra column per position.
    position_credit_ : pandas.DataFrame
        Channels x positions table of conversion credit.
    """

    name = "ordered_shapley"

    def __init__(
        self,
        *,
        max_position: int = 5,
        **bootstrap: Any,
    ) -> None:
        super().__init__(**bootstrap)
        self.max_position = max_position

    def _validate_params(self, journeys: Journeys) -> None:
        _check_int_option("max_position", self.max_position, 1, 1000)

    def _position_labels(self) -> list[str]:
        k = int(self.max_position)
        return [f"position_{j + 1}" for j in range(k - 1)] + [f"position_{k}+"]

    def _prepare(self, journeys: Journeys) -> _Linear:
        n_ch = journeys.n_channels
        path = journeys.path_of_touch()
        touches = journeys.touches.astype(np.int64)
        key = path * n_ch + touches
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        per_touch_count = counts[inverse.ravel()]
        distinct = np.bincount(path, weights=1.0 / per_touch_count, minlength=journeys.n_paths)
        k = np.rint(distinct)  # number of distinct channels per path
        w = 1.0 / (k[path] * per_touch_count)
        lengths = journeys.lengths
        position = np.arange(touches.shape[0]) - np.repeat(journeys.offsets[:-1], lengths)
        n_pos = int(self.max_position)
        slot = np.minimum(position, n_pos - 1)
        shape = (journeys.n_paths, n_ch)
        fractions = sp.csr_matrix((w, (path, touches)), shape=shape)
        positions = sp.csr_matrix(
            (w, (path, touches * n_pos + slot)), shape=(journeys.n_paths, n_ch * n_pos)
        )
        return _Linear(fractions=fractions, positions=positions, n_positions=n_pos)

    def _credit(
        self, prepared: _Linear, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> Credit:
        assert prepared.positions is not None  # set by _prepare
        by_position = np.asarray(prepared.positions.T @ conversions, dtype=np.float64).reshape(
            -1, prepared.n_positions
        )
        extras = {label: by_position[:, j] for j, label in enumerate(self._position_labels())}
        return Credit(
            conversions=by_position.sum(axis=1),
            value=np.asarray(prepared.fractions.T @ value, dtype=np.float64),
            extras=extras,
        )

    def _replicate_batch(self, prepared: _Linear, point: Credit) -> BatchCredit:
        positions, fractions, n_pos = prepared.positions, prepared.fractions, prepared.n_positions
        assert positions is not None  # set by _prepare

        def batch(c: np.ndarray, n: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            # the point estimate's sums: per position first, then over positions
            by_position = np.asarray(positions.T @ c).reshape(-1, n_pos, c.shape[1])
            return by_position.sum(axis=1).T, np.asarray(fractions.T @ v).T

        return batch

    def fit(self, journeys: Journeys, **kwargs: Any) -> OrderedShapley:
        """Fit and set ``result_`` and ``position_credit_``."""
        super().fit(journeys, **kwargs)
        import pandas as pd

        labels = self._position_labels()
        self.position_credit_ = pd.DataFrame(
            {label: self.result_.extras[label] for label in labels},
            index=pd.Index(list(journeys.channels), name="channel"),
        )
        return self


# --------------------------------------------------------------------------------------------
# Conversion-rate Shapley
# --------------------------------------------------------------------------------------------


def _fit_logistic(
    x: np.ndarray, pos: np.ndarray, neg: np.ndarray, ridge: float = _RIDGE
) -> np.ndarray:
    """Penalised logistic regression on aggregated counts by Newton's method.

    Maximises ``sum_r pos_r log p_r + neg_r log(1 - p_r) - ridge / 2 * |b|^2`` with
    ``p_r = sigmoid(b0 + x_r . b)``; the intercept ``b0`` is not penalised. Returns
    ``[b0, b...]``.
    """
    total = pos + neg
    keep = total > 0
    x, pos, total = x[keep], pos[keep], total[keep]
    n_rows, n_cols = x.shape
    z = np.empty((n_rows, n_cols + 1))
    z[:, 0] = 1.0
    z[:, 1:] = x
    rate = float(pos.sum() / total.sum())
    beta = np.zeros(n_cols + 1)
    beta[0] = math.log(max(rate, 1e-12) / max(1 - rate, 1e-12))
    penalty = np.full(n_cols + 1, ridge)
    penalty[0] = 1e-9
    for _ in range(100):
        p = expit(z @ beta)
        grad = z.T @ (pos - total * p) - penalty * beta
        hess = (z.T * (total * p * (1 - p))) @ z + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        largest = float(np.max(np.abs(step)))
        if largest > 5.0:
            step *= 5.0 / largest
        beta += step
        if largest < 1e-9:
            break
    return beta


MAX_SMOOTHING = 1e9


def empirical_bayes_smoothing(conv: np.ndarray, journeys: np.ndarray, model: np.ndarray) -> float:
    """Pseudo-count ``k`` shrinking set rates towards ``model`` (method of moments).

    Treats conversions of each set as beta-binomial with mean ``model`` and intra-set
    correlation ``rho = 1 / (k + 1)``; ``rho`` is estimated as
    ``sum[(c - n m)^2 - n m (1 - m)] / sum[n (n - 1) m (1 - m)]`` over sets with journeys and
    ``k = 1 / rho - 1``, clipped to ``[0, MAX_SMOOTHING]``.
    """
    seen = journeys > 0
    c, n = conv[seen], journeys[seen]
    m = np.clip(model[seen], 1e-12, 1 - 1e-12)
    spread = m * (1 - m)
    den = float((n * (n - 1) * spread).sum())
    if den <= 0:
        return MAX_SMOOTHING
    rho = float((((c - n * m) ** 2) - n * spread).sum()) / den
    if rho <= 1.0 / (MAX_SMOOTHING + 1):
        return MAX_SMOOTHING
    return float(min(max(1.0 / rho - 1.0, 0.0), MAX_SMOOTHING))


# --------------------------------------------------------------------------------------------
# Games on all subsets: monotone cover and per-set Shapley values
# --------------------------------------------------------------------------------------------


def _halves(values: np.ndarray, n: int, i: int) -> np.ndarray:
    """View ``(..., 2^(n-i-1), 2, 2^i)``: ``[..., 0, :]`` sets without player ``i``, ``1`` with."""
    return values.reshape(*values.shape[:-1], 1 << (n - i - 1), 2, 1 << i)


def monotone_cover(values: np.ndarray, n: int) -> np.ndarray:
    """Monotone cover ``vbar(T) = max over U subset of T of v(U)`` of games on all ``2^n`` sets.

    ``values[..., mask]`` is ``v`` of the set whose members are the set bits of ``mask``;
    leading axes are independent games. ``vbar`` is the smallest monotone game above ``v``
    (free disposal: adding a player never lowers the value). Max-zeta transform, ``O(n 2^n)``.
    """
    out = np.array(values, dtype=np.float64, copy=True)
    if out.shape[-1] != 1 << n:
        raise ValueError(f"values must have 2**{n} = {1 << n} entries on the last axis")
    for i in range(n):
        v = _halves(out, n, i)
        np.maximum(v[..., 1, :], v[..., 0, :], out=v[..., 1, :])
    return out


def _subset_transform(values: np.ndarray, n: int, sign: float) -> np.ndarray:
    """Zeta (``sign=1``: sum over subsets) or Moebius (``sign=-1``) transform over all sets."""
    out = np.array(values, dtype=np.float64, copy=True)
    for i in range(n):
        v = _halves(out, n, i)
        v[..., 1, :] += sign * v[..., 0, :]
    return out


def restricted_shapley(values: np.ndarray, n: int, masks: np.ndarray) -> np.ndarray:
    """Shapley values of the game restricted to the subsets of each set ``S`` in ``masks``.

    For a game ``v`` on all ``2^n`` sets with Harsanyi dividends ``d`` (the Moebius transform of
    ``v``), the Shapley value of player ``i`` in ``v`` restricted to the subsets of ``S`` is

        phi_i^S = sum over T subset of S containing i of d(T) / |T| = G(S) - G(S minus i)

    with ``g(T) = d(T) / |T|`` (``g(empty) = 0``) and ``G`` the zeta transform of ``g``; one pair
    of transforms, ``O(n 2^n)``, serves every ``S``. ``sum_{i in S} phi_i^S = v(S) - v(empty)``.

    Parameters
    ----------
    values
        ``(2**n,)`` game values (bit ``i`` of an index is player ``i``).
    n
        Number of players.
    masks
        ``(m,)`` integer bitmasks of the sets ``S``.

    Returns
    -------
    numpy.ndarray
        ``(m, n)``: ``phi_i^S`` for members of ``S``, 0 for the other players.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (1 << n,):
        raise ValueError(f"values must have 2**{n} = {1 << n} entries")
    dividends = _subset_transform(values, n, -1.0)
    size = np.bitwise_count(np.arange(1 << n, dtype=np.uint32)).astype(np.float64)
    g = np.divide(dividends, size, out=np.zeros_like(dividends), where=size > 0)
    big_g = _subset_transform(g, n, 1.0)
    masks = np.asarray(masks).astype(np.int64)
    bits = np.left_shift(np.int64(1), np.arange(n, dtype=np.int64))
    member = (masks[:, None] & bits[None, :]) != 0
    without = masks[:, None] & ~bits[None, :]
    return np.where(member, big_g[masks][:, None] - big_g[without], 0.0)


# --------------------------------------------------------------------------------------------
# Conversion-rate Shapley: the model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _SetGroup:
    """Observed channel sets with the same number ``k`` of channels (per-set computation)."""

    k: int
    sets: np.ndarray  # (s,) index into set_masks
    members: np.ndarray  # (s, k) channels of each set, increasing
    #: (s, m, k) random orders of each set's members (local indices), None when exact
    permutations: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class _RatePrepared:
    n_channels: int
    set_masks: np.ndarray  # (d,) distinct channel sets (uint64), sorted
    set_bits: np.ndarray  # (d, n) float 0/1
    path_set: np.ndarray  # (n_paths,) index into set_masks
    #: all sets computed together (n <= max_exact_channels); otherwise per-set groups
    exact: bool
    groups: tuple[_SetGroup, ...] = ()
    #: the observed sets and all their subsets, where the exact computation runs
    family: SetFamily | None = None

    @property
    def n_sampled_sets(self) -> int:
        return sum(g.sets.shape[0] for g in self.groups if g.permutations is not None)


#: chunk of game values handled at once in the per-set computation
_CHUNK_VALUES = 1 << 22
#: a set whose Shapley values sum to at most this (probability units) is split equally
_ZERO_CONTRIBUTION = 1e-12


class ConversionRateShapley(AttributionModel):
    """Per-journey Shapley split of the monotone conversion-rate game (after Dalessandro 2012).

    ``v(S)`` is the smoothed conversion probability of journeys whose channel set is exactly
    ``S``; its monotone cover splits the conversions (and value) of each observed channel set
    among that set's channels by the Shapley values of the cover restricted to the set, so a
    channel's credit lies in ``[0, S_c]``. See the module docstring for the exact definitions
    (unobserved sets, baseline, cover, split, exact versus sampled computation).

    Parameters
    ----------
    unobserved
        ``"logistic"`` (smoothed main-effects logistic fallback, default) or ``"zero"``.
    smoothing
        Pseudo-journeys shrinking observed rates towards the logistic model: a number ``>= 0``
        or ``"auto"`` (default, empirical Bayes); only used with ``unobserved="logistic"``.
    baseline
        ``v(empty)``: ``"zero"`` (default) or ``"model"`` (logistic intercept).
    max_exact_channels
        Up to this many channels (at most 24) the game is computed for all sets at once; with
        more, each channel set is computed on its own subsets, exactly when it has at most this
        many channels and from ``n_permutations`` random orders of its channels otherwise.
    n_permutations
        Random orders per channel set when sampling (``>= 2``).
    n_bootstrap, ci, bootstrap_method, seed
        Bootstrap intervals (see :class:`attribution.base.AttributionModel`); ``seed`` also
        seeds the permutations.

    Attributes
    ----------
    result_ : AttributionResult
        Credit per channel with extras ``rate_contribution`` (journey-weighted mean of
        ``phi_c^S`` over the journeys touching the channel, probability units) and
        ``credit_se`` (Monte-Carlo standard error of the credit, 0 when every set is computed
        exactly) and, with the logistic fallback, ``logit_coefficient``; diagnostics ``exact``,
        ``v_empty``, ``n_observed_sets``, ``n_raised_by_cover``, ``n_equal_split``,
        ``n_sampled_sets`` and, with the logistic fallback, ``logit_intercept`` and
        ``smoothing``.
    coefficients_ : pandas.Series
        Logistic fallback coefficients (``intercept`` and one per channel), or ``None``.

    Examples
    --------
    >>> from attribution import Journeys
    >>> j = Journeys.from_sequences([["A"], ["B"], ["A", "B"]], [1, 2, 3], [3, 2, 1])
    >>> r = ConversionRateShapley(unobserved="zero", n_bootstrap=0).fit(j).result_
    >>> r.conversions.round(4).tolist()
    [2.0, 4.0]
    """

    name = "conversion_rate_shapley"

    def __init__(
        self,
        *,
        unobserved: str = "logistic",
        smoothing: float | str = "auto",
        baseline: str = "zero",
        max_exact_channels: int = 20,
        n_permutations: int = 1000,
        **bootstrap: Any,
    ) -> None:
        super().__init__(**bootstrap)
        self.unobserved = unobserved
        self.smoothing = smoothing
        self.baseline = baseline
        self.max_exact_channels = max_exact_channels
        self.n_permutations = n_permutations

    def _validate_params(self, journeys: Journeys) -> None:
        if self.unobserved not in ("logistic", "zero"):
            raise InvalidModelOptionError(
                f"unobserved must be 'logistic' or 'zero', got {self.unobserved!r}"
            )
        if self.baseline not in ("zero", "model"):
            raise InvalidModelOptionError(
                f"baseline must be 'zero' or 'model', got {self.baseline!r}"
            )
        if self.baseline == "model" and self.unobserved != "logistic":
            raise InvalidModelOptionError(
                "baseline='model' needs the logistic model: use unobserved='logistic'"
            )
        if self.smoothing != "auto":
            try:
                smoothing = float(self.smoothing)
            except (TypeError, ValueError) as exc:
                raise InvalidModelOptionError(
                    f"smoothing must be 'auto' or a non-negative number, got {self.smoothing!r}"
                ) from exc
            if not (math.isfinite(smoothing) and smoothing >= 0):
                raise InvalidModelOptionError(
                    f"smoothing must be 'auto' or a non-negative number, got {self.smoothing!r}"
                )
        _check_int_option("max_exact_channels", self.max_exact_channels, 1, MAX_EXACT_CHANNELS)
        _check_int_option("n_permutations", self.n_permutations, 2)

    def _prepare(self, journeys: Journeys) -> _RatePrepared:
        n = journeys.n_channels
        masks = channel_masks(journeys)
        set_masks, path_set = np.unique(masks, return_inverse=True)
        set_bits = _mask_bits(set_masks, n)
        limit = int(self.max_exact_channels)
        if n <= limit:
            family = SetFamily.closure(set_masks, n)
            return _RatePrepared(n, set_masks, set_bits, path_set.ravel(), True, family=family)
        rng = np.random.default_rng(self.seed)
        m = int(self.n_permutations)
        sizes = set_bits.sum(axis=1).astype(np.int64)
        groups = []
        for k in np.unique(sizes):
            k = int(k)
            sets = np.flatnonzero(sizes == k)
            members = np.nonzero(set_bits[sets])[1].reshape(sets.shape[0], k)
            perms = None
            if k > limit:
                perms = np.argsort(rng.random((sets.shape[0], m, k)), axis=2).astype(np.int8)
            groups.append(_SetGroup(k, sets, members, perms))
        prepared = _RatePrepared(n, set_masks, set_bits, path_set.ravel(), False, tuple(groups))
        logger.info(
            "conversion-rate Shapley: %d channels, %d channel sets computed on their own "
            "subsets, %d of them sampled with %d orders",
            n,
            set_masks.shape[0],
            prepared.n_sampled_sets,
            m,
        )
        return prepared

    def _credit(
        self,
        prepared: _RatePrepared,
        conversions: np.ndarray,
        nulls: np.ndarray,
        value: np.ndarray,
    ) -> Credit:
        d = prepared.set_masks.shape[0]
        n = prepared.n_channels
        conv = np.bincount(prepared.path_set, conversions, d)
        jour = conv + np.bincount(prepared.path_set, nulls, d)
        val = np.bincount(prepared.path_set, value, d)
        seen = jour > 0
        k = 0.0
        beta: np.ndarray | None = None
        if self.unobserved == "logistic":
            beta = _fit_logistic(prepared.set_bits, conv, jour - conv)
            model_seen = expit(beta[0] + prepared.set_bits @ beta[1:])
            if self.smoothing == "auto":
                k = empirical_bayes_smoothing(conv, jour, model_seen)
            else:
                k = float(self.smoothing)
            rate = (conv + k * model_seen) / np.maximum(jour + k, 1e-300)
        else:
            rate = conv / np.maximum(jour, 1.0)
        v_empty = float(expit(beta[0])) if self.baseline == "model" and beta is not None else 0.0
        game = _RateGame(prepared.set_masks, seen, rate, beta, v_empty)

        phi = np.zeros((d, n))  # phi_c^S of every observed set (rows), probability units
        share_se = np.zeros((d, n))  # Monte-Carlo standard error of the shares
        raised = np.zeros(d, dtype=bool)
        if prepared.family is not None:
            family = prepared.family
            values = game.on(family)
            cover = family.cover(values)
            masks = prepared.set_masks[seen]
            idx = family.position(masks)
            phi[seen] = family.restricted_shapley(cover, masks)
            raised[seen] = cover[idx] > values[idx] + _ZERO_CONTRIBUTION
        else:
            for group in prepared.groups:
                _group_shapley(group, game, phi, share_se, raised)

        total = phi.sum(axis=1)
        equal = seen & ~(total > _ZERO_CONTRIBUTION)
        with np.errstate(divide="ignore", invalid="ignore"):
            shares = np.where(
                equal[:, None],
                prepared.set_bits / prepared.set_bits.sum(axis=1, keepdims=True),
                phi / np.where(equal, 1.0, total)[:, None],
            )
            share_se = np.where(
                equal[:, None], 0.0, share_se / np.where(equal, 1.0, total)[:, None]
            )
        shares[~seen] = 0.0
        reach = jour @ prepared.set_bits
        extras = {
            "rate_contribution": np.divide(jour @ phi, reach, out=np.zeros(n), where=reach > 0),
            "credit_se": np.sqrt((conv**2) @ (share_se**2)),
        }
        diagnostics = {
            "exact": float(prepared.n_sampled_sets == 0),
            "v_empty": v_empty,
            "n_observed_sets": float(seen.sum()),
            "n_raised_by_cover": float(raised.sum()),
            "n_equal_split": float((equal & (conv > 0)).sum()),
            "n_sampled_sets": float(prepared.n_sampled_sets),
        }
        if beta is not None:
            extras["logit_coefficient"] = beta[1:]
            diagnostics["logit_intercept"] = float(beta[0])
            diagnostics["smoothing"] = k
        return Credit(
            conversions=conv @ shares, value=val @ shares, extras=extras, diagnostics=diagnostics
        )

    def _replicate_batch(self, prepared: _RatePrepared, point: Credit) -> BatchCredit | None:
        if prepared.family is None:  # sets sampled per replicate: one replicate at a time
            return None
        beta = None
        if self.unobserved == "logistic":
            beta = np.array(
                [point.diagnostics["logit_intercept"], *point.extras["logit_coefficient"]]
            )
        return RateReplicates(
            family=prepared.family,
            set_masks=prepared.set_masks,
            set_bits=prepared.set_bits,
            path_set=prepared.path_set,
            point_beta=beta,
            smoothing=None if self.smoothing == "auto" else float(self.smoothing),
            baseline_model=self.baseline == "model",
            ridge=_RIDGE,
            max_smoothing=MAX_SMOOTHING,
            zero_contribution=_ZERO_CONTRIBUTION,
        )

    def _notes(self, journeys: Journeys) -> tuple[str, ...]:
        limit = int(self.max_exact_channels)
        if journeys.n_channels <= limit:
            return ()
        sizes = np.bitwise_count(np.unique(channel_masks(journeys)))
        large = int((sizes > limit).sum())
        if not large:
            return ()
        return (
            f"{large} channel sets have more than max_exact_channels={limit} channels: their "
            f"split is estimated from {self.n_permutations} random orders of their channels "
            "(see credit_se)",
        )

    def fit(self, journeys: Journeys, **kwargs: Any) -> ConversionRateShapley:
        """Fit and set ``result_`` (see the class docstring) and ``coefficients_``."""
        super().fit(journeys, **kwargs)
        import pandas as pd

        self.coefficients_: pd.Series | None = None
        if self.unobserved == "logistic":
            self.coefficients_ = pd.Series(
                [
                    self.result_.diagnostics["logit_intercept"],
                    *self.result_.extras["logit_coefficient"],
                ],
                index=["intercept", *journeys.channels],
                name="coefficient",
            )
        return self


@dataclass(frozen=True, eq=False)
class _RateGame:
    """``v(S)``: smoothed rate of observed sets, logistic model (or 0) elsewhere, baseline."""

    set_masks: np.ndarray
    seen: np.ndarray
    rate: np.ndarray
    beta: np.ndarray | None
    v_empty: float

    def on(self, family: SetFamily) -> np.ndarray:
        """``v`` on the sets of ``family`` (which holds every observed set)."""
        if self.beta is not None:
            values = expit(self.beta[0] + family.subset_sums(self.beta[1:]))
        else:
            values = np.zeros(family.n_sets)
        values[family.position(self.set_masks[self.seen])] = self.rate[self.seen]
        values[0] = self.v_empty
        return values

    def at(self, masks: np.ndarray, logit: np.ndarray | None) -> np.ndarray:
        """``v`` of the sets ``masks`` (uint64); ``logit`` is the logistic model's linear part."""
        out = expit(logit) if logit is not None else np.zeros(masks.shape)
        d = self.set_masks.shape[0]
        pos = np.minimum(np.searchsorted(self.set_masks, masks), d - 1)
        hit = (self.set_masks[pos] == masks) & self.seen[pos]
        out[hit] = self.rate[pos[hit]]
        out[masks == 0] = self.v_empty
        return out


def _group_shapley(
    group: _SetGroup,
    game: _RateGame,
    phi: np.ndarray,
    share_se: np.ndarray,
    raised: np.ndarray,
) -> None:
    """Per-set Shapley values of the cover for one group of equal-size sets (in place)."""
    k = group.k
    member_bits = np.left_shift(np.uint64(1), group.members.astype(np.uint64))  # (s, k)
    coef = game.beta[1:][group.members] if game.beta is not None else None
    b0 = float(game.beta[0]) if game.beta is not None else 0.0
    if group.permutations is None:
        step = max(1, _CHUNK_VALUES // (1 << k))
        for lo in range(0, group.sets.shape[0], step):
            rows = slice(lo, lo + step)
            s = member_bits[rows].shape[0]
            # subset j of a set holds its members b with bit b of j set, as in exact_shapley
            masks = np.zeros((s, 1), dtype=np.uint64)
            logit = np.full((s, 1), b0) if coef is not None else None
            for b in range(k):
                masks = np.concatenate([masks, masks | member_bits[rows][:, b : b + 1]], axis=1)
                if logit is not None and coef is not None:
                    logit = np.concatenate([logit, logit + coef[rows][:, b : b + 1]], axis=1)
            values = game.at(masks, logit)
            cover = monotone_cover(values, k)
            sets = group.sets[rows]
            phi[sets[:, None], group.members[rows]] = exact_shapley(cover, k)
            raised[sets] = cover[:, -1] > values[:, -1] + _ZERO_CONTRIBUTION
        return
    perms = group.permutations.astype(np.int64)
    m = perms.shape[1]
    step = max(1, _CHUNK_VALUES // (m * (k + 1)))
    for lo in range(0, group.sets.shape[0], step):
        rows = slice(lo, lo + step)
        order = perms[rows]  # (s, m, k)
        s = order.shape[0]
        bits = np.take_along_axis(
            np.broadcast_to(member_bits[rows][:, None, :], order.shape), order, axis=2
        )
        masks = np.zeros((s, m, k + 1), dtype=np.uint64)
        masks[:, :, 1:] = np.bitwise_or.accumulate(bits, axis=2)
        logit = None
        if coef is not None:
            steps = np.take_along_axis(
                np.broadcast_to(coef[rows][:, None, :], order.shape), order, axis=2
            )
            logit = np.concatenate([np.full((s, m, 1), b0), b0 + np.cumsum(steps, axis=2)], 2)
        values = game.at(masks, logit)
        running = np.maximum.accumulate(values, axis=2)  # the cover along each order
        marginal = np.diff(running, axis=2)  # of the member at each position
        rank = np.argsort(order, axis=2)
        x = np.take_along_axis(marginal, rank, axis=2)  # (s, m, k) by member
        mean = x.mean(axis=1)
        share = np.divide(
            mean,
            mean.sum(axis=1, keepdims=True),
            out=np.zeros_like(mean),
            where=mean.sum(axis=1, keepdims=True) > 0,
        )
        resid = x - share[:, None, :] * x.sum(axis=2, keepdims=True)
        sets = group.sets[rows]
        phi[sets[:, None], group.members[rows]] = mean
        # delta method: se(share) = sd(x_i - share_i * t) / sqrt(m) / total; the caller
        # divides by the total
        share_se[sets[:, None], group.members[rows]] = resid.std(axis=1, ddof=1) / math.sqrt(m)
        raised[sets] = running[:, :, -1].max(axis=1) > values[:, 0, -1] + _ZERO_CONTRIBUTION


def _mask_bits(masks: np.ndarray, n: int) -> np.ndarray:
    shifts = np.arange(n, dtype=np.uint64)
    return ((masks[:, None] >> shifts[None, :]) & np.uint64(1)).astype(np.float64)


# --------------------------------------------------------------------------------------------
# One-shot functions
# --------------------------------------------------------------------------------------------


def shapley_attribution(journeys: Journeys, **params: Any) -> AttributionResult:
    """Fit :class:`SimplifiedShapley` on ``journeys`` and return its result."""
    return SimplifiedShapley(**params).fit(journeys).result_


def ordered_shapley_attribution(journeys: Journeys, **params: Any) -> AttributionResult:
    """Fit :class:`OrderedShapley` on ``journeys`` and return its result."""
    return OrderedShapley(**params).fit(journeys).result_


def conversion_rate_shapley_attribution(journeys: Journeys, **params: Any) -> AttributionResult:
    """Fit :class:`ConversionRateShapley` on ``journeys`` and return its result."""
    return ConversionRateShapley(**params).fit(journeys).result_
