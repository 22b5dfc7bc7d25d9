"""Lift-test (randomized holdout) results: the measurements calibration rests on.

:class:`LiftTests` validates a table with one row per tested channel (measured incremental
conversions, interval, level, test period, population share); see
:mod:`attribution.calibration` for how they calibrate attribution.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from attribution._io import json_records, naive_utc, read_frame
from attribution._validation import first_true, require_columns
from attribution.errors import AttributionError

__all__ = ["LIFT_COLUMNS", "InvalidLiftTestError", "LiftTests"]

LIFT_COLUMNS = (
    "channel",
    "incremental_conversions",
    "ci_low",
    "ci_high",
    "level",
    "period_start",
    "period_end",
    "population_share",
    "source",
)


class InvalidLiftTestError(AttributionError):
    """Lift-test results or calibration options are invalid."""


# --------------------------------------------------------------------------------------------
# Lift tests
# --------------------------------------------------------------------------------------------


def _numeric(frame: pd.DataFrame, name: str, what: str) -> np.ndarray:
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    row = first_true(~np.isfinite(values))
    if row is not None:
        raise InvalidLiftTestError(
            f"lift tests: column {name!r} ({what}) must be a finite number; row {row} has "
            f"{frame[name].iloc[row]!r}"
        )
    return values


def _dates(frame: pd.DataFrame, name: str | None) -> pd.Series:
    if name is None or name not in frame.columns:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    column = frame[name]
    parsed = pd.to_datetime(column.astype("string"), errors="coerce", format="mixed")
    row = first_true(parsed.isna().to_numpy() & column.notna().to_numpy())
    if row is not None:
        raise InvalidLiftTestError(
            f"lift tests: column {name!r} has an unparseable date at row {row} "
            f"({column.iloc[row]!r}): use ISO 8601, e.g. '2024-05-01'"
        )
    return naive_utc(parsed, name, error=InvalidLiftTestError)


@dataclass(frozen=True, eq=False)
class LiftTests:
    """Validated lift-test (randomized holdout) results, one row per tested channel.

    Attributes
    ----------
    frame
        Columns ``channel`` (str), ``incremental_conversions`` (the measured incremental
        conversions in the tested population and period), ``ci_low``, ``ci_high`` (its interval),
        ``level`` (interval coverage, e.g. 0.95), ``period_start``, ``period_end`` (test period,
        end exclusive; ``NaT`` when unknown), ``population_share`` (share of the attributed
        population the test covered, in ``(0, 1]``) and ``source`` (a free label).

    Build with :meth:`from_frame` (a table or a CSV/Parquet file), :meth:`from_results`
    (objects such as :class:`attribution.simulate.LiftTestResult`) or :meth:`from_uplift`
    (a pathlift uplift evaluation).
    """

    frame: pd.DataFrame = field(repr=False)

    def __post_init__(self) -> None:
        missing = set(LIFT_COLUMNS) - set(self.frame.columns)
        if missing:
            raise InvalidLiftTestError(
                f"LiftTests.frame lacks columns {sorted(missing)}: build it with "
                "LiftTests.from_frame"
            )

    @classmethod
    def from_frame(
        cls,
        data: pd.DataFrame | str | os.PathLike[str],
        *,
        channel_col: str = "channel",
        incremental_col: str = "incremental_conversions",
        ci_low_col: str = "ci_low",
        ci_high_col: str = "ci_high",
        level_col: str | None = "level",
        period_start_col: str | None = "period_start",
        period_end_col: str | None = "period_end",
        population_share_col: str | None = "population_share",
        level: float = 0.95,
    ) -> LiftTests:
        """Read lift-test results from a table or a CSV/Parquet file.

        Parameters
        ----------
        data
            One row per tested channel.
        channel_col, incremental_col, ci_low_col, ci_high_col
            Required columns: channel, measured incremental conversions and interval bounds
            (``ci_low <= incremental_conversions <= ci_high``).
        level_col, period_start_col, period_end_col, population_share_col
            Optional columns; when absent, ``level`` (below), unknown periods and a population
            share of 1 are used.
        level
            Interval coverage when there is no level column.

        Raises
        ------
        InvalidLiftTestError
            Missing columns, empty or duplicated channels, non-finite numbers, bounds that do not
            bracket the estimate, levels outside ``(0, 1)``, population shares outside
            ``(0, 1]``, period ends not after starts. The message names the column and row.
        """
        frame = read_frame(data, what="lift-test", error=InvalidLiftTestError)
        require_columns(
            frame.columns,
            {
                "channel_col": channel_col,
                "incremental_col": incremental_col,
                "ci_low_col": ci_low_col,
                "ci_high_col": ci_high_col,
            },
            error=InvalidLiftTestError,
            what="lift tests",
        )
        if len(frame) == 0:
            raise InvalidLiftTestError("the lift-test table is empty: it has a header but no rows")
        frame = frame.reset_index(drop=True)
        channel = frame[channel_col].astype("string").str.strip()
        row = first_true((channel.isna() | (channel == "")).fillna(True).to_numpy(dtype=bool))
        if row is not None:
            raise InvalidLiftTestError(
                f"lift tests: column {channel_col!r} has a missing channel at row {row}"
            )
        dupes = channel[channel.duplicated()]
        if len(dupes):
            row = int(dupes.index[0])
            raise InvalidLiftTestError(
                f"lift tests: channel {dupes.iloc[0]!r} is tested twice (row {row}): combine the "
                "tests into one estimate (e.g. inverse-variance weighting) first"
            )
        est = _numeric(frame, incremental_col, "incremental conversions")
        lo = _numeric(frame, ci_low_col, "lower bound")
        hi = _numeric(frame, ci_high_col, "upper bound")
        row = first_true((lo > est) | (est > hi))
        if row is not None:
            raise InvalidLiftTestError(
                f"lift tests: row {row} ({channel.iloc[row]!r}) has interval [{lo[row]}, "
                f"{hi[row]}] that does not contain its estimate {est[row]}: check "
                f"{ci_low_col!r} and {ci_high_col!r}"
            )
        if level_col is not None and level_col in frame.columns:
            levels = _numeric(frame, level_col, "interval level")
        else:
            levels = np.full(len(frame), float(level))
        row = first_true((levels <= 0) | (levels >= 1))
        if row is not None:
            raise InvalidLiftTestError(
                f"lift tests: interval level must be in (0, 1), e.g. 0.95; row {row} has "
                f"{levels[row]}"
            )
        if population_share_col is not None and population_share_col in frame.columns:
            share = _numeric(frame, population_share_col, "population share")
        else:
            share = np.ones(len(frame))
        row = first_true((share <= 0) | (share > 1))
        if row is not None:
            raise InvalidLiftTestError(
                f"lift tests: population share must be in (0, 1]; row {row} has {share[row]} "
                "(the share of the attributed population the test covered)"
            )
        start = _dates(frame, period_start_col)
        end = _dates(frame, period_end_col)
        row = first_true((end <= start).fillna(False).to_numpy(dtype=bool))
        if row is not None:
            raise InvalidLiftTestError(
                f"lift tests: row {row} ends ({end.iloc[row]}) before it starts ({start.iloc[row]})"
            )
        source = frame["source"].astype(str) if "source" in frame.columns else "table"
        tidy = pd.DataFrame(
            {
                "channel": channel.astype(str).to_numpy(),
                "incremental_conversions": est,
                "ci_low": lo,
                "ci_high": hi,
                "level": levels,
                "period_start": start.to_numpy(),
                "period_end": end.to_numpy(),
                "population_share": share,
                "source": source,
            }
        )
        return cls(tidy)

    @classmethod
    def from_results(
        cls, results: Iterable[Any], *, population_share: float | Mapping[str, float] = 1.0
    ) -> LiftTests:
        """Build from lift-test result objects (e.g. ``simulate_lift_test``).

        Each object needs ``channel``, ``incremental_conversions``, ``ci_lower``, ``ci_upper``,
        ``confidence``, ``start`` and ``end`` attributes. ``population_share`` is one number or
        a mapping by channel.
        """
        rows = []
        for i, item in enumerate(results):
            try:
                row = {
                    "channel": item.channel,
                    "incremental_conversions": item.incremental_conversions,
                    "ci_low": item.ci_lower,
                    "ci_high": item.ci_upper,
                    "level": item.confidence,
                    "period_start": item.start,
                    "period_end": item.end,
                }
            except AttributeError as exc:
                raise InvalidLiftTestError(
                    f"lift result {i} ({type(item).__name__}) lacks {exc.name!r}: expected "
                    "channel, incremental_conversions, ci_lower, ci_upper, confidence, start, end"
                ) from exc
            share = (
                population_share.get(row["channel"], 1.0)
                if isinstance(population_share, Mapping)
                else population_share
            )
            row["population_share"] = share
            row["source"] = type(item).__name__
            rows.append(row)
        if not rows:
            raise InvalidLiftTestError("no lift-test results given")
        return cls.from_frame(pd.DataFrame(rows))

    @classmethod
    def from_uplift(
        cls,
        evaluation: Any,
        channels: Mapping[str, str],
        *,
        population: float | Mapping[str, float],
        metric: str = "ate",
        period_start: Any = None,
        period_end: Any = None,
        population_share: float = 1.0,
    ) -> LiftTests:
        """Build from a pathlift uplift evaluation (:class:`uplift.metrics.UpliftEvaluation`).

        The evaluation's average treatment effect of an arm against the control (``metric``,
        default ``"ate"``: difference in conversion rate per customer) times ``population``
        (customers the incremental conversions should refer to) gives incremental conversions;
        its bootstrap interval scales the same way, at the evaluation's level (``ci``).

        Parameters
        ----------
        evaluation
            An object with ``arms`` (mapping arm -> object with ``metrics`` and ``intervals``)
            and ``ci`` (the interval level).
        channels
            Arm name -> channel name (arms not listed are ignored).
        population
            Customers to scale to (one number, or a mapping by arm).
        """
        arms = getattr(evaluation, "arms", None)
        level = getattr(evaluation, "ci", None)
        if not isinstance(arms, Mapping) or level is None:
            raise InvalidLiftTestError(
                "from_uplift expects an uplift evaluation with 'arms' and 'ci' "
                f"(uplift.metrics.UpliftEvaluation), got {type(evaluation).__name__}"
            )
        effects = {}
        for arm in channels:
            if arm not in arms:
                raise InvalidLiftTestError(
                    f"from_uplift: arm {arm!r} is not in the evaluation (arms: {list(arms)})"
                )
            ev = arms[arm]
            if metric not in ev.metrics:
                raise InvalidLiftTestError(
                    f"from_uplift: metric {metric!r} is not in the evaluation of arm {arm!r} "
                    f"(metrics: {list(ev.metrics)})"
                )
            effects[arm] = (ev.metrics[metric], *ev.intervals[metric])
        return cls.from_arm_effects(
            effects,
            channels,
            population=population,
            level=level,
            source="uplift",
            period_start=period_start,
            period_end=period_end,
            population_share=population_share,
            context="from_uplift: ",
        )

    @classmethod
    def from_arm_effects(
        cls,
        effects: Mapping[str, tuple[float, float, float]],
        channels: Mapping[str, str],
        *,
        population: float | Mapping[str, float],
        level: float,
        source: str,
        period_start: Any = None,
        period_end: Any = None,
        population_share: float = 1.0,
        context: str = "",
    ) -> LiftTests:
        """Build from per-customer effects of uplift arms scaled to customers (``population``).

        ``effects`` maps each arm of ``channels`` (arm -> channel) to its effect per customer
        and the bounds of its interval at ``level``; incremental conversions and their bounds
        are those times ``population`` (one number, or a mapping by arm). The ``source`` of a
        test is ``"<source> arm <arm>"``; ``context`` prefixes the error messages.
        """
        rows = []
        for arm, channel in channels.items():
            n = population.get(arm) if isinstance(population, Mapping) else population
            if n is None or not n > 0:
                raise InvalidLiftTestError(
                    f"{context}population for arm {arm!r} must be positive, got {n!r}"
                )
            estimate, lo, hi = effects[arm]
            rows.append(
                {
                    "channel": channel,
                    "incremental_conversions": float(estimate) * float(n),
                    "ci_low": float(lo) * float(n),
                    "ci_high": float(hi) * float(n),
                    "level": float(level),
                    "period_start": period_start,
                    "period_end": period_end,
                    "population_share": population_share,
                    "source": f"{source} arm {arm}",
                }
            )
        if not rows:
            raise InvalidLiftTestError(f"{context}no arm mapped to a channel")
        return cls.from_frame(pd.DataFrame(rows))

    @classmethod
    def empty(cls) -> LiftTests:
        """No lift test (calibration by negative controls alone)."""
        return cls(
            pd.DataFrame(
                {
                    "channel": pd.Series(dtype=str),
                    "incremental_conversions": pd.Series(dtype=float),
                    "ci_low": pd.Series(dtype=float),
                    "ci_high": pd.Series(dtype=float),
                    "level": pd.Series(dtype=float),
                    "period_start": pd.Series(dtype="datetime64[ns]"),
                    "period_end": pd.Series(dtype="datetime64[ns]"),
                    "population_share": pd.Series(dtype=float),
                    "source": pd.Series(dtype=str),
                }
            )
        )

    @property
    def channels(self) -> tuple[str, ...]:
        """Tested channels, in table order."""
        return tuple(self.frame["channel"])

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of the validated table."""
        return self.frame.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly records."""
        return {"tests": json_records(self.frame)}

    def __repr__(self) -> str:
        return f"LiftTests({len(self.frame)} channels: {', '.join(self.channels)})"
