"""A stacked bar chart drawn on the server as inline SVG.

No JavaScript and no chart library: the console's Content-Security-Policy allows nothing but its
own files, and an agent's browser may have no internet access. Colours are presentation
attributes rather than ``style`` so that the policy (which forbids inline styles) lets them
through; fonts and text colour come from console.css.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from telecom_assistant.tickets.model import Category

# Okabe and Ito's palette, told apart by people with any common colour-vision deficiency,
# plus grey for a ninth series.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#999999",
)
# A complaint category has one colour on every chart.
CATEGORY_COLOURS = dict(zip(Category, PALETTE, strict=True))

WIDTH = 760
PLOT_TOP = 16
PLOT_LEFT = 56
PLOT_RIGHT = 16
PLOT_HEIGHT = 240
X_LABEL_SPACE = 52  # day labels and the axis title under the plot
LEGEND_COLUMNS = 3
LEGEND_ROW_HEIGHT = 22
LEGEND_SWATCH = 12
BAR_SHARE = 0.7  # of each day's slot; the rest is the gap between bars
MAX_Y_TICKS = 5


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    values: Sequence[int]  # one per x label


def stacked_bar_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    chart_id: str,
    title: str,
    description: str,
    x_axis: str,
    y_axis: str,
) -> Markup:
    totals = [sum(one.values[index] for one in series) for index in range(len(x_labels))]
    step = _tick_step(max(totals, default=0))
    y_max = max(step, math.ceil(max(totals, default=0) / step) * step)
    plot_width = WIDTH - PLOT_LEFT - PLOT_RIGHT
    slot = plot_width / max(len(x_labels), 1)
    legend_top = PLOT_TOP + PLOT_HEIGHT + X_LABEL_SPACE
    height = legend_top + LEGEND_ROW_HEIGHT * math.ceil(len(series) / LEGEND_COLUMNS)

    def y(value: float) -> float:
        return PLOT_TOP + PLOT_HEIGHT - value / y_max * PLOT_HEIGHT

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for tick in range(0, y_max + 1, step):
        parts.append(
            f'<line class="grid" x1="{PLOT_LEFT}" x2="{WIDTH - PLOT_RIGHT}" '
            f'y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
            f'<text class="tick" x="{PLOT_LEFT - 8}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick}</text>'
        )
    for index, x_label in enumerate(x_labels):
        left = PLOT_LEFT + slot * index
        centre = left + slot / 2
        bar_left = left + slot * (1 - BAR_SHARE) / 2
        stacked = 0
        for one in series:
            value = one.values[index]
            if not value:
                continue
            parts.append(
                f'<rect x="{bar_left:.1f}" y="{y(stacked + value):.1f}" '
                f'width="{slot * BAR_SHARE:.1f}" height="{value / y_max * PLOT_HEIGHT:.1f}" '
                f'fill="{one.colour}" stroke="#ffffff" stroke-width="1">'
                f"<title>{escape(x_label)} · {escape(one.label)}: {value}</title></rect>"
            )
            stacked += value
        parts.append(
            f'<text class="tick" x="{centre:.1f}" y="{PLOT_TOP + PLOT_HEIGHT + 18}" '
            f'text-anchor="middle">{escape(x_label)}</text>'
        )
    plot_bottom = PLOT_TOP + PLOT_HEIGHT
    parts.append(
        f'<line class="axis" x1="{PLOT_LEFT}" x2="{WIDTH - PLOT_RIGHT}" '
        f'y1="{plot_bottom}" y2="{plot_bottom}"/>'
        f'<text class="axis-title" x="{PLOT_LEFT + plot_width / 2:.1f}" '
        f'y="{plot_bottom + 40}" text-anchor="middle">{escape(x_axis)}</text>'
        f'<text class="axis-title" x="14" y="{PLOT_TOP + PLOT_HEIGHT / 2:.1f}" '
        f'text-anchor="middle" transform="rotate(-90 14 {PLOT_TOP + PLOT_HEIGHT / 2:.1f})">'
        f"{escape(y_axis)}</text>"
    )
    column_width = plot_width / LEGEND_COLUMNS
    for position, one in enumerate(series):
        row, column = divmod(position, LEGEND_COLUMNS)
        left = PLOT_LEFT + column * column_width
        top = legend_top + row * LEGEND_ROW_HEIGHT
        parts.append(
            f'<rect x="{left:.1f}" y="{top}" width="{LEGEND_SWATCH}" height="{LEGEND_SWATCH}" '
            f'fill="{one.colour}"/>'
            f'<text class="legend" x="{left + LEGEND_SWATCH + 6:.1f}" y="{top + 11}">'
            f"{escape(one.label)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _tick_step(largest: int) -> int:
    """A round step (1, 2, 5, 10, 20, ...) that labels the y axis with at most 5 ticks."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if largest <= step * MAX_Y_TICKS:
                return step
        magnitude *= 10
