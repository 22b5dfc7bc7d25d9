"""Domain errors of the experiments layer (tracking, registry, retraining).

Every error raised for input a user can fix is a :class:`ValueError` subclass (via
:class:`ExperimentError`) whose message names the key, file or model at fault and how to fix
it. The command line turns them into a single ``error: ...`` line with exit status 2.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ExperimentError",
    "RegistryError",
    "TrackingStoreError",
]


class ExperimentError(ValueError):
    """Base class for input errors raised by :mod:`experiments`."""


class ConfigError(ExperimentError):
    """A configuration file or mapping is invalid.

    The message starts with the dotted key path (``evaluation.margin: ...``) and, for an unknown
    key, suggests the closest valid one.
    """


class TrackingStoreError(ExperimentError):
    """The tracking store cannot be used as configured (e.g. old file-store data in the way)."""


class RegistryError(ExperimentError):
    """A registered model, version or alias is missing or cannot be used."""
