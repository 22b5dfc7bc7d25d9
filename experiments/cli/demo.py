"""``pathlift demo``: the main job on simulated data, tracked in MLflow."""

from __future__ import annotations

from typing import Any

import click

from experiments.cli._options import bootstrap_option, count_option, seed_option
from experiments.cli._output import Progress

__all__ = ["command"]


@click.command("demo")
@click.option("--tracking-uri", default=None, help="MLflow store (default: the project's).")
@click.option("--experiment", default="pathlift-demo", show_default=True, help="MLflow experiment.")
@click.option("--out", "out_dir", default=None, help="Report directory (default: reports/demo).")
@count_option(
    "--users", "n_users", default=60_000, minimum=1000, help="Simulated users (journeys)."
)
@count_option(
    "--customers",
    "n_customers",
    default=30_000,
    minimum=1000,
    help="Customers of the simulated campaign (uplift).",
)
@bootstrap_option(minimum=20, help="Bootstrap replicates for 95% intervals.")
@seed_option("Seed of everything random.")
def command(**options: Any) -> None:
    """Simulate journeys and a campaign, run attribution and uplift, track, register, report."""
    # MLflow's INFO lines and progress bars are quiet unless --verbose (experiments.cli)
    from experiments.demo import run_demo

    clock = Progress(enabled=True)
    result = run_demo(**options, progress=clock.stage)
    click.echo(result.summary())
    click.echo(f"\nDone in {clock.elapsed():.0f} s.")
