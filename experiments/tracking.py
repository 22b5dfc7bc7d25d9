"""MLflow tracking for pathlift: where runs go, what every run carries, and failure handling.

Store
-----
Unless told otherwise, runs are kept in an embedded store inside the *project root* (the nearest
directory, walking up from the working directory, that holds a ``pyproject.toml``; the working
directory itself when there is none):

* run data (parameters, metrics, tags, registry) in ``sqlite:///<root>/mlflow.db``;
* artifacts (reports, figures, models) in ``<root>/mlruns``, as an absolute ``file://`` URI set
  on each experiment when it is created.

MLflow 3 no longer accepts the plain file store for new work, and a ``mlruns/<id>/meta.yaml``
left over from old file-store data makes MLflow tools that are started without a URI silently go
back to it. :func:`resolve_tracking` refuses to use the default store when such data is found
(:class:`~experiments.errors.TrackingStoreError`, with the fix). ``MLFLOW_TRACKING_URI`` or an
explicit ``tracking_uri`` (the CLI's ``--tracking-uri``) point anywhere else, e.g. a shared
``mlflow server``. For a ``sqlite:///<dir>/<file>.db`` URI given explicitly, artifacts go to
``<dir>/mlruns``; for a server, the server decides.

Runs
----
:func:`tracked_run` opens a run with the standard tags (:func:`run_tags`: ``pathlift.version``,
package versions, ``git.commit``) and the run description (the ``mlflow.note.content`` tag,
shown as the run's description in the MLflow UI). If the body raises, the traceback is saved as
the artifact ``traceback.txt``, the tag ``pathlift.error`` holds the one-line error, the run ends
with status ``FAILED`` (``KILLED`` for an interrupt) and the exception propagates.

Datasets
--------
:func:`log_dataset` records an input with :func:`mlflow.log_input` using a digest computed here
(:func:`file_digest` streams the file's bytes through SHA-256; :func:`frame_digest` hashes the
column names, dtypes and :func:`pandas.util.hash_pandas_object` of the rows), because MLflow's
own digest of a large frame is slow. The digest stored on the dataset is the first 32 hex
characters of the SHA-256 (MLflow limits dataset digests to 36 characters); the full digest is the
input tag ``sha256``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shlex
import subprocess
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pandas as pd

from experiments.errors import TrackingStoreError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "DEFAULT_EXPERIMENT",
    "DatasetInfo",
    "TrackedRun",
    "TrackingSettings",
    "config_hash",
    "default_tracking_uri",
    "file_digest",
    "find_project_root",
    "frame_digest",
    "git_commit",
    "log_artifact_files",
    "log_dataset",
    "log_figures",
    "log_report",
    "metric_key",
    "resolve_tracking",
    "run_tags",
    "setup_experiment",
    "tracked_run",
]

logger = logging.getLogger(__name__)

#: Experiment used when none is given.
DEFAULT_EXPERIMENT = "pathlift"

#: Distributions whose versions are tagged on every run (tag ``version.<name>``).
VERSIONED_PACKAGES: tuple[str, ...] = (
    "numpy",
    "pandas",
    "scikit-learn",
    "lightgbm",
    "causalml",
    "mlflow",
)

_DIGEST_CHARS = 32
_KEY_RE = re.compile(r"[^0-9A-Za-z_\-./ ]+")


# --------------------------------------------------------------------------------------------
# Store resolution
# --------------------------------------------------------------------------------------------


def find_project_root(start: str | os.PathLike[str] | None = None) -> Path:
    """Return the nearest directory at or above ``start`` holding a ``pyproject.toml``.

    ``start`` defaults to the working directory. Falls back to ``start`` itself when no
    ancestor has one. The result is absolute.
    """
    here = Path(start if start is not None else Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate
    return here


def mlflow_executable() -> str:
    """Return the ``mlflow`` command of the running environment (its absolute path if any)."""
    candidate = Path(sys.executable).parent / "mlflow"
    return str(candidate) if candidate.is_file() else "mlflow"


def default_tracking_uri(root: str | os.PathLike[str] | None = None) -> str:
    """``sqlite:///<root>/mlflow.db`` for the project root (see :func:`find_project_root`)."""
    base = Path(root).resolve() if root is not None else find_project_root()
    return f"sqlite:///{base / 'mlflow.db'}"


def _legacy_file_store(mlruns: Path) -> Path | None:
    """First ``mlruns/<id>/meta.yaml`` of an old file store, if any."""
    if not mlruns.is_dir():
        return None
    for child in sorted(mlruns.iterdir()):
        meta = child / "meta.yaml"
        if child.is_dir() and meta.is_file():
            return meta
    return None


@dataclass(frozen=True)
class TrackingSettings:
    """Where runs, models and artifacts go.

    Build it with :func:`resolve_tracking`.

    Attributes
    ----------
    tracking_uri
        MLflow tracking URI (``sqlite:///...``, ``http://host:port``, ...).
    registry_uri
        Model registry URI (the tracking URI unless given).
    experiment
        Experiment name.
    artifact_location
        Artifact location given to experiments this package creates (an absolute ``file://``
        URI for local stores), or ``None`` to let the tracking server decide.
    default_store
        Whether this is the embedded project store (no URI was given).
    """

    tracking_uri: str
    registry_uri: str
    experiment: str
    artifact_location: str | None
    default_store: bool = False

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of a ``sqlite:///`` store, else ``None``."""
        if not self.tracking_uri.startswith("sqlite:///"):
            return None
        return Path(self.tracking_uri[len("sqlite:///") :])

    def ui_command(self, port: int = 5000) -> str:
        """Return the ``mlflow ui`` command that shows this store (for local stores).

        The command runs as printed, from any directory and without an activated environment:
        ``mlflow`` is the executable installed next to the running Python (for example
        ``/path/to/project/.venv/bin/mlflow``) when there is one, and every argument is quoted
        for a POSIX shell where needed.
        """
        parts = [mlflow_executable(), "ui", "--backend-store-uri", self.tracking_uri]
        if self.artifact_location is not None:
            parts += ["--default-artifact-root", self.artifact_location]
        parts += ["--host", "127.0.0.1", "--port", str(port)]
        return shlex.join(parts)

    def ui_url(self, experiment_id: str, port: int = 5000) -> str:
        """URL of the experiment's run list.

        For a local store this is the ``mlflow ui`` of :meth:`ui_command`; for a server it is the
        server itself. The ``/runs`` suffix matters: MLflow 3 otherwise opens a GenAI overview
        that hides the runs.
        """
        if self.tracking_uri.startswith(("http://", "https://")):
            base = self.tracking_uri.rstrip("/")
        else:
            base = f"http://127.0.0.1:{port}"
        return f"{base}/#/experiments/{experiment_id}/runs"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dictionary."""
        return dict(self.__dict__)


def resolve_tracking(
    tracking_uri: str | None = None,
    experiment: str | None = None,
    *,
    registry_uri: str | None = None,
    root: str | os.PathLike[str] | None = None,
    check_server: bool = False,
) -> TrackingSettings:
    """Decide where runs go: ``tracking_uri`` > ``MLFLOW_TRACKING_URI`` > the project store.

    Parameters
    ----------
    tracking_uri
        Explicit tracking URI (CLI ``--tracking-uri``).
    experiment
        Experiment name (default ``MLFLOW_EXPERIMENT_NAME`` or ``"pathlift"``).
    registry_uri
        Explicit registry URI (default: the tracking URI, or ``MLFLOW_REGISTRY_URI`` when the
        tracking URI comes from ``MLFLOW_TRACKING_URI``).
    root
        Project root for the default store (default: :func:`find_project_root`).
    check_server
        Ask a ``http(s)`` tracking or registry server for ``/health`` now, once, with
        :data:`CONNECT_TIMEOUT` seconds and no retry (the commands do, before any work).

    Raises
    ------
    TrackingStoreError
        The default store would sit next to old file-store data (``mlruns/<id>/meta.yaml``),
        the URI is a plain path (the file store, which MLflow 3 no longer accepts), its scheme
        is not one MLflow keeps runs in (:data:`SUPPORTED_SCHEMES`), or, with ``check_server``,
        the server does not answer within :data:`CONNECT_TIMEOUT` seconds.
    """
    from_env = not tracking_uri and bool(os.environ.get("MLFLOW_TRACKING_URI"))
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or None
    name = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
    base = Path(root).resolve() if root is not None else find_project_root()
    if uri == default_tracking_uri(base):
        # the project store, named explicitly or exported by mlflow.set_tracking_uri earlier
        uri, from_env = None, False
    if uri is None:
        legacy = _legacy_file_store(base / "mlruns")
        if legacy is not None:
            raise TrackingStoreError(
                f"found old MLflow file-store data at {str(legacy)!r}: the default store keeps "
                f"artifacts in {str(base / 'mlruns')!r} next to {str(base / 'mlflow.db')!r}, and "
                "MLflow tools started without a URI would silently read the old file store "
                "instead. Move the old data away (e.g. `mv mlruns mlruns.file-store`), migrate "
                "it, or pass --tracking-uri / set MLFLOW_TRACKING_URI to another store"
            )
        uri = default_tracking_uri(base)
        artifacts: str | None = (base / "mlruns").as_uri()
        default = True
    else:
        scheme = urlparse(uri).scheme
        if scheme in ("", "file") or (len(scheme) == 1 and uri[1:3] in (":\\", ":/")):
            raise TrackingStoreError(
                f"tracking URI {uri!r} is the MLflow file store, which MLflow 3 no longer "
                "accepts for new runs; use a database such as "
                f"'sqlite:///{Path(urlparse(uri).path or uri).resolve() / 'mlflow.db'}' or a "
                "tracking server 'http://host:5000'"
            )
        _check_uri(uri, "tracking", check_server=check_server)
        artifacts = None
        if uri.startswith("sqlite:///"):
            db = Path(uri[len("sqlite:///") :])
            artifacts = (db.resolve().parent / "mlruns").as_uri()
        default = False
    # MLFLOW_REGISTRY_URI only applies with MLFLOW_TRACKING_URI: an explicit tracking URI (or
    # the project store) keeps its registry with it (mlflow.set_registry_uri also exports
    # MLFLOW_REGISTRY_URI, which must not leak into the next resolution)
    env_registry = os.environ.get("MLFLOW_REGISTRY_URI") if from_env else None
    registry = registry_uri or env_registry or uri
    if registry != uri:
        _check_uri(registry, "registry", check_server=check_server)
    return TrackingSettings(
        tracking_uri=uri,
        registry_uri=registry,
        experiment=name,
        artifact_location=artifacts,
        default_store=default,
    )


#: URI schemes MLflow can keep runs and registered models in (the part before ``+`` of a
#: database dialect such as ``postgresql+psycopg2``)
SUPPORTED_SCHEMES = frozenset(
    {"sqlite", "postgresql", "mysql", "mssql", "http", "https", "databricks", "databricks-uc", "uc"}
)
#: seconds to wait for a tracking server to accept a connection before giving up
CONNECT_TIMEOUT = 5.0


def _check_uri(uri: str, what: str, *, check_server: bool) -> None:
    """Refuse a URI MLflow cannot use and, with ``check_server``, an unreachable server.

    A ``http(s)`` server is asked for ``/health`` once, with :data:`CONNECT_TIMEOUT` seconds to
    connect and answer and no retry; an MLflow server answers 200 there, anything else (no
    answer, a timeout, an error status from a proxy or another program) is refused.
    """
    scheme = urlparse(uri).scheme.lower()
    if scheme.split("+", 1)[0] not in SUPPORTED_SCHEMES:
        raise TrackingStoreError(
            f"{what} URI {uri!r} has the unsupported scheme {scheme!r}: use a database such as "
            "'sqlite:///path/mlflow.db' or 'postgresql://...', or a tracking server "
            "'http://host:5000'"
        )
    if check_server and scheme in ("http", "https"):
        import urllib.error
        import urllib.request

        health = uri.rstrip("/") + "/health"
        try:
            with urllib.request.urlopen(health, timeout=CONNECT_TIMEOUT):  # noqa: S310 - http(s)
                pass
        except urllib.error.HTTPError as exc:
            raise TrackingStoreError(
                f"the {what} server {uri!r} answered HTTP {exc.code} to {health!r}, not an "
                "MLflow tracking server's 200: check --tracking-uri / MLFLOW_TRACKING_URI (an "
                "MLflow server answers /health), or pass --no-track"
            ) from exc
        except (TimeoutError, urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TrackingStoreError(
                f"cannot reach the MLflow {what} server {uri!r} within {CONNECT_TIMEOUT:g} s "
                f"({reason}): start it, fix --tracking-uri / MLFLOW_TRACKING_URI, or pass "
                "--no-track"
            ) from exc


def setup_experiment(settings: TrackingSettings) -> str:
    """Point MLflow at ``settings`` and return the experiment id (created if missing).

    Sets the process-wide tracking and registry URIs (:func:`mlflow.set_tracking_uri`,
    :func:`mlflow.set_registry_uri`). A new experiment gets ``settings.artifact_location``.
    """
    import mlflow
    from mlflow import MlflowClient

    if settings.sqlite_path is not None:
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.registry_uri)
    client = MlflowClient(settings.tracking_uri, settings.registry_uri)
    existing = client.get_experiment_by_name(settings.experiment)
    if existing is not None:
        if existing.lifecycle_stage == "deleted":
            raise TrackingStoreError(
                f"experiment {settings.experiment!r} is deleted in {settings.tracking_uri}; "
                "restore it (`mlflow experiments restore`) or use another --experiment name"
            )
        return str(existing.experiment_id)
    try:
        return str(
            client.create_experiment(
                settings.experiment, artifact_location=settings.artifact_location
            )
        )
    except Exception:  # created concurrently by another process
        again = client.get_experiment_by_name(settings.experiment)
        if again is None:
            raise
        return str(again.experiment_id)


# --------------------------------------------------------------------------------------------
# Tags, keys, digests
# --------------------------------------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        return importlib_metadata.version(dist)
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def git_commit(cwd: str | os.PathLike[str] | None = None) -> str:
    """``git rev-parse HEAD`` of the project checkout, or ``"unknown"``."""
    where = Path(cwd) if cwd is not None else Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH
            cwd=where,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit) else "unknown"


def run_tags() -> dict[str, str]:
    """Return the standard tags: ``pathlift.version``, ``version.<pkg>``, ``git.commit``."""
    tags = {"pathlift.version": _version("pathlift"), "git.commit": git_commit()}
    for dist in VERSIONED_PACKAGES:
        tags[f"version.{dist}"] = _version(dist)
    return tags


def metric_key(*parts: str) -> str:
    """Return a valid MLflow metric/param key made of ``parts`` joined with dots.

    Characters MLflow does not accept in keys are replaced by ``_`` and spaces become ``_``,
    e.g. ``metric_key("credit", "markov", "Paid Search!")`` is ``"credit.markov.Paid_Search_"``.
    """
    cleaned = [_KEY_RE.sub("_", str(p)).replace(" ", "_") for p in parts]
    return ".".join(c.strip(".") or "_" for c in cleaned)


def file_digest(path: str | os.PathLike[str], *, chunk_size: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes, streamed in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def frame_digest(frame: pd.DataFrame) -> str:
    """SHA-256 hex digest of a DataFrame's content.

    Defined as SHA-256 over: the JSON list of ``[column name, dtype]`` pairs, then the bytes of
    ``pandas.util.hash_pandas_object(frame, index=False)`` (one ``uint64`` per row). Row order
    matters; the index does not.
    """
    digest = hashlib.sha256()
    header = [[str(c), str(t)] for c, t in zip(frame.columns, frame.dtypes, strict=True)]
    digest.update(json.dumps(header).encode())
    if len(frame):
        rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        digest.update(rows.tobytes())
    return digest.hexdigest()


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 of ``config`` serialised as canonical JSON (sorted keys)."""
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackedRun:
    """A finished MLflow run and where to look at it.

    Attributes
    ----------
    run_id, experiment_id
        MLflow identifiers.
    settings
        The store the run is in.
    artifact_uri
        Root of the run's artifacts.
    model_versions
        ``{registered model name: version}`` registered by the run.
    """

    run_id: str
    experiment_id: str
    settings: TrackingSettings
    artifact_uri: str
    model_versions: Mapping[str, str]

    @classmethod
    def from_run(
        cls, run: Any, settings: TrackingSettings, model_versions: Mapping[str, str]
    ) -> TrackedRun:
        """Describe the MLflow ``run`` (an ``ActiveRun`` of :func:`tracked_run`) once it ended."""
        info = run.info
        return cls(
            run_id=info.run_id,
            experiment_id=info.experiment_id,
            settings=settings,
            artifact_uri=info.artifact_uri,
            model_versions=model_versions,
        )

    @property
    def ui_url(self) -> str:
        """URL of the run in the MLflow UI."""
        base = self.settings.ui_url(self.experiment_id)
        return base[: -len("/runs")] + f"/runs/{self.run_id}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dictionary."""
        return {
            "run_id": self.run_id,
            "experiment_id": self.experiment_id,
            "tracking_uri": self.settings.tracking_uri,
            "artifact_uri": self.artifact_uri,
            "model_versions": dict(self.model_versions),
            "ui_url": self.ui_url,
        }

    def __repr__(self) -> str:
        return (
            f"TrackedRun(run_id={self.run_id!r}, experiment_id={self.experiment_id!r}, "
            f"tracking_uri={self.settings.tracking_uri!r})"
        )


@contextlib.contextmanager
def tracked_run(
    run_name: str,
    *,
    settings: TrackingSettings | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
) -> Iterator[Any]:
    """Open an MLflow run that is marked ``FAILED`` with its traceback if the body raises.

    Parameters
    ----------
    run_name
        Run name shown in the UI.
    settings
        The store (default: :func:`resolve_tracking` with no arguments).
    tags
        Extra tags (added to :func:`run_tags`).
    description
        Markdown run description (tag ``mlflow.note.content``); it can also be set later with
        ``mlflow.set_tag("mlflow.note.content", ...)``.

    Yields
    ------
    mlflow.ActiveRun
        The active run.

    Notes
    -----
    On an exception the artifact ``traceback.txt`` is logged, the tag ``pathlift.error`` set to
    ``"<Type>: <message>"`` and the run ended with status ``FAILED`` (``KILLED`` for
    :class:`KeyboardInterrupt` and :class:`SystemExit`); the exception is re-raised.
    """
    import mlflow

    settings = settings or resolve_tracking()
    experiment_id = setup_experiment(settings)
    all_tags = {**run_tags(), **dict(tags or {})}
    if description is not None:
        all_tags["mlflow.note.content"] = description
    run = mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=all_tags)
    try:
        yield run
    except BaseException as exc:
        status = "KILLED" if isinstance(exc, KeyboardInterrupt | SystemExit) else "FAILED"
        try:
            text = "".join(traceback.format_exception(exc))
            mlflow.log_text(text, "traceback.txt")
            message = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
            mlflow.set_tag("pathlift.error", message[:5000])
        except Exception:  # the store itself may be what failed
            logger.exception("could not record the failure of run %s", run.info.run_id)
        finally:
            mlflow.end_run(status=status)
        raise
    else:
        mlflow.end_run(status="FINISHED")


def log_artifact_files(files: Mapping[str, str | bytes], artifact_path: str | None = None) -> None:
    """Write ``{relative name: content}`` to a temporary directory and log it to the active run."""
    import mlflow

    with tempfile.TemporaryDirectory(prefix="pathlift-artifacts-") as tmp:
        for name, content in files.items():
            target = Path(tmp) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        mlflow.log_artifacts(tmp, artifact_path=artifact_path)


def log_report(
    files: Mapping[str, str | bytes],
    *,
    config: Mapping[str, Any] | None,
    summary: str,
    kind: str,
) -> None:
    """Log a run's report ``files`` and ``config`` (as ``config.yaml``) into the active run.

    ``summary`` (Markdown) becomes the run's description, ``kind`` its ``pathlift.kind`` tag.
    """
    import mlflow

    files = dict(files)
    if config is not None:
        import yaml

        files["config.yaml"] = yaml.safe_dump(dict(config), sort_keys=False)
    log_artifact_files(files)
    mlflow.set_tag("mlflow.note.content", summary)
    mlflow.set_tag("pathlift.kind", kind)


def log_figures(
    figures: Mapping[str, Callable[[], Axes]], save_kwargs: Mapping[str, Any] | None = None
) -> None:
    """Draw ``{artifact path: draw()}`` and log each figure into the active run as a PNG.

    The figures are drawn with matplotlib's default style: other libraries (shap via causalml)
    change the global one on import.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mlflow

    with plt.style.context("default"):
        for path, draw in figures.items():
            ax = draw()
            mlflow.log_figure(ax.figure, path, save_kwargs=dict(save_kwargs or {}) or None)
            plt.close(ax.get_figure(root=True))


@dataclass(frozen=True)
class DatasetInfo:
    """What :func:`log_dataset` recorded: name, source, full SHA-256 and row count."""

    name: str
    source: str
    sha256: str
    n_rows: int

    @property
    def digest(self) -> str:
        """The digest stored on the MLflow dataset (first 32 hex characters)."""
        return self.sha256[:_DIGEST_CHARS]


def log_dataset(
    data: pd.DataFrame | str | os.PathLike[str],
    *,
    name: str,
    context: str = "training",
    source: str | os.PathLike[str] | None = None,
    frame: pd.DataFrame | None = None,
    sha256: str | None = None,
    sample_rows: int = 1000,
) -> DatasetInfo:
    """Record an input dataset on the active run with a digest computed here.

    Parameters
    ----------
    data
        A file path (digest: :func:`file_digest` of its bytes) or a DataFrame (digest:
        :func:`frame_digest`).
    name
        Dataset name shown in the UI.
    context
        ``"training"``, ``"evaluation"``, ...
    source
        Where the data came from (default: the file path, or ``"in-memory"``).
    frame
        The data as a frame, when ``data`` is a path and the frame is already loaded; its first
        ``sample_rows`` rows give the schema.
    sha256
        A digest already computed by the caller (skips hashing).
    sample_rows
        Rows used to infer the schema.
    """
    import mlflow
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.models import infer_signature

    if isinstance(data, pd.DataFrame):
        frame = data
        full = sha256 or frame_digest(data)
        src = str(source) if source is not None else "in-memory"
    else:
        path = Path(data).resolve()
        full = sha256 or file_digest(path)
        src = str(source) if source is not None else str(path)
    n_rows = len(frame) if frame is not None else -1
    schema = None
    if frame is not None and len(frame.columns):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                schema = infer_signature(frame.head(sample_rows)).inputs
        except Exception:  # schema is a nicety; never fail a run for it
            logger.debug("could not infer the schema of dataset %s", name, exc_info=True)
    dataset_source: Any = None
    if "://" in src or Path(src).exists():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                dataset_source = resolve_dataset_source(src)
        except Exception:  # not a path or URI MLflow knows: record it as a label
            logger.debug("MLflow cannot resolve dataset source %r", src, exc_info=True)
    if dataset_source is None:
        from mlflow.data.code_dataset_source import CodeDatasetSource

        dataset_source = CodeDatasetSource(tags={"pathlift.source": src})
    dataset = MetaDataset(  # type: ignore[abstract]  # profile is optional in practice
        dataset_source, name=name, digest=full[:_DIGEST_CHARS], schema=schema
    )
    input_tags = {"sha256": full}
    if n_rows >= 0:
        input_tags["n_rows"] = str(n_rows)
    mlflow.log_input(dataset, context=context, tags=input_tags)
    return DatasetInfo(name=name, source=src, sha256=full, n_rows=n_rows)
