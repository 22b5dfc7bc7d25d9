"""Domain errors of the attribution package.

Every error raised for bad input is a :class:`ValueError` subclass whose message names the
column or value at fault, the first offending row where there is one, and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "AttributionError",
    "AttributionWarning",
    "InvalidCovariatesError",
    "InvalidJourneysError",
    "InvalidModelOptionError",
]


class AttributionError(ValueError):
    """Base class for input errors raised by :mod:`attribution`."""


class InvalidJourneysError(AttributionError):
    """A path table or event log cannot be turned into valid journeys."""


class InvalidModelOptionError(AttributionError):
    """An attribution model option is out of range or inconsistent with the data."""


class InvalidCovariatesError(AttributionError):
    """A user table of covariates is invalid or does not match the journeys' users."""


class AttributionWarning(UserWarning):
    """A statistical caveat of an attribution result (sparse support, poor overlap, ...)."""
