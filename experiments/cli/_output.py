"""How every command shows its results: tables, CSV, JSON, files and progress.

Commands render their result here and hand the text to :func:`emit`, which writes standard output
or, with ``--output``, a file replaced atomically (:func:`attribution._io.atomic_write_text`).
Progress and notes go to standard error, never to standard output, so that output can be piped.

* ``--format table``: for people; ``csv`` and ``json`` for machines. JSON is strict (NaN and
  infinities become ``null``, :func:`attribution._io.to_jsonable`).
* Tables for people fit in :data:`TABLE_WIDTH` columns: a wider one is wrapped into blocks of
  columns, each repeating the key column(s) (:func:`fit_width`); numbers get one format per
  column (:func:`format_column`).
* :func:`format_results` renders attribution results (``pathlift attribute``);
  :func:`format_test_plan` a lift-test plan (``pathlift plan-tests``); :func:`render_frame` any
  table (``pathlift uplift``).

NumPy and pandas are imported inside the functions: ``--help`` must not load them.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import click

from attribution._io import atomic_write_text, csv_text, json_records, to_jsonable

if TYPE_CHECKING:
    import pandas as pd

    from attribution.journeys import Journeys
    from attribution.markov import OrderSelection
    from attribution.result import AttributionResult
    from attribution.testplan import TestPlan

__all__ = [
    "FORMATS",
    "TABLE_WIDTH",
    "Progress",
    "emit",
    "fit_width",
    "format_column",
    "format_results",
    "format_test_plan",
    "render_frame",
    "say",
    "text_table",
    "to_json",
]

#: the ``--format`` choices of every command that prints a result
FORMATS = ("table", "csv", "json")
#: the widest line of a table for people (wider tables are wrapped into blocks of columns)
TABLE_WIDTH = 120


def say(message: str) -> None:
    """Print a progress message or a note on standard error."""
    click.echo(message, err=True)


class Progress:
    """Stage messages with the elapsed time on standard error, when enabled."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.t0 = time.perf_counter()

    def elapsed(self) -> float:
        """Seconds since the command started."""
        return time.perf_counter() - self.t0

    def stage(self, message: str) -> None:
        """Announce a stage."""
        if self.enabled:
            say(f"[{self.elapsed():6.1f}s] {message}")

    def model(self, label: str) -> Callable[[str], None]:
        """Return a ``progress(message)`` callback for a model's ``fit``."""
        return lambda message: self.stage(f"{label}: {message}")


def emit(text: str, output: str | None, *, progress: Callable[[str], None] = say) -> None:
    """Write ``text`` to ``output`` atomically (reported to ``progress``), else standard output."""
    if output:
        atomic_write_text(output, text)
        progress(f"wrote {output}")
    else:
        sys.stdout.write(text)


def to_json(payload: Any) -> str:
    """Strict, indented JSON text of ``payload`` with a final newline."""
    return json.dumps(to_jsonable(payload), indent=2, allow_nan=False) + "\n"


def render_frame(frame: pd.DataFrame, fmt: str, payload: Any = None) -> str:
    """Render a table: aligned text, CSV, or JSON (``payload``, default ``{"rows": [...]}``)."""
    import pandas as pd

    if fmt == "csv":
        return csv_text(frame)
    if fmt == "json":
        return to_json(payload if payload is not None else {"rows": json_records(frame)})
    cells = pd.DataFrame({str(c): format_column(frame[c]) for c in frame.columns})
    keys = sum(1 for _ in _leading_text_columns(frame))
    return fit_width(cells, keys=max(keys, 1)) + "\n"


def _leading_text_columns(frame: pd.DataFrame) -> Iterator[str]:
    import pandas as pd

    for name in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[name]) or pd.api.types.is_bool_dtype(frame[name]):
            return
        yield str(name)


def format_column(values: pd.Series) -> list[str]:
    """Format one column for people, with one format for the whole column.

    Text as is; whole numbers with thousands separators; other numbers with the decimals their
    magnitude needs, the same for every row (4 decimals below 1 in absolute value at the
    column's largest, 2 up to 1,000, none above); missing values as ``-``.
    """
    import numpy as np
    import pandas as pd

    if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
        return ["-" if v is None or (isinstance(v, float) and v != v) else str(v) for v in values]
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = numbers[np.isfinite(numbers)]
    if finite.size == 0 or np.all(finite == np.round(finite)):
        pattern = "{:,.0f}"
    else:
        largest = float(np.max(np.abs(finite)))
        pattern = "{:,.4f}" if largest < 1 else "{:,.2f}" if largest < 1000 else "{:,.0f}"
    return ["-" if not np.isfinite(v) else pattern.format(v) for v in numbers]


def fit_width(table: pd.DataFrame, *, keys: int = 1, width: int = TABLE_WIDTH) -> str:
    """Render a table of text cells within ``width`` columns.

    The first ``keys`` columns (labels) are left-aligned, the others right-aligned, two spaces
    apart. When the whole table is wider than ``width``, it is wrapped: blocks of as many
    columns as fit, each repeating the key columns, separated by a blank line.
    """
    headers = [str(c) for c in table.columns]
    rows = [[str(c) for c in row] for row in table.itertuples(index=False)]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    key_width = sum(widths[:keys]) + 2 * keys
    blocks: list[list[int]] = []
    current: list[int] = []
    used = key_width
    for i in range(keys, len(headers)):
        if current and used + widths[i] > width:
            blocks.append(current)
            current, used = [], key_width
        current.append(i)
        used += widths[i] + 2
    blocks.append(current)

    def line(cells: list[str], columns: list[int]) -> str:
        parts = [cells[i].ljust(widths[i]) for i in range(keys)]
        parts += [cells[i].rjust(widths[i]) for i in columns]
        return "  ".join(parts).rstrip()

    out: list[str] = []
    for columns in blocks:
        if out:
            out.append("")
        out.append(line(headers, columns))
        out += [line(r, columns) for r in rows]
    return "\n".join(out)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Return the lines of a table of text cells, fitted to the width (:func:`fit_width`)."""
    import pandas as pd

    frame = pd.DataFrame([list(r) for r in rows], columns=list(headers))
    return fit_width(frame, keys=1).split("\n")


# --------------------------------------------------------------------------------- attribution


def _interval(low: float, high: float) -> str:
    return f"[{low:,.1f}, {high:,.1f}]"


def format_results(
    results: list[AttributionResult],
    journeys: Journeys,
    fmt: str,
    order_selection: OrderSelection | None = None,
) -> str:
    """Render attribution results as ``table`` (for people), ``csv`` or ``json``."""
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
        return to_json(payload)
    if fmt == "csv":
        import pandas as pd

        frames = []
        for r in results:
            frame = r.to_frame()
            frame.insert(0, "model", r.model)
            frames.append(frame)
        return render_frame(pd.concat(frames, ignore_index=True), "csv")
    return _results_table(results, journeys, order_selection)


def _results_table(
    results: list[AttributionResult], journeys: Journeys, order_selection: OrderSelection | None
) -> str:
    import pandas as pd

    lines = [
        f"{journeys.n_journeys:,} journeys ({journeys.n_paths:,} unique paths), "
        f"{journeys.total_conversions:,} conversions, value {journeys.total_value:,.2f}, "
        f"{journeys.n_channels} channels"
    ]
    if order_selection is not None:
        losses = zip(
            order_selection.table["order"].tolist(),
            order_selection.table["log_loss"].tolist(),
            strict=True,
        )
        lines.append(
            f"Markov order chosen by held-out log-loss: {order_selection.best_order} ("
            + ", ".join(f"order {order}: {loss:.4f}" for order, loss in losses)
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
        lines.append(fit_width(table))
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
        lines.append(fit_width(table))
    by_note: dict[str, list[str]] = {}
    for r in results:
        for note in r.notes:
            by_note.setdefault(note, []).append(r.model)
    for note, models in by_note.items():
        lines.append(f"note ({', '.join(models)}): {note}")
    lines += [_causal_line(r.diagnostics) for r in results if r.model == "causal"]
    prov = journeys.provenance
    if prov.dropped_conversions:
        window = " inside the lookback window" if prov.lookback else ""
        lines.append(
            f"note: {prov.dropped_conversions:,} conversions had no touch{window} and are not "
            "attributed to channels"
        )
    return "\n".join(lines) + "\n"


def _causal_line(d: dict[str, Any]) -> str:
    def interval(key: str) -> str:
        low, high = f"{key}_ci_low", f"{key}_ci_high"
        return f" [{d[low]:,.1f}, {d[high]:,.1f}]" if low in d else ""

    return (
        f"causal: marketing caused {d['incremental_total']:,.1f}{interval('incremental_total')} "
        f"of {d['population_conversions']:,.0f} conversions "
        f"({d['attributed_conversions']:,.0f} on touched journeys, which path models "
        f"share out); baseline {d['baseline']:,.1f}{interval('baseline')}; channels' incremental "
        f"credit sums to {d['credit_total']:,.1f}"
    )


# --------------------------------------------------------------------------------- test plans


def format_test_plan(plan: TestPlan, fmt: str) -> str:
    """Render a lift-test plan as ``table`` (untested channels, ranked), ``csv`` or ``json``."""
    if fmt == "json":
        return to_json(plan.to_dict())
    if fmt == "csv":
        return render_frame(plan.to_frame(), "csv")
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
    lines = [
        f"what to test next ({plan.decision})",
        f"unmeasured confounding lambda: {plan.lam_mean:.2f} "
        f"[{plan.lam_low:.2f}, {plan.lam_high:.2f}]",
        *text_table([label for label, _ in show.values()], rows),
    ]
    tested = plan.table.loc[plan.table["tested"], "channel"].tolist()
    if tested:
        lines.append(f"already tested or negative controls: {', '.join(tested)}")
    return "\n".join(lines) + "\n"
