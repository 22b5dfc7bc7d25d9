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

Conversion-rate Shapley (``"conversion_rate_shapley"``, Dalessandro et al. 2012)
    The game is the conversion probability of a journey whose channel set is exactly ``S``:
    ``v(S) = conversions(S) / journeys(S)`` estimated from converting *and* non-converting
    journeys, and

        phi_i = sum_{S not containing i} |S|! (n - |S| - 1)! / n! * (v(S + i) - v(S)).

    *Unobserved coalitions* (policy ``unobserved``):

    ``"logistic"`` (default)
        A main-effects logistic model ``m(S) = sigmoid(b0 + sum_{c in S} b_c)`` is fitted by
        Newton's method to the counts of every observed channel set (weights: conversions and
        non-conversions; an L2 penalty of 1 on ``b_c`` keeps channels that never convert
        finite). Unobserved sets get ``v(S) = m(S)``; observed sets are shrunk towards it,
        ``v(S) = (conversions(S) + k m(S)) / (journeys(S) + k)`` with ``k = smoothing``
        pseudo-journeys. ``smoothing="auto"`` (default) estimates ``k`` by empirical Bayes: the
        observed sets are treated as beta-binomial around ``m(S)`` with intra-set correlation
        ``rho = 1 / (k + 1)``, estimated by the method of moments

            rho = sum_S [(c_S - n_S m_S)^2 - n_S m_S (1 - m_S)] / sum_S n_S (n_S - 1) m_S (1 - m_S)

        (``c_S`` conversions, ``n_S`` journeys of set ``S``), and ``k = 1 / rho - 1`` clipped to
        ``[0, 1e9]``; ``rho <= 0`` (the main-effects model explains the observed sets within
        binomial noise) gives ``k = 1e9``, i.e. ``v = m``. The ``k`` used is reported in
        ``diagnostics["smoothing"]``.
    ``"zero"``
        ``v(S) = conversions(S) / journeys(S)`` for observed sets and ``0`` otherwise: the
        naive estimate of other tools, kept for comparison.

    *Baseline* ``v(empty)`` (no journey without touches is observed): ``baseline="zero"``
    (default) sets it to 0, so the Shapley values share ``v(all channels)``; ``"model"`` uses
    the logistic model's intercept ``sigmoid(b0)``.

    *Scaling*: credit is ``phi_i / sum_j phi_j * total conversions``; a game whose values sum
    to about zero (``v(all) = v(empty)``, typical of ``"zero"`` when no journey touched every
    channel) cannot be scaled and is refused with a clear error. Negative ``phi_i`` (a
    channel whose presence lowers the conversion rate) stay negative: they are reported, not
    clipped, and the credits still sum to the total conversions. The raw values are reported in
    the ``shapley_value`` extra. The value game is
    ``v_value(S) = v(S) * a(S)`` with ``a(S)`` the mean value per conversion of the set (shrunk
    towards the overall mean with ``smoothing`` pseudo-conversions; the overall mean for
    unobserved sets); value credit is scaled to the total value the same way.

    *Exact computation* for ``n <= max_exact_channels`` (default 20, at most 24): ``v`` is
    tabulated on all ``2^n`` sets and the sum above is evaluated for each channel with array
    operations, ``O(2^n n)``. Beyond that, ``n_permutations`` random channel orders are drawn
    (the same for the point estimate and every bootstrap replicate) and ``phi_i`` is the mean
    marginal contribution of ``i`` over them; its Monte-Carlo standard error is reported in the
    ``shapley_se`` extra (0 when exact). At most 64 channels (sets are 64-bit masks).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import comb, expit

from attribution.base import AttributionModel, Credit
from attribution.errors import InvalidModelOptionError
from attribution.journeys import Journeys
from attribution.result import AttributionResult

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

MAX_MASK_CHANNELS = 64
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
    bits = np.left_shift(np.uint64(1), journeys.touches.astype(np.uint64))
    return np.bitwise_or.reduceat(bits, journeys.offsets[:-1].astype(np.intp))


def _presence(journeys: Journeys) -> sp.csr_matrix:
    """``(n_paths, n_channels)`` 0/1 matrix of the distinct channels of each path."""
    matrix = sp.csr_matrix(
        (np.ones(journeys.touches.shape[0]), (journeys.path_of_touch(), journeys.touches)),
        shape=(journeys.n_paths, journeys.n_channels),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


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


class _ShapleyBase(AttributionModel):
    def __init__(
        self,
        *,
        n_bootstrap: int = 200,
        ci_level: float = 0.95,
        bootstrap_method: str = "poisson",
        random_state: int | None = 0,
    ) -> None:
        self.n_bootstrap = n_bootstrap
        self.ci_level = ci_level
        self.bootstrap_method = bootstrap_method
        self.random_state = random_state


# --------------------------------------------------------------------------------------------
# Simplified and ordered Shapley
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Linear:
    """Credit linear in the counts: ``fractions.T @ conversions`` (and value)."""

    fractions: sp.csr_matrix  # (n_paths, n_channels)
    positions: sp.csr_matrix | None = None  # (n_paths, n_channels * n_positions)
    n_positions: int = 0


class SimplifiedShapley(_ShapleyBase):
    """Simplified Shapley value (Zhao et al. 2018): ``phi_i = sum_{S containing i} R(S) / |S|``.

    Each converting journey gives ``1 / |S|`` of its conversion (and value) to each of the
    ``|S|`` distinct channels it touched (see the module docstring for the game behind it).

    Parameters
    ----------
    n_bootstrap, ci_level, bootstrap_method, random_state
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
        presence = _presence(journeys)
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


class OrderedShapley(_ShapleyBase):
    """Ordered (position-aware) Shapley value of Zhao et al. (2018).

    A converting journey with ``c`` conversions and ``|S|`` distinct channels gives
    ``c / (|S| m)`` to each of the ``m`` touch positions of each of its channels; the credit of
    channel ``i`` at position ``j`` (1-based) is ``phi_i^j``, and ``phi_i = sum_j phi_i^j``
    (equal to the simplified Shapley credit). Positions ``>= max_position`` are pooled.

    Parameters
    ----------
    max_position
        Number of position columns reported (``position_1`` .. ``position_{K}+``), ``>= 1``.
    n_bootstrap, ci_level, bootstrap_method, random_state
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
        n_bootstrap: int = 200,
        ci_level: float = 0.95,
        bootstrap_method: str = "poisson",
        random_state: int | None = 0,
    ) -> None:
        super().__init__(
            n_bootstrap=n_bootstrap,
            ci_level=ci_level,
            bootstrap_method=bootstrap_method,
            random_state=random_state,
        )
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


def _subset_sums(coefs: np.ndarray) -> np.ndarray:
    """``out[mask] = sum of coefs over the set bits of mask``, for all ``2^n`` masks."""
    out = np.zeros(1)
    for c in coefs:
        out = np.concatenate([out, out + c])
    return out


@dataclass(frozen=True, eq=False)
class _RatePrepared:
    n_channels: int
    set_masks: np.ndarray  # (d,) distinct channel sets (uint64), sorted
    set_bits: np.ndarray  # (d, n) float 0/1
    path_set: np.ndarray  # (n_paths,) index into set_masks
    exact: bool
    permutations: np.ndarray | None = None  # (m, n) channel orders
    prefix_masks: np.ndarray | None = None  # (u,) unique prefix masks
    prefix_index: np.ndarray | None = None  # (m, n + 1) index into prefix_masks


class ConversionRateShapley(_ShapleyBase):
    """Shapley value of the conversion-rate game (Dalessandro et al. 2012).

    ``v(S)`` is the conversion probability of journeys whose channel set is exactly ``S``,
    estimated from converting and non-converting journeys; see the module docstring for the
    policies for unobserved sets and the baseline, the scaling, and exact versus sampled
    computation.

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
        Largest number of channels computed exactly (at most 24); more are sampled.
    n_permutations
        Random channel orders when sampling (``>= 2``).
    n_bootstrap, ci_level, bootstrap_method, random_state
        Bootstrap intervals (see :class:`attribution.base.AttributionModel`); ``random_state``
        also seeds the permutations.

    Attributes
    ----------
    result_ : AttributionResult
        Credit per channel with extras ``shapley_value`` (raw ``phi_i``, probability units) and
        ``shapley_se`` (Monte-Carlo standard error, 0 when exact) and, with the logistic
        fallback, ``logit_coefficient``; diagnostics ``exact``, ``v_all`` (``v`` of the set of
        all channels), ``v_empty``, ``n_observed_sets``, ``n_negative`` (channels with
        ``phi_i < 0``) and ``logit_intercept``.
    coefficients_ : pandas.Series
        Logistic fallback coefficients (``intercept`` and one per channel), or ``None``.
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
        n_bootstrap: int = 200,
        ci_level: float = 0.95,
        bootstrap_method: str = "poisson",
        random_state: int | None = 0,
    ) -> None:
        super().__init__(
            n_bootstrap=n_bootstrap,
            ci_level=ci_level,
            bootstrap_method=bootstrap_method,
            random_state=random_state,
        )
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
        exact = n <= int(self.max_exact_channels)
        if exact:
            return _RatePrepared(n, set_masks, set_bits, path_set.ravel(), True)
        rng = np.random.default_rng(self.random_state)
        m = int(self.n_permutations)
        perms = np.argsort(rng.random((m, n)), axis=1)
        bits = np.left_shift(np.uint64(1), perms.astype(np.uint64))
        prefixes = np.zeros((m, n + 1), dtype=np.uint64)
        prefixes[:, 1:] = np.bitwise_or.accumulate(bits, axis=1)
        uniq, index = np.unique(prefixes, return_inverse=True)
        logger.info("conversion-rate Shapley: %d channels, sampling %d permutations", n, m)
        return _RatePrepared(
            n,
            set_masks,
            set_bits,
            path_set.ravel(),
            False,
            permutations=perms,
            prefix_masks=uniq,
            prefix_index=index.reshape(m, n + 1),
        )

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
        total_conv, total_val = float(conversions.sum()), float(value.sum())
        seen = jour > 0
        mean_value = total_val / total_conv if total_conv > 0 else 0.0
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
        if self.unobserved == "logistic" and k > 0:
            per_conv = (val + k * mean_value) / (conv + k)
        else:
            per_conv = np.where(conv > 0, _safe_div(val, conv), mean_value)
        v_empty = float(expit(beta[0])) if self.baseline == "model" and beta is not None else 0.0

        if prepared.exact:
            full_rate = (
                expit(beta[0] + _subset_sums(beta[1:])) if beta is not None else np.zeros(1 << n)
            )
            full_per_conv = np.full(1 << n, mean_value)
            idx = prepared.set_masks[seen].astype(np.intp)
            full_rate[idx] = rate[seen]
            full_per_conv[idx] = per_conv[seen]
            full_rate[0] = v_empty
            full_per_conv[0] = mean_value
            games = np.stack([full_rate, full_rate * full_per_conv])
            phi2 = exact_shapley(games, n)
            phi, phi_value = phi2[0], phi2[1]
            se = np.zeros(n)
            v_all = float(full_rate[-1])
        else:
            assert prepared.prefix_masks is not None and prepared.prefix_index is not None
            assert prepared.permutations is not None
            pm = prepared.prefix_masks
            if beta is not None:
                pre_rate = expit(beta[0] + _mask_bits(pm, n) @ beta[1:])
            else:
                pre_rate = np.zeros(pm.shape[0])
            pre_per_conv = np.full(pm.shape[0], mean_value)
            pos = np.searchsorted(prepared.set_masks, pm)
            pos_c = np.minimum(pos, d - 1)
            hit = (prepared.set_masks[pos_c] == pm) & seen[pos_c]
            pre_rate[hit] = rate[pos_c[hit]]
            pre_per_conv[hit] = per_conv[pos_c[hit]]
            empty = pm == 0
            pre_rate[empty] = v_empty
            pre_per_conv[empty] = mean_value
            results = []
            for game in (pre_rate, pre_rate * pre_per_conv):
                along = game[prepared.prefix_index]  # (m, n + 1)
                marginal = np.diff(along, axis=1)
                samples = np.empty_like(marginal)
                rows = np.arange(marginal.shape[0])[:, None]
                samples[rows, prepared.permutations] = marginal
                results.append(samples)
            m = results[0].shape[0]
            phi = results[0].mean(axis=0)
            phi_value = results[1].mean(axis=0)
            se = results[0].std(axis=0, ddof=1) / math.sqrt(m)
            full_mask = np.uint64((1 << n) - 1) if n < 64 else np.uint64(2**64 - 1)
            at_full = np.flatnonzero(pm == full_mask)
            v_all = float(pre_rate[at_full[0]]) if at_full.size else float("nan")

        credit = _scale(phi, total_conv)
        credit_value = _scale(phi_value, total_val)
        extras = {"shapley_value": phi, "shapley_se": se}
        diagnostics = {
            "exact": float(prepared.exact),
            "v_all": v_all,
            "v_empty": v_empty,
            "n_observed_sets": float(seen.sum()),
            "n_negative": float((phi < 0).sum()),
        }
        if beta is not None:
            extras["logit_coefficient"] = beta[1:]
            diagnostics["logit_intercept"] = float(beta[0])
            diagnostics["smoothing"] = k
        return Credit(
            conversions=credit, value=credit_value, extras=extras, diagnostics=diagnostics
        )

    def _notes(self, journeys: Journeys) -> tuple[str, ...]:
        notes = []
        if journeys.n_channels > int(self.max_exact_channels):
            notes.append(
                f"{journeys.n_channels} channels > max_exact_channels="
                f"{self.max_exact_channels}: Shapley values estimated from "
                f"{self.n_permutations} random channel orders (see shapley_se)"
            )
        return tuple(notes)

    def fit(self, journeys: Journeys, **kwargs: Any) -> ConversionRateShapley:
        """Fit and set ``result_`` (see the class docstring) and ``coefficients_``."""
        try:
            super().fit(journeys, **kwargs)
        except _DegenerateGameError as exc:
            raise InvalidModelOptionError(str(exc)) from exc
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
        negative = [
            c for c, v in zip(journeys.channels, self.result_.conversions, strict=True) if v < 0
        ]
        if negative:
            from dataclasses import replace

            note = (
                f"negative contributions (presence lowers the estimated conversion rate): "
                f"{', '.join(negative)}"
            )
            self.result_ = replace(self.result_, notes=(*self.result_.notes, note))
        return self


def _mask_bits(masks: np.ndarray, n: int) -> np.ndarray:
    shifts = np.arange(n, dtype=np.uint64)
    return ((masks[:, None] >> shifts[None, :]) & np.uint64(1)).astype(np.float64)


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b > 0)


def _scale(phi: np.ndarray, total: float) -> np.ndarray:
    """``phi / sum(phi) * total``; refuses games whose Shapley values sum to (about) zero."""
    if total == 0:
        return np.zeros_like(phi)
    s = float(phi.sum())
    if not (math.isfinite(s) and s > 1e-9 * max(float(np.abs(phi).sum()), 1e-300)):
        raise _DegenerateGameError(
            f"the Shapley values sum to v(all channels) - v(empty) = {s:.3g}, so they cannot be "
            "scaled to the total conversions (the estimated conversion rate of the set of all "
            "channels equals the baseline, e.g. with unobserved='zero' when no journey touched "
            "every channel, or smoothing=0 when those journeys never converted): use "
            "unobserved='logistic' with smoothing > 0"
        )
    return phi / s * total


class _DegenerateGameError(ArithmeticError):
    """The game's Shapley values sum to (about) zero."""


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
