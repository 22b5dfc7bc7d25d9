"""The ``pathlift`` command line.

Each sub-command lives in its own module of this package and is registered on :data:`cli`.
The sub-command modules import only click and the light name and error modules at import time;
NumPy, pandas, the models, LightGBM and MLflow are imported inside the commands, so ``pathlift
--help`` starts in a fraction of a second.
Domain errors (``ValueError`` subclasses raised by the library for bad input) are turned into a
single line on standard error and a non-zero exit status; see
:func:`experiments.cli._errors.handle_errors` for the exit statuses.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Sequence

import click

from experiments.cli._errors import EXIT_BAD_INPUT, EXIT_FAILURE, handle_errors

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILURE", "cli", "main", "run_cli"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pathlift")
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Log progress details to standard error, with the libraries' own INFO lines and "
    "progress bars (MLflow, Spark, tqdm).",
)
def cli(verbose: bool) -> None:
    """pathlift: multi-touch attribution and uplift modeling, tracked in MLflow."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:
        quiet_libraries()


#: environment that keeps the libraries' INFO lines and progress bars off standard error; read
#: when the libraries are imported (inside the commands), so set before any command runs; a
#: value the caller set wins
QUIET_ENVIRONMENT = {
    "MLFLOW_LOGGING_LEVEL": "WARNING",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "TQDM_DISABLE": "1",
}


def quiet_libraries() -> None:
    """Keep third-party INFO logs and progress bars quiet (the default without ``--verbose``).

    MLflow's INFO lines and artifact progress bars, tqdm bars (causalml, MLflow downloads),
    and the py4j/Spark and Alembic (MLflow's database migrations) loggers below WARNING. A
    Spark driver JVM started by a command then logs errors only, from its start
    (:func:`attribution.engines.spark.local_spark_session` reads the ``pyspark`` logger's level).
    """
    for key, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    for name in ("mlflow", "py4j", "alembic", "urllib3", "numba", "matplotlib"):
        logging.getLogger(name).setLevel(logging.WARNING)


#: MLflow's HTTP retry defaults (7 retries, backoff factor 2) keep a command waiting minutes on
#: a server that went away; the CLI retries twice, 1 s apart, unless the environment says otherwise
HTTP_RETRY_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
}


def run_cli(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return its exit status (used by tests)."""
    import os

    for name, value in HTTP_RETRY_DEFAULTS.items():
        os.environ.setdefault(name, value)
    return handle_errors(cli, argv)


def main() -> None:
    """Console-script entry point: ``pathlift ...``."""
    status = run_cli()
    # Leave the objects still alive to the operating system: the interpreter's last garbage
    # collection would walk the millions of objects that NumPy, pandas, SciPy and numba create
    # on import (0.3-0.4 s at the end of `pathlift attribute`) to free memory the process is
    # about to give back anyway. Exit handlers and stream flushes still run.
    gc.freeze()
    sys.exit(status)


def _register() -> None:
    # each sub-command module exposes a click command named ``command``; an import error in one
    # of them is a bug and surfaces here
    from experiments.cli import attribute, demo, plan_tests, report, retrain, simulate, uplift

    for module in (attribute, uplift, demo, retrain, report, plan_tests, simulate):
        cli.add_command(module.command)


_register()
