"""``pathlift plan-tests``: which channel's lift test would teach the most, and how big."""

from __future__ import annotations

import click

from attribution.errors import InvalidModelOptionError
from experiments.cli._options import (
    bootstrap_option,
    delimiter_option,
    output_options,
    parse_list,
    seed_option,
    users_options,
)
from experiments.cli._output import emit, format_test_plan

__all__ = ["command"]


@click.command("plan-tests")
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@users_options(required=True)
@delimiter_option
@click.option("--lift-tests", default=None, help="Lift tests already run (CSV or Parquet).")
@click.option(
    "--negative-control",
    "negative_controls",
    multiple=True,
    help="A channel known to cause no conversions (e.g. direct navigation); repeat for several.",
)
@click.option("--costs", default=None, help="Spend table: channel, period, cost (CSV or Parquet).")
@click.option("--cost-col", default=None, help="Per-touch cost column of the event log instead.")
@click.option(
    "--holdout",
    default=0.1,
    show_default=True,
    type=click.FloatRange(0.0, 0.5, min_open=True),
    help="Share of a channel's reached journeys a test holds out.",
)
@click.option(
    "--target-precision",
    default=0.25,
    show_default=True,
    type=click.FloatRange(0.0, 10.0, min_open=True),
    help="Target 95% half-width of a test, relative to the channel's incremental conversions.",
)
@bootstrap_option(default=100, minimum=20, help="Bootstrap replicates of the causal model.")
@seed_option("Seed of fits and simulations.")
@click.option("--user-col", default="user_id", show_default=True, help="User column of both files.")
@click.option("--time-col", default="timestamp", show_default=True, help="Event time column.")
@click.option("--channel-col", default="channel", show_default=True, help="Channel column.")
@click.option(
    "--conversion-col", default="conversion", show_default=True, help="0/1 conversion column."
)
@click.option("--lookback", default=None, help="Lookback window, e.g. 30d.")
@output_options
def command(
    file: str,
    users_path: str,
    covariates: str | None,
    lift_tests: str | None,
    negative_controls: tuple[str, ...],
    costs: str | None,
    cost_col: str | None,
    holdout: float,
    target_precision: float,
    n_bootstrap: int,
    seed: int,
    user_col: str,
    time_col: str,
    channel_col: str,
    conversion_col: str,
    lookback: str | None,
    fmt: str,
    output: str | None,
) -> None:
    """Rank the untested channels of event log FILE by the value of a lift test on each.

    Fits the causal model (the event log, plus the user table of pre-exposure covariates),
    takes what is known (--lift-tests, --negative-control) and, for each untested channel,
    simulates a holdout test of --holdout of its reach: how much it would shrink the interval of
    the total incremental conversions, its expected value for the best budget move when spend is
    known, its holdout cost, and the holdout needed for --target-precision. See docs/causal.md.
    """
    from pathlib import Path

    if costs is not None and cost_col is not None:
        raise InvalidModelOptionError("pass either --costs or --cost-col, not both")
    for label, path in (
        ("event log", file),
        ("--users", users_path),
        ("--lift-tests", lift_tests),
        ("--costs", costs),
    ):
        if path is not None and not Path(path).exists():
            raise InvalidModelOptionError(f"{label} file {path!r} does not exist")
    if output is not None:
        from attribution._io import check_destination

        check_destination(output, what="--output", error=InvalidModelOptionError)

    from experiments.reports.pipeline import test_plan_from_events

    plan = test_plan_from_events(
        file,
        users_path,
        covariate_cols=parse_list(covariates),
        lift_tests=lift_tests,
        negative_controls=negative_controls,
        costs=costs,
        cost_col=cost_col,
        holdout_fraction=holdout,
        target_precision=target_precision,
        n_bootstrap=n_bootstrap,
        seed=seed,
        user_col=user_col,
        time_col=time_col,
        channel_col=channel_col,
        conversion_col=conversion_col,
        lookback=lookback,
    )
    emit(format_test_plan(plan, fmt), output)
