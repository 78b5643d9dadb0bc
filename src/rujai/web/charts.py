"""Server-side SVG charts for the console: no JavaScript, nothing loaded from elsewhere.

Each chart is an inline ``<svg role="img">`` with a ``<title>`` and ``<desc>`` that screen readers
announce, a ``<title>`` on every mark (its exact value, shown as a tooltip), visible text labels
(colour is never the only signal) and the Okabe-Ito palette, which colour-blind readers can tell
apart. Templates show the same numbers in a table next to each chart. Every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
ALERT = "#D55E00"
MUTED = "#6b7280"
GRID = "#d1d5db"
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 44
LEGEND_ROW = 18
MAX_X_LABELS = 7

Formatter = Callable[[float], str]


def percent(value: float) -> str:
    """Format a share 0..1 as a percentage with one decimal."""
    return f"{value * 100:.1f}%"


def percent_tick(value: float) -> str:
    """Format an axis tick 0..1 as a whole percentage."""
    return f"{value * 100:.0f}%"


def count(value: float) -> str:
    """Format a count."""
    return f"{value:,.0f}"


@dataclass(frozen=True, slots=True)
class Series:
    """One line: a name for the legend and one value per x label (None: no data there)."""

    name: str
    values: Sequence[float | None]


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar; ``alert`` bars are drawn in the alert colour and marked with ``alert_label``."""

    label: str
    value: float
    alert: bool = False


@dataclass(frozen=True, slots=True)
class Interval:
    """An estimate with its interval, e.g. a conversion rate or a lift with its 95% interval."""

    label: str
    value: float
    low: float | None = None
    high: float | None = None


def _open(chart_id: str, title: str, desc: str, height: int = HEIGHT) -> list[str]:
    cid = escape(chart_id)
    return [
        f'<svg class="chart" id="{cid}" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" '
        f'aria-labelledby="{cid}-title {cid}-desc" font-size="12">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(desc)}</desc>',
    ]


def _empty(chart_id: str, title: str, desc: str, message: str) -> Markup:
    parts = _open(chart_id, title, desc, height=80)
    parts.append(
        f'<text x="{WIDTH / 2:.0f}" y="44" text-anchor="middle" fill="{MUTED}">'
        f"{escape(message)}</text></svg>"
    )
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped


def _y_axis(top: float, fmt: Formatter) -> list[str]:
    parts = []
    plot_h = HEIGHT - TOP - BOTTOM
    for i in range(5):
        value = top * i / 4
        y = HEIGHT - BOTTOM - plot_h * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{escape(fmt(value))}</text>"
        )
    return parts


def _scale(value: float, top: float) -> float:
    plot_h = HEIGHT - TOP - BOTTOM
    return HEIGHT - BOTTOM - plot_h * (value / top if top else 0.0)


def _x_positions(n: int) -> list[float]:
    plot_w = WIDTH - LEFT - RIGHT
    if n == 1:
        return [LEFT + plot_w / 2]
    return [LEFT + plot_w * i / (n - 1) for i in range(n)]


def _x_labels(labels: Sequence[str], xs: Sequence[float]) -> list[str]:
    step = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    return [
        f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="{MUTED}">'
        f"{escape(label)}</text>"
        for i, (label, x) in enumerate(zip(labels, xs, strict=True))
        if (len(labels) - 1 - i) % step == 0
    ]


def line_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    empty: str,
    fmt: Formatter = percent,
    tick: Formatter = percent_tick,
    y_max: float | None = 1.0,
) -> Markup:
    """Return lines over shared x labels (e.g. weeks), with a legend and a tooltip per point."""
    values = [v for s in series for v in s.values if v is not None]
    if not x_labels or not values:
        return _empty(chart_id, title, desc, empty)
    top = y_max if y_max is not None else _nice_top(max(values))
    xs = _x_positions(len(x_labels))
    legend, rows = _legend([s.name for s in series])
    height = HEIGHT + LEGEND_ROW * (rows - 1)
    parts = [*_open(chart_id, title, desc, height), *_y_axis(top, tick), *_x_labels(x_labels, xs)]
    for i, one in enumerate(series):
        parts.extend(_line(one, xs, x_labels, top, PALETTE[i % len(PALETTE)], fmt))
    parts.extend(legend)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text is escaped in the helpers


def _line(
    one: Series, xs: Sequence[float], labels: Sequence[str], top: float, colour: str, fmt: Formatter
) -> list[str]:
    points = [
        (x, _scale(v, top), label, v)
        for x, label, v in zip(xs, labels, one.values, strict=True)
        if v is not None
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
    parts = [f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" points="{path}"/>']
    parts.extend(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
        f"<title>{escape(one.name)} · {escape(label)}: {escape(fmt(v))}</title></circle>"
        for x, y, label, v in points
    )
    return parts


def _legend(names: Sequence[str]) -> tuple[list[str], int]:
    """Return legend marks, wrapped onto as many rows as needed, and the number of rows."""
    parts, x, row = [], float(LEFT), 0
    for i, name in enumerate(names):
        width = 24 + 7 * len(name)
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, row = float(LEFT), row + 1
        y = HEIGHT - 14 + LEGEND_ROW * row
        parts.append(
            f'<rect x="{x:.1f}" y="{y}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{x + 14:.1f}" y="{y + 9}">{escape(name)}</text>'
        )
        x += width
    return parts, row + 1


def bar_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    bars: Sequence[Bar],
    empty: str,
    alert_label: str,
    fmt: Formatter = count,
) -> Markup:
    """Return vertical bars with their values printed; alert bars are coloured and labelled."""
    if not bars or not any(b.value for b in bars):
        return _empty(chart_id, title, desc, empty)
    top = 4 * _nice_top(math.ceil(max(b.value for b in bars) / 4))  # whole-number ticks
    slot = (WIDTH - LEFT - RIGHT) / len(bars)
    parts = [*_open(chart_id, title, desc), *_y_axis(top, fmt)]
    for i, bar in enumerate(bars):
        parts.append(_bar(bar, LEFT + slot * i, slot, top, fmt, alert_label))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text is escaped in _bar


def _bar(bar: Bar, x0: float, slot: float, top: float, fmt: Formatter, alert_label: str) -> str:
    y = _scale(bar.value, top)
    width, centre = slot * 0.6, x0 + slot / 2
    colour = ALERT if bar.alert else PALETTE[0]
    label = f"{bar.label} ({alert_label})" if bar.alert else bar.label
    return (
        f'<rect class="{"chart__bar--alert" if bar.alert else "chart__bar"}" '
        f'x="{centre - width / 2:.1f}" y="{y:.1f}" width="{width:.1f}" '
        f'height="{HEIGHT - BOTTOM - y:.1f}" fill="{colour}">'
        f"<title>{escape(label)}: {escape(fmt(bar.value))}</title></rect>"
        f'<text x="{centre:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-weight="bold">'
        f"{escape(fmt(bar.value))}</text>"
        f'<text x="{centre:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
        f'fill="{ALERT if bar.alert else MUTED}">{escape(bar.label)}'
        + (
            f'<tspan x="{centre:.1f}" dy="14" font-weight="bold">{escape(alert_label)}</tspan>'
            if bar.alert
            else ""
        )
        + "</text>"
    )


def interval_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[Interval],
    empty: str,
    fmt: Formatter = percent,
) -> Markup:
    """Return one horizontal row per estimate: a dot, its interval as a whisker, and a zero line."""
    if not rows:
        return _empty(chart_id, title, desc, empty)
    ends = [v for r in rows for v in (r.value, r.low, r.high) if v is not None]
    low, high = min(0.0, *ends), max(0.0, *ends)
    span = (high - low) or 1.0
    height = TOP + 40 * len(rows) + 24
    label_w = 180
    plot_w = WIDTH - label_w - RIGHT - 40

    def at(value: float) -> float:
        return label_w + plot_w * (value - low) / span

    parts = _open(chart_id, title, desc, height=height)
    zero = at(0.0)
    parts.append(
        f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{TOP - 4}" y2="{height - 20}" '
        f'stroke="{MUTED}" stroke-dasharray="4 3"/>'
        f'<text x="{zero:.1f}" y="{height - 6}" text-anchor="middle" fill="{MUTED}">'
        f"{escape(fmt(0.0))}</text>"
    )
    for i, row in enumerate(rows):
        parts.append(_interval_row(row, TOP + 40 * i + 20, at, fmt, PALETTE[i % len(PALETTE)]))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text is escaped in _interval_row


def _interval_row(
    row: Interval, y: float, at: Callable[[float], float], fmt: Formatter, colour: str
) -> str:
    whisker, span_text = "", ""
    if row.low is not None and row.high is not None:
        whisker = (
            f'<line x1="{at(row.low):.1f}" x2="{at(row.high):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{colour}" stroke-width="3" stroke-linecap="round"/>'
        )
        span_text = f" [{fmt(row.low)} … {fmt(row.high)}]"
    value_text = f"{fmt(row.value)}{span_text}"
    return (
        f'<text x="8" y="{y + 4:.1f}">{escape(row.label)}</text>{whisker}'
        f'<circle cx="{at(row.value):.1f}" cy="{y:.1f}" r="6" fill="{colour}">'
        f"<title>{escape(row.label)}: {escape(value_text)}</title></circle>"
        f'<text x="{WIDTH - RIGHT}" y="{y - 10:.1f}" text-anchor="end" fill="{MUTED}">'
        f"{escape(value_text)}</text>"
    )


def _nice_top(value: float) -> float:
    """Round a maximum up to 1, 2 or 5 times a power of ten, so the axis reads well."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5):
        if step * magnitude >= value:
            return float(step * magnitude)
    return float(10 * magnitude)
