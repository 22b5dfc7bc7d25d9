"""``mlflow.pyfunc`` model that serves a saved :class:`uplift.UpliftModel` (models-from-code).

Artifact ``uplift_model``: a directory written by :meth:`uplift.UpliftModel.save`.

Input: a DataFrame with the model's feature columns (extra columns are ignored).
Output: the frame of :meth:`uplift.UpliftModel.predict` -- one ``uplift_<arm>`` column per
treatment arm, ``best_arm`` and ``best_uplift``; one row per input row, in input order.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class UpliftPyfuncModel(PythonModel):
    """Predict uplift per arm with a saved :class:`uplift.UpliftModel`."""

    def load_context(self, context: Any) -> None:
        """Load the saved model from the ``uplift_model`` artifact."""
        from uplift.learners import UpliftModel

        self.model = UpliftModel.load(context.artifacts["uplift_model"])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Return the fixed prediction frame (see the module docstring)."""
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

        if not isinstance(model_input, pd.DataFrame):
            model_input = pd.DataFrame(model_input)
        try:
            out = self.model.predict(model_input)
        except ValueError as exc:  # domain errors (missing features, bad values): a 400
            raise MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE) from exc
        return out.reset_index(drop=True)


mlflow.models.set_model(UpliftPyfuncModel())
