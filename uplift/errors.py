"""Domain errors and warnings of the uplift package.

Every error raised for bad input is a :class:`ValueError` subclass (via :class:`UpliftError`)
whose message names the column, arm or value at fault, the first offending row where there is
one, and how to fix it. The command line turns them into a single ``error: ...`` line with exit
status 2.
"""

from __future__ import annotations

from typing import Any

from attribution.errors import NotFittedError

__all__ = [
    "InvalidUpliftDataError",
    "InvalidUpliftOptionError",
    "MissingFeaturesError",
    "ModelStoreError",
    "NotFittedError",
    "OverlapWarning",
    "PostTreatmentWarning",
    "UpliftError",
    "UpliftWarning",
]


class UpliftError(ValueError):
    """Base class for input errors raised by :mod:`uplift`."""


class InvalidUpliftDataError(UpliftError):
    """A data frame cannot be turned into a valid uplift dataset.

    Raised for a missing control arm, an arm with too few rows, missing values in the treatment
    or outcome column, a non-binary outcome where a binary one is required, and similar problems.
    """


class MissingFeaturesError(InvalidUpliftDataError):
    """A frame to score lacks feature columns the model was trained on."""


class InvalidUpliftOptionError(UpliftError):
    """An option (learner name, budget, cost, interval level, ...) is out of range."""


class ModelStoreError(UpliftError):
    """A saved model directory is missing, incomplete or written by an incompatible version."""


class UpliftWarning(UserWarning):
    """Base class for warnings issued by :mod:`uplift`."""


class OverlapWarning(UpliftWarning):
    """Estimated propensity scores show poor overlap between an arm and the control."""


class PostTreatmentWarning(UpliftWarning):
    """A column left out of the default features: its distribution differs by arm.

    In a randomized experiment a pre-treatment column has the same distribution in every arm
    (up to chance); one that differs was most likely changed by the treatment (an outcome such
    as spend), and using it as a feature would leak the outcome into the model.
    """


def __getattr__(name: str) -> Any:
    # the former not-fitted error: one class serves both packages now
    if name == "ModelNotFittedError":
        from attribution._validation import renamed

        renamed("ModelNotFittedError", "NotFittedError", owner="uplift.errors")
        return NotFittedError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
