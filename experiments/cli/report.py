"""``pathlift report``: a report for budget planners (HTML, Markdown, CSV and JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from attribution.catalog import DEFAULT_REPORT_MODELS, MODEL_NAMES, USER_MODELS, models_for
from attribution.errors import InvalidModelOptionError
from experiments.cli._options import (
    JourneyInput,
    bootstrap_option,
    check_bootstrap,
    journey_input_options,
    parse_list,
    seed_option,
    users_options,
)

__all__ = ["command"]


@click.command("report")
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@click.option("--events", is_flag=True, help="FILE is an event log (one row per touch).")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=str),
    help="Directory for report.html, report.md, report.json and report*.csv.",
)
@click.option(
    "--model",
    "-m",
    "models",
    multiple=True,
    type=click.Choice([*MODEL_NAMES, "all"]),
    help=f"Model to include; repeat for several. Default: {', '.join(DEFAULT_REPORT_MODELS)}.",
)
@click.option("--costs", default=None, help="Cost table (CSV/Parquet: channel, period, cost).")
@click.option(
    "--cost-col",
    default=None,
    help="Event logs: per-touch cost column to sum into weekly costs (instead of --costs).",
)
@click.option(
    "--lift-tests",
    default=None,
    help="Lift tests (CSV/Parquet: channel, incremental_conversions, ci_low, ci_high, ...).",
)
@click.option(
    "--uplift-run",
    default=None,
    help="MLflow run of `pathlift uplift` whose per-arm ATE serves as lift tests (with --arm).",
)
@click.option(
    "--arm",
    "arms",
    multiple=True,
    help="ARM=CHANNEL: map an uplift arm to a channel (repeatable; with --uplift-run).",
)
@click.option(
    "--arm-population",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Customers the uplift ATE is scaled to (incremental = ATE x population).",
)
@click.option("--tracking-uri", default=None, help="MLflow tracking URI for --uplift-run.")
@click.option(
    "--calibrate-model",
    default=None,
    help="Model to calibrate with the lift tests (default: causal when fitted, else markov).",
)
@click.option(
    "--untested",
    type=click.Choice(["keep", "pooled", "transfer"]),
    default=None,
    help="Calibration of untested channels: keep their credit, apply the tested channels' "
    "pooled factor, or (causal model, the default there) transfer the confounding bias the "
    "tests reveal. Default: transfer for causal, keep otherwise.",
)
@click.option(
    "--negative-control",
    "negative_controls",
    multiple=True,
    help="Causal calibration: a channel known to cause no conversions (e.g. direct); repeatable.",
)
@users_options()
@click.option(
    "--split-date",
    default=None,
    help="Event logs: start of the current period; journeys ending before it are the previous.",
)
@click.option("--period-start", default=None, help="Event logs: start of the previous period.")
@click.option("--period-end", default=None, help="Event logs: end of the current period.")
@click.option(
    "--max-shift",
    default=0.1,
    show_default=True,
    type=click.FloatRange(min=0, max=0.5, min_open=True),
    help="Reallocation cap: share of the smaller of the two budgets moved.",
)
@click.option(
    "--moves",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Reallocation: pairs of channels (worst ROAS to best) to move budget between.",
)
@bootstrap_option()
@seed_option()
@click.option(
    "--title", default="Attribution report", show_default=True, help="Title of the report."
)
@click.option("--mlflow-run-id", default=None, help="MLflow run the report belongs to.")
@click.option("--mlflow-url", default=None, help="Link to that run in the MLflow UI.")
@journey_input_options
def command(
    file: str,
    events: bool,
    out_dir: str,
    models: tuple[str, ...],
    costs: str | None,
    cost_col: str | None,
    lift_tests: str | None,
    uplift_run: str | None,
    arms: tuple[str, ...],
    arm_population: float | None,
    tracking_uri: str | None,
    calibrate_model: str | None,
    untested: str | None,
    negative_controls: tuple[str, ...],
    users_path: str | None,
    covariates: str | None,
    split_date: str | None,
    period_start: str | None,
    period_end: str | None,
    max_shift: float,
    moves: int,
    n_bootstrap: int,
    seed: int,
    title: str,
    mlflow_run_id: str | None,
    mlflow_url: str | None,
    journey_input: JourneyInput,
) -> None:
    """Write a report on FILE (a path table, or an event log with --events) to --out.

    The report has headline numbers, credit per channel per model with intervals, spend, CPA
    and ROAS (--costs or --cost-col), a reallocation suggestion, a comparison with the previous
    period (--split-date), calibration with lift tests (--lift-tests) and data coverage. The
    written files are listed on standard output; each is replaced atomically.
    """
    from attribution._io import check_destination
    from experiments.reports.pipeline import (
        lift_tests_from_mlflow_run,
        report_from_events,
        report_from_journeys,
    )
    from experiments.reports.write import write_report

    check_bootstrap(n_bootstrap)
    check_destination(out_dir, kind="directory", what="--out", error=InvalidModelOptionError)
    if not Path(file).exists():
        raise InvalidModelOptionError(f"input file {file!r} does not exist")
    for option, path in (("--costs", costs), ("--lift-tests", lift_tests), ("--users", users_path)):
        if path is not None and not Path(path).exists():
            raise InvalidModelOptionError(f"{option} file {path!r} does not exist")
    if costs is not None and cost_col is not None:
        raise InvalidModelOptionError("give either --costs or --cost-col, not both")
    if not events:
        for option, given in (
            ("--split-date", split_date),
            ("--period-start", period_start),
            ("--period-end", period_end),
            ("--cost-col", cost_col),
            ("--lookback", journey_input.lookback),
            ("--max-touches", journey_input.max_touches),
        ):
            if given is not None:
                raise InvalidModelOptionError(
                    f"{option} needs an event log with timestamps: add --events"
                )
    tests: Any = lift_tests
    if uplift_run is not None:
        if lift_tests is not None:
            raise InvalidModelOptionError("give either --lift-tests or --uplift-run, not both")
        mapping = {}
        for item in arms:
            arm, sep, channel = item.partition("=")
            if not sep or not arm.strip() or not channel.strip():
                raise InvalidModelOptionError(
                    f"--arm takes ARM=CHANNEL, e.g. --arm 'email offer=email'; got {item!r}"
                )
            mapping[arm.strip()] = channel.strip()
        if not mapping or arm_population is None:
            raise InvalidModelOptionError(
                "--uplift-run needs at least one --arm ARM=CHANNEL and --arm-population N"
            )
        tests = lift_tests_from_mlflow_run(
            uplift_run, mapping, population=arm_population, tracking_uri=tracking_uri
        )
    elif arms or arm_population is not None:
        raise InvalidModelOptionError("--arm and --arm-population go with --uplift-run")
    has_users = users_path is not None
    if has_users and not events:
        raise InvalidModelOptionError(
            "--users needs an event log (--events): a path table has no users to join"
        )
    names = (
        models_for(has_users=has_users)
        if "all" in models
        else list(models or DEFAULT_REPORT_MODELS)
    )
    needs_users = sorted(USER_MODELS & set(names))
    if needs_users and not has_users:
        raise InvalidModelOptionError(
            f"model {needs_users[0]!r} needs a user table of pre-exposure covariates: add --users "
            "USERS.csv (one row per user, keyed by --user-col)"
        )
    target = calibrate_model or (
        "causal" if "causal" in names else "markov" if "markov" in names else names[0]
    )
    if (tests is not None or negative_controls) and target not in names:
        raise InvalidModelOptionError(
            f"--calibrate-model {target!r} is not among the models ({', '.join(names)}): add "
            f"-m {target}"
        )
    if (untested == "transfer" or negative_controls) and target != "causal":
        raise InvalidModelOptionError(
            "--untested transfer and --negative-control calibrate the causal model: add "
            "-m causal (with --users) and --calibrate-model causal"
        )
    calibration_options: dict[str, Any] = {"seed": seed}
    calibration_options["untested"] = untested or ("transfer" if target == "causal" else "keep")
    if negative_controls:
        calibration_options["negative_controls"] = tuple(negative_controls)
    mlflow_run: dict[str, Any] | None = None
    if mlflow_run_id is not None:
        mlflow_run = {"run_id": mlflow_run_id}
        if mlflow_url:
            mlflow_run["url"] = mlflow_url
    report_options: dict[str, Any] = {
        "calibrate_model": target,
        "calibration_options": calibration_options,
        "max_shift": max_shift,
        "n_moves": moves,
        "mlflow_run": mlflow_run,
        "title": title,
    }
    if events:
        report = report_from_events(
            file,
            costs=costs,
            cost_col=cost_col,
            lift_tests=tests,
            split_date=split_date,
            period_start=period_start,
            period_end=period_end,
            models=names,
            n_bootstrap=n_bootstrap,
            seed=seed,
            **journey_input.event_columns(),
            users=users_path,
            covariate_cols=parse_list(covariates),
            journey_options=journey_input.journey_kwargs(),
            **report_options,
        )
    else:
        report = report_from_journeys(
            journey_input.read_paths(file),
            costs=costs,
            lift_tests=tests,
            models=names,
            n_bootstrap=n_bootstrap,
            seed=seed,
            **report_options,
        )
    paths = write_report(report, out_dir)
    for written in paths.values():
        click.echo(str(written))
