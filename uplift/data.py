"""Validated uplift datasets: features, a multi-arm treatment with a named control, one outcome.

:class:`UpliftData` is built with :meth:`UpliftData.from_frame` (or :func:`load_uplift_data` for a
CSV/Parquet file) and checks everything a learner relies on, raising
:class:`~uplift.errors.InvalidUpliftDataError` with the column, the first offending row and a fix.

:class:`FeatureSchema` records the feature columns, their kind (numeric or categorical), their
dtype and, for categorical columns, the categories seen in training. It turns any frame with those
columns into the float matrix the learners use:

* numeric columns (numbers or booleans) are cast to ``float64``; missing values stay ``NaN``;
* categorical columns (strings, pandas ``category``/``object``) become the integer code of the
  value among the training categories (sorted as strings); values not seen in training and
  missing values become ``NaN``, which LightGBM sends down the "missing" branch of a categorical
  split (the same branch as categories too rare to get their own split).
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any, Literal

import numpy as np
import pandas as pd

from attribution._io import read_frame
from attribution._validation import require_columns, shown
from uplift.errors import (
    InvalidUpliftDataError,
    InvalidUpliftOptionError,
    MissingFeaturesError,
    PostTreatmentWarning,
)

__all__ = [
    "POST_TREATMENT_P",
    "DefaultFeatures",
    "FeatureSchema",
    "OutcomeType",
    "UpliftData",
    "default_feature_columns",
    "file_sha256",
    "load_frame",
    "load_uplift_data",
    "split_positions",
]

logger = logging.getLogger(__name__)

OutcomeType = Literal["binary", "continuous"]

#: Default smallest number of rows an arm (the control included) must have.
DEFAULT_MIN_ROWS_PER_ARM = 30
#: A column whose distribution differs by arm with a p-value below this is taken for
#: post-treatment (see :func:`default_feature_columns`). Chance alone gives such a p-value to one
#: pre-treatment column in a million.
POST_TREATMENT_P = 1e-6
#: Rows per block when copying float64 feature columns into the row-major feature matrix.
_COPY_ROWS = 8192


def _first_row(mask: np.ndarray, index: pd.Index) -> str:
    pos = int(np.flatnonzero(mask)[0])
    return f"row {shown(index[pos])!r} (position {pos})"


@dataclass(frozen=True)
class FeatureSchema:
    """Feature columns of a model and how to encode them.

    Parameters
    ----------
    names
        Feature column names, in model order.
    kinds
        ``"numeric"`` or ``"categorical"`` for each column.
    dtypes
        The pandas dtype of each column at training time, as a string.
    categories
        Training categories (strings, sorted) of each categorical column.
    """

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    dtypes: tuple[str, ...]
    categories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, columns: Sequence[str]) -> FeatureSchema:
        """Infer the schema of ``columns`` of ``frame``.

        Numeric and boolean columns are numeric; every other column (strings, ``category``,
        ``object``) is categorical with its distinct non-missing values, as strings, as
        categories.
        """
        kinds: list[str] = []
        dtypes: list[str] = []
        categories: dict[str, tuple[str, ...]] = {}
        for name in columns:
            col = frame[name]
            dtypes.append(str(col.dtype))
            if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
                kinds.append("numeric")
            else:
                kinds.append("categorical")
                values = col.dropna().astype(str).unique()
                categories[name] = tuple(sorted(values.tolist()))
        return cls(tuple(columns), tuple(kinds), tuple(dtypes), categories)

    @property
    def categorical_indices(self) -> list[int]:
        """Positions of the categorical columns in :attr:`names`."""
        return [i for i, kind in enumerate(self.kinds) if kind == "categorical"]

    def check_columns(self, frame: pd.DataFrame) -> None:
        """Raise :class:`MissingFeaturesError` naming every feature absent from ``frame``."""
        missing = [name for name in self.names if name not in frame.columns]
        if missing:
            raise MissingFeaturesError(
                f"the frame to score lacks {len(missing)} feature column(s) the model was "
                f"trained on: {', '.join(repr(m) for m in missing)}; add them (the model needs "
                f"all of {list(self.names)!r})"
            )

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode ``frame`` into a ``float64`` matrix with one column per feature.

        Raises
        ------
        MissingFeaturesError
            If a feature column is absent.
        InvalidUpliftDataError
            If a numeric feature holds a value that is not a number.
        """
        self.check_columns(frame)
        out = np.empty((len(frame), len(self.names)), dtype=np.float64)
        # float64 columns are views of the frame: copied into the row-major matrix one block of
        # rows at a time (a whole column at a time would touch a new cache line per value)
        views: list[tuple[int, np.ndarray]] = []
        for j, (name, kind) in enumerate(zip(self.names, self.kinds, strict=True)):
            col = frame[name]
            if kind == "categorical":
                cats = list(self.categories.get(name, ()))
                not_na = col.notna().to_numpy()
                codes = pd.Index(cats).get_indexer(pd.Index(col.astype(str))).astype(np.float64)
                codes[(codes < 0) | ~not_na] = np.nan
                out[:, j] = codes
            else:
                if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
                    values = col.to_numpy(dtype=np.float64, na_value=np.nan)
                    if col.dtype == np.float64:
                        views.append((j, values))
                    else:
                        out[:, j] = values
                    continue
                converted = pd.to_numeric(col, errors="coerce")
                bad = converted.isna().to_numpy() & col.notna().to_numpy()
                if bad.any():
                    pos = int(np.flatnonzero(bad)[0])
                    raise InvalidUpliftDataError(
                        f"feature column {name!r} was numeric in training but holds "
                        f"{shown(col.iloc[pos])!r} at {_first_row(bad, frame.index)}; pass numbers "
                        "(or leave the cell empty for a missing value)"
                    )
                out[:, j] = converted.to_numpy(dtype=np.float64, na_value=np.nan)
        for lo in range(0, len(frame), _COPY_ROWS):
            for j, values in views:
                out[lo : lo + _COPY_ROWS, j] = values[lo : lo + _COPY_ROWS]
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description: ``{"features": [{name, kind, dtype, categories?}, ...]}``."""
        features = []
        for name, kind, dtype in zip(self.names, self.kinds, self.dtypes, strict=True):
            item: dict[str, Any] = {"name": name, "kind": kind, "dtype": dtype}
            if kind == "categorical":
                item["categories"] = list(self.categories.get(name, ()))
            features.append(item)
        return {"features": features}

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> FeatureSchema:
        """Inverse of :meth:`to_dict`."""
        feats = payload["features"]
        return cls(
            names=tuple(f["name"] for f in feats),
            kinds=tuple(f["kind"] for f in feats),
            dtypes=tuple(f["dtype"] for f in feats),
            categories={
                f["name"]: tuple(f.get("categories", ()))
                for f in feats
                if f["kind"] == "categorical"
            },
        )


@dataclass(frozen=True, repr=False)
class UpliftData:
    """A validated uplift dataset (build it with :meth:`from_frame`).

    Attributes
    ----------
    features
        The feature columns of the input (index preserved).
    treatment
        Arm of each row, as strings (``object`` array).
    outcome
        Outcome of each row (``float64``; 0/1 for binary outcomes).
    control
        Name of the control arm.
    arms
        Treatment arms other than the control, sorted by name (Python string order). This is the
        order of the ``uplift_<arm>`` prediction columns.
    outcome_type
        ``"binary"`` or ``"continuous"``.
    randomized
        Whether assignment was randomized (an RCT).
    assignment_probabilities
        Known marginal assignment probability of every arm including the control, or ``None``
        when not given (then, for an RCT, the observed arm shares are used).
    schema
        Feature schema (names, kinds, dtypes, training categories).
    treatment_col, outcome_col
        Source column names.
    """

    features: pd.DataFrame
    treatment: np.ndarray
    outcome: np.ndarray
    control: str
    arms: tuple[str, ...]
    outcome_type: OutcomeType
    randomized: bool
    assignment_probabilities: Mapping[str, float] | None
    schema: FeatureSchema
    treatment_col: str
    outcome_col: str

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        treatment_col: str,
        control: str,
        outcome_col: str,
        feature_cols: Sequence[str] | None = None,
        outcome_type: Literal["auto", "binary", "continuous"] = "auto",
        randomized: bool = True,
        propensity: float | Mapping[str, float] | None = None,
        min_rows_per_arm: int = DEFAULT_MIN_ROWS_PER_ARM,
    ) -> UpliftData:
        """Validate ``frame`` and build an :class:`UpliftData`.

        Parameters
        ----------
        frame
            One row per customer.
        treatment_col
            Column with the arm of each row (any values; compared as strings).
        control
            Name of the control arm (must occur in ``treatment_col``).
        outcome_col
            Outcome column: binary (0/1 or booleans) or continuous (e.g. spend).
        feature_cols
            Feature columns; default every column except the treatment and outcome columns and,
            when ``randomized``, the columns that look post-treatment (their distribution
            differs by arm, see :func:`default_feature_columns`; a
            :class:`~uplift.errors.PostTreatmentWarning` names them). String columns are
            categorical features and need no encoding.
        outcome_type
            ``"auto"`` (binary if every value is 0 or 1, else continuous), ``"binary"`` (then
            any other value is an error) or ``"continuous"``.
        randomized
            ``True`` for a randomized experiment: the known assignment propensity is used.
            ``False``: the learners estimate the propensity from the features and warn about
            poor overlap.
        propensity
            Known marginal assignment probabilities of an RCT, ``{arm: P(T = arm)}``; the
            control's entry may be left out (it is then one minus the rest). A single float is
            the treated share of a one-arm experiment. Default: the observed arm shares.
        min_rows_per_arm
            Fewest rows any arm, the control included, may have.

        Raises
        ------
        InvalidUpliftDataError
            Missing columns, missing values in the treatment or outcome, an absent control, an
            arm with fewer than ``min_rows_per_arm`` rows, a non-binary outcome with
            ``outcome_type="binary"``, or no feature columns.
        InvalidUpliftOptionError
            Bad ``outcome_type``, ``min_rows_per_arm`` or ``propensity`` values.
        """
        if not isinstance(frame, pd.DataFrame):
            raise InvalidUpliftDataError(
                f"expected a pandas DataFrame, got {type(frame).__name__}; load the data with "
                "pandas (or uplift.load_frame) first"
            )
        if outcome_type not in ("auto", "binary", "continuous"):
            raise InvalidUpliftOptionError(
                f"outcome_type must be 'auto', 'binary' or 'continuous', got {outcome_type!r}"
            )
        if min_rows_per_arm < 1:
            raise InvalidUpliftOptionError(
                f"min_rows_per_arm must be at least 1, got {min_rows_per_arm}"
            )
        require: dict[str, Any] = {"error": InvalidUpliftDataError, "cli": True}
        require_columns(
            frame.columns, {"treatment_col": treatment_col, "outcome_col": outcome_col}, **require
        )
        if len(frame) == 0:
            raise InvalidUpliftDataError("the frame has no rows")

        # treatment
        raw_t = frame[treatment_col]
        na_t = raw_t.isna().to_numpy()
        if na_t.any():
            raise InvalidUpliftDataError(
                f"treatment column {treatment_col!r} has {int(na_t.sum())} missing value(s), "
                f"first at {_first_row(na_t, frame.index)}; drop those rows or fill in their arm"
            )
        treatment = raw_t.astype(str).to_numpy(dtype=object)
        control = str(control)
        counts = pd.Series(treatment).value_counts()
        if control not in counts.index:
            raise InvalidUpliftDataError(
                f"control arm {control!r} not found in treatment column {treatment_col!r}; "
                f"arms present: {sorted(counts.index.tolist())!r}. Pass one of them as control"
            )
        arms = tuple(sorted(a for a in counts.index if a != control))
        if not arms:
            raise InvalidUpliftDataError(
                f"treatment column {treatment_col!r} holds only the control arm {control!r}; "
                "uplift needs at least one treated arm"
            )
        for arm in (control, *arms):
            if counts[arm] < min_rows_per_arm:
                raise InvalidUpliftDataError(
                    f"arm {arm!r} of treatment column {treatment_col!r} has {int(counts[arm])} "
                    f"row(s), fewer than min_rows_per_arm={min_rows_per_arm}; collect more data, "
                    "merge or drop the arm, or lower min_rows_per_arm"
                )

        # outcome
        raw_y = frame[outcome_col]
        y_num = pd.to_numeric(raw_y, errors="coerce")
        bad = y_num.isna().to_numpy()
        if bad.any():
            first = raw_y.iloc[int(np.flatnonzero(bad)[0])]
            what = "missing values"
            if not pd.isna(first):
                what = f"non-numeric values, first {shown(first)!r}"
            raise InvalidUpliftDataError(
                f"outcome column {outcome_col!r} has {int(bad.sum())} {what} at "
                f"{_first_row(bad, frame.index)}; drop those rows or fill them in"
            )
        outcome = y_num.to_numpy(dtype=np.float64)
        if not np.isfinite(outcome).all():
            inf = ~np.isfinite(outcome)
            raise InvalidUpliftDataError(
                f"outcome column {outcome_col!r} has infinite values, first at "
                f"{_first_row(inf, frame.index)}"
            )
        is_binary = np.isin(outcome, (0.0, 1.0))
        if outcome_type == "binary" and not is_binary.all():
            nb = ~is_binary
            raise InvalidUpliftDataError(
                f"outcome column {outcome_col!r} must be binary (0/1) for a binary learner but "
                f"holds {float(outcome[nb][0])!r} at {_first_row(nb, frame.index)}; use "
                "outcome_type='continuous' for amounts such as spend"
            )
        resolved: OutcomeType
        if outcome_type == "auto":
            resolved = "binary" if is_binary.all() else "continuous"
        else:
            resolved = outcome_type

        # features
        if feature_cols is None:
            default = default_feature_columns(
                frame, treatment_col=treatment_col, outcome_col=outcome_col, randomized=randomized
            )
            message = default.warning()
            if message is not None:
                warnings.warn(message, PostTreatmentWarning, stacklevel=2)
            feature_cols = default.features
        else:
            feature_cols = list(feature_cols)
            for name in feature_cols:
                require_columns(frame.columns, {"feature_cols": name}, **require)
            clash = [c for c in feature_cols if c in (treatment_col, outcome_col)]
            if clash:
                raise InvalidUpliftDataError(
                    f"column(s) {clash!r} cannot be both a feature and the treatment/outcome; "
                    "remove them from feature_cols"
                )
        if not feature_cols:
            raise InvalidUpliftDataError(
                "no feature columns: the frame holds only the treatment and outcome columns"
            )
        if len(set(feature_cols)) != len(feature_cols):
            raise InvalidUpliftDataError(f"feature_cols has duplicates: {feature_cols!r}")
        features = frame.loc[:, feature_cols]  # copy-on-write: no eager copy
        schema = FeatureSchema.from_frame(features, feature_cols)

        probs = _assignment_probabilities(propensity, control, arms)
        return cls(
            features=features,
            treatment=treatment,
            outcome=outcome,
            control=control,
            arms=arms,
            outcome_type=resolved,
            randomized=bool(randomized),
            assignment_probabilities=probs,
            schema=schema,
            treatment_col=str(treatment_col),
            outcome_col=str(outcome_col),
        )

    # ------------------------------------------------------------------ helpers
    def __len__(self) -> int:
        return int(self.outcome.shape[0])

    def __repr__(self) -> str:
        counts = self.arm_counts()
        arms = ", ".join(f"{a!r}: {n}" for a, n in counts.items())
        return (
            f"UpliftData(n={len(self)}, control={self.control!r}, arms={{{arms}}}, "
            f"outcome={self.outcome_col!r} ({self.outcome_type}), "
            f"features={len(self.schema.names)}, randomized={self.randomized})"
        )

    def arm_counts(self) -> dict[str, int]:
        """Rows per arm, control first, then :attr:`arms` in order."""
        values, counts = np.unique(self.treatment, return_counts=True)
        lookup = dict(zip(values.tolist(), counts.tolist(), strict=True))
        return {a: int(lookup.get(a, 0)) for a in (self.control, *self.arms)}

    def pairwise_propensity(self) -> dict[str, float]:
        """Known propensity of each arm against the control: ``P(T=a | T in {a, control})``.

        This is what the meta-learners need (each arm is contrasted with the control on the
        rows of those two arms): ``p_a = P(a) / (P(a) + P(control))`` with the known assignment
        probabilities, or ``n_a / (n_a + n_control)`` with the observed counts when none were
        given.
        """
        if self.assignment_probabilities is not None:
            pc = self.assignment_probabilities[self.control]
            return {
                a: self.assignment_probabilities[a] / (self.assignment_probabilities[a] + pc)
                for a in self.arms
            }
        counts = self.arm_counts()
        nc = counts[self.control]
        return {a: counts[a] / (counts[a] + nc) for a in self.arms}

    def subset(self, rows: np.ndarray) -> UpliftData:
        """Restrict the dataset to integer positions ``rows`` (arms are kept as they are)."""
        rows = np.asarray(rows)
        return UpliftData(
            features=self.features.iloc[rows],
            treatment=self.treatment[rows],
            outcome=self.outcome[rows],
            control=self.control,
            arms=self.arms,
            outcome_type=self.outcome_type,
            randomized=self.randomized,
            assignment_probabilities=self.assignment_probabilities,
            schema=self.schema,
            treatment_col=self.treatment_col,
            outcome_col=self.outcome_col,
        )

    def split(self, test_size: float = 0.3, seed: int = 0) -> tuple[UpliftData, UpliftData]:
        """Split into (train, test), stratified by arm, reproducibly from ``seed``.

        See :func:`split_positions` for the exact rule.
        """
        train_rows, test_rows = split_positions(self.treatment, test_size=test_size, seed=seed)
        return self.subset(train_rows), self.subset(test_rows)


@dataclass(frozen=True)
class DefaultFeatures:
    """The default feature columns of a frame, and the columns left out as post-treatment.

    Attributes
    ----------
    features
        Every column except the treatment, the outcome and the post-treatment columns, in the
        frame's order.
    post_treatment
        Column -> p-value of the test that its distribution is the same in every arm.
    """

    features: list[str]
    post_treatment: dict[str, float]

    def warning(self) -> str | None:
        """Return the warning about the left-out columns, or ``None`` when there are none."""
        if not self.post_treatment:
            return None
        listed = ", ".join(f"{c!r} (p = {p:.1e})" for c, p in self.post_treatment.items())
        return (
            f"left out of the default features: {listed}: their distribution differs by arm, "
            "so the treatment most likely changed them (outcomes are never features); pass "
            "feature_cols (CLI: --feature-cols) to choose the features yourself"
        )


def default_feature_columns(
    frame: pd.DataFrame,
    *,
    treatment_col: str,
    outcome_col: str,
    randomized: bool = True,
) -> DefaultFeatures:
    """Return the default features: every other column except those that look post-treatment.

    In a randomized experiment (``randomized=True``), a column is taken for post-treatment when
    the hypothesis that its distribution is the same in every arm is rejected at
    :data:`POST_TREATMENT_P`: a Kruskal-Wallis test across the arms for numeric and boolean
    columns (for a 0/1 column this compares the rates), a chi-square test of the arm x value
    table for the others; missing values are left out of the test. Pre-treatment columns of a
    randomized experiment pass this test but for one in a million. Without randomization the
    arms differ by design and no column is left out.
    """
    from scipy import stats

    columns = [str(c) for c in frame.columns if c not in (treatment_col, outcome_col)]
    post: dict[str, float] = {}
    if randomized and treatment_col in frame.columns:
        arm = frame[treatment_col].astype(str)
        for name in columns:
            col = frame[name]
            keep = col.notna().to_numpy()
            if keep.sum() < 2:
                continue
            values, arms = col[keep], arm[keep]
            if arms.nunique() < 2 or values.nunique() < 2:
                continue
            if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
                numbers = values.to_numpy(dtype=np.float64)
                groups = [numbers[(arms == a).to_numpy()] for a in arms.unique()]
                p = float(stats.kruskal(*groups).pvalue)
            else:
                table = pd.crosstab(arms, values.astype(str))
                p = float(stats.chi2_contingency(table.to_numpy()).pvalue)
            if p < POST_TREATMENT_P:
                post[name] = p
    return DefaultFeatures([c for c in columns if c not in post], post)


def split_positions(
    treatment: np.ndarray, *, test_size: float = 0.3, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/test split of row positions.

    Within each arm (in sorted order of arm name) the rows are permuted with
    ``numpy.random.default_rng(seed)`` and the first ``round(test_size * n_arm)`` go to the test
    set. Both outputs are sorted positions.
    """
    if not 0.0 < test_size < 1.0:
        raise InvalidUpliftOptionError(f"test_size must be in (0, 1), got {test_size}")
    rng = np.random.default_rng(seed)
    treatment = np.asarray(treatment)
    test: list[np.ndarray] = []
    for arm in sorted(set(treatment.tolist())):
        rows = np.flatnonzero(treatment == arm)
        perm = rng.permutation(rows)
        n_test = round(test_size * rows.size)
        test.append(perm[:n_test])
    test_rows = np.sort(np.concatenate(test))
    mask = np.ones(treatment.shape[0], dtype=bool)
    mask[test_rows] = False
    return np.flatnonzero(mask), test_rows


def _assignment_probabilities(
    propensity: float | Mapping[str, float] | None, control: str, arms: tuple[str, ...]
) -> dict[str, float] | None:
    if propensity is None:
        return None
    if isinstance(propensity, int | float):
        if len(arms) != 1:
            raise InvalidUpliftOptionError(
                f"a single propensity value only fits a one-arm experiment; there are "
                f"{len(arms)} arms {list(arms)!r}: pass a mapping {{arm: probability}}"
            )
        propensity = {arms[0]: float(propensity)}
    probs = {str(k): float(v) for k, v in dict(propensity).items()}
    unknown = sorted(set(probs) - {control, *arms})
    if unknown:
        raise InvalidUpliftOptionError(
            f"propensity given for unknown arm(s) {unknown!r}; arms are {[control, *arms]!r}"
        )
    missing = [a for a in arms if a not in probs]
    if missing:
        raise InvalidUpliftOptionError(
            f"propensity missing for arm(s) {missing!r}; give P(T=arm) for every treated arm"
        )
    if control not in probs:
        probs[control] = 1.0 - sum(probs[a] for a in arms)
    for arm, p in probs.items():
        if not 0.0 < p < 1.0:
            raise InvalidUpliftOptionError(
                f"assignment probability of arm {arm!r} must be in (0, 1), got {p}"
            )
    total = sum(probs.values())
    if abs(total - 1.0) > 1e-6:
        raise InvalidUpliftOptionError(
            f"assignment probabilities must sum to 1 over all arms, got {total:.6g} for {probs!r}"
        )
    return probs


def load_frame(path: str | PathLike[str]) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``) file or a directory.

    The reading rules (directories, globs, types) are :func:`attribution._io.read_table`'s.
    """
    return read_frame(path, what="data", error=InvalidUpliftDataError)


def load_uplift_data(path: str | PathLike[str], **kwargs: Any) -> UpliftData:
    """Read ``path`` with :func:`load_frame` and validate it with :meth:`UpliftData.from_frame`."""
    return UpliftData.from_frame(load_frame(path), **kwargs)


def file_sha256(path: str | PathLike[str]) -> str:
    """SHA-256 hex digest of a file's bytes (identifies the training data of a saved model)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
