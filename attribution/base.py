"""Common machinery of attribution models: parameters, fitting and bootstrap intervals.

Every model splits its work in two:

* ``_prepare(journeys)`` does what depends only on the *paths* (parsing states, building
  incidence structures); it runs once;
* ``_credit(prepared, conversions, nulls, value)`` turns per-path counts into per-channel
  credit; it runs once for the point estimate and once per bootstrap replicate, with resampled
  counts on the same paths (see :mod:`attribution.bootstrap`).

Support bound, for every model: after every call of ``_credit`` the credit is checked against
the support of the counts it was given (:func:`attribution.support.check_within_support`):
``0 <= credit_c <= S_c`` and ``0 <= value credit_c <= V_c``, where ``S_c`` and ``V_c`` are the
conversions and value of the journeys touching channel ``c``. A model meets the bound by its
definition; a result that breaks it raises :class:`attribution.errors.SupportBoundError` and is
never shown. Intervals are clamped into the observed bound and contain the point estimate.
Channels with low support get a :class:`attribution.errors.LowSupportWarning` and a note.
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
import warnings
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

import numpy as np

from attribution._io import to_jsonable
from attribution._progress import ProgressCallback, counter
from attribution._validation import renamed, renamed_options
from attribution.bootstrap import BatchCredit, bootstrap_credit
from attribution.errors import InvalidModelOptionError, LowSupportWarning, NotFittedError
from attribution.journeys import Journeys
from attribution.result import AttributionResult, Credit
from attribution.support import (
    ChannelPresence,
    ChannelSupport,
    check_within_support,
    low_support_message,
)

__all__ = ["AttributionModel", "Credit"]

logger = logging.getLogger(__name__)

#: former parameter names -> current ones (accepted for one release)
_RENAMED = {"ci_level": "ci", "random_state": "seed"}


class AttributionModel(ABC):
    """Base class: ``fit(journeys)`` returns ``self`` with ``result_`` set.

    Subclasses store their own keyword-only parameters in ``__init__`` under the same names,
    pass the bootstrap parameters on to this ``__init__`` (``**bootstrap``) and implement
    :meth:`_prepare` and :meth:`_credit`. The bootstrap parameters shared by all models are:

    Parameters
    ----------
    n_bootstrap
        Bootstrap replicates for the confidence intervals (0 disables them).
    ci
        Coverage of the percentile intervals (formerly ``ci_level``, still accepted for one
        release with a :class:`DeprecationWarning`).
    bootstrap_method
        ``"poisson"`` or ``"multinomial"`` resampling of journeys (see
        :func:`attribution.bootstrap.resample_counts`).
    seed
        Seed of the bootstrap, given to :func:`numpy.random.default_rng` (results are
        deterministic given the seed); formerly ``random_state``, still accepted for one release.
    """

    #: name used on the command line and in reports
    name: ClassVar[str]

    def __init__(
        self,
        *,
        n_bootstrap: int = 200,
        ci: float = 0.95,
        bootstrap_method: str = "poisson",
        seed: int | None = 0,
        **former: Any,
    ) -> None:
        owner, level = type(self).__name__, _caller_stacklevel() + 2
        new = renamed_options(former, _RENAMED, owner=owner, stacklevel=level)
        self.n_bootstrap = n_bootstrap
        self.ci = new.get("ci", ci)
        self.bootstrap_method = bootstrap_method
        self.seed = new.get("seed", seed)

    # former names of ``ci`` and ``seed``, kept for one release
    @property
    def ci_level(self) -> float:
        """Deprecated name of :attr:`ci`."""
        renamed("ci_level", "ci", owner=type(self).__name__)
        return self.ci

    @ci_level.setter
    def ci_level(self, value: float) -> None:
        renamed("ci_level", "ci", owner=type(self).__name__)
        self.ci = value

    @property
    def random_state(self) -> int | None:
        """Deprecated name of :attr:`seed`."""
        renamed("random_state", "seed", owner=type(self).__name__)
        return self.seed

    @random_state.setter
    def random_state(self, value: int | None) -> None:
        renamed("random_state", "seed", owner=type(self).__name__)
        self.seed = value

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
        skip = {"n_bootstrap", "ci", "bootstrap_method", "seed"}
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
        if not 0.5 <= self.ci < 1:
            raise InvalidModelOptionError(f"ci must be in [0.5, 1), e.g. 0.95; got {self.ci!r}")
        if self.bootstrap_method not in ("poisson", "multinomial"):
            raise InvalidModelOptionError(
                f"bootstrap_method must be 'poisson' or 'multinomial', got "
                f"{self.bootstrap_method!r}"
            )

    def _validate_params(self, journeys: Journeys) -> None:  # noqa: B027 - optional hook
        """Check model parameters against the data; raise InvalidModelOptionError."""

    def _check_input(self, journeys: Journeys, builders: str = "from_paths / from_events") -> None:
        """Check what every ``fit`` checks first: a :class:`Journeys` object, valid options."""
        if not isinstance(journeys, Journeys):
            raise TypeError(
                f"fit() expects a Journeys object (see Journeys.{builders}), "
                f"got {type(journeys).__name__}"
            )
        self._validate_bootstrap_params()
        self._validate_params(journeys)

    # -------------------------------------------------------------------------------- fit

    @abstractmethod
    def _prepare(self, journeys: Journeys) -> Any:
        """Precompute what depends only on the paths."""

    @abstractmethod
    def _credit(
        self, prepared: Any, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> Credit:
        """Per-channel credit for the given per-path counts, within their support."""

    def _replicate_batch(self, prepared: Any, point: Credit) -> BatchCredit | None:
        """Return the credit of many bootstrap replicates at once, or ``None``.

        ``None`` (the default) calls ``_credit`` once per replicate.

        A model whose credit can be evaluated for a chunk of replicates together (a sparse
        product for credit linear in the counts, batched solves or fits otherwise) returns a
        :data:`attribution.bootstrap.BatchCredit`: counts ``(n_paths, k)`` in, credit
        ``(k, n_channels)`` out, row ``r`` equal to ``_credit`` of column ``r`` up to rounding.
        ``point`` is the point estimate (e.g. to warm-start a fit).
        """
        return None

    def _presence(self, prepared: Any, journeys: Journeys) -> ChannelPresence:
        """Channel presence on the paths (a model that already built it returns its own)."""
        return ChannelPresence.of(journeys)

    def _bounded_credit(
        self,
        prepared: Any,
        presence: ChannelPresence,
        conversions: np.ndarray,
        nulls: np.ndarray,
        value: np.ndarray,
        *,
        context: str,
    ) -> tuple[Credit, ChannelSupport]:
        """``_credit`` checked against the support of the same counts (rounding clamped)."""
        credit = self._credit(prepared, conversions, nulls, value)
        support = presence.support(conversions, nulls, value)
        credit.conversions, credit.value = check_within_support(
            credit.conversions, credit.value, support, model=self.name, context=context
        )
        return credit, support

    def _bounded_batch(self, batch: BatchCredit, presence: ChannelPresence) -> BatchCredit:
        """``batch`` checked against each replicate's own support (rounding clamped)."""

        def bounded(c: np.ndarray, n: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            conv, value = batch(c, n, v)
            return check_within_support(
                conv,
                value,
                presence.support_batch(c, n, v),
                model=self.name,
                context="bootstrap replicate",
            )

        return bounded

    def _notes(self, journeys: Journeys) -> tuple[str, ...]:
        return ()

    def fit(self, journeys: Journeys, *, progress: ProgressCallback | None = None) -> Self:
        """Fit the model on ``journeys`` and set ``result_``.

        Parameters
        ----------
        journeys
            The journeys to attribute.
        progress
            Optional callback ``progress(message)``, called with ``"bootstrap <done>/<total>"``
            every 10% of the bootstrap (see :mod:`attribution._progress`).
        """
        self._check_input(journeys)
        prepared = self._prepare(journeys)
        presence = self._presence(prepared, journeys)
        credit, support = self._bounded_credit(
            prepared,
            presence,
            journeys.conversions.astype(np.float64),
            journeys.nulls.astype(np.float64),
            journeys.value,
            context="point estimate",
        )
        ci = None
        if self.n_bootstrap:

            def replicate(c: np.ndarray, n: np.ndarray, v: np.ndarray) -> Credit:
                return self._bounded_credit(
                    prepared, presence, c, n, v, context="bootstrap replicate"
                )[0]

            batch = self._replicate_batch(prepared, credit)
            ci = bootstrap_credit(
                replicate,
                journeys,
                batch=None if batch is None else self._bounded_batch(batch, presence),
                n_replicates=self.n_bootstrap,
                level=self.ci,
                method=self.bootstrap_method,
                seed=self.seed,
                progress=counter(progress, "bootstrap"),
                support=support,
                point=(credit.conversions, credit.value),
            )
        notes = list(self._notes(journeys))
        low = low_support_message(support)
        if low is not None:
            notes.append(low)
            warnings.warn(low, LowSupportWarning, stacklevel=_caller_stacklevel())
        if ci is not None and ci.widened is not None and ci.widened.any():
            names = ", ".join(c for c, w in zip(journeys.channels, ci.widened, strict=True) if w)
            notes.append(
                f"the percentile interval missed the point estimate and was widened to contain "
                f"it for: {names}"
            )
        self.prepared_ = prepared
        self.journeys_ = journeys
        self.fitted_objects_ = credit.fitted
        self.result_ = AttributionResult(
            model=self.name,
            params=to_jsonable(self.model_params()),
            channels=journeys.channels,
            conversions=credit.conversions,
            value=credit.value,
            total_conversions=float(journeys.total_conversions),
            total_value=journeys.total_value,
            extras=credit.extras,
            ci=ci,
            notes=tuple(notes),
            diagnostics=credit.diagnostics,
            support=support,
        )
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "result_"):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet: call fit(journeys) first"
            )


def _caller_stacklevel() -> int:
    """``stacklevel`` of the first frame outside the attribution package (the user's call)."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame = sys._getframe(1)  # the function that will call warnings.warn
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level
