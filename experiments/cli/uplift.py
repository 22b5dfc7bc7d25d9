"""``pathlift uplift``: train, evaluate and target with uplift models.

* ``pathlift uplift train DATA --treatment-col segment --control "No E-Mail" --outcome-col visit
  --learner x --model-dir DIR`` splits DATA into train/held-out (stratified by arm), fits the
  model on the training rows, saves it to DIR and prints its held-out evaluation.
* ``pathlift uplift evaluate DATA --model-dir DIR`` evaluates a saved model. When DATA is the
  file the model was trained on (same SHA-256), only its held-out rows are used.
* ``pathlift uplift target DATA --model-dir DIR --budget 10000 --value-per-conversion 20
  --cost-per-contact 0.1`` builds a targeting plan and, when DATA has the treatment and outcome
  columns, estimates its incremental conversions and profit with intervals against treating
  everyone and random targeting.
* ``pathlift uplift curve DATA --model-dir DIR --cost-per-contact ARM=COST ...`` draws the
  cost-aware multi-arm Qini curve along the budget path (:mod:`uplift.multiarm`).

Output: ``--format table|csv|json`` to standard output or ``--output FILE`` (written atomically).
Progress goes to standard error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from attribution._io import atomic_write_text as _atomic_write_text
from attribution._io import csv_text
from experiments.cli._options import Decorator, delimiter_option, stack_options
from experiments.cli._options import output_options as _output_options
from experiments.cli._output import emit as _emit
from experiments.cli._output import render_frame as _render
from experiments.cli._output import say as _progress
from uplift.catalog import LEARNERS
from uplift.errors import InvalidUpliftDataError, InvalidUpliftOptionError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from uplift.data import UpliftData
    from uplift.learners import UpliftModel

__all__ = ["command"]


def _parse_pairs(values: tuple[str, ...], what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in values:
        if "=" not in item:
            raise InvalidUpliftOptionError(f"{what} {item!r} must look like ARM=VALUE")
        arm, _, number = item.rpartition("=")
        try:
            out[arm.strip()] = float(number)
        except ValueError as exc:
            raise InvalidUpliftOptionError(f"{what} {item!r}: {number!r} is not a number") from exc
    return out


def _parse_costs(values: tuple[str, ...]) -> float | dict[str, float]:
    if not values:
        return 0.0
    if len(values) == 1 and "=" not in values[0]:
        try:
            return float(values[0])
        except ValueError as exc:
            raise InvalidUpliftOptionError(
                f"--cost-per-contact {values[0]!r} is neither a number nor ARM=COST"
            ) from exc
    return _parse_pairs(values, "--cost-per-contact")


def _holdout_rows(
    model: UpliftModel, data_path: str, frame: pd.DataFrame, all_rows: bool
) -> np.ndarray:
    """Positions to evaluate: the held-out rows when DATA is the training file, else all."""
    import numpy as np

    from uplift.data import file_sha256, split_positions

    everything = np.arange(len(frame))
    info = (model.metadata_.get("extra") or {}).get("training_data")
    if all_rows or not info:
        return everything
    if file_sha256(data_path) != info.get("sha256") or len(frame) != info.get("n_rows"):
        return everything
    col = model.treatment_col_
    if col not in frame.columns:
        return everything
    _, test = split_positions(
        frame[col].astype(str).to_numpy(), test_size=info["test_size"], seed=info["split_seed"]
    )
    _progress(
        f"{data_path} is the model's training file: using its {test.size} held-out rows "
        "(pass --all-rows to use every row)"
    )
    return test


def _data_for_model(
    model: UpliftModel,
    frame: pd.DataFrame,
    treatment_col: str | None,
    outcome_col: str | None,
    control: str | None,
) -> UpliftData:
    from uplift.data import UpliftData

    model.schema_.check_columns(frame)
    return UpliftData.from_frame(
        frame,
        treatment_col=treatment_col or model.treatment_col_,
        control=control or model.control_,
        outcome_col=outcome_col or model.outcome_col_,
        feature_cols=list(model.schema_.names),
        outcome_type=model.outcome_type_,
        randomized=model.randomized_,
        min_rows_per_arm=1,
    )


def _check_destinations(**paths: tuple[str | None, str]) -> None:
    """Refuse unwritable destinations before any reading or fitting: ``flag=(path, kind)``."""
    from attribution._io import check_destination

    for flag, (path, kind) in paths.items():
        if path is not None:
            check_destination(
                path,
                kind=kind,  # type: ignore[arg-type]
                what=f"--{flag.replace('_', '-')}",
                error=InvalidUpliftOptionError,
            )


def _check_interval(n_bootstrap: int, ci: float) -> None:
    if not 0.0 < ci < 1.0:
        raise InvalidUpliftOptionError(f"--ci must be in (0, 1), e.g. 0.95; got {ci}")
    if n_bootstrap < 0:
        raise InvalidUpliftOptionError(f"--n-bootstrap must be >= 0, got {n_bootstrap}")


def _eval_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--ci", type=float, default=0.95, show_default=True, help="Interval level.")(
        fn
    )
    fn = click.option(
        "--n-bootstrap",
        type=int,
        default=200,
        show_default=True,
        help="Bootstrap replicates for the intervals.",
    )(fn)
    return fn


def _cost_option(*, required: bool = False, help: str | None = None) -> Decorator:
    """``--cost-per-contact COST|ARM=COST`` (repeatable), parsed by :func:`_parse_costs`."""
    return click.option(
        "--cost-per-contact",
        multiple=True,
        required=required,
        metavar="COST|ARM=COST",
        help=help or "Cost of a contact: one number for all arms, or ARM=COST per arm (repeat).",
    )


def _saved_model_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--delimiter``, DATA and ``--model-dir`` of the commands that apply a saved model."""
    return stack_options(
        delimiter_option,
        click.argument("data", type=click.Path(exists=True, dir_okay=False)),
        click.option(
            "--model-dir",
            type=click.Path(file_okay=False),
            required=True,
            help="Directory of a saved model (pathlift uplift train --model-dir).",
        ),
    )(fn)


def _held_out_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Columns, ``--all-rows``, seed, interval and output options of the saved-model commands."""
    return stack_options(
        click.option("--treatment-col", default=None, help="Default: the model's training column."),
        click.option("--outcome-col", default=None, help="Default: the model's training column."),
        click.option(
            "--all-rows",
            is_flag=True,
            help="Use every row even when DATA is the model's training file.",
        ),
        click.option(
            "--seed",
            type=click.IntRange(min=0),
            default=0,
            show_default=True,
            help="Bootstrap seed.",
        ),
        _eval_options,
        _output_options,
    )(fn)


def _load_model_rows(model_dir: str, data: str, all_rows: bool) -> tuple[UpliftModel, pd.DataFrame]:
    """Load the saved model and the rows of DATA to apply it to (see :func:`_holdout_rows`)."""
    from uplift.data import load_frame
    from uplift.learners import UpliftModel

    model = UpliftModel.load(model_dir)
    _progress(f"reading {data}")
    frame = load_frame(data)
    return model, frame.iloc[_holdout_rows(model, data, frame, all_rows)]


def _save_plot(
    plot: str, ncols: int, figsize: tuple[float, float], draw: Callable[[Any], None]
) -> None:
    """Draw ``ncols`` side-by-side axes with ``draw(axes)`` and save them as a PNG to ``plot``."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.style.context("default"):
        fig, axes = plt.subplots(1, ncols, figsize=figsize)
        draw(np.atleast_1d(axes))
        fig.tight_layout()
        fig.savefig(plot, dpi=100)
        plt.close(fig)
    _progress(f"wrote {plot}")


@click.group(name="uplift")
def command() -> None:
    """Uplift models for randomized campaigns: train, evaluate, target."""


@command.command("train")
@delimiter_option
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option("--treatment-col", required=True, help="Column with the arm of each row.")
@click.option("--control", required=True, help="Name of the control arm.")
@click.option("--outcome-col", required=True, help="Outcome column (binary or continuous).")
@click.option(
    "--feature-cols",
    default=None,
    help="Comma-separated feature columns (default: all other columns except those whose "
    "distribution differs by arm, which the treatment changed; the list is printed).",
)
@click.option(
    "--outcome-type",
    type=click.Choice(["auto", "binary", "continuous"]),
    default="auto",
    show_default=True,
    help="auto: binary when every outcome is 0 or 1, else continuous (e.g. spend).",
)
@click.option(
    "--learner",
    type=click.Choice([*LEARNERS, "auto"]),
    default="t",
    show_default=True,
    help="causalml learner (uplift_rf is 25-35x slower), or auto: chosen with its LightGBM "
    "settings by cross-fitted held-out Qini (profit with --value-per-conversion) on the "
    "training rows.",
)
@click.option(
    "--calibrate/--no-calibrate",
    default=True,
    show_default=True,
    help="Calibrate the predicted uplift on cross-fitted out-of-fold predictions.",
)
@click.option(
    "--n-folds",
    type=int,
    default=3,
    show_default=True,
    help="Cross-fitting folds for --learner auto and calibration.",
)
@click.option(
    "--auto-learners",
    default=None,
    metavar="s,t,x,dr,r,uplift_rf",
    help="--learner auto: the learners to choose from (default all; each with two LightGBM "
    "settings).",
)
@click.option(
    "--prune/--no-prune",
    default=True,
    show_default=True,
    help="--learner auto: keep only the better half of the candidates after the first fold.",
)
@click.option(
    "--value-per-conversion",
    type=float,
    default=None,
    help="--learner auto: select by held-out profit with this value per unit of outcome.",
)
@_cost_option(
    help="--learner auto with --value-per-conversion: contact cost, one number or ARM=COST."
)
@click.option(
    "--not-randomized",
    is_flag=True,
    help="Assignment was not randomized: estimate propensity, warn on poor overlap.",
)
@click.option(
    "--assignment-prob",
    multiple=True,
    metavar="ARM=P",
    help="Known assignment probability of an arm (repeat per arm).",
)
@click.option(
    "--min-rows-per-arm",
    type=int,
    default=30,
    show_default=True,
    help="Fewest rows an arm, the control included, may have.",
)
@click.option(
    "--test-size",
    type=float,
    default=0.3,
    show_default=True,
    help="Share of rows held out for evaluation (stratified by arm).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of the split, models, bootstrap.",
)
@click.option(
    "--n-estimators", type=int, default=100, show_default=True, help="LightGBM: boosting rounds."
)
@click.option(
    "--learning-rate", type=float, default=0.1, show_default=True, help="LightGBM: learning rate."
)
@click.option(
    "--num-leaves", type=int, default=31, show_default=True, help="LightGBM: leaves per tree."
)
@click.option("--n-jobs", type=int, default=1, show_default=True, help="LightGBM threads.")
@click.option(
    "--model-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Save the fitted model to this directory.",
)
@_eval_options
@_output_options
@click.option("--track/--no-track", default=True, show_default=True, help="Record in MLflow.")
@click.option("--tracking-uri", default=None, help="MLflow store (default: the project's).")
@click.option("--experiment", default=None, help="MLflow experiment (default: pathlift).")
@click.option("--register", is_flag=True, help="Register the model in the MLflow registry.")
@click.option("--model-name", default="pathlift-uplift", show_default=True, help="Registry name.")
def train(
    data: str,
    treatment_col: str,
    control: str,
    outcome_col: str,
    feature_cols: str | None,
    outcome_type: str,
    learner: str,
    calibrate: bool,
    n_folds: int,
    auto_learners: str | None,
    prune: bool,
    value_per_conversion: float | None,
    cost_per_contact: tuple[str, ...],
    not_randomized: bool,
    assignment_prob: tuple[str, ...],
    min_rows_per_arm: int,
    test_size: float,
    seed: int,
    n_estimators: int,
    learning_rate: float,
    num_leaves: int,
    n_jobs: int,
    model_dir: str | None,
    n_bootstrap: int,
    ci: float,
    fmt: str,
    output: str | None,
    track: bool,
    tracking_uri: str | None,
    experiment: str | None,
    register: bool,
    model_name: str,
) -> None:
    """Train an uplift model on DATA (CSV or Parquet) and report its held-out evaluation.

    The run (parameters, Qini/AUUC/uplift@k with intervals, curves, deciles) is recorded in
    MLflow unless --no-track; --register also registers the model (alias champion for the first
    version, challenger after that: use pathlift retrain to promote on evidence).
    """
    _check_destinations(model_dir=(model_dir, "directory"), output=(output, "file"))
    _check_interval(n_bootstrap, ci)
    if register and not track:
        raise InvalidUpliftOptionError("--register needs tracking: drop --no-track")
    if cost_per_contact and value_per_conversion is None:
        raise InvalidUpliftOptionError(
            "--cost-per-contact on train needs --value-per-conversion (selection by profit)"
        )
    if auto_learners and learner != "auto":
        raise InvalidUpliftOptionError("--auto-learners goes with --learner auto")
    costs = _parse_costs(cost_per_contact)
    priors = _parse_pairs(assignment_prob, "--assignment-prob") or None
    settings = None
    if track:
        from experiments.tracking import resolve_tracking

        # a bad tracking store fails now, not after the model is fitted
        settings = resolve_tracking(tracking_uri, experiment, check_server=True)
        if register:
            from experiments.registry import check_model_name

            check_model_name(model_name)
    from uplift.data import UpliftData, file_sha256, load_frame

    _progress(f"reading {data}")
    frame = load_frame(data)
    features = [c.strip() for c in feature_cols.split(",")] if feature_cols else None
    if features is None:
        from uplift.data import default_feature_columns

        default = default_feature_columns(
            frame,
            treatment_col=treatment_col,
            outcome_col=outcome_col,
            randomized=not not_randomized,
        )
        features = default.features
        _progress(
            "features (default: every other column; --feature-cols to choose): "
            + ", ".join(features)
        )
        message = default.warning()
        if message is not None:
            _progress(f"warning: {message}")
    full = UpliftData.from_frame(
        frame,
        treatment_col=treatment_col,
        control=control,
        outcome_col=outcome_col,
        feature_cols=features,
        outcome_type=outcome_type,  # type: ignore[arg-type]
        randomized=not not_randomized,
        propensity=priors,
        min_rows_per_arm=min_rows_per_arm,
    )
    _progress(repr(full))
    from uplift.selection import default_candidates
    from uplift.workflow import train_and_evaluate

    candidates = None
    if auto_learners:
        candidates = default_candidates(
            full.outcome_type, learners=[a.strip() for a in auto_learners.split(",") if a.strip()]
        )
    result = train_and_evaluate(
        full,
        learner=learner,
        params={
            "n_estimators": n_estimators,
            "learning_rate": learning_rate,
            "num_leaves": num_leaves,
        },
        test_size=test_size,
        seed=seed,
        calibrate=calibrate,
        n_folds=n_folds,
        candidates=candidates,
        prune=prune,
        value_per_conversion=value_per_conversion,
        cost_per_contact=costs,
        n_bootstrap=n_bootstrap,
        ci=ci,
        n_jobs=n_jobs,
        progress=_progress,
    )
    model, evaluation, test_data = result.model, result.evaluation, result.test
    if result.selection is not None:
        _progress("candidates (cross-fitted on the training rows):")
        _progress(
            _render(
                result.selection.table[["candidate", "value", "se", "pruned", "chosen", "seconds"]],
                "table",
            ).rstrip()
        )
    if model_dir:
        extra = {
            "training_data": {
                "path": str(Path(data).resolve()),
                "sha256": file_sha256(data),
                "n_rows": len(frame),
                "test_size": test_size,
                "split_seed": seed,
            }
        }
        model.save(model_dir, extra=extra)
        _progress(f"saved model to {model_dir}")
    payload = {
        "learner": model.learner,
        "model_dir": model_dir,
        "seconds": dict(result.seconds),
        "selection": result.selection.to_dict() if result.selection is not None else None,
        "calibration": (model.calibration_.to_dict() if model.calibration_ is not None else None),
        "raw_calibration_error": dict(result.raw_calibration_error),
        **evaluation.to_dict(),
    }
    _emit(_render(evaluation.to_frame(), fmt, payload), output)
    if settings is not None:
        from experiments.uplift_runs import track_uplift_run

        run = track_uplift_run(
            model,
            evaluation,
            data=data,
            n_test=len(test_data),
            config={
                "command": "uplift train",
                "data": str(Path(data).resolve()),
                "test_size": test_size,
                "seed": seed,
                "n_bootstrap": n_bootstrap,
                "learner": learner,
                "calibrate": calibrate,
                "n_folds": n_folds,
                "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
            },
            selection=result.selection,
            raw_calibration_error=result.raw_calibration_error,
            settings=settings,
            register=register,
            model_name=model_name,
            input_example=frame[list(model.schema_.names)].head(20),
        )
        _progress(f"tracked as MLflow run {run.run_id}: {run.ui_url}")


@command.command("evaluate")
@_saved_model_options
@click.option("--control", default=None, help="Default: the model's control arm.")
@click.option("--deciles", is_flag=True, help="Output the uplift-by-decile table instead.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    default=None,
    help="Save a PNG with the Qini curves and the calibration plot (observed vs predicted "
    "uplift per decile).",
)
@_held_out_options
def evaluate(
    data: str,
    model_dir: str,
    treatment_col: str | None,
    outcome_col: str | None,
    control: str | None,
    all_rows: bool,
    deciles: bool,
    plot: str | None,
    seed: int,
    n_bootstrap: int,
    ci: float,
    fmt: str,
    output: str | None,
) -> None:
    """Evaluate a saved model on held-out DATA: Qini, AUUC, uplift@k, deciles, intervals."""
    from uplift.metrics import evaluate_uplift

    _check_destinations(plot=(plot, "file"), output=(output, "file"))
    _check_interval(n_bootstrap, ci)
    model, frame = _load_model_rows(model_dir, data, all_rows)
    held_out = _data_for_model(model, frame, treatment_col, outcome_col, control)
    _progress(f"evaluating on {len(held_out)} rows ({n_bootstrap} bootstrap replicates)")
    evaluation = evaluate_uplift(
        model.predict(held_out.features),
        held_out.outcome,
        held_out.treatment,
        held_out.control,
        arms=[a for a in model.arms_ if a in held_out.arms],
        n_bootstrap=n_bootstrap,
        ci=ci,
        seed=seed,
    )
    if plot:
        from uplift.plots import plot_calibration, plot_qini

        def draw(axes: Any) -> None:
            plot_qini(evaluation, ax=axes[0])
            plot_calibration(evaluation, ax=axes[1])

        _save_plot(plot, 2, (12, 5), draw)
    table = evaluation.deciles_frame() if deciles else evaluation.to_frame()
    _emit(_render(table, fmt, evaluation.to_dict()), output)


@command.command("target")
@_saved_model_options
@click.option(
    "--budget",
    type=float,
    required=True,
    help="Number of contacts, or money with --budget-type money.",
)
@click.option(
    "--budget-type",
    type=click.Choice(["contacts", "money"]),
    default="contacts",
    show_default=True,
    help="What --budget counts: contacts, or money spent on contacts.",
)
@click.option(
    "--value-per-conversion",
    type=float,
    required=True,
    help="Value of one unit of outcome (one conversion, or one unit of spend).",
)
@_cost_option()
@click.option(
    "--plan-output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the contacted customers (row, arm, priority, ...) as CSV.",
)
@_held_out_options
def target(
    data: str,
    model_dir: str,
    budget: float,
    budget_type: str,
    value_per_conversion: float,
    cost_per_contact: tuple[str, ...],
    treatment_col: str | None,
    outcome_col: str | None,
    all_rows: bool,
    plan_output: str | None,
    seed: int,
    n_bootstrap: int,
    ci: float,
    fmt: str,
    output: str | None,
) -> None:
    """Choose who gets which arm under a budget; estimate the value on held-out DATA."""
    from uplift.targeting import evaluate_targeting, plan_targeting

    _check_destinations(plan_output=(plan_output, "file"), output=(output, "file"))
    _check_interval(n_bootstrap, ci)
    costs = _parse_costs(cost_per_contact)
    if budget_type == "money" and not cost_per_contact:
        raise InvalidUpliftOptionError(
            "--budget-type money needs --cost-per-contact (COST or ARM=COST): without it "
            "contacts are free and the budget limits nothing"
        )
    model, frame = _load_model_rows(model_dir, data, all_rows)
    predictions = model.predict(frame)
    plan = plan_targeting(
        predictions,
        control=model.control_,
        budget=budget,
        value_per_conversion=value_per_conversion,
        cost_per_contact=costs,
        budget_type=budget_type,  # type: ignore[arg-type]
    )
    _progress(repr(plan))
    promise = None
    if model.calibration_ is not None and model.out_of_fold_ is not None:
        from uplift.promise import promise_plan

        promise = promise_plan(
            model,
            plan,
            frame,
            n_draws=max(n_bootstrap, 200),
            ci=ci,
            seed=seed,
        )
        _progress(f"promise: {promise!r}")
    else:
        _progress(
            "the model is not calibrated: the plan's totals are sums of raw predictions, "
            "typically over-optimistic (retrain without --no-calibrate for an honest promise)"
        )
    if plan_output:
        targets = plan.targets().reset_index(names="row")
        _atomic_write_text(plan_output, csv_text(targets))
        _progress(f"wrote {len(targets)} contacts to {plan_output}")
    t_col = treatment_col or model.treatment_col_
    y_col = outcome_col or model.outcome_col_
    if t_col in frame.columns and y_col in frame.columns:
        held_out = _data_for_model(model, frame, t_col, y_col, None)
        _progress(f"estimating the plan's value on {len(held_out)} rows")
        result = evaluate_targeting(
            plan,
            held_out.outcome,
            held_out.treatment,
            n_bootstrap=n_bootstrap,
            ci=ci,
            seed=seed,
            promise=promise,
        )
        _emit(_render(result.to_frame(), fmt, result.to_dict()), output)
    else:
        if t_col in frame.columns or y_col in frame.columns:
            raise InvalidUpliftDataError(
                f"DATA has only one of the treatment ({t_col!r}) and outcome ({y_col!r}) "
                "columns; give both to estimate the plan's value, or neither to get the plan only"
            )
        _progress("no treatment/outcome columns: reporting the plan and its promise only")
        if promise is not None:
            _emit(_render(promise.to_frame(), fmt, {**plan.to_dict(), **promise.to_dict()}), output)
        else:
            _emit(_render(plan.to_frame(), fmt, plan.to_dict()), output)


@command.command("curve")
@_saved_model_options
@_cost_option(required=True)
@click.option(
    "--cost-col",
    multiple=True,
    metavar="COL|ARM=COL",
    help="Per-customer cost column added to every arm's cost, or ARM=COL for one arm (repeat).",
)
@click.option(
    "--value-per-conversion",
    type=float,
    default=None,
    help="Value of one unit of outcome: adds the profit curve and the recommended budget.",
)
@click.option("--max-spend", type=float, default=None, help="Stop at this spend per customer.")
@click.option("--grid-size", type=int, default=50, show_default=True, help="Rows of the curve.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None, help="Save a PNG plot.")
@_held_out_options
def curve(
    data: str,
    model_dir: str,
    cost_per_contact: tuple[str, ...],
    cost_col: tuple[str, ...],
    value_per_conversion: float | None,
    max_spend: float | None,
    grid_size: int,
    treatment_col: str | None,
    outcome_col: str | None,
    all_rows: bool,
    plot: str | None,
    seed: int,
    n_bootstrap: int,
    ci: float,
    fmt: str,
    output: str | None,
) -> None:
    """Cost-aware multi-arm Qini curve on held-out DATA: best arm per customer or none per budget.

    Follows the budget path of grf's maq (per-customer convex hulls of cost and predicted
    uplift); gain estimated with inverse-propensity scores, bootstrap intervals, and with
    --value-per-conversion the budget where the marginal predicted profit reaches zero.
    """
    from uplift.multiarm import multiarm_qini, plot_multiarm_qini

    _check_destinations(plot=(plot, "file"), output=(output, "file"))
    _check_interval(n_bootstrap, ci)
    costs = _parse_costs(cost_per_contact)
    model, frame = _load_model_rows(model_dir, data, all_rows)
    held_out = _data_for_model(model, frame, treatment_col, outcome_col, None)
    customer_cost: Any = None
    if cost_col:
        names: dict[str | None, str] = {}
        if len(cost_col) == 1 and "=" not in cost_col[0]:
            names[None] = cost_col[0]
        else:
            for item in cost_col:
                arm, sep, col = item.rpartition("=")
                if not sep:
                    raise InvalidUpliftOptionError(
                        f"--cost-col {item!r}: give one column, or ARM=COL for each arm"
                    )
                names[arm.strip()] = col.strip()
        missing = [c for c in names.values() if c not in frame.columns]
        if missing:
            raise InvalidUpliftDataError(
                f"cost column(s) {missing!r} not found in {data}; it has columns "
                f"{list(map(str, frame.columns))!r}"
            )
        if None in names:
            customer_cost = frame[names[None]].to_numpy(dtype=float)
        else:
            customer_cost = {str(a): frame[c].to_numpy(dtype=float) for a, c in names.items()}
    _progress(f"building the budget path on {len(held_out)} rows ({n_bootstrap} replicates)")
    result = multiarm_qini(
        model.predict(held_out.features),
        held_out.outcome,
        held_out.treatment,
        control=held_out.control,
        cost_per_contact=costs,
        customer_cost=customer_cost,
        value_per_conversion=value_per_conversion,
        max_spend=max_spend,
        grid_size=grid_size,
        n_bootstrap=n_bootstrap,
        ci=ci,
        seed=seed,
    )
    _progress(repr(result))
    if plot:

        def draw(axes: Any) -> None:
            plot_multiarm_qini(result, ax=axes[0])
            if value_per_conversion:
                plot_multiarm_qini(result, profit=True, ax=axes[1])

        _save_plot(plot, 2 if value_per_conversion else 1, (12, 4), draw)
    _emit(_render(result.to_frame(), fmt, result.to_dict()), output)


@command.command("score")
@click.argument("data")
@click.option(
    "--model",
    "model_uri",
    required=True,
    help="MLflow model URI, e.g. models:/pathlift-uplift@champion.",
)
@click.option("--output", "output_dir", required=True, help="Output directory (Parquet).")
@click.option(
    "--engine",
    type=click.Choice(["spark"]),
    default="spark",
    show_default=True,
    help="Batch engine (mlflow.pyfunc.spark_udf with the local environment).",
)
@click.option("--tracking-uri", default=None, help="MLflow store (default: the project's).")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT once the new output is complete.")
def score(
    data: str,
    model_uri: str,
    output_dir: str,
    engine: str,
    tracking_uri: str | None,
    overwrite: bool,
) -> None:
    """Score a Parquet dataset DATA (file, directory or glob) with a registered uplift model."""
    import mlflow

    from experiments.spark_scoring import score_parquet_with_spark
    from experiments.tracking import resolve_tracking

    _check_destinations(output=(output_dir, "directory"))
    settings = resolve_tracking(tracking_uri, check_server=True)
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.registry_uri)
    _progress(f"scoring {data} with {model_uri} on {engine}")
    summary = score_parquet_with_spark(data, model_uri, output_dir, overwrite=overwrite)
    click.echo(json.dumps(summary.to_dict(), indent=2))
