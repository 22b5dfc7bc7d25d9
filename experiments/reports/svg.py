"""Inline SVG charts for the HTML report (no JavaScript, no external resources)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["PALETTE", "BarSeries", "grouped_bar_chart"]

#: Okabe-Ito colour-blind-safe palette
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)


@dataclass(frozen=True)
class BarSeries:
    """One series of a grouped bar chart: a value per category and optional interval bounds."""

    name: str
    values: Sequence[float]
    low: Sequence[float] | None = None
    high: Sequence[float] | None = None


def _nice_max(value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        top = step * 10**exponent
        if top >= value:
            return top
    return 10.0 ** (exponent + 1)


def _num(x: float) -> str:
    return f"{x:.1f}"


def grouped_bar_chart(
    categories: Sequence[str],
    series: Sequence[BarSeries],
    *,
    title: str,
    x_label: str,
    width: int = 900,
    bar_height: int = 9,
) -> str:
    """Return an ``<svg>`` element: horizontal bars per category, one bar per series.

    Interval bounds, when given, are drawn as whiskers. Non-finite values draw nothing; negative
    values are drawn from zero to the left edge clipped at 0. All text is HTML-escaped.
    """
    n_cat, n_series = len(categories), len(series)
    label_w, right_pad, top, legend_h = 150, 30, 40, 24 * math.ceil(max(n_series, 1) / 4)
    group_h = n_series * bar_height + 10
    plot_h = max(n_cat * group_h, 20)
    height = top + plot_h + 40 + legend_h
    plot_w = width - label_w - right_pad
    highs = [
        v
        for s in series
        for v in (list(s.high) if s.high is not None else []) + list(s.values)
        if v is not None and math.isfinite(float(v))
    ]
    x_max = _nice_max(max(highs) if highs else 1.0)

    def x(v: float) -> float:
        return label_w + plot_w * min(max(float(v), 0.0), x_max) / x_max

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<text x="{label_w}" y="20" class="chart-title">{escape(title)}</text>',
    ]
    for i in range(6):
        tick = x_max * i / 5
        tx = x(tick)
        parts.append(
            f'<line x1="{_num(tx)}" y1="{top}" x2="{_num(tx)}" y2="{top + plot_h}" class="grid"/>'
        )
        parts.append(
            f'<text x="{_num(tx)}" y="{top + plot_h + 16}" text-anchor="middle" class="tick">'
            f"{tick:,.4g}</text>"
        )
    parts.append(
        f'<text x="{label_w + plot_w / 2:.1f}" y="{top + plot_h + 34}" text-anchor="middle" '
        f'class="axis-label">{escape(x_label)}</text>'
    )
    for c, name in enumerate(categories):
        y0 = top + c * group_h + 5
        parts.append(
            f'<text x="{label_w - 8}" y="{y0 + n_series * bar_height / 2 + 4:.1f}" '
            f'text-anchor="end" class="cat">{escape(str(name))}</text>'
        )
        for s_i, s in enumerate(series):
            v = float(s.values[c])
            if not math.isfinite(v):
                continue
            y = y0 + s_i * bar_height
            colour = PALETTE[s_i % len(PALETTE)]
            w = max(x(v) - label_w, 0.0)
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{_num(w)}" height="{bar_height - 1}" '
                f'fill="{colour}"><title>{escape(s.name)} / {escape(str(name))}: '
                f"{v:,.2f}</title></rect>"
            )
            if s.low is not None and s.high is not None:
                lo, hi = float(s.low[c]), float(s.high[c])
                if math.isfinite(lo) and math.isfinite(hi):
                    ym = y + (bar_height - 1) / 2
                    parts.append(
                        f'<line x1="{_num(x(lo))}" y1="{ym:.1f}" x2="{_num(x(hi))}" '
                        f'y2="{ym:.1f}" class="whisker"/>'
                    )
                    for end in (lo, hi):
                        parts.append(
                            f'<line x1="{_num(x(end))}" y1="{y + 1}" x2="{_num(x(end))}" '
                            f'y2="{y + bar_height - 2}" class="whisker"/>'
                        )
    ly = top + plot_h + 48
    for s_i, s in enumerate(series):
        lx = label_w + (s_i % 4) * 180
        yy = ly + (s_i // 4) * 22
        colour = PALETTE[s_i % len(PALETTE)]
        parts.append(f'<rect x="{lx}" y="{yy}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 18}" y="{yy + 11}" class="legend">{escape(s.name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
