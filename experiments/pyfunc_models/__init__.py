"""Models-from-code files for ``mlflow.pyfunc`` (see :mod:`experiments.registry`).

Each module defines a :class:`mlflow.pyfunc.PythonModel` and calls
:func:`mlflow.models.set_model` on an instance. MLflow copies the file into the logged model and
runs it when the model is loaded; the fitted state travels as artifacts.

* :mod:`experiments.pyfunc_models.uplift_model` -- serves :class:`uplift.UpliftModel`;
* :mod:`experiments.pyfunc_models.markov_model` -- splits credit of new converting journeys by
  fitted Markov removal effects.
"""

from pathlib import Path

__all__ = ["MARKOV_MODEL_FILE", "UPLIFT_MODEL_FILE"]

#: Code file of the uplift pyfunc model.
UPLIFT_MODEL_FILE = Path(__file__).with_name("uplift_model.py")
#: Code file of the Markov attribution pyfunc model.
MARKOV_MODEL_FILE = Path(__file__).with_name("markov_model.py")
