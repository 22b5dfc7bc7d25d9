"""Pre-exposure user covariates: the user table that causal attribution adjusts for.

A :class:`UserCovariates` holds one row per user, keyed by the user column of the event log, with
numeric and categorical columns known *before* any exposure (past visits, tenure, segment, CRM
scores). Attach it to journeys cut from an event log with :meth:`Journeys.with_users
<attribution.journeys.Journeys.with_users>`; the ``causal`` model reads it from there.

Rules, checked once by :meth:`UserCovariates.from_frame`:

* the user column is present, never missing, and unique (one row per user);
* at least one covariate column; by default every column but the user column;
* numeric columns (numbers, booleans) hold finite numbers or missing values; every other column
  is categorical (its values compared as strings), with at most :data:`MAX_LEVELS` levels and
  not one level per row (an identifier, not a covariate);
* a column that is missing on every row is refused; a constant column carries no information
  and is dropped with a warning.

Encoding (:meth:`UserCovariates.matrix`) is :class:`uplift.data.FeatureSchema`'s: numeric as
``float64`` with ``NaN`` for missing values, categorical as the integer code among the sorted
levels (missing values ``NaN``), which LightGBM reads as a categorical feature.

Covariates must be measured before exposure: a column that marketing itself moves (visits
after a campaign, an opened-e-mail flag) is a *post-treatment* variable and biases every effect.
pathlift cannot check timing; it flags a column that predicts a channel's exposure almost
perfectly (see the overlap diagnostic of :class:`attribution.causal.CausalAttribution`).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from attribution._io import read_frame
from attribution._validation import first_true, require_columns, shown
from attribution.errors import AttributionWarning, InvalidCovariatesError
from uplift.data import FeatureSchema

__all__ = ["MAX_LEVELS", "UserCovariates"]

logger = logging.getLogger(__name__)

MAX_LEVELS = 1_000
"""Most levels a categorical covariate may have."""


@dataclass(frozen=True, eq=False)
class UserCovariates:
    """One row of pre-exposure covariates per user (build it with :meth:`from_frame`).

    Attributes
    ----------
    frame
        The covariate columns, indexed by the user key (unique).
    schema
        Names and kinds of the covariates and the levels of the categorical ones.
    user_col
        Name of the user column in the input.
    dropped
        Constant columns that were dropped.
    """

    frame: pd.DataFrame
    schema: FeatureSchema
    user_col: str
    dropped: tuple[str, ...] = ()

    @property
    def n_users(self) -> int:
        """Number of users in the table."""
        return len(self.frame)

    @property
    def names(self) -> tuple[str, ...]:
        """Covariate column names, in model order."""
        return self.schema.names

    def __repr__(self) -> str:
        kinds = ", ".join(
            f"{n} ({k})" for n, k in zip(self.schema.names, self.schema.kinds, strict=True)
        )
        return f"UserCovariates({self.n_users:,} users; {kinds})"

    @classmethod
    def from_frame(
        cls,
        data: pd.DataFrame | str | os.PathLike[str],
        *,
        user_col: str = "user_id",
        covariate_cols: Sequence[str] | None = None,
    ) -> UserCovariates:
        """Validate a user table (a DataFrame, or a CSV or Parquet file).

        Parameters
        ----------
        data
            One row per user.
        user_col
            The user key, matching the event log's user column.
        covariate_cols
            The covariates; default every column but ``user_col``.

        Raises
        ------
        InvalidCovariatesError
            A missing column, a missing or duplicated user key, no covariate, a numeric column
            with an infinite value, an all-missing column, or a categorical column with too many
            levels; the message names the column (and row) and the fix.
        """
        frame = read_frame(data, what="user table", error=InvalidCovariatesError)
        columns = [str(c) for c in frame.columns]
        require: dict[str, Any] = {"error": InvalidCovariatesError, "what": "user table"}
        require_columns(columns, {"user_col": user_col}, **require, cli=True)
        if len(frame) == 0:
            raise InvalidCovariatesError("user table: it has a header but no rows")
        wanted = (
            [c for c in columns if c != user_col]
            if covariate_cols is None
            else list(covariate_cols)
        )
        for name in wanted:
            require_columns(columns, {"covariate_cols": name}, **require)
            if name == user_col:
                raise InvalidCovariatesError(
                    f"user table: the user column {user_col!r} cannot also be a covariate"
                )
        if not wanted:
            raise InvalidCovariatesError(
                f"user table: no covariate columns besides {user_col!r}; add pre-exposure columns "
                "such as tenure, segment or past visits"
            )
        keys = frame[user_col]
        row = first_true(keys.isna().to_numpy())
        if row is not None:
            raise InvalidCovariatesError(
                f"user table: column {user_col!r} has a missing user id at row {row}: fill it or "
                "drop the row"
            )
        row = first_true(keys.duplicated().to_numpy())
        if row is not None:
            raise InvalidCovariatesError(
                f"user table: user {shown(keys.iloc[row])!r} appears more than once (row {row}); "
                "give each user one row"
            )
        covariates = frame[wanted]
        kept, dropped = [], []
        for name in wanted:
            if _check_column(covariates[name], name):
                kept.append(name)
            else:
                dropped.append(name)
        if dropped:
            message = (
                f"user table: column(s) {', '.join(map(repr, dropped))} have a single value and "
                "carry no information; they are not used"
            )
            logger.warning(message)
            warnings.warn(message, AttributionWarning, stacklevel=2)
        if not kept:
            raise InvalidCovariatesError(
                "user table: every covariate column is constant; add columns that differ "
                "between users"
            )
        table = covariates[kept].copy()
        table.index = pd.Index(keys.to_numpy(), name=user_col)
        schema = FeatureSchema.from_frame(table, kept)
        for name, kind in zip(schema.names, schema.kinds, strict=True):
            levels = len(schema.categories.get(name, ()))
            if kind == "categorical" and levels > MAX_LEVELS:
                raise InvalidCovariatesError(
                    f"user table: categorical column {name!r} has {levels:,} levels (at most "
                    f"{MAX_LEVELS:,}); group rare levels, or drop the column if it is an "
                    "identifier"
                )
            if kind == "categorical" and levels == len(table) and levels > 20:
                raise InvalidCovariatesError(
                    f"user table: column {name!r} has a different value on every row: it is an "
                    "identifier, not a covariate; drop it or pass the covariates to use"
                )
        return cls(frame=table, schema=schema, user_col=user_col, dropped=tuple(dropped))

    def positions(self, users: np.ndarray) -> np.ndarray:
        """Row of each user of ``users`` in :attr:`frame` (``-1`` when absent).

        Keys are matched by value; when the two sides have different kinds (numbers against
        strings, as when one file is read as CSV and the other as Parquet), both are compared as
        strings.
        """
        index = self.frame.index
        found = index.get_indexer(pd.Index(users))
        if (found < 0).any() and _kind(index) != _kind(pd.Index(users)):
            found = pd.Index(index.astype(str)).get_indexer(pd.Index(users).astype(str))
        return np.asarray(found, dtype=np.int64)

    def matrix(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Return the encoded covariates (``float64``) of the given rows (default: all)."""
        frame = self.frame if rows is None else self.frame.iloc[rows]
        return self.schema.transform(frame)


def _kind(index: pd.Index) -> str:
    if pd.api.types.is_numeric_dtype(index.dtype):
        return "number"
    return "text"


def _check_column(column: pd.Series, name: str) -> bool:
    """Validate one covariate; return ``False`` when it is constant (and should be dropped)."""
    if column.isna().all():
        raise InvalidCovariatesError(
            f"user table: column {name!r} is missing on every row; drop it or fill it"
        )
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        row = first_true(np.isinf(values))
        if row is not None:
            raise InvalidCovariatesError(
                f"user table: column {name!r} has an infinite value at row {row}; use a finite "
                "number or leave the cell empty"
            )
    return bool(column.nunique(dropna=True) > 1 or column.isna().any())
