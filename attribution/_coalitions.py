"""Games on down-closed families of channel sets, and conversion-rate Shapley replicates in bulk.

**Down-closed families.** Conversion-rate Shapley needs its game ``v``, the monotone cover
``vbar(T) = max over U subset of T of v(U)`` and the transforms behind the per-set Shapley
values only at the observed channel sets and their subsets: every one of these is computed at a
set from values at its subsets. So instead of all ``2^n`` sets they run on the *down-closure*
of the observed sets (every subset of an observed set; the empty set included), a
:class:`SetFamily`. On 1M journeys over 20 channels that is 69,000 sets instead of 1,048,576.

The transforms are the usual ones, one pass per channel ``i`` in increasing order, each pass
updating every set ``T`` containing ``i`` from ``T - {i}``: cover ``vbar(T) = max(vbar(T),
vbar(T - {i}))``, Moebius ``d(T) = d(T) - d(T - {i})`` and zeta ``G(T) = G(T) + G(T - {i})``.
Restricted to a down-closed family they perform, at every set of the family, exactly the
floating-point operations of the full table, so the results are bit-identical to the
``2^n`` computation (:func:`attribution.shapley.monotone_cover`,
:func:`attribution.shapley.restricted_shapley`). A family holding more than an eighth of all
sets is kept as the full table (the passes are then strided views, as before).

**Replicates in bulk** (:class:`RateReplicates`). For a chunk of ``k`` bootstrap replicates the
rate game follows the model's definition (module docstring of :mod:`attribution.shapley`) for
every replicate at once, the sets on one axis and the replicates on the other: per-set counts by
one sparse product, the logistic fallback by Newton's method for all ``k`` fits together
(sparse gradient and Hessian, each replicate started from the point estimate's coefficients and
stopped by the point estimate's rule, so each converges to its own maximum of the same
penalised likelihood), the empirical-Bayes ``k``, the game on the family, one cover, one
Moebius and one zeta transform, and the split of each observed set's conversions. The results
equal the one-replicate computation up to rounding (different summation order).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

__all__ = ["RateReplicates", "SetFamily"]

#: a family with more than this share of all 2^n sets is kept as the full table
_FULL_SHARE = 8
#: game values (sets x replicates) computed at once
_CHUNK_VALUES = 1 << 22


def subset_sums(coefs: np.ndarray) -> np.ndarray:
    """``out[mask] = sum of coefs over the set bits of mask`` for all ``2^n`` masks.

    ``coefs`` is ``(n,)`` or ``(n, k)`` (``k`` independent sums; ``out`` is ``(2^n, k)``). The
    sum of a set is accumulated over its members in increasing order, starting from 0.
    """
    out = np.zeros((1, *coefs.shape[1:]))
    for c in coefs:
        out = np.concatenate([out, out + c])
    return out


@dataclass(frozen=True, eq=False)
class SetFamily:
    """A down-closed family of channel sets (bitmasks), with the index arrays of the passes.

    Attributes
    ----------
    n
        Number of channels.
    masks
        ``(m,)`` int64 bitmasks in increasing order; ``masks[0] == 0`` (the empty set).
    full
        All ``2^n`` sets (``masks[j] == j``): passes are strided views of the table.
    size
        ``(m,)`` float number of members of each set.
    steps
        Positions of the sets containing channel ``i`` and of the same sets minus ``i``, for
        ``i = 0, 1, ...`` one after the other (empty when ``full``).
    offsets
        ``(n + 1,)``: channel ``i``'s pairs are ``steps[0][offsets[i]:offsets[i + 1]]`` and the
        same slice of ``steps[1]``.
    tops
        Per channel ``i``: positions of the sets whose largest member is ``i`` and of the same
        sets minus ``i`` (empty when ``full``).
    """

    n: int
    masks: np.ndarray
    full: bool
    size: np.ndarray
    steps: tuple[np.ndarray, ...] = ()
    offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, np.intp))
    tops: tuple[tuple[np.ndarray, np.ndarray], ...] = ()

    @classmethod
    def closure(cls, masks: np.ndarray, n: int) -> SetFamily:
        """Build the down-closure of the sets ``masks`` (every subset of each), ``n`` channels."""
        closed = np.zeros(1 << n, dtype=bool)
        closed[np.asarray(masks).astype(np.int64)] = True
        closed[0] = True
        for i in range(n):  # a set's subsets without channel i, channel by channel
            halves = closed.reshape(1 << (n - i - 1), 2, 1 << i)
            halves[:, 0, :] |= halves[:, 1, :]
        family = np.flatnonzero(closed).astype(np.int64)
        if family.shape[0] * _FULL_SHARE > (1 << n):
            every = np.arange(1 << n, dtype=np.int64)
            return cls(n, every, True, np.bitwise_count(every).astype(np.float64))
        size = np.bitwise_count(family).astype(np.float64)
        with_all, without_all, tops = [], [], []
        highest = np.zeros(family.shape[0], dtype=np.int64) - 1
        for i in range(n):
            bit = np.int64(1) << np.int64(i)
            has = (family & bit) != 0
            highest[has] = i
            with_i = np.flatnonzero(has)
            with_all.append(with_i)
            without_all.append(np.searchsorted(family, family[with_i] ^ bit))
        for i in range(n):
            bit = np.int64(1) << np.int64(i)
            top = np.flatnonzero(highest == i)
            tops.append((top, np.searchsorted(family, family[top] ^ bit)))
        offsets = np.concatenate([[0], np.cumsum([w.shape[0] for w in with_all])])
        steps = (
            np.concatenate(with_all).astype(np.intp),
            np.concatenate(without_all).astype(np.intp),
        )
        return cls(n, family, False, size, steps, offsets.astype(np.intp), tuple(tops))

    def _pairs(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        part = slice(self.offsets[i], self.offsets[i + 1])
        return self.steps[0][part], self.steps[1][part]

    @property
    def n_sets(self) -> int:
        """Number of sets in the family."""
        return int(self.masks.shape[0])

    def position(self, masks: np.ndarray) -> np.ndarray:
        """Positions of the sets ``masks`` (all in the family) in :attr:`masks`."""
        masks = np.asarray(masks).astype(np.int64)
        return masks if self.full else np.searchsorted(self.masks, masks)

    def _halves(self, values: np.ndarray, i: int) -> np.ndarray:
        n = self.n
        return values.reshape(1 << (n - i - 1), 2, 1 << i, *values.shape[1:])

    def cover(self, values: np.ndarray, *, copy: bool = True, compiled: bool = False) -> np.ndarray:
        """Monotone cover ``vbar(T) = max over U subset of T of v(U)`` (sets on axis 0).

        ``copy=False`` transforms ``values`` (float64) in place; ``compiled=True`` runs the
        passes of a ``(m, k)`` array in a compiled kernel (bit-identical).
        """
        out = np.array(values, dtype=np.float64, copy=True) if copy else values
        if compiled and not self.full and out.ndim == 2:
            from attribution._replicate_kernels import family_cover

            family_cover(out, self.steps[0], self.steps[1], self.offsets)
            return out
        for i in range(self.n):
            if self.full:
                v = self._halves(out, i)
                np.maximum(v[:, 1], v[:, 0], out=v[:, 1])
            else:
                with_i, without = self._pairs(i)
                out[with_i] = np.maximum(out[with_i], out[without])
        return out

    def transform(
        self, values: np.ndarray, sign: float, *, copy: bool = True, compiled: bool = False
    ) -> np.ndarray:
        """Zeta (``sign=1``: sum over subsets) or Moebius (``sign=-1``) transform (axis 0).

        ``copy=False`` transforms ``values`` (float64) in place; ``compiled=True`` runs the
        passes of a ``(m, k)`` array in a compiled kernel (bit-identical).
        """
        out = np.array(values, dtype=np.float64, copy=True) if copy else values
        if compiled and not self.full and out.ndim == 2:
            from attribution._replicate_kernels import family_transform

            family_transform(out, self.steps[0], self.steps[1], self.offsets, sign)
            return out
        for i in range(self.n):
            if self.full:
                v = self._halves(out, i)
                v[:, 1] += sign * v[:, 0]
            else:
                with_i, without = self._pairs(i)
                out[with_i] += sign * out[without]
        return out

    def subset_sums(self, coefs: np.ndarray) -> np.ndarray:
        """Sum ``coefs`` (``(n,)`` or ``(n, k)``) over each set's members.

        As :func:`subset_sums`: members in increasing order, from 0.
        """
        if self.full:
            return subset_sums(coefs)
        out = np.zeros((self.n_sets, *coefs.shape[1:]))
        for i in range(self.n):
            top, parent = self.tops[i]
            out[top] = out[parent] + coefs[i]
        return out

    def restricted_shapley(self, values: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """``phi_i^S = G(S) - G(S - {i})`` of the game ``values`` for the sets ``masks``.

        The same numbers as :func:`attribution.shapley.restricted_shapley` on the full table:
        ``(len(masks), n)``, 0 for channels outside ``S``.
        """
        dividends = self.transform(values, -1.0)
        g = np.divide(dividends, self.size, out=np.zeros_like(dividends), where=self.size > 0)
        big_g = self.transform(g, 1.0)
        masks = np.asarray(masks).astype(np.int64)
        bits = np.left_shift(np.int64(1), np.arange(self.n, dtype=np.int64))
        member = (masks[:, None] & bits[None, :]) != 0
        without = self.position(masks[:, None] & ~bits[None, :])
        return np.where(member, big_g[self.position(masks)][:, None] - big_g[without], 0.0)


def fit_logistic_batch(
    z: sp.csr_matrix,
    hessian_terms: sp.csr_matrix,
    pairs: tuple[np.ndarray, np.ndarray],
    pos: np.ndarray,
    neg: np.ndarray,
    start: np.ndarray,
    ridge: float,
) -> np.ndarray:
    """Penalised logistic fits of ``k`` replicates by Newton's method, together.

    Maximises, for each column ``r``, ``sum_j pos_jr log p_jr + neg_jr log(1 - p_jr) - ridge /
    2 * |b_r|^2`` (intercept unpenalised) with ``p_jr = sigmoid(z_j . beta_r)``; the objective
    and the steps of :func:`attribution.shapley._fit_logistic` (steps longer than 5 scaled to 5;
    a fit stops after the step whose largest component is below 1e-9, or after 100 steps), from
    ``start`` instead of the intercept-only model.

    Parameters
    ----------
    z
        ``(rows, p)`` design with the intercept column first.
    hessian_terms
        ``(n_pairs, rows)``: ``z_ja z_jb`` for the pairs ``a <= b`` of ``pairs``.
    pairs
        Row and column indices ``(a, b)`` of the upper triangle of the Hessian.
    pos, neg
        ``(rows, k)`` weights of the positive and negative outcome.
    start
        ``(p,)`` starting coefficients.

    Returns
    -------
    numpy.ndarray
        ``(p, k)`` coefficients.
    """
    p = z.shape[1]
    k = pos.shape[1]
    total = pos + neg
    beta = np.repeat(start[:, None], k, axis=1)
    penalty = np.full(p, ridge)
    penalty[0] = 1e-9
    zt = z.T.tocsr()
    active = np.arange(k)
    upper, lower = pairs
    diagonal = np.arange(p)
    for _ in range(100):
        b = beta[:, active]
        prob = expit(np.asarray(z @ b))
        tot = total[:, active]
        grad = np.asarray(zt @ (pos[:, active] - tot * prob)) - penalty[:, None] * b
        terms = np.asarray(hessian_terms @ (tot * prob * (1 - prob)))  # (n_pairs, active)
        hess = np.zeros((active.shape[0], p, p))
        hess[:, upper, lower] = terms.T
        hess[:, lower, upper] = terms.T
        hess[:, diagonal, diagonal] += penalty
        step = np.linalg.solve(hess, grad.T[:, :, None])[:, :, 0]  # (active, p)
        largest = np.max(np.abs(step), axis=1)
        scale = np.where(largest > 5.0, 5.0 / np.maximum(largest, 1e-300), 1.0)
        beta[:, active] = b + (step * scale[:, None]).T
        active = active[largest >= 1e-9]
        if active.shape[0] == 0:
            break
    return beta


class RateReplicates:
    """Conversion-rate Shapley credit of chunks of bootstrap replicates (exact computation).

    A :data:`attribution.bootstrap.BatchCredit`; see the module docstring. ``set_masks``,
    ``set_bits`` and ``path_set`` are the observed channel sets of the model's prepared data,
    ``family`` their down-closure and ``point_beta`` the point estimate's logistic coefficients
    (``None`` with ``unobserved="zero"``).
    """

    def __init__(
        self,
        *,
        family: SetFamily,
        set_masks: np.ndarray,
        set_bits: np.ndarray,
        path_set: np.ndarray,
        point_beta: np.ndarray | None,
        smoothing: float | None,
        baseline_model: bool,
        ridge: float,
        max_smoothing: float,
        zero_contribution: float,
    ) -> None:
        d, n = set_bits.shape
        n_paths = path_set.shape[0]
        self.family = family
        self.n = n
        # per-set counts by paths (columns), so the product streams the counts
        self.by_set = sp.csc_matrix(
            (np.ones(n_paths), (path_set, np.arange(n_paths))), (d, n_paths)
        )
        self.set_pos = family.position(set_masks)
        rows, channels = np.nonzero(set_bits)  # by set, then channel: the members
        self.pair_set = rows
        self.pair_pos = self.set_pos[rows]
        member_bit = np.left_shift(np.int64(1), channels.astype(np.int64))
        self.pair_without = family.position(set_masks[rows].astype(np.int64) ^ member_bit)
        self.set_size = set_bits.sum(axis=1)
        self.to_channel = sp.csr_matrix(
            (np.ones(rows.shape[0]), (channels, np.arange(rows.shape[0]))), (n, rows.shape[0])
        )
        self.point_beta = point_beta
        self.smoothing = smoothing
        self.baseline_model = baseline_model
        self.ridge = ridge
        self.max_smoothing = max_smoothing
        self.zero_contribution = zero_contribution
        if point_beta is not None:
            self._design(set_bits)

    def _design(self, set_bits: np.ndarray) -> None:
        """Sparse design ``[1, bits]`` of the observed sets and the terms of its Hessian."""
        d, n = set_bits.shape
        p = n + 1
        z = sp.csr_matrix(np.hstack([np.ones((d, 1)), set_bits]))
        self.z = z
        # z_ja z_jb for a <= b among each row's nonzero columns
        sizes = np.diff(z.indptr)
        rows_out, pair_ids = [], []
        for width in np.unique(sizes):
            width = int(width)
            sets = np.flatnonzero(sizes == width)
            cols = z.indices[z.indptr[sets][:, None] + np.arange(width)[None, :]]  # increasing
            a, b = np.triu_indices(width)
            rows_out.append(np.repeat(sets, a.shape[0]))
            pair_ids.append((cols[:, a] * p + cols[:, b]).ravel())
        row = np.concatenate(rows_out)
        ids = np.concatenate(pair_ids)
        unique, column = np.unique(ids, return_inverse=True)
        self.hessian_terms = sp.csr_matrix(
            (np.ones(row.shape[0]), (column.ravel(), row)), (unique.shape[0], d)
        )
        self.pairs = (unique // p, unique % p)

    def __call__(
        self, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        k = conversions.shape[1]
        credit_conv = np.empty((k, self.n))
        credit_value = np.empty((k, self.n))
        step = max(1, _CHUNK_VALUES // self.family.n_sets)
        for lo in range(0, k, step):
            part = slice(lo, lo + step)
            credit_conv[part], credit_value[part] = self._chunk(
                conversions[:, part], nulls[:, part], value[:, part]
            )
        return credit_conv, credit_value

    def _chunk(
        self, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        conv = np.asarray(self.by_set @ conversions)  # (d, k)
        jour = conv + np.asarray(self.by_set @ nulls)
        val = np.asarray(self.by_set @ value)
        seen = jour > 0
        family = self.family
        if self.point_beta is not None:
            beta = fit_logistic_batch(
                self.z,
                self.hessian_terms,
                self.pairs,
                conv,
                jour - conv,
                self.point_beta,
                self.ridge,
            )
            model_seen = expit(np.asarray(self.z @ beta))
            if self.smoothing is None:
                smooth = self._empirical_bayes(conv, jour, model_seen)
            else:
                smooth = np.full(conv.shape[1], self.smoothing)
            rate = (conv + smooth * model_seen) / np.maximum(jour + smooth, 1e-300)
            values = expit(beta[0] + family.subset_sums(beta[1:]))  # (m, k)
            v_empty = expit(beta[0]) if self.baseline_model else np.zeros(conv.shape[1])
        else:
            rate = conv / np.maximum(jour, 1.0)
            values = np.zeros((family.n_sets, conv.shape[1]))
            v_empty = np.zeros(conv.shape[1])
        values[self.set_pos] = np.where(seen, rate, values[self.set_pos])
        values[0] = v_empty
        # cover, dividends d, g = d / |T| (g(empty) = 0) and G, in place
        family.cover(values, copy=False, compiled=True)
        # sum of phi_i^S over i in S = vbar(S) - vbar(empty) (efficiency): the split's total
        total = values[self.set_pos] - values[0]  # (d, k)
        family.transform(values, -1.0, copy=False, compiled=True)
        values[1:] /= family.size[1:, None]  # masks[0] is the only set of size 0
        values[0] = 0.0
        big_g = family.transform(values, 1.0, copy=False, compiled=True)
        phi = big_g[self.pair_pos] - big_g[self.pair_without]  # (n_pairs, k)
        # each set's conversions (value) per unit of phi, or per member when split equally
        equal = seen & ~(total > self.zero_contribution)
        split = seen & ~equal
        safe_total = np.where(split, total, 1.0)
        per_phi = np.where(split, conv / safe_total, 0.0)
        per_phi_value = np.where(split, val / safe_total, 0.0)
        credit_conv = np.asarray(self.to_channel @ (phi * per_phi[self.pair_set]))
        credit_value = np.asarray(self.to_channel @ (phi * per_phi_value[self.pair_set]))
        if equal.any():
            per_member = np.where(equal, 1.0 / self.set_size[:, None], 0.0)
            credit_conv += self.to_channel @ (conv * per_member)[self.pair_set]
            credit_value += self.to_channel @ (val * per_member)[self.pair_set]
        return credit_conv.T, credit_value.T

    def _empirical_bayes(self, conv: np.ndarray, jour: np.ndarray, model: np.ndarray) -> np.ndarray:
        """:func:`attribution.shapley.empirical_bayes_smoothing` of each column."""
        seen = jour > 0
        m = np.clip(model, 1e-12, 1 - 1e-12)
        spread = m * (1 - m)
        den = np.where(seen, jour * (jour - 1) * spread, 0.0).sum(axis=0)
        num = np.where(seen, (conv - jour * m) ** 2 - jour * spread, 0.0).sum(axis=0)
        rho = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        smooth = np.clip(1.0 / np.where(rho > 0, rho, 1.0) - 1.0, 0.0, self.max_smoothing)
        top = (den <= 0) | (rho <= 1.0 / (self.max_smoothing + 1))
        return np.where(top, self.max_smoothing, smooth)
