"""``mlflow.pyfunc`` model that splits credit of new converting journeys by Markov removal effects.

Artifact ``markov``: a JSON file written by :func:`experiments.registry.log_markov_model` with
``channels``, ``removal_effect`` (one per channel, from a fitted
:class:`attribution.MarkovAttribution`), ``separator`` and the model parameters.

Input (one row per journey or per path):

* ``path`` (string, required): channels joined by the separator, e.g. ``"search > email"``;
  whitespace around channel names is trimmed;
* ``conversions`` (number, optional, default 1): conversions of the row;
* ``value`` (number, optional, default 0): conversion value of the row.

Output, one row per input row, in input order:

* ``credit_<channel>`` for every fitted channel: ``conversions * RE_c / sum_{d in path} RE_d``
  when ``c`` is in the path (each distinct channel counted once), else 0;
* ``value_<channel>``: the same split of ``value``;
* ``attributed``: 1.0 when the path holds a fitted channel with a positive removal effect, else
  0.0 (then every credit is 0 and the row's conversions are unattributed).

Summing the ``credit_`` columns over rows gives exactly the per-channel credit of
:meth:`attribution.MarkovAttribution.attribute` on the same journeys (for fitted channels).
"""

from __future__ import annotations

import json
import re
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel


def split_credit(
    frame: pd.DataFrame, channels: list[str], removal_effect: np.ndarray, separator: str
) -> pd.DataFrame:
    """Per-row credit of ``frame`` (see the module docstring); raises ``ValueError`` on bad rows."""
    if "path" not in frame.columns:
        raise ValueError(
            f"input lacks the required column 'path' (columns: {list(map(str, frame.columns))}); "
            "send one path string per row, e.g. 'search > email'"
        )
    frame = frame.reset_index(drop=True)
    n = len(frame)
    paths = frame["path"]
    missing = paths.isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"column 'path' has a missing value at row {int(np.flatnonzero(missing)[0])}"
        )
    conversions = _numeric(frame, "conversions", 1.0)
    value = _numeric(frame, "value", 0.0)
    index = {c: i for i, c in enumerate(channels)}
    tokens = paths.astype(str).str.split(re.escape(separator), regex=True).explode()
    rows = tokens.index.to_numpy(dtype=np.int64)  # positions: the index was reset above
    names = tokens.astype(str).str.strip().to_numpy(dtype=object)
    codes = np.array([index.get(t, -1) for t in names], dtype=np.int64)
    known = codes >= 0
    pairs = np.unique(np.column_stack([rows[known], codes[known]]), axis=0)
    weights = np.zeros((n, len(channels)))
    if pairs.size:
        weights[pairs[:, 0], pairs[:, 1]] = removal_effect[pairs[:, 1]]
    weights = np.clip(weights, 0.0, None)
    total = weights.sum(axis=1)
    fractions = np.divide(
        weights, total[:, None], out=np.zeros_like(weights), where=total[:, None] > 0
    )
    out: dict[str, np.ndarray] = {}
    for j, c in enumerate(channels):
        out[f"credit_{c}"] = fractions[:, j] * conversions
    for j, c in enumerate(channels):
        out[f"value_{c}"] = fractions[:, j] * value
    out["attributed"] = (total > 0).astype(np.float64)
    return pd.DataFrame(out)


def _numeric(frame: pd.DataFrame, column: str, default: float) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), default)
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"column {column!r} must hold finite non-negative numbers; row {row} has "
            f"{frame[column].iloc[row]!r}"
        )
    return values


class MarkovPyfuncModel(PythonModel):
    """Split conversions of new journeys by fitted removal effects."""

    def load_context(self, context: Any) -> None:
        """Read channels, removal effects and separator from the ``markov`` artifact."""
        with open(context.artifacts["markov"], encoding="utf-8") as fh:
            payload = json.load(fh)
        self.channels = list(payload["channels"])
        self.removal_effect = np.asarray(payload["removal_effect"], dtype=np.float64)
        self.separator = str(payload.get("separator", ">"))

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Return per-row credit (see the module docstring)."""
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

        if not isinstance(model_input, pd.DataFrame):
            model_input = pd.DataFrame(model_input)
        try:
            return split_credit(
                model_input.reset_index(drop=True),
                self.channels,
                self.removal_effect,
                self.separator,
            )
        except ValueError as exc:
            raise MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE) from exc


mlflow.models.set_model(MarkovPyfuncModel())
