"""Renderers of :class:`~experiments.reports.model.Report`: HTML, Markdown and CSV.

HTML and Markdown show the same tables through the same column specifications and the same
number formatter (:func:`fmt`); every numeric HTML cell also carries the full-precision number in
``data-value`` (``repr`` of the float, ``nan``, ``inf``), which is what CSV and JSON hold. The
HTML page is self-contained: inline CSS, inline SVG, a Content-Security-Policy that forbids any
network access, and a few lines of inline script that mark the page as rendered
(``data-test="rendered"``) and record script errors in ``body[data-errors]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from attribution._io import csv_text
from experiments.reports.svg import BarSeries, grouped_bar_chart

if TYPE_CHECKING:
    from attribution.testplan import TestPlan
    from experiments.reports.model import Report

__all__ = ["csv_tables", "data_value", "fmt", "render_html", "render_markdown"]

DASH = "—"


def _float(value: Any) -> float | None:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def fmt(value: Any, kind: str) -> str:
    """Format a number for display.

    ``count``: one decimal with thousands separators; ``int``: no decimals; ``money``: two
    decimals with separators; ``ratio``: two decimals; ``factor``: three decimals; ``share``:
    percent with one decimal; ``bool``: yes/no; ``text``: ``str``. Missing/NaN is an em dash,
    infinity ``∞``.
    """
    if kind == "text":
        return DASH if value is None else str(value)
    if kind == "bool":
        return "yes" if bool(value) else "no"
    number = _float(value)
    if number is None or math.isnan(number):
        return DASH
    if math.isinf(number):
        return "∞" if number > 0 else "−∞"
    if kind == "share":
        number = number * 100
    decimals = {"count": 1, "int": 0, "money": 2, "ratio": 2, "factor": 3, "share": 1}.get(kind)
    if decimals is not None and round(number, decimals) == 0:
        number = 0.0  # no "-0.0"
    if kind == "share":
        return f"{number:.1f}%"
    if kind == "count":
        return f"{number:,.1f}"
    if kind == "int":
        return f"{number:,.0f}"
    if kind == "money":
        return f"{number:,.2f}"
    if kind == "ratio":
        return f"{number:,.2f}"
    if kind == "factor":
        return f"{number:,.3f}"
    raise ValueError(f"unknown format kind {kind!r}")


def data_value(value: Any) -> str:
    """Full-precision text of a number for ``data-value`` (``repr``; ``nan``, ``inf``)."""
    number = _float(value)
    if number is None or math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    return repr(number)


@dataclass(frozen=True)
class Column:
    """One displayed column: header, source column and format kind."""

    header: str
    key: str
    kind: str


@dataclass(frozen=True)
class Table:
    """A table of one report section, rendered identically to HTML and Markdown."""

    name: str
    columns: Sequence[Column]
    frame: pd.DataFrame
    row_class: Callable[[pd.Series], str] | None = None


def _metric_label(metric: str) -> str:
    return "ROAS" if metric == "roas" else "conversions per unit of spend"


def _ci(level: float | None) -> str:
    return f"{level:.0%}" if level is not None else "CI"


def _with_interval(
    header: str,
    key: str,
    kind: str,
    *,
    labels: tuple[str, str] = ("low", "high"),
    stem: str | None = None,
) -> list[Column]:
    """Return the column of an estimate and those of its bounds, ``<stem>_low``/``<stem>_high``."""
    stem = stem or key
    return [
        Column(header, key, kind),
        Column(labels[0], f"{stem}_low", kind),
        Column(labels[1], f"{stem}_high", kind),
    ]


def channel_table(report: Report) -> Table:
    """Credit per model and channel; spend, CPA and ROAS too when the report has costs."""
    ci = _ci(report.level)
    columns = [
        Column("Model", "model", "text"),
        Column("Channel", "channel", "text"),
        Column("Conversions", "conversions", "count"),
    ]
    if report.level is not None:
        columns += [
            Column(f"{ci} low", "conversions_low", "count"),
            Column(f"{ci} high", "conversions_high", "count"),
        ]
    columns += [Column("Share", "share", "share"), Column("Value", "value", "money")]
    if report.has_costs:
        columns += [
            Column("Spend", "spend", "money"),
            *_with_interval("CPA", "cpa", "money", labels=("CPA low", "CPA high")),
            *_with_interval("ROAS", "roas", "ratio", labels=("ROAS low", "ROAS high")),
        ]
    return Table("channel-table", columns, report.channels)


def share_table(report: Report) -> Table:
    """Share of credit, channels x models, with the spread across models."""
    frame = report.share_table()
    columns = [Column("Channel", "channel", "text")]
    columns += [Column(m, m, "share") for m in report.models]
    columns.append(Column("Spread", "spread", "share"))
    return Table("share-table", columns, frame)


def reallocation_table(report: Report) -> Table | None:
    """Suggested budget moves."""
    r = report.reallocation
    if r is None:
        return None
    unit = "value" if r.metric == "roas" else "conversions"
    metric = "ROAS" if r.metric == "roas" else "Conv./spend"
    kind = "money" if unit == "value" else "count"
    return Table(
        "reallocation-table",
        [
            Column("From", "from_channel", "text"),
            Column("To", "to_channel", "text"),
            Column("Amount", "amount", "money"),
            *_with_interval(f"From {metric}", "from_metric", "factor", stem="from"),
            *_with_interval(f"To {metric}", "to_metric", "factor", stem="to"),
            *_with_interval(f"Expected change ({unit})", "expected_change", kind, stem="expected"),
            Column("Expected conversions", "expected_conversions", "count"),
            Column("Intervals overlap", "intervals_overlap", "bool"),
        ],
        r.moves,
    )


def comparison_table(report: Report) -> Table | None:
    """Period-over-period changes with flags."""
    c = report.comparison
    if c is None:
        return None
    frame = c.table.copy()
    frame["flags"] = [
        ", ".join(
            name
            for name, key in (
                ("credit", "conversions_flag"),
                ("CPA", "cpa_flag"),
                ("ROAS", "roas_flag"),
            )
            if row[key]
        )
        or DASH
        for _, row in frame.iterrows()
    ]
    return Table(
        "comparison-table",
        [
            Column("Model", "model", "text"),
            Column("Channel", "channel", "text"),
            Column("Conv. previous", "conversions_previous", "count"),
            Column("Conv. current", "conversions_current", "count"),
            Column("Change", "conversions_change", "count"),
            Column("Share previous", "share_previous", "share"),
            Column("Share current", "share_current", "share"),
            Column("CPA previous", "cpa_previous", "money"),
            Column("CPA current", "cpa_current", "money"),
            Column("ROAS previous", "roas_previous", "ratio"),
            Column("ROAS current", "roas_current", "ratio"),
            Column("Flagged", "flags", "text"),
        ],
        frame,
        row_class=lambda row: "flagged" if row["flags"] != DASH else "",
    )


def calibration_table(report: Report) -> Table | None:
    """Calibrated credit per channel."""
    cal = report.calibration
    if cal is None:
        return None
    bounds = (f"{_ci(cal.level)} low", f"{_ci(cal.level)} high")
    return Table(
        "calibration-table",
        [
            Column("Channel", "channel", "text"),
            Column("Tested", "tested", "bool"),
            Column("Attributed", "attributed", "count"),
            *_with_interval("Measured (lift)", "measured", "count", labels=bounds),
            *_with_interval("Factor", "factor", "factor"),
            *_with_interval("Calibrated", "calibrated", "count", labels=bounds),
            Column("Calibrated share", "calibrated_share", "share"),
        ],
        cal.table,
        row_class=lambda row: "tested" if row["tested"] else "",
    )


def incrementality_rows(report: Report) -> list[tuple[str, Any, str]]:
    """Return the causal model's totals: converted, touched, caused by marketing, baseline."""
    inc = report.incrementality or {}
    labels = (
        ("population_conversions", "Conversions (all users, untouched included)"),
        ("attributed_conversions", "Conversions of touched journeys (what path models share)"),
        ("incremental_total", "Caused by marketing (incremental total)"),
        ("incremental_total_ci_low", "  low"),
        ("incremental_total_ci_high", "  high"),
        ("baseline", "Baseline: would have converted anyway"),
        ("baseline_ci_low", "  low"),
        ("baseline_ci_high", "  high"),
        ("credit_total", "Sum of the channels' incremental credit"),
    )
    return [(label, inc[key], "count") for key, label in labels if key in inc]


def calibration_rows(report: Report) -> list[tuple[str, Any, str]]:
    """Return the calibration summary: the calibrated model, totals, baseline, pooled factor."""
    cal = report.calibration
    if cal is None:
        return []
    return [
        ("Calibrated model", cal.model, "text"),
        ("Total conversions", cal.total_conversions, "count"),
        ("Baseline (would have converted anyway)", cal.baseline, "count"),
        ("Baseline low", cal.baseline_low, "count"),
        ("Baseline high", cal.baseline_high, "count"),
        ("Pooled factor", cal.pooled_factor, "factor"),
    ]


def test_plan_table(report: Report) -> Table | None:
    """Untested channels ranked by the value of a lift test."""
    plan = report.test_plan
    if plan is None:
        return None
    frame = plan.table[~plan.table["tested"]]
    columns = [
        Column("Rank", "rank", "int"),
        Column("Channel", "channel", "text"),
        *_with_interval("Incremental", "incremental", "count", labels=("95% low", "95% high")),
        Column("Reach selection", "selection_slope", "ratio"),
        Column("Interval of total: shrinks by", "width_reduction", "count"),
    ]
    if plan.current_move is not None or frame["expected_value"].notna().any():
        columns += [
            Column("Expected value of the test", "expected_value", "money"),
            Column("Holdout cost (value)", "holdout_cost_value", "money"),
            Column("Net value", "net_value", "money"),
        ]
    columns += [
        Column("Holdout needed", "holdout_needed", "share"),
        Column("Periods needed", "periods_needed", "ratio"),
    ]
    return Table("test-plan-table", columns, frame)


COVERAGE_LABELS = (
    ("source", "Source", "text"),
    ("n_rows", "Rows read", "int"),
    ("n_users", "Users", "int"),
    ("n_journeys", "Journeys", "int"),
    ("start", "First event", "text"),
    ("end", "Last event", "text"),
    ("lookback", "Lookback window", "text"),
    ("max_touches", "Touch cap", "text"),
    ("dropped_conversions", "Conversions without touch in window (dropped)", "int"),
    ("dropped_value", "Value of dropped conversions", "money"),
    ("spend_periods", "Spend periods (cost table)", "text"),
)


def coverage_rows(coverage: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """``(label, value, kind)`` rows of a coverage dictionary, known keys first."""
    rows = [(label, coverage[key], kind) for key, label, kind in COVERAGE_LABELS if key in coverage]
    known = {k for k, _, _ in COVERAGE_LABELS}
    rows += [(str(k), v, "text") for k, v in coverage.items() if k not in known]
    return rows


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

CSS = """
:root { --fg:#1d2433; --muted:#5b6477; --line:#d9dee8; --accent:#0072B2; --bg:#ffffff;
  --flag:#fff3cd; --tested:#e8f4fb; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--fg); background: var(--bg); margin: 0; padding: 24px 32px 48px; max-width: 1240px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px;
  border-bottom: 2px solid var(--line); }
p.meta, p.hint { color: var(--muted); margin: 4px 0 12px; }
p.decision { font-size: 1.15rem; font-weight: 600; margin: 8px 0 16px; padding: 10px 14px;
  border-left: 4px solid var(--accent); background: #eef5fb; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 150px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .03em; }
.card .value { font-size: 20px; font-weight: 600; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 12.5px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; }
th { background: #f4f6fa; text-align: left; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.flagged td { background: var(--flag); }
tr.tested td { background: var(--tested); }
.warn { background: var(--flag); border-left: 4px solid #e0a800; padding: 6px 10px; margin: 6px 0; }
.assumption { border-left: 4px solid var(--accent); padding: 6px 10px; background: #f4f9fd; }
svg.chart { max-width: 100%; height: auto; }
svg .chart-title { font-weight: 600; font-size: 14px; fill: var(--fg); }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .tick, svg .axis-label, svg .legend, svg .cat { font-size: 12px; fill: var(--fg); }
svg .whisker { stroke: #222; stroke-width: 1.2; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

SCRIPT = """
window.addEventListener('error', function (e) {
  document.body.setAttribute('data-errors', String(e.message || e));
});
window.addEventListener('DOMContentLoaded', function () {
  var done = document.createElement('div');
  done.setAttribute('data-test', 'rendered');
  done.hidden = true;
  document.body.appendChild(done);
  document.body.setAttribute('data-rendered', 'true');
});
"""


def _html_table(table: Table) -> str:
    head = "".join(
        f'<th class="{"" if c.kind in ("text", "bool") else "num"}" scope="col">'
        f"{escape(c.header)}</th>"
        for c in table.columns
    )
    body = []
    for _, row in table.frame.iterrows():
        cls = table.row_class(row) if table.row_class else ""
        cells = "".join(_html_cell(row[c.key], c.kind) for c in table.columns)
        attr = f' class="{cls}"' if cls else ""
        body.append(f"<tr{attr}>{cells}</tr>")
    return (
        f'<table data-test="{escape(table.name)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _html_cell(value: Any, kind: str) -> str:
    """Return a ``<td>``: text as is, a number right-aligned with its exact ``data-value``."""
    if kind in ("text", "bool"):
        return f"<td>{escape(fmt(value, kind))}</td>"
    return f'<td class="num" data-value="{data_value(value)}">{escape(fmt(value, kind))}</td>'


def _kv_table(rows: Sequence[tuple[str, Any, str]], name: str) -> str:
    cells = "".join(
        f"<tr><th>{escape(label)}</th>{_html_cell(value, kind)}</tr>" for label, value, kind in rows
    )
    return f'<table data-test="{escape(name)}"><tbody>{cells}</tbody></table>'


def _html_section(section_id: str, title: str, *parts: str) -> str:
    """``<section id=...><h2>title</h2>`` followed by ``parts``, then ``</section>``."""
    return "\n".join((f'<section id="{section_id}"><h2>{title}</h2>', *parts, "</section>"))


def _test_plan_text(plan: TestPlan, esc: Callable[[str], str]) -> str:
    """Return the sentence above the test plan table: holdout share, decision, lambda."""
    return (
        f"Untested channels ranked by the value of a lift test holding out "
        f"{plan.settings['holdout_fraction']:.0%} of their reach for one period; decision: "
        f"{esc(plan.decision)}. Unmeasured confounding lambda is "
        f"{plan.lam_mean:.2f} [{plan.lam_low:.2f}, {plan.lam_high:.2f}]"
    )


def _credit_chart(report: Report) -> str:
    channels = list(report.channel_names)
    series = []
    for model in report.models:
        sub = report.channels[report.channels["model"] == model].set_index("channel")
        sub = sub.reindex(channels)
        series.append(
            BarSeries(
                model,
                sub["conversions"].tolist(),
                sub["conversions_low"].tolist(),
                sub["conversions_high"].tolist(),
            )
        )
    ci = f" ({_ci(report.level)} interval whiskers)" if report.level is not None else ""
    return grouped_bar_chart(
        channels,
        series,
        title=f"Attributed conversions per channel and model{ci}",
        x_label="attributed conversions",
    )


def render_html(report: Report) -> str:
    """Render the self-contained HTML page."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(report.title)}</title>",
        f"<style>{CSS}</style>",
        f"<script>{SCRIPT}</script>",
        "</head><body>",
        f"<h1>{escape(report.title)}</h1>",
        f'<p class="meta">Created {escape(report.created)}'
        + (
            f" from MLflow run <code>{escape(str(report.mlflow['run_id']))}</code>"
            if report.mlflow
            else ""
        )
        + "</p>",
        f'<p class="decision" data-test="decision">{escape(report.decision)}</p>',
        '<section id="headline"><h2>Headline</h2><div class="cards" data-test="headline">',
    ]
    for label, (value, kind) in report.headline.items():
        attr = "" if kind == "text" else f' data-value="{data_value(value)}"'
        out.append(
            f'<div class="card"><div class="label">{escape(label)}</div>'
            f'<div class="value"{attr}>{escape(fmt(value, kind))}</div></div>'
        )
    out.append("</div></section>")

    out.append('<section id="credit"><h2>Credit per channel and model</h2>')
    out.append(
        '<p class="hint">Each model splits the same conversions differently; the spread column '
        "shows where they disagree. Intervals are percentile bootstrap intervals over journeys."
        "</p>"
    )
    out.append(_credit_chart(report))
    out.append(_html_table(share_table(report)))
    if report.has_costs:
        out.append("<h3>Credit, spend, CPA and ROAS</h3>")
        out.append(
            '<p class="hint">CPA = spend / attributed conversions, its interval is spend divided '
            "by the credit interval bounds (swapped); ROAS = attributed value / spend. "
            "∞: unbounded (the credit interval reaches 0); —: undefined.</p>"
        )
    else:
        out.append("<h3>Credit and value</h3>")
        out.append('<p class="hint">No cost data: pass costs for spend, CPA and ROAS.</p>')
    out.append(_html_table(channel_table(report)))
    out.append("</section>")

    table = reallocation_table(report)
    if table is not None and report.reallocation is not None:
        r = report.reallocation
        out.append(
            _html_section(
                "reallocation",
                "Reallocation suggestion",
                f"<p>Based on <strong>{escape(r.model)}</strong>: move at most "
                f"{r.max_shift:.0%} of the smaller of the two budgets from the channel with the "
                f"lowest to the one with the highest {_metric_label(r.metric)}.</p>",
                f'<p class="assumption">Assumption: {escape(r.assumption)}.</p>',
                _html_table(table),
                *(f'<p class="warn">{escape(w)}</p>' for w in r.warnings),
            )
        )

    table = comparison_table(report)
    if table is not None and report.comparison is not None:
        out.append(
            _html_section(
                "comparison",
                "This period vs the previous",
                f'<p class="hint">Flag rule: {escape(report.comparison.rule)}.</p>',
                _html_table(table),
            )
        )

    table = calibration_table(report)
    if table is not None and report.calibration is not None:
        cal = report.calibration
        out.append(
            _html_section(
                "calibration",
                "Calibration with lift tests",
                f"<p>Method: {escape(cal.method)}.</p>",
                _kv_table(calibration_rows(report), "calibration-summary"),
                _html_table(table),
                *(f'<p class="warn">{escape(w)}</p>' for w in cal.warnings),
            )
        )

    if report.incrementality:
        out.append(
            _html_section(
                "incrementality",
                "What marketing caused",
                '<p class="hint">From the causal model: conversions the channels caused among the '
                "journeys they touched, adjusted for the users' covariates; the baseline would "
                "have converted without any channel. Path models share out all conversions of "
                "touched journeys instead.</p>",
                _kv_table(incrementality_rows(report), "incrementality"),
            )
        )

    table = test_plan_table(report)
    if table is not None and report.test_plan is not None:
        plan = report.test_plan
        out.append(
            _html_section(
                "test-plan",
                "What to test next",
                f"<p>{_test_plan_text(plan, escape)} given what is known. Holdout needed: for "
                f"a 95% interval within ±{plan.settings['target_precision']:.0%} of the "
                "channel's incremental conversions.</p>",
                _html_table(table),
            )
        )

    previous = (
        (
            "<h3>Previous period</h3>",
            _kv_table(coverage_rows(report.previous_coverage), "previous-coverage"),
        )
        if report.previous_coverage
        else ()
    )
    out.append(
        _html_section(
            "coverage",
            "Data coverage",
            _kv_table(coverage_rows(report.coverage), "coverage"),
            *previous,
        )
    )
    out.append(
        _html_section(
            "provenance",
            "MLflow run",
            _kv_table([(str(k), v, "text") for k, v in report.mlflow.items()], "mlflow")
            if report.mlflow
            else "<p>Not logged to MLflow.</p>",
        )
    )

    if report.notes:
        out.append('<section id="notes"><h2>Notes</h2><ul>')
        out.extend(f"<li>{escape(n)}</li>" for n in report.notes)
        out.append("</ul></section>")
    out.append(
        f"<footer>pathlift report · {escape(report.created)} · same numbers in report.md, "
        "report.json and report.csv</footer>"
    )
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> str:
    header = "| " + " | ".join(_md_escape(c.header) for c in table.columns) + " |"
    align = "|" + "|".join(":--" if c.kind in ("text", "bool") else "--:" for c in table.columns)
    lines = [header, align + "|"]
    for _, row in table.frame.iterrows():
        cells = [_md_escape(fmt(row[c.key], c.kind)) for c in table.columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _md_kv(rows: Sequence[tuple[str, Any, str]]) -> str:
    lines = ["| Item | Value |", "|:--|--:|"]
    lines += [f"| {_md_escape(label)} | {_md_escape(fmt(v, kind))} |" for label, v, kind in rows]
    return "\n".join(lines)


def render_markdown(report: Report) -> str:
    """Render the report as Markdown."""
    out = [f"# {_md_escape(report.title)}", ""]
    meta = f"Created {report.created}"
    if report.mlflow:
        meta += f" from MLflow run `{report.mlflow['run_id']}`"
    out += [meta, "", f"**{_md_escape(report.decision)}**", "", "## Headline", ""]
    out.append(_md_kv([(label, v, kind) for label, (v, kind) in report.headline.items()]))
    out += ["", "## Credit per channel and model", "", "Share of credit:", ""]
    out.append(_md_table(share_table(report)))
    out += [
        "",
        "Credit, spend, CPA and ROAS (CPA interval = spend / credit bounds, swapped):"
        if report.has_costs
        else "Credit and value (no cost data):",
        "",
    ]
    out.append(_md_table(channel_table(report)))
    table = reallocation_table(report)
    if table is not None and report.reallocation is not None:
        r = report.reallocation
        out += [
            "",
            "## Reallocation suggestion",
            "",
            f"Based on **{_md_escape(r.model)}**: move at most {r.max_shift:.0%} of the smaller "
            f"of the two budgets from the lowest to the highest {_metric_label(r.metric)} "
            "channel.",
            "",
            f"> Assumption: {_md_escape(r.assumption)}.",
            "",
            _md_table(table),
            "",
        ]
        out += [f"- Warning: {_md_escape(w)}" for w in r.warnings]
    table = comparison_table(report)
    if table is not None and report.comparison is not None:
        out += ["", "## This period vs the previous", "", f"Flag rule: {report.comparison.rule}."]
        out += ["", _md_table(table)]
    table = calibration_table(report)
    if table is not None and report.calibration is not None:
        cal = report.calibration
        out += ["", "## Calibration with lift tests", "", f"Method: {_md_escape(cal.method)}.", ""]
        out.append(_md_kv(calibration_rows(report)))
        out += ["", _md_table(table), ""]
        out += [f"- Warning: {_md_escape(w)}" for w in cal.warnings]
    if report.incrementality:
        out += ["", "## What marketing caused", ""]
        out.append(_md_kv(incrementality_rows(report)))
    table = test_plan_table(report)
    if table is not None and report.test_plan is not None:
        text = _test_plan_text(report.test_plan, _md_escape)
        out += ["", "## What to test next", "", f"{text}."]
        out += ["", _md_table(table)]
    out += ["", "## Data coverage", "", _md_kv(coverage_rows(report.coverage))]
    if report.previous_coverage:
        out += ["", "Previous period:", "", _md_kv(coverage_rows(report.previous_coverage))]
    out += ["", "## MLflow run", ""]
    if report.mlflow:
        out.append(_md_kv([(str(k), v, "text") for k, v in report.mlflow.items()]))
    else:
        out.append("Not logged to MLflow.")
    if report.notes:
        out += ["", "## Notes", ""]
        out += [f"- {_md_escape(n)}" for n in report.notes]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def csv_tables(report: Report) -> dict[str, str]:
    """CSV text by table name (full precision; NaN empty, infinity ``inf``)."""
    out = {"channels": csv_text(report.channels)}
    if report.comparison is not None:
        out["comparison"] = csv_text(report.comparison.table)
    if report.calibration is not None:
        out["calibration"] = csv_text(report.calibration.table)
    if report.reallocation is not None:
        out["reallocation"] = csv_text(report.reallocation.moves)
    if report.test_plan is not None:
        out["test_plan"] = csv_text(report.test_plan.table)
    return out
