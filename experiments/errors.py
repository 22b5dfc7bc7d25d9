"""Domain errors of the experiments layer (tracking, registry, retraining).

Every error raised for input a user can fix is a :class:`ValueError` subclass (via
:class:`ExperimentError`) whose message names the key, file or model at fault and how to fix
it. The command line turns them into a single ``error: ...`` line with exit status 2.
"""

from __future__ import annotations

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "EXIT_KEPT",
    "EXIT_PROMOTED",
    "EXIT_SKIPPED",
    "ConfigError",
    "ExperimentError",
    "RegistryError",
    "TrackingStoreError",
]

# Exit statuses of the command line: every command exits 0, 1 (failure) or 2 (bad input);
# ``pathlift retrain`` also exits 3 or 4 (see :class:`experiments.retrain.RetrainOutcome`).
EXIT_PROMOTED = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_KEPT = 3
EXIT_SKIPPED = 4


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
