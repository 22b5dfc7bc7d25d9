"""Markov-chain attribution with exact removal effects, at any order.

Definitions
-----------
**States.** At order ``k`` the states of a path are its sliding ``k``-grams of channels (a path
shorter than ``k`` is a single state made of all its channels), plus three special states:
``(start)``, ``(conversion)`` and ``(null)``. Consecutive identical states are collapsed into one
by default (``A > A > B`` at order 1 is ``A > B``), as ChannelAttribution does;
``keep_self_loops=True`` keeps them as self-transitions.

**Transition weights.** Every journey on a path contributes to the transitions along its state
sequence ``s_1 .. s_m``: ``(start) -> s_1`` and ``s_i -> s_{i+1}`` with weight
``conversions + nulls`` of the path, ``s_m -> (conversion)`` with weight ``conversions`` and
``s_m -> (null)`` with weight ``nulls``. Transition probabilities are the weights normalised by
each state's total outgoing weight.

**Conversion probability.** ``P(conversion)`` is the probability that the chain started in
``(start)`` is absorbed in ``(conversion)``. With ``Q`` the transition matrix among transient
states, ``r`` the vector of one-step conversion probabilities and ``pi`` the start distribution,
the absorption probabilities ``x`` solve ``(I - Q) x = r`` and ``P(conversion) = pi . x``.
It is computed exactly with a sparse LU factorisation, not by simulating random walks.

**Removal effect.** The removal effect of channel ``c`` is

    RE_c = 1 - P(conversion | every state containing c redirected to (null)) / P(conversion).

**Credit: removal effects under the support caps.** The total conversions ``T`` are shared in
proportion to the removal effects, except that no channel gets more than ``S_c``, the
conversions of the journeys whose path touches it (:mod:`attribution.support`): the credit is

    credit_c = min(S_c, lam * RE_c),   with lam such that sum_c credit_c = T

(water-filling, :func:`attribution.support.capped_proportional`): channels that would exceed
their cap get exactly the cap and the rest is redistributed in proportion to the removal effects
of the others. Such a ``lam`` exists because every converting journey touches at least one
channel, so ``sum_c S_c >= T``, and every channel of a converting journey has ``RE_c > 0``.
When no cap binds this is the classical ``T * RE_c / sum_d RE_d``. A cap binds for a channel
whose removal cuts many chain paths to conversion but which few converting journeys actually
touch; in particular a channel seen only in non-converting journeys can have ``RE_c > 0`` at
order 1 (its state leads to states that convert) and gets ``S_c = 0``. The removal effects are
reported unchanged in the ``removal_effect`` extras.

**Value.** Value credit is computed the same way with the expected conversion *value* in place of
``P(conversion)``: a conversion from state ``s`` is worth the mean conversion value of the
journeys whose path ends in ``s``; ``r`` becomes ``r_s * mean_value_s``, and the value credit of
``c`` is ``min(V_c, lam' * RE^value_c)`` summing to the total value, with ``V_c`` the value of
the journeys touching ``c``.

Worked example (also a unit test): paths ``A > B`` (1 conversion, value 10), ``B`` (1 null) and
``A`` (1 conversion with value 5, 1 null). At order 1, ``P(conversion) = 0.5``,
``RE_A = 0.75``, ``RE_B = 0.5``, so credit is ``A = 1.2``, ``B = 0.8`` and value ``7.5`` each. At
order 2 credit is ``A = 4/3``, ``B = 2/3`` and value ``9`` and ``6``.

**Order selection** (:func:`select_order`) compares orders by *out-of-sample* prediction: journeys
are split at random into training and held-out sets (binomial thinning of each path's counts);
an order-``k`` chain fitted on the training journeys predicts that a held-out journey converts
with probability ``P(s -> (conversion)) / (P(s -> (conversion)) + P(s -> (null)))`` for its last
state ``s`` (the chain's probability of converting rather than dropping out, given that the
journey ended in ``s``), backing off to order ``k - 1`` for states never seen at the end of a
training journey. The order with the lowest held-out log-loss wins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from attribution._kernels import chain_structure, edge_weights
from attribution._memory import release_memory
from attribution._validation import renamed_options
from attribution.base import AttributionModel, Credit
from attribution.bootstrap import BatchCredit
from attribution.errors import InvalidModelOptionError
from attribution.journeys import Journeys
from attribution.result import AttributionResult
from attribution.support import (
    ChannelPresence,
    capped_proportional,
    channel_support,
    check_within_support,
    presence_matrix,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MarkovAttribution",
    "MarkovChain",
    "OrderSelection",
    "markov_attribution",
    "select_order",
]

logger = logging.getLogger(__name__)

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


# --------------------------------------------------------------------------------------------
# State construction
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Structure:
    """What the Markov model needs from the paths, independent of the counts."""

    order: int
    n_states: int
    state_digits: np.ndarray  # (n_states, k): channel code + 1, 0 = unused slot
    contains: np.ndarray  # (n_states, n_channels) bool
    first_state: np.ndarray  # (n_paths,)
    last_state: np.ndarray  # (n_paths,)
    edge_id: np.ndarray  # (n_edge_occurrences,): distinct transition of each occurrence
    edge_path: np.ndarray  # (n_edge_occurrences,): path of each occurrence
    edge_from: np.ndarray  # (n_edges,)
    edge_to: np.ndarray  # (n_edges,)


def _build_structure(journeys: Journeys, order: int, keep_self_loops: bool) -> _Structure:
    base = journeys.n_channels + 1
    if order * np.log2(base) >= 62:
        raise InvalidModelOptionError(
            f"order {order} with {journeys.n_channels} channels has too many possible states; "
            "use a lower order"
        )
    state_keys, first, last, edge_id, edge_path, edge_from, edge_to = chain_structure(
        journeys.touches, journeys.offsets, journeys.n_channels, order, keep_self_loops
    )
    weights = base ** np.arange(order - 1, -1, -1, dtype=np.int64)
    state_digits = (state_keys[:, None] // weights[None, :]) % base
    n_states = state_digits.shape[0]
    contains = np.zeros((n_states, journeys.n_channels), dtype=bool)
    for i in range(state_digits.shape[1]):
        used = state_digits[:, i] > 0
        contains[np.flatnonzero(used), state_digits[used, i] - 1] = True
    return _Structure(
        order=order,
        n_states=n_states,
        state_digits=state_digits,
        contains=contains,
        first_state=first,
        last_state=last,
        edge_id=edge_id,
        edge_path=edge_path,
        edge_from=edge_from,
        edge_to=edge_to,
    )


# --------------------------------------------------------------------------------------------
# The fitted chain
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MarkovChain:
    """An absorbing Markov chain estimated from journeys.

    Attributes
    ----------
    state_names
        Names of the transient states (``"A > B"`` for an order-2 state).
    start, to_conversion, to_null
        Transition weights from ``(start)`` to each state and from each state to the absorbing
        states.
    transitions
        ``(n_states, n_states)`` sparse transition weights among transient states.
    mean_value
        Mean conversion value of the journeys ending in each state.
    contains
        ``(n_states, n_channels)``: whether a state contains a channel.
    """

    state_names: tuple[str, ...]
    start: np.ndarray
    transitions: sp.csr_matrix
    to_conversion: np.ndarray
    to_null: np.ndarray
    mean_value: np.ndarray
    contains: np.ndarray

    @property
    def n_states(self) -> int:
        """Number of transient states."""
        return len(self.start)

    def _probabilities(self) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        out = np.asarray(self.transitions.sum(axis=1)).ravel() + self.to_conversion + self.to_null
        inv = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
        q = sp.diags(inv) @ self.transitions
        r = self.to_conversion * inv
        pi = self.start / self.start.sum()
        return q.tocsc(), r, pi

    def absorption(self, removed: np.ndarray | None = None) -> np.ndarray:
        """Return the expected (conversions, value) per journey from ``(start)``.

        ``removed`` is a boolean mask of states redirected to ``(null)``.
        Returns a length-2 array: ``P(conversion)`` and the expected conversion value.
        """
        q, r, pi = self._probabilities()
        rhs = np.column_stack([r, r * self.mean_value])
        if removed is not None:
            keep = np.flatnonzero(~removed)
            q = q[keep][:, keep]
            rhs, pi = rhs[keep], pi[keep]
        if pi.shape[0] == 0:
            return np.zeros(2)
        system = (sp.identity(q.shape[0], format="csc") - q).tocsc()
        x = spla.splu(system).solve(rhs) if q.shape[0] > 1 else rhs / system.toarray()[0, 0]
        return np.asarray(pi @ x, dtype=np.float64)

    def removal_effects(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the removal effects per channel: (conversion-based, value-based)."""
        base = self.absorption()
        n_channels = self.contains.shape[1]
        effects = np.empty((n_channels, 2))
        for c in range(n_channels):
            effects[c] = self.absorption(self.contains[:, c])
        with np.errstate(divide="ignore", invalid="ignore"):
            re = 1.0 - effects / base[None, :]
        re[:, base == 0] = 0.0
        return re[:, 0], re[:, 1]

    def transition_frame(self) -> pd.DataFrame:
        """Long table of transitions: ``from``, ``to``, ``weight``, ``probability``."""
        import pandas as pd

        names = np.array(self.state_names, dtype=object)
        out = np.asarray(self.transitions.sum(axis=1)).ravel() + self.to_conversion + self.to_null
        coo = self.transitions.tocoo()
        rows = [
            pd.DataFrame({"from": START, "to": names, "weight": self.start}),
            pd.DataFrame({"from": names[coo.row], "to": names[coo.col], "weight": coo.data}),
            pd.DataFrame({"from": names, "to": CONVERSION, "weight": self.to_conversion}),
            pd.DataFrame({"from": names, "to": NULL, "weight": self.to_null}),
        ]
        frame = pd.concat(rows, ignore_index=True)
        frame = frame[frame["weight"] > 0].reset_index(drop=True)
        totals = pd.Series(
            np.concatenate([[self.start.sum()], out]), index=[START, *self.state_names]
        )
        frame["probability"] = frame["weight"].to_numpy() / totals.loc[frame["from"]].to_numpy()
        return frame

    def transition_matrix(self) -> pd.DataFrame:
        """Dense transition-probability matrix with ``(start)``, states and absorbing states."""
        labels = [START, *self.state_names, CONVERSION, NULL]
        frame = self.transition_frame()
        matrix = frame.pivot_table(
            index="from", columns="to", values="probability", aggfunc="sum", fill_value=0.0
        )
        return matrix.reindex(index=labels[:-2], columns=labels[1:], fill_value=0.0)


def _chain_from_counts(
    structure: _Structure,
    state_names: tuple[str, ...],
    conversions: np.ndarray,
    nulls: np.ndarray,
    value: np.ndarray,
    incidence: sp.spmatrix | None = None,
) -> MarkovChain:
    n = structure.n_states
    weight = conversions + nulls
    if incidence is not None:
        edge_weight = incidence @ weight
    else:
        edge_weight = edge_weights(
            structure.edge_id, structure.edge_path, weight, structure.edge_from.shape[0]
        )
    transitions = sp.csr_matrix(
        (edge_weight, (structure.edge_from, structure.edge_to)), shape=(n, n)
    )
    to_conv = np.bincount(structure.last_state, conversions, n)
    value_end = np.bincount(structure.last_state, value, n)
    return MarkovChain(
        state_names=state_names,
        start=np.bincount(structure.first_state, weight, n),
        transitions=transitions,
        to_conversion=to_conv,
        to_null=np.bincount(structure.last_state, nulls, n),
        mean_value=np.divide(value_end, to_conv, out=np.zeros(n), where=to_conv > 0),
        contains=structure.contains,
    )


def _state_names(structure: _Structure, channels: tuple[str, ...]) -> tuple[str, ...]:
    names = np.array(channels, dtype=object)
    out = []
    for row in structure.state_digits:
        out.append(" > ".join(names[row[row > 0] - 1]))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Bootstrap replicates in chunks
# --------------------------------------------------------------------------------------------

#: chains with at most this many states solve their removal systems densely, all replicates and
#: channels of a chunk in one batched LAPACK call; larger chains use the sparse LU per replicate
DENSE_STATES = 96
#: matrix entries of the dense systems solved in one call
_DENSE_CHUNK = 1 << 21


class _ReplicateChains:
    """Credit of a chunk of bootstrap replicates (:data:`attribution.bootstrap.BatchCredit`).

    The chain's weights are linear in the per-path counts, so for a chunk of replicates (counts
    ``(n_paths, k)``) they are sparse products: transitions ``incidence @ (conversions +
    nulls)``, start ``first @ (conversions + nulls)``, absorption ``last @ conversions`` and
    ``last @ nulls`` and ending value ``last @ value``, with the 0/1 matrices built once. The
    removal effects then follow the definition of the module docstring: removing the states
    that contain channel ``c`` (redirecting them to ``(null)``) is solved as the full system
    with those states' rows of ``Q`` and ``r`` set to zero, which gives them absorption 0 and
    leaves the others' equal to the reduced system's. With at most :data:`DENSE_STATES` states
    the ``k (n_channels + 1)`` systems of a chunk are dense and solved together; otherwise each
    replicate's :class:`MarkovChain` is built from its weights and solved as for the point
    estimate. The credit is then shared under the replicate's own caps, as in ``_credit``.
    """

    def __init__(self, prepared: _Prepared) -> None:
        structure = prepared.structure
        n_paths = structure.first_state.shape[0]
        n = structure.n_states
        self.prepared = prepared
        incidence = prepared.incidence
        if incidence is None:
            incidence = sp.csc_matrix(
                (
                    np.ones(structure.edge_id.shape[0]),
                    (structure.edge_id, structure.edge_path),
                ),
                shape=(structure.edge_from.shape[0], n_paths),
            )
            incidence.sum_duplicates()
        self.incidence = incidence
        paths = np.arange(n_paths)
        ones = np.ones(n_paths)
        self.first = sp.csc_matrix((ones, (structure.first_state, paths)), shape=(n, n_paths))
        self.last = sp.csc_matrix((ones, (structure.last_state, paths)), shape=(n, n_paths))
        # position of each transition in a dense (n, n) matrix (chain_structure lists each once)
        self.cell = structure.edge_from.astype(np.int64) * n + structure.edge_to
        self.dense = n <= DENSE_STATES and np.unique(self.cell).shape[0] == self.cell.shape[0]
        if self.dense:
            # keep[s, j]: state j survives removal s (s = 0: nothing removed, s = c + 1: channel c)
            self.keep = np.vstack([np.ones((1, n), dtype=bool), ~structure.contains.T])

    def __call__(
        self, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        weight = conversions + nulls
        edges = np.asarray(self.incidence @ weight)  # (n_edges, k)
        start = np.asarray(self.first @ weight)
        to_conv = np.asarray(self.last @ conversions)
        to_null = np.asarray(self.last @ nulls)
        value_end = np.asarray(self.last @ value)
        mean_value = np.divide(value_end, to_conv, out=np.zeros_like(value_end), where=to_conv > 0)
        if self.dense:
            re_conv, re_value = self._dense_removal_effects(
                edges, start, to_conv, to_null, mean_value
            )
        else:
            re_conv, re_value = self._sparse_removal_effects(
                edges, start, to_conv, to_null, mean_value
            )
        caps = self.prepared.presence.support_batch(conversions, nulls, value)
        total_conv, total_value = conversions.sum(axis=0), value.sum(axis=0)
        k = conversions.shape[1]
        credit_conv = np.empty((k, re_conv.shape[1]))
        credit_value = np.empty_like(credit_conv)
        for r in range(k):
            credit_conv[r] = capped_proportional(
                float(total_conv[r]), re_conv[r], caps.conversions[r]
            )
            credit_value[r] = capped_proportional(float(total_value[r]), re_value[r], caps.value[r])
        return credit_conv, credit_value

    def _dense_removal_effects(
        self,
        edges: np.ndarray,
        start: np.ndarray,
        to_conv: np.ndarray,
        to_null: np.ndarray,
        mean_value: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the removal effects ``(k, n_channels)`` of ``k`` chains by dense solves."""
        n = self.prepared.structure.n_states
        k = edges.shape[1]
        flat = np.zeros((k, n * n))
        flat[:, self.cell] = edges.T
        weights = flat.reshape(k, n, n)
        out = weights.sum(axis=2) + to_conv.T + to_null.T
        inv = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
        q = weights * inv[:, :, None]  # (k, n, n)
        r = to_conv.T * inv
        rhs = np.stack([r, r * mean_value.T], axis=-1)  # (k, n, 2)
        pi = start.T / start.sum(axis=0)[:, None]
        keep = self.keep  # (s, n)
        n_sys = keep.shape[0]
        mask = (keep[:, :, None] & keep[:, None, :])[None]
        diagonal = np.arange(n)
        x = np.empty((k, n_sys, n, 2))
        step = max(1, _DENSE_CHUNK // (n_sys * n * n))
        for lo in range(0, k, step):
            part = slice(lo, lo + step)
            system = -q[part, None, :, :] * mask  # (step, s, n, n)
            system[..., diagonal, diagonal] += 1.0
            b = rhs[part, None, :, :] * keep[None, :, :, None]
            x[part] = np.linalg.solve(system, b)
        p = np.einsum("kn,ksnv->ksv", pi, x)
        base = p[:, :1, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            re = 1.0 - p[:, 1:, :] / base
        re = np.where(base == 0, 0.0, re)
        return re[:, :, 0], re[:, :, 1]

    def _sparse_removal_effects(
        self,
        edges: np.ndarray,
        start: np.ndarray,
        to_conv: np.ndarray,
        to_null: np.ndarray,
        mean_value: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the removal effects ``(k, n_channels)``, each chain solved as in ``_credit``."""
        structure = self.prepared.structure
        n = structure.n_states
        k = edges.shape[1]
        n_channels = structure.contains.shape[1]
        re_conv, re_value = np.empty((k, n_channels)), np.empty((k, n_channels))
        for r in range(k):
            chain = MarkovChain(
                state_names=self.prepared.state_names,
                start=start[:, r],
                transitions=sp.csr_matrix(
                    (edges[:, r], (structure.edge_from, structure.edge_to)), shape=(n, n)
                ),
                to_conversion=to_conv[:, r],
                to_null=to_null[:, r],
                mean_value=mean_value[:, r],
                contains=structure.contains,
            )
            re_conv[r], re_value[r] = chain.removal_effects()
        return re_conv, re_value


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Prepared:
    structure: _Structure
    state_names: tuple[str, ...]
    #: which channels each path touches (the caps S_c, V_c of the credit)
    presence: ChannelPresence
    #: (n_edges, n_paths) path-edge incidence, built when many replicates will reuse it
    incidence: sp.csc_matrix | None = None


class MarkovAttribution(AttributionModel):
    """Markov-chain attribution by exact removal effects (see the module docstring).

    Parameters
    ----------
    order
        Order ``k`` of the chain (states are ``k``-grams of channels), ``>= 1``.
    keep_self_loops
        Keep repeated consecutive states as self-transitions instead of collapsing them.
    n_bootstrap, ci, bootstrap_method, seed
        Bootstrap intervals (see :class:`attribution.base.AttributionModel`).

    Attributes
    ----------
    result_ : AttributionResult
        Credit per channel, with ``removal_effect`` and ``value_removal_effect`` extras.
    chain_ : MarkovChain
        The fitted chain (transition matrix, absorption probabilities).
    removal_effects_ : pandas.Series
        Removal effect per channel.
    conversion_probability_ : float
        ``P(conversion)`` of the fitted chain.

    Examples
    --------
    >>> from attribution import Journeys
    >>> j = Journeys.from_sequences([["A", "B"], ["B"], ["A"]], [1, 0, 1], [0, 1, 1], [10, 0, 5])
    >>> m = MarkovAttribution(order=1, n_bootstrap=0).fit(j)
    >>> m.result_.to_frame()[["channel", "conversions", "removal_effect"]].round(3)
      channel  conversions  removal_effect
    0       A          1.2            0.75
    1       B          0.8            0.50
    """

    name = "markov"

    def __init__(
        self,
        *,
        order: int = 1,
        keep_self_loops: bool = False,
        **bootstrap: Any,
    ) -> None:
        super().__init__(**bootstrap)
        self.order = order
        self.keep_self_loops = keep_self_loops

    def _validate_params(self, journeys: Journeys) -> None:
        if isinstance(self.order, bool) or not isinstance(self.order, int | np.integer):
            raise InvalidModelOptionError(f"order must be a positive integer, got {self.order!r}")
        if not 1 <= self.order <= 12:
            raise InvalidModelOptionError(f"order must be between 1 and 12, got {self.order}")

    def _prepare(self, journeys: Journeys) -> _Prepared:
        structure = _build_structure(journeys, int(self.order), self.keep_self_loops)
        release_memory()
        logger.info(
            "Markov order %d: %d states, %d distinct transitions",
            self.order,
            structure.n_states,
            structure.edge_from.shape[0],
        )
        incidence = None
        if self.n_bootstrap:
            # one sparse product per chunk of replicates beats a gather + bincount over every
            # edge; by paths (columns), so that the product streams the counts path after path
            incidence = sp.csc_matrix(
                (
                    np.ones(structure.edge_id.shape[0], dtype=np.float32),
                    (structure.edge_id, structure.edge_path),
                ),
                shape=(structure.edge_from.shape[0], journeys.n_paths),
            )
            incidence.sum_duplicates()
        return _Prepared(
            structure,
            _state_names(structure, journeys.channels),
            ChannelPresence.of(journeys),
            incidence,
        )

    def _presence(self, prepared: _Prepared, journeys: Journeys) -> ChannelPresence:
        return prepared.presence

    def _credit(
        self, prepared: _Prepared, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> Credit:
        chain = _chain_from_counts(
            prepared.structure,
            prepared.state_names,
            conversions,
            nulls,
            value,
            incidence=prepared.incidence,
        )
        re_conv, re_value = chain.removal_effects()
        caps = prepared.presence.support(conversions, nulls, value)
        return Credit(
            conversions=capped_proportional(float(conversions.sum()), re_conv, caps.conversions),
            value=capped_proportional(float(value.sum()), re_value, caps.value),
            extras={"removal_effect": re_conv, "value_removal_effect": re_value},
            diagnostics={
                "conversion_probability": float(chain.absorption()[0]),
                "n_states": float(chain.n_states),
            },
            fitted={"chain": chain},
        )

    def _replicate_batch(self, prepared: _Prepared, point: Credit) -> BatchCredit:
        return _ReplicateChains(prepared)

    def fit(self, journeys: Journeys, **kwargs: Any) -> MarkovAttribution:
        """Fit the chain and compute removal effects and credit (and intervals)."""
        super().fit(journeys, **kwargs)
        self.chain_ = self.fitted_objects_["chain"]
        self.conversion_probability_ = self.result_.diagnostics["conversion_probability"]
        return self

    @property
    def removal_effects_(self) -> pd.Series:
        """Removal effect per channel, a Series named ``removal`` indexed by channel."""
        import pandas as pd

        self._check_fitted()
        return pd.Series(
            self.result_.extras["removal_effect"], index=list(self.result_.channels), name="removal"
        )

    def transition_matrix(self) -> pd.DataFrame:
        """Return the fitted transition probabilities (:meth:`MarkovChain.transition_matrix`)."""
        self._check_fitted()
        return self.chain_.transition_matrix()

    def attribute(self, journeys: Journeys) -> AttributionResult:
        """Split the conversions of *new* journeys by the fitted removal effects.

        Each converting journey's conversion (and value) is shared among the distinct channels
        of its path in proportion to their fitted removal effects, so the credit stays within
        the support of the new journeys; channels unseen at fit time get no credit, and a path
        with no fitted channel is reported in ``notes``.
        """
        self._check_fitted()
        fitted = {c: i for i, c in enumerate(self.journeys_.channels)}
        re = np.array(
            [
                self.result_.extras["removal_effect"][fitted[c]] if c in fitted else 0.0
                for c in journeys.channels
            ]
        )
        weights = presence_matrix(journeys).multiply(re[None, :]).tocsr()
        row_sum = np.asarray(weights.sum(axis=1)).ravel()
        unattributed = int(journeys.conversions[row_sum == 0].sum())
        inv = np.divide(1.0, row_sum, out=np.zeros_like(row_sum), where=row_sum > 0)
        fractions = sp.diags(inv) @ weights
        notes: tuple[str, ...] = ()
        if unattributed:
            notes = (
                f"{unattributed} conversions on paths with no fitted channel are unattributed",
            )
        support = channel_support(journeys)
        conversions, value = check_within_support(
            np.asarray(fractions.T @ journeys.conversions, dtype=float),
            np.asarray(fractions.T @ journeys.value, dtype=float),
            support,
            model=self.name,
            context="applied to new journeys",
        )
        return AttributionResult(
            model=self.name,
            params={**self.result_.params, "applied_to_new_journeys": True},
            channels=journeys.channels,
            conversions=conversions,
            value=value,
            total_conversions=float(journeys.total_conversions),
            total_value=journeys.total_value,
            extras={"removal_effect": re},
            notes=notes,
            support=support,
        )


def markov_attribution(journeys: Journeys, order: int = 1, **params: Any) -> AttributionResult:
    """Fit :class:`MarkovAttribution` and return its result (one-shot use)."""
    return MarkovAttribution(order=order, **params).fit(journeys).result_


# --------------------------------------------------------------------------------------------
# Order selection
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderSelection:
    """Held-out comparison of Markov orders.

    Attributes
    ----------
    table
        One row per order: ``order``, ``n_states``, ``log_loss`` and ``auc`` on held-out
        journeys, and ``unseen_share`` (held-out journeys whose last state never ended a training
        journey, predicted by back-off).
    best_order
        The order with the lowest held-out log-loss.
    """

    table: pd.DataFrame
    best_order: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dictionary."""
        return {"best_order": self.best_order, "orders": self.table.to_dict(orient="records")}


def _last_state_keys(journeys: Journeys, order: int) -> np.ndarray:
    """Integer key of each path's last state at ``order`` (the last ``min(L, k)`` channels)."""
    base = journeys.n_channels + 1
    key = np.zeros(journeys.n_paths, dtype=np.int64)  # exact: orders are capped at 62 bits
    ends = journeys.offsets[1:]
    lengths = journeys.lengths
    for i in range(order):
        take = lengths > i
        digit = np.zeros(journeys.n_paths, dtype=np.int64)
        digit[take] = journeys.touches[ends[take] - 1 - i] + 1
        key = key * base + digit
    return key


def _weighted_auc(score: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> float:
    order = np.argsort(score, kind="stable")
    s, p, n = score[order], pos[order], neg[order]
    # group ties
    _, idx = np.unique(s, return_index=True)
    p_g = np.add.reduceat(p, idx)
    n_g = np.add.reduceat(n, idx)
    neg_below = np.cumsum(n_g) - n_g
    total = p.sum() * n.sum()
    if total == 0:
        return float("nan")
    return float((p_g * (neg_below + 0.5 * n_g)).sum() / total)


def select_order(
    journeys: Journeys,
    orders: tuple[int, ...] = (1, 2, 3, 4),
    *,
    test_size: float = 0.3,
    seed: int | None = 0,
    smoothing: float = 1.0,
    **former: Any,
) -> OrderSelection:
    """Choose the Markov order by held-out predictive performance (see the module docstring).

    Parameters
    ----------
    journeys
        Journeys to split into training and held-out parts.
    orders
        Candidate orders.
    test_size
        Fraction of journeys held out (each journey independently).
    seed
        Seed of the split (formerly ``random_state``, still accepted for one release).
    smoothing
        Pseudo-count pulling a state's conversion rate towards its back-off estimate.
    """
    seed = renamed_options(former, {"random_state": "seed"}, owner="select_order").get("seed", seed)
    if not 0 < test_size < 1:
        raise InvalidModelOptionError(f"test_size must be in (0, 1), got {test_size}")
    if not orders or any(int(k) < 1 for k in orders):
        raise InvalidModelOptionError(f"orders must be positive integers, got {orders!r}")
    rng = np.random.default_rng(seed)
    test_conv = rng.binomial(journeys.conversions, test_size)
    test_null = rng.binomial(journeys.nulls, test_size)
    train_conv = journeys.conversions - test_conv
    train_null = journeys.nulls - test_null
    if test_conv.sum() == 0 or test_null.sum() == 0 or train_conv.sum() == 0:
        raise InvalidModelOptionError(
            "too few journeys to hold some out for order selection: need converting and "
            "non-converting journeys in both parts"
        )
    global_rate = train_conv.sum() / (train_conv.sum() + train_null.sum())
    prediction = np.full(journeys.n_paths, global_rate)
    rows = []
    for k in range(1, max(orders) + 1):
        keys = _last_state_keys(journeys, k)
        uniq, inv = np.unique(keys, return_inverse=True)
        c = np.bincount(inv, train_conv, uniq.shape[0])
        n = np.bincount(inv, train_null, uniq.shape[0])
        seen = (c + n)[inv] > 0
        prediction = (c[inv] + smoothing * prediction) / (c[inv] + n[inv] + smoothing)
        if k in orders:
            p = np.clip(prediction, 1e-12, 1 - 1e-12)
            loss = -(test_conv * np.log(p) + test_null * np.log1p(-p)).sum() / (
                test_conv.sum() + test_null.sum()
            )
            structure = _build_structure(journeys, k, False)
            rows.append(
                {
                    "order": k,
                    "n_states": structure.n_states,
                    "log_loss": float(loss),
                    "auc": _weighted_auc(p, test_conv.astype(float), test_null.astype(float)),
                    "unseen_share": float(
                        ((test_conv + test_null) * ~seen).sum()
                        / (test_conv.sum() + test_null.sum())
                    ),
                }
            )
    import pandas as pd

    table = pd.DataFrame(rows)
    best = int(table["order"].to_numpy()[int(np.argmin(table["log_loss"].to_numpy()))])
    return OrderSelection(table=table, best_order=best)
