"""Domain errors and warnings of the attribution package.

Every error raised for bad input is a :class:`ValueError` subclass whose message names the
column or value at fault, the first offending row where there is one, and how to fix it.
:class:`SupportBoundError` is different: it reports a bug (a model gave credit outside the
bound its definition guarantees), never a property of the data. Statistical caveats are
:class:`AttributionWarning` warnings.
"""

from __future__ import annotations

__all__ = [
    "AttributionError",
    "AttributionWarning",
    "InputWarning",
    "InvalidCovariatesError",
    "InvalidJourneysError",
    "InvalidModelOptionError",
    "LowSupportWarning",
    "NotFittedError",
    "SupportBoundError",
]


class AttributionError(ValueError):
    """Base class for input errors raised by :mod:`attribution`."""


class InvalidJourneysError(AttributionError):
    """A path table or event log cannot be turned into valid journeys."""


class InvalidModelOptionError(AttributionError):
    """An attribution model option is out of range or inconsistent with the data."""


class InvalidCovariatesError(AttributionError):
    """A user table of covariates is invalid or does not match the journeys' users."""


class NotFittedError(ValueError, AttributeError):
    """A model was used (predicted, attributed, saved) before ``fit``: call ``fit`` first.

    The one not-fitted error of the project: attribution and uplift models raise it alike.
    Like scikit-learn's, it is both a :class:`ValueError` and an :class:`AttributeError`, so
    code catching either keeps working; :mod:`uplift.errors` exports it too (its former
    ``ModelNotFittedError`` is a deprecated alias).
    """


class SupportBoundError(RuntimeError):
    """A model's credit left ``[0, support]`` of a channel: a bug in the model, never shown.

    Every model's definition keeps a channel's credit between 0 and the conversions (and value)
    of the journeys that touch it (see :mod:`attribution.support`); a result that breaks this
    is refused instead of being reported.
    """


class AttributionWarning(UserWarning):
    """Base class for statistical caveats issued by :mod:`attribution`."""


class LowSupportWarning(AttributionWarning):
    """Some channels are touched by too few journeys or conversions for a stable estimate."""


class InputWarning(AttributionWarning):
    """The input reads, but probably not as meant (e.g. a wrong path separator)."""
