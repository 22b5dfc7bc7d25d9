"""``pathlift retrain``: train a challenger and promote it to champion only on evidence."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import click

from experiments.cli._options import delimiter_option
from experiments.cli._output import to_json
from experiments.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_KEPT,
    EXIT_PROMOTED,
    EXIT_SKIPPED,
)

__all__ = ["command"]

_EPILOG = f"""\b
Exit status:
  {EXIT_PROMOTED}  promoted: the challenger is the new champion
  {EXIT_KEPT}  kept: the challenger is not better; it is the 'challenger' alias
  {EXIT_SKIPPED}  skipped: a version with the same data and config exists
  {EXIT_BAD_INPUT}  bad input: invalid config or data (nothing changed)
  {EXIT_FAILURE}  failure: anything else (the champion is untouched)
"""


def _terminate(signum: int, frame: FrameType | None) -> None:
    # turn SIGTERM into an exception so the run is marked KILLED and the lock released
    raise SystemExit(128 + signum)


@click.command(name="retrain", epilog=_EPILOG)
@delimiter_option
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Retraining config (YAML); see docs/experiments.md.",
)
@click.option("--force", is_flag=True, help="Register a new version even if nothing changed.")
@click.option(
    "--tracking-uri",
    default=None,
    help="MLflow tracking URI (default: registry.tracking_uri, MLFLOW_TRACKING_URI, or "
    "sqlite:///<project root>/mlflow.db).",
)
@click.option("--experiment", default=None, help="MLflow experiment (default: from the config).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def command(
    config_path: str,
    force: bool,
    tracking_uri: str | None,
    experiment: str | None,
    as_json: bool,
) -> None:
    """Train a challenger uplift model and promote it if it beats the champion.

    The challenger and the current champion are evaluated on the same held-out rows; the
    challenger becomes 'champion' only when it is better by the configured margin on the
    configured metric and the paired bootstrap interval of the difference lies above 0.
    """
    from experiments.retrain import RetrainConfig, run_retrain
    from experiments.tracking import resolve_tracking

    config = RetrainConfig.from_yaml(config_path)
    reg = config.registry
    settings = resolve_tracking(
        tracking_uri or reg["tracking_uri"], experiment or reg["experiment"], check_server=True
    )
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        outcome = run_retrain(config, force=force or None, settings=settings)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
    if as_json:
        click.echo(to_json(outcome.to_dict()), nl=False)
    else:
        click.echo(f"{outcome.decision}: {outcome.reason}")
        click.echo(
            f"model {outcome.model_name}: version {outcome.version}, champion "
            f"{outcome.champion_before} -> {outcome.champion_after}"
        )
        if outcome.run_id:
            from mlflow import MlflowClient

            run = MlflowClient(settings.tracking_uri, settings.registry_uri).get_run(outcome.run_id)
            click.echo(
                f"run {outcome.run_id}: {settings.ui_url(run.info.experiment_id)}/{run.info.run_id}"
            )
            if not settings.tracking_uri.startswith(("http://", "https://")):
                click.echo(f"start the UI with: {settings.ui_command()}")
    sys.stdout.flush()
    if outcome.exit_code:
        click.get_current_context().exit(outcome.exit_code)
