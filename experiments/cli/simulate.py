"""``pathlift simulate``: a known-truth dataset on disk (events, users, costs, tests, truth)."""

from __future__ import annotations

from pathlib import Path

import click

from attribution.errors import InvalidModelOptionError
from experiments.cli._options import count_option

__all__ = ["command"]

FILES = ("events", "paths.csv", "users.csv", "costs.csv", "truth.csv", "config.json")


@click.command("simulate")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=str))
@count_option("--users", "n_users", default=100_000, minimum=1, help="Simulated users.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0), help="Random seed.")
@click.option(
    "--preset",
    type=click.Choice(["selection_bias", "no_selection"]),
    default="selection_bias",
    show_default=True,
    help="Channels: intent-selected reach (paid search, direct...) or reach independent of it.",
)
@click.option(
    "--proxy-quality",
    default=0.9,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Correlation of the user table's CRM score with the latent intent (1: perfect).",
)
@click.option(
    "--lift-test",
    "lift_channels",
    multiple=True,
    help="Channel to run a simulated 50% holdout lift test on; repeat for several.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "csv"]),
    default="parquet",
    show_default=True,
    help="Format of the event log.",
)
@click.option("--force", is_flag=True, help="Replace the files of an existing dataset.")
def command(
    out_dir: str,
    n_users: int,
    seed: int,
    preset: str,
    proxy_quality: float,
    lift_channels: tuple[str, ...],
    fmt: str,
    force: bool,
) -> None:
    """Simulate customer journeys with known causal truth into OUT_DIR.

    Writes the event log (events.parquet or events.csv: user_id, timestamp, channel, conversion,
    value, cost), paths.csv (the same journeys as a path table: path, total_conversions, total_null,
    total_conversion_value), users.csv (pre-exposure covariates of every user, untouched ones
    included), costs.csv (spend per channel and week), truth.csv (true incremental conversions and
    Shapley values per channel), lift_tests.csv (with --lift-test) and config.json. See
    docs/simulator.md.
    """
    from attribution._io import check_destination
    from attribution.simulate import SimulationConfig, proxy_covariates

    target = check_destination(
        out_dir, kind="directory", what="OUT_DIR", error=InvalidModelOptionError
    )
    events_name = f"events.{fmt}"
    existing = [
        name for name in (events_name, *FILES[1:], "lift_tests.csv") if (target / name).exists()
    ]
    if existing and not force:
        raise InvalidModelOptionError(
            f"{out_dir!r} already holds {', '.join(existing)}: pass --force to replace them, or "
            "choose another directory"
        )
    config = SimulationConfig.preset(
        preset,
        n_users=n_users,
        seed=seed,
        covariates=proxy_covariates(proxy_quality),
        include_untouched_conversions=True,
    )
    unknown = [c for c in lift_channels if c not in config.channel_names]
    if unknown:
        raise InvalidModelOptionError(
            f"--lift-test {unknown[0]!r} is not a simulated channel; choose from "
            f"{', '.join(config.channel_names)}"
        )
    _write(target, config, lift_channels, events_name)
    click.echo(f"wrote a simulated dataset of {n_users:,} users to {target}/")


def _write(target: Path, config: object, lift_channels: tuple[str, ...], events_name: str) -> None:
    import pandas as pd

    from attribution._io import atomic_write, atomic_write_text, csv_text
    from attribution.calibration import LiftTests
    from attribution.journeys import Journeys
    from attribution.simulate import SimulationConfig, simulate_journeys, simulate_lift_test
    from experiments.cli._output import to_json

    assert isinstance(config, SimulationConfig)
    sim = simulate_journeys(config)
    target.mkdir(parents=True, exist_ok=True)
    with atomic_write(target / events_name, "wb") as handle:
        if events_name.endswith(".parquet"):
            sim.events.to_parquet(handle, index=False)
        else:
            handle.write(csv_text(sim.events).encode())
    paths = Journeys.from_events(sim.events).to_path_table()
    atomic_write_text(target / "paths.csv", csv_text(paths))
    atomic_write_text(target / "users.csv", csv_text(sim.covariates))
    atomic_write_text(target / "costs.csv", csv_text(sim.costs))
    truth = sim.truth.reset_index()
    atomic_write_text(target / "truth.csv", csv_text(truth))
    if lift_channels:
        tests = LiftTests.from_results(
            [
                simulate_lift_test(sim, channel, holdout_fraction=0.5, seed=config.seed + k)
                for k, channel in enumerate(lift_channels)
            ]
        )
        frame = tests.to_frame()
        atomic_write_text(target / "lift_tests.csv", csv_text(pd.DataFrame(frame)))
    payload = {
        "config": config.to_dict(),
        "baseline_conversions": sim.baseline_conversions,
        "total_conversions": sim.total_conversions,
    }
    atomic_write_text(target / "config.json", to_json(payload))
