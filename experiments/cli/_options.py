"""Options shared by the commands: journey input columns, bootstrap, seed, output, user tables.

Each option is declared once here, so that the commands spell, default and explain it alike.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from attribution.journeys import Journeys

__all__ = [
    "JourneyInput",
    "bootstrap_option",
    "check_bootstrap",
    "count_option",
    "delimiter_option",
    "journey_input_options",
    "output_options",
    "parse_list",
    "seed_option",
    "stack_options",
    "users_options",
    "value_kwargs",
]

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

_INPUT_OPTIONS: tuple[Callable[[Callable[..., Any]], Callable[..., Any]], ...] = (
    click.option("--path-col", default="path", show_default=True, help="Path tables: path column."),
    click.option(
        "--conversions-col",
        default="total_conversions",
        show_default=True,
        help="Path tables: conversions per path.",
    ),
    click.option(
        "--nulls-col",
        default="total_null",
        show_default=True,
        help="Path tables: journeys per path that did not convert.",
    ),
    click.option(
        "--value-col",
        default=None,
        help="Value column (default: total_conversion_value / value if present; 'none' to ignore).",
    ),
    click.option("--separator", default=">", show_default=True, help="Path separator."),
    click.option("--user-col", default="user_id", show_default=True, help="Event logs: user id."),
    click.option(
        "--time-col", default="timestamp", show_default=True, help="Event logs: event time."
    ),
    click.option(
        "--channel-col",
        default="channel",
        show_default=True,
        help="Event logs: channel of a touch (empty on a conversion-only row).",
    ),
    click.option(
        "--conversion-col",
        default="conversion",
        show_default=True,
        help="Event logs: 1 on a conversion, else 0.",
    ),
    click.option("--lookback", default=None, help="Event logs: lookback window, e.g. 30d."),
    click.option(
        "--max-touches",
        default=None,
        type=click.IntRange(min=1),
        help="Keep the last N touches of each journey (default: all).",
    ),
)


def _set_delimiter(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    from attribution._io import reset_delimiter, set_delimiter

    try:
        token = set_delimiter(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc
    ctx.call_on_close(lambda: reset_delimiter(token))


def delimiter_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--delimiter``: the delimiter of every CSV file the command reads (default: detected).

    The option sets :func:`attribution._io.set_delimiter` for the command's lifetime, so every
    reader of the command uses it; it is not passed to the command function.
    """
    return click.option(
        "--delimiter",
        default=None,
        expose_value=False,
        is_eager=True,
        callback=_set_delimiter,
        help="Delimiter of the CSV input files: ',', ';', '\\t' (tab) or another character "
        "(default: detected from each file's first lines).",
    )(fn)


@dataclass(frozen=True)
class JourneyInput:
    """The journey input options of a command (:func:`journey_input_options`), read together."""

    path_col: str
    conversions_col: str
    nulls_col: str
    value_col: str | None
    separator: str
    user_col: str
    time_col: str
    channel_col: str
    conversion_col: str
    lookback: str | None
    max_touches: int | None

    def event_columns(self) -> dict[str, str]:
        """Return the user, time, channel and conversion columns of an event log by option."""
        columns = ("user_col", "time_col", "channel_col", "conversion_col")
        return {name: getattr(self, name) for name in columns}

    def event_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`attribution.engines.journeys_from_events`."""
        return self.event_columns() | self.journey_kwargs()

    def journey_kwargs(self) -> dict[str, Any]:
        """Lookback, touch cap, separator and value column of the journeys built from events."""
        return {
            "lookback": self.lookback,
            "max_touches": self.max_touches,
            "separator": self.separator,
            **value_kwargs(self.value_col),
        }

    def read_paths(self, file: str) -> Journeys:
        """Read ``file`` as a path table with these columns (:meth:`Journeys.from_paths`)."""
        from attribution.journeys import Journeys

        return Journeys.from_paths(
            file,
            path_col=self.path_col,
            conversions_col=self.conversions_col,
            nulls_col=self.nulls_col,
            separator=self.separator,
            **value_kwargs(self.value_col),
        )


def journey_input_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add the column, separator, lookback, touch-cap and delimiter options of both formats.

    The command receives them as one :class:`JourneyInput`, parameter ``journey_input``.
    """
    names = [f.name for f in fields(JourneyInput)]

    @functools.wraps(fn)
    def command(*args: Any, **kwargs: Any) -> Any:
        journey_input = JourneyInput(**{name: kwargs.pop(name) for name in names})
        return fn(*args, journey_input=journey_input, **kwargs)

    return stack_options(*_INPUT_OPTIONS, delimiter_option)(command)


def value_kwargs(value_col: str | None) -> dict[str, Any]:
    """Keyword arguments for ``--value-col``: absent -> the default column, ``none`` -> no value."""
    if value_col is None:
        return {}
    return {"value_col": None if value_col == "none" else value_col}


def check_bootstrap(n_bootstrap: int) -> None:
    """Refuse a replicate count too small for percentile intervals."""
    from attribution.errors import InvalidModelOptionError

    if n_bootstrap and n_bootstrap < 20:
        raise InvalidModelOptionError(
            f"--bootstrap must be 0 (no intervals) or at least 20, got {n_bootstrap}"
        )


def parse_list(text: str | None) -> list[str] | None:
    """Split a comma-separated option (``--covariates a,b``) into trimmed names; keep ``None``."""
    return None if text is None else [part.strip() for part in text.split(",")]


def stack_options(*options: Decorator) -> Decorator:
    """Combine option decorators into one, applied in the order listed (top to bottom)."""

    def apply(fn: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return apply


def output_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--format table|csv|json`` and ``--output/-o FILE`` (see :mod:`._output`)."""
    return stack_options(
        click.option(
            "--format",
            "fmt",
            type=click.Choice(["table", "csv", "json"]),
            default="table",
            show_default=True,
            help="Output format: table for people, csv or json for machines.",
        ),
        click.option(
            "--output",
            "-o",
            type=click.Path(dir_okay=False),
            default=None,
            help="Write the result to FILE (atomically) instead of standard output.",
        ),
    )(fn)


def bootstrap_option(*, default: int = 200, minimum: int = 0, help: str | None = None) -> Decorator:
    """``--bootstrap N`` (parameter ``n_bootstrap``): replicates of the 95% intervals."""
    return click.option(
        "--bootstrap",
        "n_bootstrap",
        default=default,
        show_default=True,
        type=click.IntRange(min=minimum),
        help=help or "Bootstrap replicates for 95% intervals (0: none).",
    )


def count_option(flag: str, name: str, *, default: int, minimum: int, help: str) -> Decorator:
    """Return a count option such as ``--users N`` (parameter ``name``, at least ``minimum``)."""
    return click.option(
        flag, name, default=default, show_default=True, type=click.IntRange(minimum), help=help
    )


def seed_option(help: str = "Random seed (bootstrap, splits, simulations).") -> Decorator:
    """``--seed N``: the seed of everything random in the command."""
    return click.option("--seed", default=0, show_default=True, type=int, help=help)


def users_options(*, required: bool = False) -> Decorator:
    """``--users FILE`` (parameter ``users_path``) and ``--covariates a,b`` of a user table."""
    scope = "" if required else "Event logs: "
    return stack_options(
        click.option(
            "--users",
            "users_path",
            required=required,
            default=None,
            type=click.Path(dir_okay=False, path_type=str),
            help=f"{scope}user table of pre-exposure covariates (CSV or Parquet) keyed by "
            "--user-col (causal model).",
        ),
        click.option(
            "--covariates",
            default=None,
            help="Covariate columns of --users, comma-separated (default: all).",
        ),
    )
