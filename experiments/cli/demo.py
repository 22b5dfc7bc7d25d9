"""``pathlift demo``: the main job on simulated data, tracked in MLflow."""

from __future__ import annotations

import click

from experiments.cli._output import Progress

__all__ = ["command"]


@click.command("demo")
@click.option("--tracking-uri", default=None, help="MLflow store (default: the project's).")
@click.option("--experiment", default="pathlift-demo", show_default=True, help="MLflow experiment.")
@click.option("--out", "out_dir", default=None, help="Report directory (default: reports/demo).")
@click.option(
    "--users",
    "n_users",
    default=60_000,
    show_default=True,
    type=click.IntRange(1000),
    help="Simulated users (journeys).",
)
@click.option(
    "--customers",
    "n_customers",
    default=30_000,
    show_default=True,
    type=click.IntRange(1000),
    help="Customers of the simulated campaign (uplift).",
)
@click.option(
    "--bootstrap",
    "n_bootstrap",
    default=200,
    show_default=True,
    type=click.IntRange(20),
    help="Bootstrap replicates for 95% intervals.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of everything random.")
def command(
    tracking_uri: str | None,
    experiment: str,
    out_dir: str | None,
    n_users: int,
    n_customers: int,
    n_bootstrap: int,
    seed: int,
) -> None:
    """Simulate journeys and a campaign, run attribution and uplift, track, register, report."""
    # MLflow's INFO lines and progress bars are quiet unless --verbose (experiments.cli)
    from experiments.demo import run_demo

    clock = Progress(enabled=True)
    result = run_demo(
        out_dir=out_dir,
        tracking_uri=tracking_uri,
        experiment=experiment,
        n_users=n_users,
        n_customers=n_customers,
        n_bootstrap=n_bootstrap,
        seed=seed,
        progress=clock.stage,
    )
    click.echo(result.summary())
    click.echo(f"\nDone in {clock.elapsed():.0f} s.")
