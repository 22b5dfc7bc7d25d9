"""Rule-based (heuristic) attribution models.

Each model gives every *converting* journey's credit (one conversion and its value) to the
touches of its path by a fixed rule; non-converting journeys get nothing. With ``w_t`` the weight
of touch ``t`` of a path (``sum_t w_t = 1``), the credit of channel ``c`` is

    credit_c = sum over paths p of conversions_p * sum over touches t of p on channel c of w_t

and the value credit is the same with ``value_p`` in place of ``conversions_p``. Credits sum to
the total conversions and value. Rules:

``first_touch``
    ``w = 1`` on the first touch.
``last_touch``
    ``w = 1`` on the last touch.
``last_non_direct``
    ``w = 1`` on the last touch whose channel is not the direct channel (``direct_channel``);
    a path made only of direct touches credits direct.
``linear``
    ``w = 1 / L`` on each of the ``L`` touches (a channel touched twice gets two shares).
``position_based``
    ``first``, ``middle`` and ``last`` weights (default 40/20/40, normalised to sum to 1). A
    1-touch path gives its touch everything; a 2-touch path splits ``first : last`` (50/50 by
    default); longer paths give ``first`` and ``last`` to the end touches and split ``middle``
    equally among the ``L - 2`` others.
``time_decay``
    ``w_t`` proportional to ``2 ** (-age_t / half_life)``. On journeys cut from an event log,
    ``age_t`` is the time from the touch to the conversion and ``half_life`` a duration (default
    ``"7d"``); credit is computed per journey and summed. On path tables there are no timestamps:
    ``age_t`` is the number of touches between ``t`` and the last touch and ``half_life`` a number
    of touches (default 1). The result's ``params["basis"]`` says which was used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from attribution.base import AttributionModel, Credit
from attribution.bootstrap import BatchCredit, linear_batch
from attribution.errors import InvalidModelOptionError
from attribution.journeys import Journeys, parse_duration
from attribution.result import AttributionResult

__all__ = [
    "FirstTouch",
    "LastNonDirect",
    "LastTouch",
    "Linear",
    "PositionBased",
    "TimeDecay",
    "heuristic_attribution",
]


@dataclass(frozen=True)
class _Fractions:
    """Per-path credit fractions: ``conversions`` and ``value`` are (n_paths, n_channels)."""

    conversions: sp.csr_matrix
    value: sp.csr_matrix


def _fractions_from_touch_weights(journeys: Journeys, weights: np.ndarray) -> sp.csr_matrix:
    return sp.csr_matrix(
        (weights, (journeys.path_of_touch(), journeys.touches)),
        shape=(journeys.n_paths, journeys.n_channels),
    )


class _Heuristic(AttributionModel):
    """A heuristic model: credit is linear in per-path counts, ``F.T @ conversions``."""

    def _touch_weights(self, journeys: Journeys) -> np.ndarray:
        raise NotImplementedError

    def _prepare(self, journeys: Journeys) -> _Fractions:
        fractions = _fractions_from_touch_weights(journeys, self._touch_weights(journeys))
        return _Fractions(conversions=fractions, value=fractions)

    def _credit(
        self, prepared: _Fractions, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> Credit:
        return Credit(
            conversions=np.asarray(prepared.conversions.T @ conversions, dtype=np.float64),
            value=np.asarray(prepared.value.T @ value, dtype=np.float64),
        )

    def _replicate_batch(self, prepared: _Fractions, point: Credit) -> BatchCredit:
        return linear_batch(prepared.conversions, prepared.value)


def _first_flags(journeys: Journeys) -> np.ndarray:
    w = np.zeros(journeys.touches.shape[0])
    w[journeys.offsets[:-1]] = 1.0
    return w


def _last_flags(journeys: Journeys) -> np.ndarray:
    w = np.zeros(journeys.touches.shape[0])
    w[journeys.offsets[1:] - 1] = 1.0
    return w


class FirstTouch(_Heuristic):
    """All credit to the first touch of each converting journey."""

    name = "first_touch"

    def _touch_weights(self, journeys: Journeys) -> np.ndarray:
        return _first_flags(journeys)


class LastTouch(_Heuristic):
    """All credit to the last touch of each converting journey."""

    name = "last_touch"

    def _touch_weights(self, journeys: Journeys) -> np.ndarray:
        return _last_flags(journeys)


class LastNonDirect(_Heuristic):
    """All credit to the last touch that is not the direct channel.

    Parameters
    ----------
    direct_channel
        Name of the direct channel (default ``"direct"``). Paths made only of direct touches
        credit direct. If the channel does not occur, this equals last touch.
    """

    name = "last_non_direct"

    def __init__(
        self,
        *,
        direct_channel: str = "direct",
        **bootstrap: Any,
    ) -> None:
        super().__init__(**bootstrap)
        self.direct_channel = direct_channel

    def _notes(self, journeys: Journeys) -> tuple[str, ...]:
        if self.direct_channel not in journeys.channels:
            return (
                f"direct channel {self.direct_channel!r} does not occur: last non-direct equals "
                "last touch",
            )
        return ()

    def _touch_weights(self, journeys: Journeys) -> np.ndarray:
        if self.direct_channel not in journeys.channels:
            return _last_flags(journeys)
        direct = journeys.channels.index(self.direct_channel)
        n_touches = journeys.touches.shape[0]
        path = journeys.path_of_touch()
        position = np.arange(n_touches)
        # last non-direct position per path (-1 if none)
        candidate = np.where(journeys.touches != direct, position, -1)
        last_non_direct = np.full(journeys.n_paths, -1, dtype=np.int64)
        np.maximum.at(last_non_direct, path, candidate)
        chosen = np.where(last_non_direct >= 0, last_non_direct, journeys.offsets[1:] - 1)
        w = np.zeros(n_touches)
        w[chosen] = 1.0
        return w


class Linear(_Heuristic):
    """Equal credit to every touch of each converting journey."""

    name = "linear"

    def _touch_weights(self, journeys: Journeys) -> np.ndarray:
        return np.repeat(1.0 / journeys.lengths, journeys.lengths)


class PositionBased(_Heuristic):
    """U-shaped credit: most to the first and last touches, the rest shared by the middle.

    Parameters
    ----------
    first, middle, last
        Relative weights (default 40/20/40), normalised to sum to 1. See the module docstring
        for 1- and 2-touch paths.
    """

    name = "position_based"

    def __init__(
        self,
        *,
        first: float = 40.0,
        middle: float = 20.0,
        last: float = 40.0,
        **bootstrap: Any,
    ) -> None:
        super().__init__(**bootstrap)
        self.first = first
        self.middle = middle
        self.last = last

    def _validate_params(self, journeys: Journeys) -> None:
        weights = (self.first, self.middle, self.last)
        if any((not np.isfinite(w)) or w < 0 for w in weights) or sum(weights) <= 0:
            raise InvalidModelOptionError(
                f"position weights must be non-negative with a positive sum, got "
                f"first={self.first}, middle={self.middle}, last={self.last}"
            )
        if self.first + self.last <= 0:
            raise InvalidModelOptionError(
                "position weights first and last cannot both be zero: 2-touch paths would get "
                "no credit"
            )

    def _touch_weights(self, journeys: Journeys) -> np.ndarray:
        total = self.first + self.middle + self.last
        first, middle, last = self.first / total, self.middle / total, self.last / total
        lengths = journeys.lengths
        n_touches = journeys.touches.shape[0]
        length_of_touch = np.repeat(lengths, lengths)
        w = np.zeros(n_touches)
        # paths of 3+ touches: ends get first/last, the middle shares `middle`
        long = length_of_touch >= 3
        w[long] = middle / np.maximum(length_of_touch[long] - 2, 1)
        starts, ends = journeys.offsets[:-1], journeys.offsets[1:] - 1
        long_path = lengths >= 3
        w[starts[long_path]] = first
        w[ends[long_path]] = last
        two = lengths == 2
        w[starts[two]] = first / (first + last)
        w[ends[two]] = last / (first + last)
        w[starts[lengths == 1]] = 1.0
        return w


class TimeDecay(_Heuristic):
    """Credit decaying with the time (or number of touches) before the conversion.

    Parameters
    ----------
    half_life
        On timestamped journeys: a duration such as ``"7d"`` (default). On path tables: a
        number of touches (default 1.0 when ``half_life`` is left at its default).
    """

    name = "time_decay"

    def __init__(
        self,
        *,
        half_life: str | float | None = None,
        **bootstrap: Any,
    ) -> None:
        super().__init__(**bootstrap)
        self.half_life = half_life

    def _uses_timestamps(self, journeys: Journeys) -> bool:
        return journeys.timing is not None

    def _half_life_touches(self) -> float:
        if self.half_life is None:
            return 1.0
        try:
            value = float(self.half_life)
        except (TypeError, ValueError) as exc:
            raise InvalidModelOptionError(
                f"these journeys have no timestamps (a path table), so half_life is a number of "
                f"touches; got {self.half_life!r}: pass e.g. half_life=1"
            ) from exc
        if not value > 0:
            raise InvalidModelOptionError(f"half_life must be positive, got {self.half_life!r}")
        return value

    def _half_life_seconds(self) -> float:
        if self.half_life is None:
            return 7 * 86400.0
        if isinstance(self.half_life, int | float):
            raise InvalidModelOptionError(
                f"these journeys have timestamps, so half_life is a duration such as '7d'; got "
                f"{self.half_life!r}"
            )
        return parse_duration(self.half_life).total_seconds()

    def _validate_params(self, journeys: Journeys) -> None:
        if self._uses_timestamps(journeys):
            self._half_life_seconds()
        else:
            self._half_life_touches()

    def _notes(self, journeys: Journeys) -> tuple[str, ...]:
        if self._uses_timestamps(journeys):
            return ()
        return (
            "time decay is positional: these journeys have no timestamps, so each touch's age is "
            "its number of touches before the last one",
        )

    def fit(self, journeys: Journeys, **kwargs: Any) -> TimeDecay:
        """Fit; the result's params record the basis (timestamps or positions)."""
        super().fit(journeys, **kwargs)
        basis = "timestamps" if self._uses_timestamps(journeys) else "positions"
        half_life = (self.half_life or "7d") if basis == "timestamps" else self._half_life_touches()
        params = {**self.result_.params, "basis": basis, "half_life": half_life}
        self.result_ = _replace_params(self.result_, params)
        return self

    def _touch_weights(self, journeys: Journeys) -> np.ndarray:
        half_life = self._half_life_touches()
        lengths = journeys.lengths
        position = np.arange(journeys.touches.shape[0]) - np.repeat(journeys.offsets[:-1], lengths)
        age = np.repeat(lengths, lengths) - 1 - position
        raw = np.power(2.0, -age / half_life)
        sums = np.bincount(journeys.path_of_touch(), raw, journeys.n_paths)
        return raw / np.repeat(sums, lengths)

    def _prepare(self, journeys: Journeys) -> _Fractions:
        if not self._uses_timestamps(journeys):
            return super()._prepare(journeys)
        timing = journeys.timing
        assert timing is not None  # narrowed by _uses_timestamps
        half_life = self._half_life_seconds()
        n_j = timing.n_journeys
        lengths = np.diff(timing.touch_offsets)
        journey_of_touch = np.repeat(np.arange(n_j), lengths)
        raw = np.power(2.0, -timing.touch_age_seconds() / half_life)
        sums = np.bincount(journey_of_touch, raw, n_j)
        w = raw / sums[journey_of_touch]
        # channel of each journey touch = the touch of its path at the same position
        path = timing.path_index[journey_of_touch]
        position = np.arange(w.shape[0]) - timing.touch_offsets[:-1][journey_of_touch]
        channel = journeys.touches[journeys.offsets[path] + position]
        conv = timing.converted[journey_of_touch].astype(np.float64)
        val = timing.value[journey_of_touch]
        shape = (journeys.n_paths, journeys.n_channels)
        conv_sum = sp.csr_matrix((w * conv, (path, channel)), shape=shape)
        val_sum = sp.csr_matrix((w * val, (path, channel)), shape=shape)
        # per-path averages: divide each row by the path's conversions / value
        inv_conv = np.divide(
            1.0,
            journeys.conversions,
            out=np.zeros(journeys.n_paths),
            where=journeys.conversions > 0,
        )
        inv_val = np.divide(
            1.0, journeys.value, out=np.zeros(journeys.n_paths), where=journeys.value > 0
        )
        return _Fractions(
            conversions=sp.diags(inv_conv) @ conv_sum, value=sp.diags(inv_val) @ val_sum
        )


def _replace_params(result: AttributionResult, params: dict[str, Any]) -> AttributionResult:
    from dataclasses import replace

    return replace(result, params=params)


_MODELS: dict[str, type[_Heuristic]] = {
    cls.name: cls
    for cls in (FirstTouch, LastTouch, LastNonDirect, Linear, PositionBased, TimeDecay)
}


def heuristic_attribution(journeys: Journeys, model: str, **params: Any) -> AttributionResult:
    """Fit the heuristic ``model`` (e.g. ``"linear"``) on ``journeys`` and return its result.

    Examples
    --------
    >>> from attribution import Journeys
    >>> j = Journeys.from_sequences([["A", "B"], ["B"]], [1, 1], [0, 0], [10.0, 5.0])
    >>> heuristic_attribution(j, "linear", n_bootstrap=0).to_frame()["conversions"].tolist()
    [0.5, 1.5]
    """
    if model not in _MODELS:
        raise InvalidModelOptionError(
            f"unknown heuristic model {model!r}; choose one of {', '.join(_MODELS)}"
        )
    return _MODELS[model](**params).fit(journeys).result_
