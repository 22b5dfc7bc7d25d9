"""Propensity scores for observational (non-randomized) uplift data.

For each treated arm ``a`` a LightGBM classifier estimates ``e_a(x) = P(T=a | x, T in {a, c})``
on the rows of arm ``a`` and the control ``c`` (the pairwise propensity the meta-learners use).
Training rows get out-of-fold estimates (``n_folds``-fold cross-fitting, folds drawn with the
seed); new rows get the estimate of the model fitted on all rows. Every estimate is clipped to
``[clip, 1 - clip]``.

Overlap is checked on the out-of-fold estimates: if more than ``max_outside_share`` of the rows
of an arm/control pair have ``e_a(x)`` outside ``[overlap_bounds[0], overlap_bounds[1]]`` an
:class:`~uplift.errors.OverlapWarning` names the arm and the share.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.model_selection import StratifiedKFold

from uplift.errors import OverlapWarning

__all__ = ["PropensityModel"]

logger = logging.getLogger(__name__)


class PropensityModel:
    """Pairwise propensity models, one LightGBM classifier per treated arm.

    Parameters
    ----------
    lgbm_params
        Keyword arguments of :class:`lightgbm.LGBMClassifier`.
    n_folds
        Folds for the out-of-fold estimates of the training rows.
    clip
        Estimates are clipped to ``[clip, 1 - clip]``.
    overlap_bounds, max_outside_share
        Overlap check (see the module docstring).
    seed
        Seed of the folds.
    """

    def __init__(
        self,
        *,
        lgbm_params: Mapping[str, Any] | None = None,
        n_folds: int = 3,
        clip: float = 0.01,
        overlap_bounds: tuple[float, float] = (0.05, 0.95),
        max_outside_share: float = 0.01,
        seed: int = 0,
    ) -> None:
        self.lgbm_params = lgbm_params
        self.n_folds = n_folds
        self.clip = clip
        self.overlap_bounds = overlap_bounds
        self.max_outside_share = max_outside_share
        self.seed = seed

    def fit(
        self, X: np.ndarray, treatment: np.ndarray, arms: tuple[str, ...], control: str
    ) -> dict[str, np.ndarray]:
        """Fit one model per arm; return out-of-fold estimates for every training row.

        The returned arrays have one entry per row of ``X`` (rows of other arms get the
        full-data model's estimate; the meta-learners only read the rows of the pair).
        """
        params = dict(self.lgbm_params or {})
        self.models_: dict[str, lgb.LGBMClassifier | lgb.Booster] = {}
        self.overlap_: dict[str, float] = {}
        out: dict[str, np.ndarray] = {}
        lo, hi = self.overlap_bounds
        for arm in arms:
            mask = (treatment == arm) | (treatment == control)
            Xp, w = X[mask], (treatment[mask] == arm).astype(int)
            model = lgb.LGBMClassifier(**params)
            model.fit(Xp, w)
            self.models_[arm] = model
            full = self._clip(np.asarray(model.predict_proba(X))[:, 1])
            oof = np.empty(w.shape[0])
            folds = StratifiedKFold(n_splits=self.n_folds, shuffle=True, random_state=self.seed)
            for fit_idx, pred_idx in folds.split(Xp, w):
                m = lgb.LGBMClassifier(**params)
                m.fit(Xp[fit_idx], w[fit_idx])
                oof[pred_idx] = np.asarray(m.predict_proba(Xp[pred_idx]))[:, 1]
            oof = self._clip(oof)
            full[mask] = oof
            out[arm] = full
            share = float(np.mean((oof < lo) | (oof > hi)))
            self.overlap_[arm] = share
            if share > self.max_outside_share:
                msg = (
                    f"poor overlap for arm {arm!r} vs control {control!r}: {share:.1%} of their "
                    f"rows have an estimated propensity outside [{lo}, {hi}]; uplift estimates "
                    "for those customers rest on extrapolation (consider trimming them or "
                    "restricting the features)"
                )
                logger.warning(msg)
                warnings.warn(msg, OverlapWarning, stacklevel=3)
        return out

    def get_params(self) -> dict[str, Any]:
        """Return the constructor arguments (scikit-learn convention)."""
        return {
            "lgbm_params": self.lgbm_params,
            "n_folds": self.n_folds,
            "clip": self.clip,
            "overlap_bounds": self.overlap_bounds,
            "max_outside_share": self.max_outside_share,
            "seed": self.seed,
        }

    def predict(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Clipped pairwise propensity of every arm for the rows of ``X``.

        The models are LightGBM classifiers after :meth:`fit`, and their boosters after loading
        a saved model (``Booster.predict`` is the classifier's ``predict_proba(X)[:, 1]``).
        """
        return {arm: self._clip(_probability(m, X)) for arm, m in self.models_.items()}

    def _clip(self, p: np.ndarray) -> np.ndarray:
        return np.clip(p, self.clip, 1.0 - self.clip)


def _probability(model: lgb.LGBMClassifier | lgb.Booster, X: np.ndarray) -> np.ndarray:
    if isinstance(model, lgb.Booster):
        return np.asarray(model.predict(X), dtype=np.float64)
    return np.asarray(model.predict_proba(X))[:, 1]
