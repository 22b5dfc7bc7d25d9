"""``pathlift attribute``: channel credit from a path table or an event log."""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from attribution._io import atomic_write_text, to_jsonable
from attribution.catalog import MODEL_NAMES, USER_MODELS, model_class, models_for
from attribution.errors import AttributionWarning, InvalidModelOptionError
from experiments.cli._options import check_bootstrap, journey_input_options, value_kwargs

if TYPE_CHECKING:
    from attribution.base import AttributionModel
    from attribution.journeys import Journeys
    from attribution.markov import OrderSelection
    from attribution.result import AttributionResult

__all__ = ["command", "format_results", "load_journeys"]

#: inputs larger than this many rows show progress on standard error
PROGRESS_ROWS = 100_000


class Progress:
    """Stage messages and a bootstrap counter on standard error (never on standard output)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.t0 = time.perf_counter()

    def stage(self, message: str) -> None:
        """Announce a stage."""
        if self.enabled:
            click.echo(f"[{time.perf_counter() - self.t0:6.1f}s] {message}", err=True)

    def model(self, label: str) -> Callable[[str], None]:
        """Return a ``progress(message)`` callback for a model's ``fit``."""
        return lambda message: self.stage(f"{label}: {message}")


def load_journeys(
    file: str,
    *,
    events: bool,
    path_col: str,
    conversions_col: str,
    nulls_col: str,
    value_col: str | None,
    separator: str,
    user_col: str,
    time_col: str,
    channel_col: str,
    conversion_col: str,
    lookback: str | None,
    max_touches: int | None,
    engine: str = "duckdb",
    keep_timing: bool = False,
    engine_options: dict[str, Any] | None = None,
) -> Journeys:
    """Read a path table, or an event log with the chosen engine, with the CLI's options."""
    from attribution.journeys import Journeys

    value_kw = value_kwargs(value_col)
    if events:
        from attribution.engines import journeys_from_events

        engine_kw: dict[str, Any] = dict(engine_options or {})
        if engine == "duckdb" and keep_timing:
            engine_kw["keep_timing"] = True
        return journeys_from_events(
            file,
            engine=engine,  # type: ignore[arg-type]
            user_col=user_col,
            time_col=time_col,
            channel_col=channel_col,
            conversion_col=conversion_col,
            lookback=lookback,
            max_touches=max_touches,
            separator=separator,
            **value_kw,
            **engine_kw,
        )
    if lookback is not None or max_touches is not None:
        raise InvalidModelOptionError(
            "--lookback and --max-touches apply to event logs: add --events, or drop them for a "
            "path table"
        )
    return Journeys.from_paths(
        file,
        path_col=path_col,
        conversions_col=conversions_col,
        nulls_col=nulls_col,
        separator=separator,
        **value_kw,
    )


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
    return parts[0], parts[1], parts[2]


def build_models(
    names: tuple[str, ...],
    *,
    order: int,
    keep_self_loops: bool,
    direct_channel: str,
    position_weights: str,
    half_life: str | None,
    n_bootstrap: int,
    seed: int,
    extra: dict[str, dict[str, Any]] | None = None,
    has_users: bool = False,
) -> list[AttributionModel]:
    """Instantiate the requested models with the CLI's options.

    ``extra`` maps a model name to further constructor arguments (Shapley, data-driven and
    causal options). ``all`` includes the models that need a user table only with
    ``has_users``.
    """
    wanted = (
        models_for(has_users=has_users)
        if (not names or "all" in names)
        else list(dict.fromkeys(names))
    )
    first, middle, last = _parse_position_weights(position_weights)
    options: dict[str, dict[str, Any]] = {
        "markov": {"order": order, "keep_self_loops": keep_self_loops},
        "last_non_direct": {"direct_channel": direct_channel},
        "position_based": {"first": first, "middle": middle, "last": last},
        "time_decay": {"half_life": _half_life_value(half_life)},
    }
    for name, kwargs in (extra or {}).items():
        options.setdefault(name, {}).update(kwargs)
    models = []
    for name in wanted:
        cls = model_class(name)
        models.append(cls(**options.get(name, {}), n_bootstrap=n_bootstrap, seed=seed))
    return models


def _half_life_value(text: str | None) -> str | float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return text


# ------------------------------------------------------------------------------------- output


def _interval(low: float, high: float) -> str:
    return f"[{low:,.1f}, {high:,.1f}]"


def format_results(
    results: list[AttributionResult],
    journeys: Journeys,
    fmt: str,
    order_selection: OrderSelection | None = None,
) -> str:
    """Render results as ``table`` (for people), ``csv`` or ``json`` (for machines)."""
    if fmt == "json":
        payload: dict[str, Any] = {
            "journeys": {
                "unique_paths": journeys.n_paths,
                "journeys": journeys.n_journeys,
                "conversions": journeys.total_conversions,
                "value": journeys.total_value,
                "channels": list(journeys.channels),
                "provenance": journeys.provenance.to_dict(),
            },
            "models": [r.to_dict() for r in results],
        }
        if order_selection is not None:
            payload["order_selection"] = order_selection.to_dict()
        return json.dumps(to_jsonable(payload), indent=2, allow_nan=False) + "\n"
    if fmt == "csv":
        frames = []
        for r in results:
            frame = r.to_frame()
            frame.insert(0, "model", r.model)
            frames.append(frame)
        import pandas as pd

        return str(pd.concat(frames, ignore_index=True).to_csv(index=False))
    return _table(results, journeys, order_selection)


def _table(
    results: list[AttributionResult], journeys: Journeys, order_selection: OrderSelection | None
) -> str:
    import pandas as pd

    lines = [
        f"{journeys.n_journeys:,} journeys ({journeys.n_paths:,} unique paths), "
        f"{journeys.total_conversions:,} conversions, value {journeys.total_value:,.2f}, "
        f"{journeys.n_channels} channels"
    ]
    if order_selection is not None:
        lines.append(
            f"Markov order chosen by held-out log-loss: {order_selection.best_order} "
            + "("
            + ", ".join(
                f"order {order}: {loss:.4f}"
                for order, loss in zip(
                    order_selection.table["order"].tolist(),
                    order_selection.table["log_loss"].tolist(),
                    strict=True,
                )
            )
            + ")"
        )
    if len(results) == 1:
        r = results[0]
        frame = r.to_frame()
        params = ", ".join(f"{k}={v}" for k, v in r.params.items())
        lines.append(f"model: {r.model}" + (f" ({params})" if params else ""))
        table = pd.DataFrame({"channel": frame["channel"]})
        table["conversions"] = frame["conversions"].map("{:,.2f}".format)
        if r.ci is not None:
            table[f"{int(r.ci.level * 100)}% CI"] = [
                _interval(lo, hi) for lo, hi in zip(frame["ci_low"], frame["ci_high"], strict=True)
            ]
        table["share"] = frame["share"].map("{:.1%}".format)
        table["value"] = frame["value"].map("{:,.2f}".format)
        if "removal_effect" in frame:
            table["removal_effect"] = frame["removal_effect"].map("{:.4f}".format)
        lines.append(table.to_string(index=False))
    else:
        table = pd.DataFrame({"channel": list(journeys.channels)})
        for r in results:
            frame = r.to_frame()
            cells: list[str] = [f"{c:,.1f}" for c in frame["conversions"]]
            if r.ci is not None:
                cells = [
                    f"{c} {_interval(lo, hi)}"
                    for c, lo, hi in zip(cells, frame["ci_low"], frame["ci_high"], strict=True)
                ]
            table[r.model] = list(cells)
        lines.append("credit in conversions" + (" [95% CI]" if results[0].ci else "") + ":")
        lines.append(table.to_string(index=False))
    by_note: dict[str, list[str]] = {}
    for r in results:
        for note in r.notes:
            by_note.setdefault(note, []).append(r.model)
    for note, models in by_note.items():
        lines.append(f"note ({', '.join(models)}): {note}")
    for r in results:
        if r.model == "causal":
            d = r.diagnostics
            interval = (
                f" [{d['incremental_total_ci_low']:,.1f}, {d['incremental_total_ci_high']:,.1f}]"
                if "incremental_total_ci_low" in d
                else ""
            )
            base = (
                f" [{d['baseline_ci_low']:,.1f}, {d['baseline_ci_high']:,.1f}]"
                if "baseline_ci_low" in d
                else ""
            )
            lines.append(
                f"causal: marketing caused {d['incremental_total']:,.1f}{interval} of "
                f"{d['population_conversions']:,.0f} conversions "
                f"({d['attributed_conversions']:,.0f} on touched journeys, which path models "
                f"share out); baseline {d['baseline']:,.1f}{base}; channels' incremental credit "
                f"sums to {d['credit_total']:,.1f}"
            )
    prov = journeys.provenance
    if prov.dropped_conversions:
        window = " inside the lookback window" if prov.lookback else ""
        lines.append(
            f"note: {prov.dropped_conversions:,} conversions had no touch{window} and are not "
            "attributed to channels"
        )
    return "\n".join(lines) + "\n"


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
@click.option("--direct-channel", default="direct", show_default=True)
@click.option("--position-weights", default="40,20,40", show_default=True)
@click.option("--half-life", default=None, help="Time decay: '7d' (events) or touches (paths).")
@click.option(
    "--bootstrap",
    "n_bootstrap",
    default=200,
    show_default=True,
    type=click.IntRange(min=0),
    help="Bootstrap replicates for 95%% intervals (0: none).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Bootstrap seed.")
@journey_input_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option("--output", "-o", default=None, help="Write to this file (atomically).")
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
@click.option("--permutations", default=None, type=click.IntRange(min=10))
@click.option("--trees", default=200, show_default=True, help="data_driven: LightGBM trees.")
@click.option(
    "--n-jobs", default=1, show_default=True, help="data_driven and causal: LightGBM threads."
)
@click.option(
    "--users",
    "users_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=str),
    help="Event logs: user table of pre-exposure covariates keyed by --user-col (causal model).",
)
@click.option(
    "--covariates",
    default=None,
    help="Covariate columns of --users, comma-separated (default: all).",
)
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
    path_col: str,
    conversions_col: str,
    nulls_col: str,
    value_col: str | None,
    separator: str,
    user_col: str,
    time_col: str,
    channel_col: str,
    conversion_col: str,
    lookback: str | None,
    max_touches: int | None,
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
        settings = resolve_tracking(tracking_uri, experiment)
    is_pattern = events and any(ch in file for ch in "*?[")
    if not is_pattern and not Path(file).exists():
        raise InvalidModelOptionError(f"input file {file!r} does not exist")
    size = Path(file).stat().st_size if Path(file).is_file() else 0
    show = progress if progress is not None else size > PROGRESS_ROWS * 20
    prog = Progress(show)
    prog.stage(f"reading {'event log' if events else 'path table'} {file}")
    journeys = load_journeys(
        file,
        events=events,
        path_col=path_col,
        conversions_col=conversions_col,
        nulls_col=nulls_col,
        value_col=value_col,
        separator=separator,
        user_col=user_col,
        time_col=time_col,
        channel_col=channel_col,
        conversion_col=conversion_col,
        lookback=lookback,
        max_touches=max_touches,
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
            user_col=user_col,
            covariate_cols=None
            if covariates is None
            else [c.strip() for c in covariates.split(",")],
        )
    prog.stage(repr(journeys))
    selection = None
    names = models or ("markov",)
    shapley_sampling: dict[str, Any] = {}
    if max_exact_channels is not None:
        shapley_sampling["max_exact_channels"] = max_exact_channels
    if permutations is not None:
        shapley_sampling["n_permutations"] = permutations
    extra = {
        "ordered_shapley": {"max_position": max_position},
        "conversion_rate_shapley": {"unobserved": unobserved, **shapley_sampling},
        "data_driven": {"n_estimators": trees, "n_jobs": n_jobs, **shapley_sampling},
        "causal": {"n_jobs": n_jobs},
    }
    if order == "auto":
        if "markov" in names or "all" in names:
            from attribution.markov import select_order

            prog.stage("choosing the Markov order on held-out journeys")
            selection = select_order(journeys, seed=seed)
        markov_order = selection.best_order if selection else 1
    else:
        try:
            markov_order = int(order)
        except ValueError:
            raise InvalidModelOptionError(
                f"--order must be a positive integer or 'auto', got {order!r}"
            ) from None
    fitted = build_models(
        names,
        order=markov_order,
        keep_self_loops=keep_self_loops,
        direct_channel=direct_channel,
        position_weights=position_weights,
        half_life=half_life,
        n_bootstrap=n_bootstrap,
        seed=seed,
        extra=extra,
        has_users=users_path is not None,
    )
    if register and not any(m.name == "markov" for m in fitted):
        raise InvalidModelOptionError("--register registers the Markov model: add -m markov")
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
    text = format_results(results, journeys, fmt, selection)
    if output:
        atomic_write_text(output, text)
        prog.stage(f"wrote {output}")
    else:
        sys.stdout.write(text)
    if settings is not None:
        from experiments.attribution_runs import track_attribution_run

        markov = next((m for m in fitted if m.name == "markov"), None)
        config = {
            "command": "attribute",
            "file": str(file),
            "events": events,
            "users": users_path,
            "engine": engine if events else None,
            "lookback": lookback,
            "max_touches": max_touches,
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
