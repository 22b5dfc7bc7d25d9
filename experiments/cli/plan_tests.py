"""``pathlift plan-tests``: which channel's lift test would teach the most, and how big."""

from __future__ import annotations

import json
import sys

import click

from attribution.errors import InvalidJourneysError, InvalidModelOptionError

__all__ = ["command"]


@click.command("plan-tests")
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@click.option(
    "--users",
    "users_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=str),
    help="User table of pre-exposure covariates (CSV or Parquet), keyed by --user-col.",
)
@click.option(
    "--covariates", default=None, help="Covariate columns, comma-separated (default: all)."
)
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
@click.option(
    "--bootstrap",
    "n_bootstrap",
    default=100,
    show_default=True,
    type=click.IntRange(min=20),
    help="Bootstrap replicates of the causal model.",
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Seed of fits and simulations."
)
@click.option("--user-col", default="user_id", show_default=True, help="User column of both files.")
@click.option("--time-col", default="timestamp", show_default=True, help="Event time column.")
@click.option("--channel-col", default="channel", show_default=True, help="Channel column.")
@click.option(
    "--conversion-col", default="conversion", show_default=True, help="0/1 conversion column."
)
@click.option("--lookback", default=None, help="Lookback window, e.g. 30d.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option("--output", "-o", default=None, help="Write to this file (atomically).")
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
    if output is not None and Path(output).parent.exists() and not Path(output).parent.is_dir():
        raise InvalidModelOptionError(f"--output {output!r}: its parent is not a directory")

    from attribution._io import atomic_write_text, read_frame
    from attribution.calibration import LiftTests
    from attribution.causal import CausalAttribution
    from attribution.costs import CostTable
    from attribution.journeys import Journeys
    from attribution.testplan import plan_lift_tests

    tests = LiftTests.from_frame(lift_tests) if lift_tests is not None else None
    events = read_frame(file, what="event log", error=InvalidJourneysError)
    table = None
    if costs is not None:
        table = CostTable.from_frame(costs)
    elif cost_col is not None:
        table = CostTable.from_events(
            events, channel_col=channel_col, time_col=time_col, cost_col=cost_col
        )
    journeys = Journeys.from_events(
        events,
        user_col=user_col,
        time_col=time_col,
        channel_col=channel_col,
        conversion_col=conversion_col,
        lookback=lookback,
    ).with_users(
        users_path,
        user_col=user_col,
        covariate_cols=None if covariates is None else [c.strip() for c in covariates.split(",")],
    )
    result = CausalAttribution(n_bootstrap=n_bootstrap, seed=seed).fit(journeys).result_
    plan = plan_lift_tests(
        result,
        lift_tests=tests,
        negative_controls=negative_controls,
        costs=table,
        holdout_fraction=holdout,
        target_precision=target_precision,
        seed=seed,
    )
    if fmt == "json":
        text = json.dumps(plan.to_dict(), indent=2, allow_nan=False) + "\n"
    elif fmt == "csv":
        text = plan.to_frame().to_csv(index=False)
    else:
        text = _table(plan)
    if output is not None:
        atomic_write_text(output, text)
    else:
        sys.stdout.write(text)


def _table(plan: object) -> str:
    from attribution.testplan import TestPlan

    assert isinstance(plan, TestPlan)
    frame = plan.table[~plan.table["tested"]]
    show = {
        "rank": ("rank", "{:.0f}"),
        "channel": ("channel", "{}"),
        "incremental": ("incremental [95%]", ""),
        "width_reduction": ("total interval -", "{:,.1f}"),
        "net_value": ("net value", "{:,.2f}"),
        "holdout_needed": ("holdout needed", "{:.0%}"),
        "periods_needed": ("periods", "{:.1f}"),
    }
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for key, (_, pattern) in show.items():
            if key == "incremental":
                cells.append(
                    f"{row['incremental']:,.1f} [{row['incremental_low']:,.1f}, "
                    f"{row['incremental_high']:,.1f}]"
                )
            elif key == "net_value" and row[key] != row[key]:
                cells.append("-")
            else:
                cells.append(pattern.format(row[key]))
        rows.append(cells)
    headers = [label for label, _ in show.values()]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = [
        f"what to test next ({plan.decision})",
        f"unmeasured confounding lambda: {plan.lam_mean:.2f} "
        f"[{plan.lam_low:.2f}, {plan.lam_high:.2f}]",
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    tested = plan.table.loc[plan.table["tested"], "channel"].tolist()
    if tested:
        lines.append(f"already tested or negative controls: {', '.join(tested)}")
    return "\n".join(lines) + "\n"
