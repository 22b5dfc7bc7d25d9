"""Models in the MLflow model registry: pyfunc logging, registration, aliases, locking.

Models are logged as ``mlflow.pyfunc`` models *from code* (the files in
:mod:`experiments.pyfunc_models`), with a signature and an input example, and registered under
stable names:

* ``pathlift-uplift`` (:data:`DEFAULT_UPLIFT_NAME`) -- an :class:`uplift.UpliftModel`; input the
  feature columns, output ``uplift_<arm>``, ``best_arm``, ``best_uplift``;
* ``pathlift-markov`` (:data:`DEFAULT_MARKOV_NAME`) -- fitted Markov removal effects; input
  ``path`` (+ optional ``conversions``, ``value``), output per-row ``credit_<channel>``,
  ``value_<channel>`` and ``attributed``.

Aliases: ``champion`` is the version to serve (``models:/<name>@champion``); ``challenger`` the
latest candidate that was not promoted (see :mod:`experiments.retrain`).

Versions are tagged with the SHA-256 of their training data (:data:`TAG_DATA`) and of their
configuration (:data:`TAG_CONFIG`); :func:`find_versions` finds an existing version for the same
pair so that a job can avoid registering a duplicate.

:func:`alias_lock` is an exclusive ``fcntl.flock`` lock on a file (one per registered model) that
serialises read-compare-set-alias sections of concurrent processes on one machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from experiments.errors import RegistryError
from experiments.pyfunc_models import MARKOV_MODEL_FILE, UPLIFT_MODEL_FILE
from experiments.tracking import TrackingSettings, config_hash, metric_key

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.models.model import ModelInfo

    from attribution.markov import MarkovAttribution
    from uplift.learners import UpliftModel

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "DEFAULT_MARKOV_NAME",
    "DEFAULT_UPLIFT_NAME",
    "TAG_CONFIG",
    "TAG_DATA",
    "alias_lock",
    "check_model_name",
    "conform_to_signature",
    "default_lock_dir",
    "delete_alias",
    "find_versions",
    "get_alias_version",
    "load_model",
    "log_markov_model",
    "log_uplift_model",
    "markov_payload",
    "model_uri",
    "register_if_new",
    "register_model",
    "register_run_model",
    "set_alias",
]

logger = logging.getLogger(__name__)

DEFAULT_UPLIFT_NAME = "pathlift-uplift"
DEFAULT_MARKOV_NAME = "pathlift-markov"
CHAMPION = "champion"
CHALLENGER = "challenger"
#: Version tag holding the SHA-256 of the training data.
TAG_DATA = "pathlift.data_sha256"
#: Version tag holding the SHA-256 of the training configuration.
TAG_CONFIG = "pathlift.config_sha256"


def _client() -> Any:
    from mlflow import MlflowClient

    return MlflowClient()


def _requirements(*dists: str) -> list[str]:
    """Pinned requirements of the running environment (skips MLflow's slow inference)."""
    out = []
    for dist in ("mlflow", "numpy", "pandas", *dists):
        try:
            out.append(f"{dist}=={importlib_metadata.version(dist)}")
        except importlib_metadata.PackageNotFoundError:
            out.append(dist)
    return out


def check_model_name(name: str) -> str:
    """Refuse a registered-model name MLflow would refuse, before any model is fitted.

    MLflow's own rule (``mlflow.utils.validation``): not empty, no ``/`` nor ``:``, and no
    path segment such as ``..``.

    Raises
    ------
    RegistryError
        The name is refused; the message names it and the rule.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.utils.validation import _validate_model_name

    try:
        _validate_model_name(name)
    except MlflowException as exc:
        raise RegistryError(
            f"registered model name {name!r} is refused by MLflow ({exc.message}): use letters, "
            "digits, '-', '_' and '.' (e.g. pathlift-uplift)"
        ) from exc
    return name


def conform_to_signature(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with integer columns made float where the model's signature says double.

    ``model`` is a loaded :mod:`mlflow.pyfunc` model. Uplift models logged by
    :func:`log_uplift_model` declare numeric features ``double``, and MLflow refuses an ``int64``
    column there; models with an integer signature (logged before) are left as they are.
    """
    from mlflow.types import DataType

    schema = model.metadata.get_input_schema()
    if schema is None or not schema.has_input_names():
        return frame
    double = {spec.name for spec in schema.inputs if spec.type == DataType.double}
    widen = [c for c in frame.columns if str(c) in double and frame[c].dtype.kind in "iu"]
    return frame.astype(dict.fromkeys(widen, "float64")) if widen else frame


def model_uri(name: str, alias: str = CHAMPION) -> str:
    """Return ``models:/<name>@<alias>``."""
    return f"models:/{name}@{alias}"


# --------------------------------------------------------------------------------------------
# Logging pyfunc models
# --------------------------------------------------------------------------------------------


def log_uplift_model(
    model: UpliftModel,
    input_example: pd.DataFrame,
    *,
    name: str = "uplift_model",
    registered_model_name: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> ModelInfo:
    """Log a fitted :class:`uplift.UpliftModel` as a pyfunc model on the active run.

    Parameters
    ----------
    model
        A fitted uplift model.
    input_example
        A few rows holding (at least) the model's feature columns; only the feature columns are
        kept. The signature is inferred from them and from the model's predictions on them,
        with every numeric feature declared ``double`` (the model reads numbers as float64): the
        scoring server then parses a JSON ``3.7`` as ``3.7`` whatever the training column's
        dtype, and ``pyfunc.predict`` in Python refuses an ``int64`` column, naming it (cast
        with ``df.astype(float)``).
    name
        Name of the logged model.
    registered_model_name
        Register the model under this name too (prefer :func:`register_model`, which tags the
        version and avoids duplicates).
    tags
        Tags of the logged model.

    Returns
    -------
    mlflow.models.model.ModelInfo
        ``model_uri`` loads it with :func:`mlflow.pyfunc.load_model`.
    """
    import mlflow
    from mlflow.models import infer_signature

    features = list(model.schema_.names)
    example = input_example[features].head(5).reset_index(drop=True)
    # numeric features are read as float64 by the model: say so in the signature, otherwise
    # MLflow's scoring server casts a JSON 3.7 sent for an integer column to 3
    numeric = [
        c
        for c, kind in zip(features, model.schema_.kinds, strict=True)
        if kind == "numeric"
        and pd.api.types.is_numeric_dtype(example[c])
        and not pd.api.types.is_bool_dtype(example[c])
    ]
    example = example.astype(dict.fromkeys(numeric, "float64"))
    signature = infer_signature(example, model.predict(example).reset_index(drop=True))
    with tempfile.TemporaryDirectory(prefix="pathlift-uplift-") as tmp:
        saved = model.save(Path(tmp) / "uplift_model")
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=str(UPLIFT_MODEL_FILE),
            artifacts={"uplift_model": str(saved)},
            signature=signature,
            input_example=example,
            registered_model_name=registered_model_name,
            pip_requirements=_requirements("scikit-learn", "lightgbm", "causalml", "joblib"),
            tags=dict(tags or {}),
        )


def markov_payload(markov: MarkovAttribution, separator: str = ">") -> dict[str, Any]:
    """Return the JSON payload of the Markov pyfunc model (channels, removal effects, params)."""
    if not hasattr(markov, "result_"):
        raise RegistryError("the Markov model is not fitted: call fit(journeys) before logging it")
    result = markov.result_
    return {
        "model": "markov",
        "channels": list(result.channels),
        "removal_effect": [float(x) for x in result.extras["removal_effect"]],
        "separator": separator,
        "params": dict(result.params),
        "conversion_probability": float(result.diagnostics.get("conversion_probability", np.nan)),
    }


def log_markov_model(
    markov: MarkovAttribution,
    *,
    separator: str = ">",
    name: str = "markov_model",
    input_example: pd.DataFrame | None = None,
    registered_model_name: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> ModelInfo:
    """Log a fitted :class:`attribution.MarkovAttribution` as a pyfunc model on the active run.

    The model splits the conversions (and value) of new journeys among the distinct channels of
    each path in proportion to the fitted removal effects (see
    :mod:`experiments.pyfunc_models.markov_model`).

    Parameters
    ----------
    markov
        A fitted Markov model.
    separator
        Separator between channels in the ``path`` strings the model will receive.
    name, registered_model_name, tags
        As in :func:`log_uplift_model`.
    input_example
        Example input (default: the five most frequent fitted paths, one conversion each).
    """
    import mlflow
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types import ColSpec, Schema
    from mlflow.types.schema import AnyType

    from experiments.pyfunc_models.markov_model import split_credit

    payload = markov_payload(markov, separator)
    if input_example is None:
        journeys = markov.journeys_
        top = np.argsort(-(journeys.conversions + journeys.nulls), kind="stable")[:5]
        joiner = f" {separator} "
        input_example = pd.DataFrame(
            {
                "path": [joiner.join(journeys.path(int(i))) for i in top],
                "conversions": np.ones(len(top)),
                "value": np.zeros(len(top)),
            }
        )
    # counts and values are checked by the model itself (finite, >= 0): typed "any" so that
    # integer counts are accepted (MLflow refuses to cast int64 to a "double" column)
    inputs = Schema(
        [
            ColSpec("string", "path"),
            ColSpec(AnyType(), "conversions", required=False),
            ColSpec(AnyType(), "value", required=False),
        ]
    )
    output = split_credit(
        input_example,
        payload["channels"],
        np.asarray(payload["removal_effect"]),
        separator,
    )
    outputs = infer_signature(output).inputs
    signature = ModelSignature(inputs=inputs, outputs=outputs)
    with tempfile.TemporaryDirectory(prefix="pathlift-markov-") as tmp:
        path = Path(tmp) / "markov.json"
        path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=str(MARKOV_MODEL_FILE),
            artifacts={"markov": str(path)},
            signature=signature,
            input_example=input_example,
            registered_model_name=registered_model_name,
            pip_requirements=_requirements(),
            tags=dict(tags or {}),
        )


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


def register_model(
    source_uri: str,
    name: str,
    *,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    alias: str | None = None,
) -> ModelVersion:
    """Register ``source_uri`` (a logged model's ``model_uri``) as a new version of ``name``.

    ``tags`` are set on the version (e.g. :data:`TAG_DATA`, :data:`TAG_CONFIG`); ``alias``, if
    given, is pointed at the new version.
    """
    import mlflow

    # MLflow prints "Successfully registered model ..." / "Created version ..." on standard
    # error itself; they become INFO lines of this module (shown with --verbose)
    printed = io.StringIO()
    with contextlib.redirect_stderr(printed):
        version = mlflow.register_model(source_uri, name, tags=dict(tags or {}))
    for line in printed.getvalue().splitlines():
        if line.strip():
            logger.info("mlflow: %s", line.strip())
    client = _client()
    if description:
        client.update_model_version(name, version.version, description=description)
    if alias:
        client.set_registered_model_alias(name, alias, version.version)
    return client.get_model_version(name, version.version)


def find_versions(name: str, *, data_sha256: str, config_sha256: str) -> list[ModelVersion]:
    """Return the versions of ``name`` trained on the same data and configuration, newest first."""
    client = _client()
    query = f"name = '{name}' and tag.`{TAG_DATA}` = '{data_sha256}'"
    try:
        versions = client.search_model_versions(query)
    except Exception as exc:  # unknown model -> nothing registered yet
        logger.debug("search_model_versions(%s) failed: %s", query, exc)
        return []
    same = [v for v in versions if v.tags.get(TAG_CONFIG) == config_sha256]
    return sorted(same, key=lambda v: int(v.version), reverse=True)


def get_alias_version(name: str, alias: str) -> ModelVersion | None:
    """Return the version ``alias`` points at, or ``None`` (no such model or alias)."""
    from mlflow.exceptions import MlflowException

    try:
        return _client().get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def set_alias(name: str, alias: str, version: str | int) -> None:
    """Point ``alias`` of model ``name`` at ``version``."""
    _client().set_registered_model_alias(name, alias, str(version))


def delete_alias(name: str, alias: str) -> None:
    """Remove ``alias`` from model ``name`` (no error when absent)."""
    from mlflow.exceptions import MlflowException

    with contextlib.suppress(MlflowException):
        _client().delete_registered_model_alias(name, alias)


def load_model(name: str, alias: str = CHAMPION) -> Any:
    """Load ``models:/<name>@<alias>`` as a pyfunc model.

    Raises
    ------
    RegistryError
        No such model or alias.
    """
    import mlflow

    if get_alias_version(name, alias) is None:
        raise RegistryError(
            f"registered model {name!r} has no alias {alias!r} in {mlflow.get_registry_uri()}; "
            "train and register one first (e.g. `pathlift retrain --config retrain.yaml`)"
        )
    return mlflow.pyfunc.load_model(model_uri(name, alias))


def register_if_new(
    log_and_get_uri: Callable[[], str],
    name: str,
    *,
    data_sha256: str,
    config_sha256: str,
    alias: str | None,
    force: bool = False,
) -> str:
    """Register a model unless a version with the same data and config exists; set an alias.

    ``log_and_get_uri()`` logs the model and returns its URI (only called when registering).
    ``alias=None`` points ``champion`` at the new version when the model has no champion yet,
    else ``challenger``. Returns the version (new or existing).
    """
    existing = (
        [] if force else find_versions(name, data_sha256=data_sha256, config_sha256=config_sha256)
    )
    if existing:
        logger.info("model %s version %s has the same data and config", name, existing[0].version)
        return str(existing[0].version)
    uri = log_and_get_uri()
    version = register_model(uri, name, tags={TAG_DATA: data_sha256, TAG_CONFIG: config_sha256})
    target = alias or (CHAMPION if get_alias_version(name, CHAMPION) is None else CHALLENGER)
    set_alias(name, target, version.version)
    return str(version.version)


def register_run_model(
    log_and_get_uri: Callable[[], str],
    name: str,
    *,
    data_sha256: str,
    config: Mapping[str, Any],
    alias: str | None,
    force: bool,
) -> dict[str, str]:
    """:func:`register_if_new` from the active run, tagged ``pathlift.registered.<name>`` there.

    ``config`` is what defines the model besides its data (its hash identifies the version).
    Returns ``{name: version}``.
    """
    import mlflow

    version = register_if_new(
        log_and_get_uri,
        name,
        data_sha256=data_sha256,
        config_sha256=config_hash(config),
        alias=alias,
        force=force,
    )
    mlflow.set_tag(f"pathlift.registered.{name}", version)
    return {name: version}


# --------------------------------------------------------------------------------------------
# Locking
# --------------------------------------------------------------------------------------------


def default_lock_dir(settings: TrackingSettings) -> Path:
    """Directory of alias lock files.

    Next to the database for a ``sqlite:///`` store (``<db dir>/.pathlift-locks``); otherwise
    ``$PATHLIFT_LOCK_DIR`` or ``~/.cache/pathlift/locks``. Locks only serialise processes on one
    machine: run jobs that share a remote registry from one scheduler host.
    """
    if settings.sqlite_path is not None:
        return settings.sqlite_path.resolve().parent / ".pathlift-locks"
    env = os.environ.get("PATHLIFT_LOCK_DIR")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "pathlift" / "locks"


@contextlib.contextmanager
def alias_lock(
    name: str, lock_dir: str | os.PathLike[str], *, timeout: float = 600.0
) -> Iterator[Path]:
    """Hold an exclusive lock for registered model ``name`` (``fcntl.flock`` on a lock file).

    Blocks until the lock is free, at most ``timeout`` seconds (then :class:`TimeoutError`).
    The lock is released when the block exits, and by the operating system if the process dies.
    """
    directory = Path(lock_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{metric_key(name)}.lock"
    deadline = time.monotonic() + timeout
    with open(path, "a+") as fh:
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"could not lock {str(path)!r} within {timeout:g} s: another job holds it"
                    ) from None
                time.sleep(0.05)
        try:
            yield path
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
