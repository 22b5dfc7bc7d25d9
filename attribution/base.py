"""Common machinery of attribution models: parameters, fitting and bootstrap intervals.

Every model splits its work in two:

* ``_prepare(journeys)`` does what depends only on the *paths* (parsing states, building
  incidence structures); it runs once;
* ``_credit(prepared, conversions, nulls, value)`` turns per-path counts into per-channel
  credit; it runs once for the point estimate and once per bootstrap replicate, with resampled
  counts on the same paths (see :mod:`attribution.bootstrap`).
"""

from __future__ import annotations

import inspect
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, Self

import numpy as np

from attribution.bootstrap import bootstrap_credit
from attribution.errors import InvalidModelOptionError
from attribution.journeys import Journeys
from attribution.result import AttributionResult, Credit

__all__ = ["AttributionModel", "Credit"]

logger = logging.getLogger(__name__)


class AttributionModel(ABC):
    """Base class: ``fit(journeys)`` returns ``self`` with ``result_`` set.

    Subclasses store their keyword-only parameters in ``__init__`` under the same names and
    implement :meth:`_prepare` and :meth:`_credit`. The bootstrap parameters shared by all models
    are:

    Parameters
    ----------
    n_bootstrap
        Bootstrap replicates for the confidence intervals (0 disables them).
    ci_level
        Coverage of the percentile intervals.
    bootstrap_method
        ``"poisson"`` or ``"multinomial"`` resampling of journeys (see
        :func:`attribution.bootstrap.resample_counts`).
    random_state
        Seed of the bootstrap (results are deterministic given the seed).
    """

    #: name used on the command line and in reports
    name: ClassVar[str]

    n_bootstrap: int
    ci_level: float
    bootstrap_method: str
    random_state: int | None

    # -------------------------------------------------------------------------------- params

    @classmethod
    def _param_names(cls) -> list[str]:
        names: list[str] = []
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None or klass is object:
                continue
            for p in inspect.signature(init).parameters.values():
                if p.kind is p.KEYWORD_ONLY and p.name not in names:
                    names.append(p.name)
        return names

    def get_params(self) -> dict[str, Any]:
        """Return the model's parameters, as given to ``__init__``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def model_params(self) -> dict[str, Any]:
        """Parameters that define the model (bootstrap settings excluded)."""
        skip = {"n_bootstrap", "ci_level", "bootstrap_method", "random_state"}
        return {k: v for k, v in self.get_params().items() if k not in skip}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _validate_bootstrap_params(self) -> None:
        if isinstance(self.n_bootstrap, bool) or not isinstance(self.n_bootstrap, int | np.integer):
            raise InvalidModelOptionError(
                f"n_bootstrap must be an integer, got {self.n_bootstrap!r}"
            )
        if self.n_bootstrap < 0 or 0 < self.n_bootstrap < 20:
            raise InvalidModelOptionError(
                f"n_bootstrap must be 0 (no intervals) or at least 20, got {self.n_bootstrap}"
            )
        if not 0.5 <= self.ci_level < 1:
            raise InvalidModelOptionError(
                f"ci_level must be in [0.5, 1), e.g. 0.95; got {self.ci_level!r}"
            )
        if self.bootstrap_method not in ("poisson", "multinomial"):
            raise InvalidModelOptionError(
                f"bootstrap_method must be 'poisson' or 'multinomial', got "
                f"{self.bootstrap_method!r}"
            )

    def _validate_params(self, journeys: Journeys) -> None:  # noqa: B027 - optional hook
        """Check model parameters against the data; raise InvalidModelOptionError."""

    # -------------------------------------------------------------------------------- fit

    @abstractmethod
    def _prepare(self, journeys: Journeys) -> Any:
        """Precompute what depends only on the paths."""

    @abstractmethod
    def _credit(
        self, prepared: Any, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> Credit:
        """Per-channel credit for the given per-path counts."""

    def _notes(self, journeys: Journeys) -> tuple[str, ...]:
        return ()

    def fit(
        self, journeys: Journeys, *, progress: Callable[[int, int], None] | None = None
    ) -> Self:
        """Fit the model on ``journeys`` and set ``result_``.

        Parameters
        ----------
        journeys
            The journeys to attribute.
        progress
            Optional callback ``progress(done, total)`` called during the bootstrap.
        """
        if not isinstance(journeys, Journeys):
            raise TypeError(
                f"fit() expects a Journeys object (see Journeys.from_paths / from_events), "
                f"got {type(journeys).__name__}"
            )
        self._validate_bootstrap_params()
        self._validate_params(journeys)
        prepared = self._prepare(journeys)
        credit = self._credit(
            prepared,
            journeys.conversions.astype(np.float64),
            journeys.nulls.astype(np.float64),
            journeys.value,
        )
        ci = None
        if self.n_bootstrap:
            ci = bootstrap_credit(
                lambda c, n, v: self._credit(prepared, c, n, v),
                journeys,
                n_replicates=self.n_bootstrap,
                level=self.ci_level,
                method=self.bootstrap_method,
                seed=self.random_state,
                progress=progress,
            )
        self.prepared_ = prepared
        self.journeys_ = journeys
        self.fitted_objects_ = credit.fitted
        self.result_ = AttributionResult(
            model=self.name,
            params=_json_params(self.model_params()),
            channels=journeys.channels,
            conversions=credit.conversions,
            value=credit.value,
            total_conversions=float(journeys.total_conversions),
            total_value=journeys.total_value,
            extras=credit.extras,
            ci=ci,
            notes=self._notes(journeys),
            diagnostics=credit.diagnostics,
        )
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "result_"):
            raise InvalidModelOptionError(
                f"{type(self).__name__} is not fitted yet: call fit(journeys) first"
            )


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, np.generic):
            value = value.item()
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out
