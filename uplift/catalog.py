"""Names of the uplift learners, as used on the command line and in saved models.

Plain strings, so the command line can list them without importing LightGBM or causalml; the
learners themselves are in :mod:`uplift.learners`.
"""

from __future__ import annotations

__all__ = ["LEARNERS"]

#: Learner names accepted by :class:`uplift.learners.UpliftModel`.
LEARNERS: tuple[str, ...] = ("s", "t", "x", "r", "dr", "uplift_rf")
