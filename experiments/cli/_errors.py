"""Turn library errors into one clean line and a meaningful exit status."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from attribution.errors import AttributionError, AttributionWarning, NotFittedError
from experiments.errors import EXIT_BAD_INPUT, EXIT_FAILURE, ExperimentError
from uplift.errors import UpliftError, UpliftWarning

#: errors raised for input the user can fix: one line and exit status 2
DOMAIN_ERRORS: tuple[type[BaseException], ...] = (
    AttributionError,
    UpliftError,
    ExperimentError,
    NotFittedError,
)


def handle_errors(group: click.Group, argv: Sequence[str] | None) -> int:
    """Invoke ``group`` and map exceptions to exit statuses.

    * a domain error (bad input the user can fix) -> ``error: <message>`` and status 2;
    * click usage errors -> click's own message and status 2;
    * anything else -> one line naming the exception type and status 1 (set
      ``PATHLIFT_TRACEBACK=1`` to see the traceback);
    * otherwise the command's own integer result (``pathlift retrain`` exits 3 or 4 this way).

    While the command runs, a warning about the data or options (:data:`DOMAIN_WARNINGS`) is
    shown as one ``warning: <message>`` line on standard error.
    """
    import warnings

    previous = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        return _invoke(group, argv)
    finally:
        warnings.showwarning = previous


#: warnings about the user's data or options: one ``warning: <message>`` line on standard error
DOMAIN_WARNINGS: tuple[type[Warning], ...] = (AttributionWarning, UpliftWarning)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    if issubclass(category, DOMAIN_WARNINGS):
        click.echo(f"warning: {_one_line(str(message))}", err=True)
        return
    import warnings

    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _invoke(group: click.Group, argv: Sequence[str] | None) -> int:
    try:
        result = group.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        return EXIT_FAILURE
    except click.ClickException as exc:
        exc.show(file=sys.stderr)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except DOMAIN_ERRORS as exc:
        click.echo(f"error: {_one_line(str(exc))}", err=True)
        return EXIT_BAD_INPUT
    except Exception as exc:
        if os.environ.get("PATHLIFT_TRACEBACK"):
            raise
        click.echo(f"error: {type(exc).__name__}: {_one_line(str(exc))}", err=True)
        return EXIT_FAILURE
    # a command may return its exit status (ctx.exit(n) also ends up here without standalone mode)
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


def _one_line(message: str) -> str:
    return " ".join(message.split())
