"""Data-driven attribution: a LightGBM conversion model as the value function of a Shapley split.

This is the counterfactual approach of the major analytics vendors' data-driven attribution.

**Conversion model.** A gradient-boosted classifier (``lightgbm.LGBMClassifier``) predicts
``P(conversion | journey features)`` from converting and non-converting journeys. Features of a
journey (or of a path with some channels removed):

* ``count:<channel>``: number of touches of each channel;
* ``length``: number of touches;
* ``first_channel``, ``last_channel``: channel of the first and last touch (categorical);
* only when the journeys carry timestamps (built from an event log) and ``use_timing=True``:
  ``duration_hours`` (last touch minus first touch) and ``mean_gap_hours``
  (``duration / (length - 1)``, 0 for one touch). Nothing measured from the last touch to the
  end of the journey is used: that gap is the time to conversion for converters and 0 for
  non-converters, so it would leak the label.

Without timestamps the rows are the unique paths, each entered twice: as a positive row
weighted by its conversions and a negative row weighted by its non-conversions. With timestamps
the rows are individual journeys. Held-out quality is measured on a random split of journeys
(``test_size``; path counts are thinned binomially): ``heldout_auc``, ``heldout_log_loss`` and,
for reference, ``heldout_base_log_loss`` (constant base rate) are reported in the result's
``diagnostics``. The model used for credit is then refitted on all journeys.

**Credit.** For a converting journey with distinct channel set ``C`` (``k = |C|``), the value of a
coalition ``S subset of C`` is the model's prediction for the journey with the touches of every
channel outside ``S`` *dropped* and the features recomputed (counts, length, first and last
channel and timing of the remaining touches, in their original order). ``v(empty)`` is the
``baseline``: ``"zero"`` (default; the whole predicted probability is shared) or ``"model"``
(the prediction for a journey with no touches, an extrapolation). The game is made monotone
by its cover ``vbar(S) = max over U subset of S of v(U)`` (free disposal: dropping touches
never raises the conversion probability; a tree model can predict a journey below one of its
sub-journeys, which would otherwise give a channel a negative share and another more than the
whole conversion). Journeys the cover raises are counted in ``n_raised_by_cover``. The journey's
Shapley values ``phi_c`` of ``vbar`` are exact over all ``2^k`` coalitions when
``k <= max_exact_channels``; otherwise they are the mean marginal contribution over
``n_permutations`` random channel orders of the journey, with the cover approximated along each
order by the running maximum of the predictions of its prefixes (exact when the predictions
increase along it). Either way ``phi_c >= 0``. They are normalised to fractions
``phi_c / sum_d phi_d`` in ``[0, 1]`` that sum to 1, so each conversion (and its value) is
shared among its own channels. When ``sum_d phi_d = 0`` (possible only with
``baseline="model"``: no sub-journey is predicted above the empty one) the journey is split
equally (``n_equal_split``). Channel credit is the sum of fractions over converting journeys,
so credits sum to the total conversions and value, and a channel's credit lies in ``[0, S_c]``
(value: ``[0, V_c]``), the conversions (value) of the journeys touching it.

**Intervals.** The conversion model and the per-path fractions are fitted once; bootstrap
replicates resample journeys and re-aggregate the fractions. The intervals therefore reflect
journey sampling in the aggregation, not the variability of refitting the model.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from attribution.base import AttributionModel, Credit
from attribution.bootstrap import BatchCredit, linear_batch
from attribution.errors import InvalidModelOptionError
from attribution.journeys import Journeys
from attribution.result import AttributionResult
from attribution.shapley import exact_shapley, monotone_cover

__all__ = ["DataDrivenAttribution", "data_driven_attribution"]

logger = logging.getLogger(__name__)

_CHUNK_ROWS = 400_000
_NS_PER_HOUR = 3.6e12


@dataclass(frozen=True, eq=False)
class _Units:
    """Journeys (or unique paths) as units with per-channel summaries.

    ``group_*`` arrays have one entry per (unit, distinct channel), sorted by unit then channel.
    """

    n_units: int
    path: np.ndarray  # (n_units,) path index of each unit
    distinct: np.ndarray  # (n_units,) number of distinct channels
    group_start: np.ndarray  # (n_units,) first group of each unit
    group_channel: np.ndarray
    group_count: np.ndarray
    group_first_pos: np.ndarray
    group_last_pos: np.ndarray
    group_first_time: np.ndarray | None  # hours
    group_last_time: np.ndarray | None


def _touch_table(
    journeys: Journeys, timed: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Touch-level arrays: (unit offsets, unit path, channel, position, time in hours)."""
    if not timed:
        offsets = journeys.offsets
        position = np.arange(journeys.touches.shape[0]) - np.repeat(offsets[:-1], journeys.lengths)
        return offsets, np.arange(journeys.n_paths), journeys.touches, position, None
    timing = journeys.timing
    assert timing is not None  # checked by the caller
    offsets = timing.touch_offsets.astype(np.int64)
    lengths = np.diff(offsets)
    unit_of_touch = np.repeat(np.arange(timing.n_journeys), lengths)
    position = np.arange(offsets[-1]) - offsets[:-1][unit_of_touch]
    path = timing.path_index[unit_of_touch]
    channel = journeys.touches[journeys.offsets[path] + position]
    time = timing.touch_time.astype("datetime64[ns]").astype(np.int64)
    hours = (time - time.min()) / _NS_PER_HOUR if time.size else time.astype(float)
    return offsets, timing.path_index, channel, position, hours


def _build_units(
    offsets: np.ndarray,
    unit_path: np.ndarray,
    channel: np.ndarray,
    position: np.ndarray,
    hours: np.ndarray | None,
    n_channels: int,
) -> _Units:
    n_units = offsets.shape[0] - 1
    unit_of_touch = np.repeat(np.arange(n_units), np.diff(offsets))
    key = unit_of_touch * n_channels + channel.astype(np.int64)
    uniq, first_idx, inverse, counts = np.unique(
        key, return_index=True, return_inverse=True, return_counts=True
    )
    inverse = inverse.ravel()
    n_groups = uniq.shape[0]
    last_pos = np.zeros(n_groups, dtype=np.int64)
    np.maximum.at(last_pos, inverse, position)
    group_unit = uniq // n_channels
    distinct = np.bincount(group_unit, minlength=n_units)
    first_time = last_time = None
    if hours is not None:
        first_time = np.full(n_groups, np.inf)
        np.minimum.at(first_time, inverse, hours)
        last_time = np.full(n_groups, -np.inf)
        np.maximum.at(last_time, inverse, hours)
    return _Units(
        n_units=n_units,
        path=np.asarray(unit_path),
        distinct=distinct,
        group_start=np.concatenate([[0], np.cumsum(distinct)[:-1]]).astype(np.int64),
        group_channel=(uniq % n_channels).astype(np.int64),
        group_count=counts.astype(np.float64),
        group_first_pos=position[first_idx].astype(np.int64),
        group_last_pos=last_pos,
        group_first_time=first_time,
        group_last_time=last_time,
    )


def _coalition_features(
    units: _Units, unit_idx: np.ndarray, k: int, keep: np.ndarray, n_channels: int
) -> np.ndarray:
    """Features of units ``unit_idx`` (all with ``k`` distinct channels) under coalitions.

    ``keep`` is ``(1 or n_u, M, k)`` boolean: which of each unit's channels (in channel order)
    are kept in each of ``M`` coalitions. Returns ``(n_u * M, n_features)``.
    """
    n_u = unit_idx.shape[0]
    m = keep.shape[1]
    g = units.group_start[unit_idx][:, None] + np.arange(k)[None, :]  # (n_u, k)
    code = units.group_channel[g]
    count = units.group_count[g]
    keep = np.broadcast_to(keep, (n_u, m, k))
    timed = units.group_first_time is not None
    n_feat = n_channels + 3 + (2 if timed else 0)
    x = np.zeros((n_u, m, n_feat))
    kept_count = count[:, None, :] * keep  # (n_u, m, k)
    # scatter counts: each unit has its own channel columns
    ui = np.repeat(np.arange(n_u), m * k)
    mi = np.tile(np.repeat(np.arange(m), k), n_u)
    ci = np.broadcast_to(code[:, None, :], (n_u, m, k)).ravel()
    x[ui, mi, ci] = kept_count.ravel()
    length = kept_count.sum(axis=2)
    x[:, :, n_channels] = length
    first_pos = np.where(keep, units.group_first_pos[g][:, None, :], np.iinfo(np.int64).max)
    last_pos = np.where(keep, units.group_last_pos[g][:, None, :], -1)
    first_local = first_pos.argmin(axis=2)
    last_local = last_pos.argmax(axis=2)
    any_kept = keep.any(axis=2)
    first_code = np.take_along_axis(code[:, None, :].repeat(m, axis=1), first_local[..., None], 2)
    last_code = np.take_along_axis(code[:, None, :].repeat(m, axis=1), last_local[..., None], 2)
    x[:, :, n_channels + 1] = np.where(any_kept, first_code[..., 0], np.nan)
    x[:, :, n_channels + 2] = np.where(any_kept, last_code[..., 0], np.nan)
    if timed:
        assert units.group_first_time is not None and units.group_last_time is not None
        ft = np.where(keep, units.group_first_time[g][:, None, :], np.inf).min(axis=2)
        lt = np.where(keep, units.group_last_time[g][:, None, :], -np.inf).max(axis=2)
        duration = np.where(any_kept, lt - ft, 0.0)
        x[:, :, n_channels + 3] = duration
        x[:, :, n_channels + 4] = np.where(length > 1, duration / np.maximum(length - 1, 1), 0.0)
    return x.reshape(n_u * m, n_feat)


def _full_features(units: _Units, n_channels: int) -> np.ndarray:
    """Features of every unit with all its touches (the training rows)."""
    out = np.zeros(
        (units.n_units, n_channels + 3 + (2 if units.group_first_time is not None else 0))
    )
    for k in np.unique(units.distinct):
        idx = np.flatnonzero(units.distinct == k)
        keep = np.ones((1, 1, int(k)), dtype=bool)
        for chunk in np.array_split(idx, max(1, idx.shape[0] // _CHUNK_ROWS + 1)):
            if chunk.size:
                out[chunk] = _coalition_features(units, chunk, int(k), keep, n_channels)
    return out


def _subset_bits(k: int) -> np.ndarray:
    masks = np.arange(1 << k)
    return ((masks[:, None] >> np.arange(k)[None, :]) & 1).astype(bool)


def _weighted_auc(score: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if np.unique(y[w > 0]).shape[0] < 2:
        return float("nan")
    return float(roc_auc_score(y, score, sample_weight=w))


def _log_loss(p: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-(w * (y * np.log(p) + (1 - y) * np.log1p(-p))).sum() / w.sum())


@dataclass(frozen=True, eq=False)
class _Prepared:
    conversions: sp.csr_matrix  # (n_paths, n_channels) per-path conversion fractions
    value: sp.csr_matrix
    diagnostics: dict[str, float]


class DataDrivenAttribution(AttributionModel):
    """Data-driven attribution: Shapley split of a LightGBM conversion model's predictions.

    See the module docstring for the features, the definition of removing a channel, the
    baseline, the normalisation and what the intervals cover.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves
        LightGBM settings of the conversion model.
    min_child_weight
        Smallest sum of Hessians ``w p (1 - p)`` in a leaf (LightGBM ``min_child_weight``). It is
        the leaf-size control because it means the same whether rows are unique paths weighted
        by their counts or single journeys (about 20 journeys at a 5% conversion rate per unit);
        the row-count limit ``min_child_samples`` is set to 1.
    test_size
        Fraction of journeys held out to report AUC and log-loss, in ``(0, 0.9]``.
    use_timing
        Use the timing features when the journeys carry timestamps.
    baseline
        ``v(empty)``: ``"zero"`` (default) or ``"model"``.
    max_exact_channels
        Journeys with at most this many distinct channels (1 to 16) get exact Shapley values;
        others are sampled with ``n_permutations`` random channel orders.
    n_permutations
        Random orders per journey when sampling (``>= 2``).
    n_jobs
        LightGBM threads.
    n_bootstrap, ci, bootstrap_method, seed
        Bootstrap intervals (see :class:`attribution.base.AttributionModel`); ``seed`` also
        seeds LightGBM, the held-out split and the permutations.

    Attributes
    ----------
    result_ : AttributionResult
        Credit per channel; ``diagnostics`` holds the held-out metrics and counts.
    model_ : lightgbm.LGBMClassifier
        The conversion model fitted on all journeys.
    feature_names_ : list of str
        Names of the model's features (LightGBM sees them as ``Column_0``, ``Column_1``, ...).
    """

    name = "data_driven"

    def __init__(
        self,
        *,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_weight: float = 1.0,
        test_size: float = 0.25,
        use_timing: bool = True,
        baseline: str = "zero",
        max_exact_channels: int = 10,
        n_permutations: int = 200,
        n_jobs: int = 1,
        **bootstrap: Any,
    ) -> None:
        super().__init__(**bootstrap)
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_weight = min_child_weight
        self.test_size = test_size
        self.use_timing = use_timing
        self.baseline = baseline
        self.max_exact_channels = max_exact_channels
        self.n_permutations = n_permutations
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------------------ checks

    def _validate_params(self, journeys: Journeys) -> None:
        for name, low, high in (
            ("n_estimators", 1, 100_000),
            ("num_leaves", 2, 131_072),
            ("max_exact_channels", 1, 16),
            ("n_permutations", 2, 100_000),
            ("n_jobs", -1, 1024),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise InvalidModelOptionError(f"{name} must be an integer, got {value!r}")
            if not low <= value <= high:
                raise InvalidModelOptionError(
                    f"{name} must be between {low} and {high}, got {value}"
                )
        if not (
            isinstance(self.min_child_weight, int | float)
            and not isinstance(self.min_child_weight, bool)
            and 0 <= self.min_child_weight < math.inf
        ):
            raise InvalidModelOptionError(
                f"min_child_weight must be a non-negative number, got {self.min_child_weight!r}"
            )
        if not (isinstance(self.learning_rate, int | float) and 0 < self.learning_rate <= 1):
            raise InvalidModelOptionError(
                f"learning_rate must be in (0, 1], got {self.learning_rate!r}"
            )
        if not (isinstance(self.test_size, int | float) and 0 < self.test_size <= 0.9):
            raise InvalidModelOptionError(f"test_size must be in (0, 0.9], got {self.test_size!r}")
        if self.baseline not in ("zero", "model"):
            raise InvalidModelOptionError(
                f"baseline must be 'zero' or 'model', got {self.baseline!r}"
            )
        if journeys.nulls.sum() == 0:
            raise InvalidModelOptionError(
                "data-driven attribution needs non-converting journeys to learn a conversion "
                "model; these journeys all converted (use e.g. 'shapley' instead)"
            )

    def _timed(self, journeys: Journeys) -> bool:
        return bool(self.use_timing) and journeys.timing is not None

    def _notes(self, journeys: Journeys) -> tuple[str, ...]:
        if journeys.timing is None:
            return ("no timestamps: the conversion model uses path features only",)
        return ()

    # ------------------------------------------------------------------------------ model

    def _classifier(self) -> Any:
        import lightgbm as lgb

        return lgb.LGBMClassifier(
            n_estimators=int(self.n_estimators),
            learning_rate=float(self.learning_rate),
            num_leaves=int(self.num_leaves),
            min_child_samples=1,
            min_child_weight=float(self.min_child_weight),
            min_data_in_bin=1,
            n_jobs=int(self.n_jobs),
            random_state=0 if self.seed is None else int(self.seed),
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )

    def _fit_model(self, x: np.ndarray, y: np.ndarray, w: np.ndarray, cat: list[int]) -> Any:
        keep = w > 0
        model = self._classifier()
        model.fit(
            x[keep],
            y[keep],
            sample_weight=w[keep],
            categorical_feature=cat,
        )
        return model

    def _training_rows(
        self, journeys: Journeys, units: _Units, features: np.ndarray, timed: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rows, labels, all-data weights and training weights (held-out part removed)."""
        rng = np.random.default_rng(self.seed)
        if timed:
            assert journeys.timing is not None
            y = journeys.timing.converted.astype(np.float64)
            w = np.ones(units.n_units)
            train = (rng.random(units.n_units) >= self.test_size).astype(np.float64)
            return features, y, w, train
        conv, nulls = journeys.conversions, journeys.nulls
        x = np.concatenate([features, features])
        y = np.concatenate([np.ones(units.n_units), np.zeros(units.n_units)])
        w = np.concatenate([conv, nulls]).astype(np.float64)
        test = np.concatenate(
            [rng.binomial(conv, self.test_size), rng.binomial(nulls, self.test_size)]
        )
        return x, y, w, w - test

    def _prepare(self, journeys: Journeys) -> _Prepared:
        timed = self._timed(journeys)
        n_ch = journeys.n_channels
        units = _build_units(*_touch_table(journeys, timed), n_channels=n_ch)
        features = _full_features(units, n_ch)
        self.feature_names_ = [f"count:{c}" for c in journeys.channels] + [
            "length",
            "first_channel",
            "last_channel",
        ]
        if timed:
            self.feature_names_ += ["duration_hours", "mean_gap_hours"]
        cat = [n_ch + 1, n_ch + 2]
        x, y, w, w_train = self._training_rows(journeys, units, features, timed)
        w_test = w - w_train
        diagnostics: dict[str, float] = {}
        # both outcomes on both sides of the split, or no held-out metrics
        if min(w_test[y == 1].sum(), w_test[y == 0].sum()) > 0 and (
            min(w_train[y == 1].sum(), w_train[y == 0].sum()) > 0
        ):
            held = self._fit_model(x, y, w_train, cat)
            test = w_test > 0
            p = held.predict_proba(x[test])[:, 1]
            rate = float((w_train * y).sum() / w_train.sum())
            diagnostics["heldout_auc"] = _weighted_auc(p, y[test], w_test[test])
            diagnostics["heldout_log_loss"] = _log_loss(p, y[test], w_test[test])
            diagnostics["heldout_base_log_loss"] = _log_loss(
                np.full(p.shape, rate), y[test], w_test[test]
            )
        else:
            logger.warning("too few journeys to hold some out: no held-out metrics reported")
        self.model_ = self._fit_model(x, y, w, cat)
        diagnostics["n_training_rows"] = float((w > 0).sum())

        # ---- credit fractions of converting units
        if timed:
            assert journeys.timing is not None
            converting = journeys.timing.converted
        else:
            converting = journeys.conversions > 0
        baseline = 0.0
        if self.baseline == "model":
            empty = np.zeros((1, x.shape[1]))
            empty[0, n_ch + 1 : n_ch + 3] = np.nan
            baseline = float(self.model_.predict_proba(empty)[0, 1])
        diagnostics["v_empty"] = baseline
        fractions = np.zeros(units.group_channel.shape[0])
        rng = np.random.default_rng(self.seed)
        n_coalitions = n_sampled = n_equal = n_raised = 0
        for k in np.unique(units.distinct[converting]):
            k = int(k)
            idx = np.flatnonzero(converting & (units.distinct == k))
            exact = k <= int(self.max_exact_channels)
            per_unit = (1 << k) - 1 if exact else int(self.n_permutations) * k
            step = max(1, _CHUNK_ROWS // per_unit)
            for start in range(0, idx.shape[0], step):
                chunk = idx[start : start + step]
                if exact:
                    keep = _subset_bits(k)[1:][None, :, :]
                    pred = self._predict(units, chunk, k, keep, n_ch).reshape(chunk.shape[0], -1)
                    values = np.concatenate([np.full((chunk.shape[0], 1), baseline), pred], 1)
                    cover = monotone_cover(values, k)
                    phi = exact_shapley(cover, k)
                    n_raised += int((cover[:, -1] > values[:, -1]).sum())
                else:
                    phi, raised = self._sampled(units, chunk, k, n_ch, baseline, rng)
                    n_sampled += chunk.shape[0]
                    n_raised += int(raised.sum())
                n_coalitions += chunk.shape[0] * per_unit
                total = phi.sum(axis=1, keepdims=True)
                bad = ~(total[:, 0] > 0)
                n_equal += int(bad.sum())
                frac = np.where(bad[:, None], 1.0 / k, phi / np.where(bad[:, None], 1.0, total))
                g = units.group_start[chunk][:, None] + np.arange(k)[None, :]
                fractions[g.ravel()] = frac.ravel()
        diagnostics.update(
            n_coalitions=float(n_coalitions),
            n_sampled_journeys=float(n_sampled),
            n_equal_split=float(n_equal),
            n_raised_by_cover=float(n_raised),
        )
        group_unit = np.repeat(np.arange(units.n_units), units.distinct)
        shape = (journeys.n_paths, n_ch)
        rows = units.path[group_unit]
        if timed:
            assert journeys.timing is not None
            jv = journeys.timing.value[group_unit]
            conv_sum = sp.csr_matrix((fractions, (rows, units.group_channel)), shape=shape)
            val_sum = sp.csr_matrix((fractions * jv, (rows, units.group_channel)), shape=shape)
            inv_c = np.divide(
                1.0, journeys.conversions, out=np.zeros(shape[0]), where=journeys.conversions > 0
            )
            inv_v = np.divide(1.0, journeys.value, out=np.zeros(shape[0]), where=journeys.value > 0)
            return _Prepared(sp.diags(inv_c) @ conv_sum, sp.diags(inv_v) @ val_sum, diagnostics)
        matrix = sp.csr_matrix((fractions, (rows, units.group_channel)), shape=shape)
        return _Prepared(matrix, matrix, diagnostics)

    def _predict(
        self, units: _Units, chunk: np.ndarray, k: int, keep: np.ndarray, n_ch: int
    ) -> np.ndarray:
        x = _coalition_features(units, chunk, k, keep, n_ch)
        return np.asarray(self.model_.predict_proba(x)[:, 1])

    def _sampled(
        self,
        units: _Units,
        chunk: np.ndarray,
        k: int,
        n_ch: int,
        baseline: float,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean marginals of the running-maximum game over random orders.

        Also returns which units' full journey is predicted below one of its prefixes.
        """
        n_u, n_p = chunk.shape[0], int(self.n_permutations)
        perms = np.argsort(rng.random((n_u, n_p, k)), axis=2)  # local channel order
        rank = np.argsort(perms, axis=2)  # position of each local channel
        # prefix j keeps channels with rank <= j: keep[u, p, j, c]
        keep = rank[:, :, None, :] <= np.arange(k)[None, None, :, None]
        pred = self._predict(units, chunk, k, keep.reshape(n_u, n_p * k, k), n_ch)
        along = np.concatenate(
            [np.full((n_u, n_p, 1), baseline), pred.reshape(n_u, n_p, k)], axis=2
        )
        # the monotone cover along each order: the best prediction of any prefix so far
        running = np.maximum.accumulate(along, axis=2)
        marginal = np.diff(running, axis=2)  # marginal of the channel at each position
        phi_samples = np.take_along_axis(marginal, rank, axis=2)
        raised = np.asarray((running[:, :, -1] > along[:, :, -1]).any(axis=1))
        return phi_samples.mean(axis=1), raised

    def _credit(
        self, prepared: _Prepared, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> Credit:
        return Credit(
            conversions=np.asarray(prepared.conversions.T @ conversions, dtype=np.float64),
            value=np.asarray(prepared.value.T @ value, dtype=np.float64),
            diagnostics=dict(prepared.diagnostics),
        )

    def _replicate_batch(self, prepared: _Prepared, point: Credit) -> BatchCredit:
        return linear_batch(prepared.conversions, prepared.value)

    def fit(self, journeys: Journeys, **kwargs: Any) -> DataDrivenAttribution:
        """Fit the conversion model, the credit fractions and ``result_`` (with intervals)."""
        super().fit(journeys, **kwargs)
        return self


def data_driven_attribution(journeys: Journeys, **params: Any) -> AttributionResult:
    """Fit :class:`DataDrivenAttribution` on ``journeys`` and return its result."""
    return DataDrivenAttribution(**params).fit(journeys).result_
