"""``pathlift attribute``: channel credit from a path table or an event log."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from attribution._io import check_destination
from attribution.catalog import MODEL_NAMES, USER_MODELS, build_models
from attribution.errors import AttributionWarning, InvalidModelOptionError
from experiments.cli._options import (
    JourneyInput,
    bootstrap_option,
    check_bootstrap,
    journey_input_options,
    output_options,
    parse_list,
    seed_option,
    users_options,
)
from experiments.cli._output import Progress, emit, format_results

if TYPE_CHECKING:
    from attribution.journeys import Journeys

__all__ = ["command", "load_journeys"]

#: inputs larger than this many rows show progress on standard error
PROGRESS_ROWS = 100_000


def load_journeys(
    file: str,
    journey_input: JourneyInput,
    *,
    events: bool,
    engine: str = "duckdb",
    keep_timing: bool = False,
    engine_options: dict[str, Any] | None = None,
) -> Journeys:
    """Read a path table, or an event log with the chosen engine, with the CLI's options."""
    if events:
        from attribution.engines import journeys_from_events

        engine_kw: dict[str, Any] = dict(engine_options or {})
        if engine == "duckdb" and keep_timing:
            engine_kw["keep_timing"] = True
        return journeys_from_events(
            file,
            engine=engine,  # type: ignore[arg-type]
            **journey_input.event_kwargs(),
            **engine_kw,
        )
    if journey_input.lookback is not None or journey_input.max_touches is not None:
        raise InvalidModelOptionError(
            "--lookback and --max-touches apply to event logs: add --events, or drop them for a "
            "path table"
        )
    return journey_input.read_paths(file)


def _parse_position_weights(text: str) -> tuple[float, float, float]:
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 3:
        raise InvalidModelOptionError(
            f"--position-weights takes three comma-separated numbers first,middle,last such as "
            f"40,20,40; got {text!r}"
        )
    from attribution.heuristics import PositionBased

    # the model's own check (it does not look at the journeys), before any data is read
    model = PositionBased(first=parts[0], middle=parts[1], last=parts[2])
    model._validate_params(None)  # type: ignore[arg-type]
    return parts[0], parts[1], parts[2]


def _half_life_value(text: str | None) -> str | float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return text


# ------------------------------------------------------------------------------------- command

_MODEL_CHOICES = [*MODEL_NAMES, "all"]


@click.command("attribute")
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@click.option(
    "--model",
    "-m",
    "models",
    multiple=True,
    type=click.Choice(_MODEL_CHOICES),
    help="Model to fit; repeat for a side-by-side table, or 'all'. Default: markov.",
)
@click.option("--events", is_flag=True, help="FILE is an event log (one row per touch).")
@click.option("--order", default="1", show_default=True, help="Markov order k, or 'auto'.")
@click.option("--keep-self-loops", is_flag=True, help="Markov: keep repeated states.")
@click.option(
    "--direct-channel",
    default="direct",
    show_default=True,
    help="last_non_direct: the channel passed over when another precedes it.",
)
@click.option(
    "--position-weights",
    default="40,20,40",
    show_default=True,
    help="position_based: percent to the first touch, the middle touches and the last touch.",
)
@click.option("--half-life", default=None, help="Time decay: '7d' (events) or touches (paths).")
@bootstrap_option()
@seed_option("Bootstrap seed.")
@journey_input_options
@output_options
@click.option("--progress/--no-progress", default=None, help="Progress on stderr (default: auto).")
@click.option(
    "--engine",
    type=click.Choice(["duckdb", "spark", "pandas"]),
    default="duckdb",
    show_default=True,
    help="Event logs: engine that cuts journeys (FILE may be a directory or a glob).",
)
@click.option(
    "--memory-limit", default=None, help="DuckDB: memory limit such as 3GB (spills to disk beyond)."
)
@click.option("--temp-directory", default=None, help="DuckDB: where to spill out of core.")
@click.option("--max-position", default=5, show_default=True, help="ordered_shapley: positions.")
@click.option(
    "--unobserved",
    type=click.Choice(["logistic", "zero"]),
    default="logistic",
    show_default=True,
    help="conversion_rate_shapley: value of never-observed channel sets.",
)
@click.option(
    "--max-exact-channels",
    default=None,
    type=click.IntRange(min=1),
    help="Shapley: exact up to this many channels, sampled beyond (default: per model).",
)
@click.option(
    "--permutations",
    default=None,
    type=click.IntRange(min=10),
    help="Shapley beyond --max-exact-channels: sampled permutations (default: per model).",
)
@click.option("--trees", default=200, show_default=True, help="data_driven: LightGBM trees.")
@click.option(
    "--n-jobs", default=1, show_default=True, help="data_driven and causal: LightGBM threads."
)
@users_options()
@click.option(
    "--track/--no-track",
    default=True,
    show_default=True,
    help="Record the run in MLflow.",
)
@click.option("--tracking-uri", default=None, help="MLflow store (default: the project's).")
@click.option("--experiment", default=None, help="MLflow experiment (default: pathlift).")
@click.option(
    "--register", is_flag=True, help="Register the fitted Markov model (needs -m markov)."
)
def command(
    file: str,
    models: tuple[str, ...],
    events: bool,
    order: str,
    keep_self_loops: bool,
    direct_channel: str,
    position_weights: str,
    half_life: str | None,
    n_bootstrap: int,
    seed: int,
    journey_input: JourneyInput,
    fmt: str,
    output: str | None,
    progress: bool | None,
    engine: str,
    memory_limit: str | None,
    temp_directory: str | None,
    max_position: int,
    unobserved: str,
    max_exact_channels: int | None,
    permutations: int | None,
    trees: int,
    n_jobs: int,
    users_path: str | None,
    covariates: str | None,
    track: bool,
    tracking_uri: str | None,
    experiment: str | None,
    register: bool,
) -> None:
    """Attribute conversions to channels from FILE (CSV or Parquet).

    FILE is a path table (columns path, total_conversions, total_null and optionally
    total_conversion_value) or, with --events, an event log (user_id, timestamp, channel,
    conversion, value). Results go to standard output, or to --output.
    """
    check_bootstrap(n_bootstrap)
    if output is not None:
        check_destination(output, what="--output", error=InvalidModelOptionError)
    if events and engine == "duckdb" and (memory_limit is not None or temp_directory is not None):
        from attribution.engines.duckdb import check_settings

        check_settings(memory_limit=memory_limit, temp_directory=temp_directory)
    names = models or ("markov",)
    if order != "auto":
        try:
            markov_order = int(order)
        except ValueError:
            raise InvalidModelOptionError(
                f"--order must be a positive integer or 'auto', got {order!r}"
            ) from None
        if not 1 <= markov_order <= 12:
            raise InvalidModelOptionError(f"--order must be between 1 and 12, got {markov_order}")
    first, middle, last = _parse_position_weights(position_weights)
    if register and not ({"markov", "all"} & set(names)):
        raise InvalidModelOptionError("--register registers the Markov model: add -m markov")
    if register and not track:
        raise InvalidModelOptionError("--register needs tracking: drop --no-track")
    if half_life is not None and ({"time_decay", "all"} & set(names)):
        from attribution.heuristics import TimeDecay

        decay = TimeDecay(half_life=_half_life_value(half_life))
        # event logs give timestamps (half-life a duration), path tables positions (touches)
        if events:
            decay._half_life_seconds()
        else:
            decay._half_life_touches()
    needs_users = sorted(USER_MODELS & set(models))
    if needs_users and users_path is None:
        raise InvalidModelOptionError(
            f"model {needs_users[0]!r} needs a user table of pre-exposure covariates: add --users "
            "USERS.csv (one row per user, keyed by --user-col)"
        )
    if users_path is not None:
        if not events:
            raise InvalidModelOptionError(
                "--users needs an event log (--events): a path table has no users to join"
            )
        if engine == "spark":
            raise InvalidModelOptionError(
                "--users: the spark engine returns no per-journey users; use --engine duckdb or "
                "pandas"
            )
        if not Path(users_path).exists():
            raise InvalidModelOptionError(f"--users file {users_path!r} does not exist")
    settings = None
    if track:
        from experiments.tracking import resolve_tracking

        # a bad tracking store fails now, not after the models are fitted
        settings = resolve_tracking(tracking_uri, experiment, check_server=True)
    is_pattern = events and any(ch in file for ch in "*?[")
    if not is_pattern and not Path(file).exists():
        raise InvalidModelOptionError(f"input file {file!r} does not exist")
    size = Path(file).stat().st_size if Path(file).is_file() else 0
    show = progress if progress is not None else size > PROGRESS_ROWS * 20
    prog = Progress(show)
    prog.stage(f"reading {'event log' if events else 'path table'} {file}")
    journeys = load_journeys(
        file,
        journey_input,
        events=events,
        engine=engine,
        keep_timing=bool({"time_decay", "data_driven", "all"} & set(models))
        or users_path is not None,
        engine_options={
            k: v
            for k, v in (("memory_limit", memory_limit), ("temp_directory", temp_directory))
            if v is not None
        },
    )
    if users_path is not None:
        prog.stage(f"reading the user table {users_path}")
        journeys = journeys.with_users(
            users_path,
            user_col=journey_input.user_col,
            covariate_cols=parse_list(covariates),
        )
    prog.stage(repr(journeys))
    selection = None
    shapley_sampling: dict[str, Any] = {}
    if max_exact_channels is not None:
        shapley_sampling["max_exact_channels"] = max_exact_channels
    if permutations is not None:
        shapley_sampling["n_permutations"] = permutations
    if order == "auto":
        if "markov" in names or "all" in names:
            from attribution.markov import select_order

            prog.stage("choosing the Markov order on held-out journeys")
            selection = select_order(journeys, seed=seed)
        markov_order = selection.best_order if selection else 1
    options: dict[str, dict[str, Any]] = {
        "markov": {"order": markov_order, "keep_self_loops": keep_self_loops},
        "last_non_direct": {"direct_channel": direct_channel},
        "position_based": {"first": first, "middle": middle, "last": last},
        "time_decay": {"half_life": _half_life_value(half_life)},
        "ordered_shapley": {"max_position": max_position},
        "conversion_rate_shapley": {"unobserved": unobserved, **shapley_sampling},
        "data_driven": {"n_estimators": trees, "n_jobs": n_jobs, **shapley_sampling},
        "causal": {"n_jobs": n_jobs},
    }
    fitted = build_models(
        names, n_bootstrap=n_bootstrap, seed=seed, options=options, has_users=users_path is not None
    )
    results = []
    caveats: list[str] = []
    for model in fitted:
        prog.stage(f"fitting {model.name}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", AttributionWarning)
            model.fit(journeys, progress=prog.model(model.name) if n_bootstrap else None)
        for w in caught:
            if issubclass(w.category, AttributionWarning):
                caveats.append(str(w.message))
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        results.append(model.result_)
    for caveat in dict.fromkeys(caveats):  # the same caveat once, however many models
        click.echo(f"warning: {caveat}", err=True)
    emit(format_results(results, journeys, fmt, selection), output, progress=prog.stage)
    if settings is not None:
        from experiments.attribution_runs import track_attribution_run

        markov = next((m for m in fitted if m.name == "markov"), None)
        config = {
            "command": "attribute",
            "file": str(file),
            "events": events,
            "users": users_path,
            "engine": engine if events else None,
            "lookback": journey_input.lookback,
            "max_touches": journey_input.max_touches,
            "n_bootstrap": n_bootstrap,
            "seed": seed,
            "order_selection": None if selection is None else selection.to_dict(),
        }
        run = track_attribution_run(
            results,
            journeys,
            source=file if Path(file).is_file() else None,
            config=config,
            markov=markov,  # type: ignore[arg-type]
            settings=settings,
            register=register,
        )
        prog.enabled = True
        prog.stage(f"tracked as MLflow run {run.run_id}: {run.ui_url}")
