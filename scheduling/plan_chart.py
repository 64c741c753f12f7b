"""The refill plan as a small self-contained SVG: per week, bars of refills due, booked and capacity.

A pure function over scheduling.plan.PlanWeek rows, drawn like the reservoir chart
(records/chart.py): no database, no JavaScript, no external library, every text escaped.
A crunch week (more due than capacity) gets a shaded band and the word "Crunch" above it,
so it is never told by colour alone; the table beside the chart holds the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

from clinic.display import day as _day

WIDTH = 800
LEFT, RIGHT, TOP = 44, 16, 34
PLOT_HEIGHT = 220
AXIS_LABEL_Y = TOP + PLOT_HEIGHT + 18
LEGEND_Y = TOP + PLOT_HEIGHT + 46
HEIGHT = LEGEND_Y + 20
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# (key, label, colour, pattern): due in the overdue orange, booked in the brand blue, capacity grey.
SERIES = (
    ("due", "Refills due", "#c2410c"),
    ("booked", "Booked", "#14527a"),
    ("capacity", "Capacity (slots)", "#5b6675"),
)
CRUNCH_FILL = "#fde8ea"
CRUNCH_TEXT = "#b3001b"


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _text(x, y, text, anchor="middle", size=11, colour="#1b2430", css_class="axis-label", weight="normal"):
    bold = ' font-weight="700"' if weight == "bold" else ""
    return (
        f'<text class="{css_class}" x="{_fmt(x)}" y="{_fmt(y)}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{colour}"{bold}>{escape(text)}</text>'
    )


def value_step(top: int) -> int:
    """A round step giving at most five gridlines."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if top / step <= 5:
            return step
    return 10 ** math.ceil(math.log10(max(top, 1) / 5))


def week_label(week) -> str:
    return f"{week.week_start.day} {MONTHS[week.week_start.month - 1]}"


def plan_chart(weeks: Sequence, *, chart_id: str = "plan-chart", title: str = "Refill plan by week") -> SafeString:
    """The SVG of ``weeks`` (PlanWeek rows, first week first); "" without weeks."""
    if not weeks:
        return mark_safe("")  # noqa: S308 - a constant
    top_value = max(max(week.due, week.booked, week.capacity) for week in weeks)
    step = value_step(max(top_value, 1))
    top = max(step, math.ceil(top_value / step) * step)
    bottom, right = TOP + PLOT_HEIGHT, WIDTH - RIGHT
    group = (right - LEFT) / len(weeks)
    bar = max(min(group * 0.8 / len(SERIES), 18), 1.5)
    cid = escape(chart_id)

    def y(value: int) -> float:
        return TOP + (1 - value / top) * PLOT_HEIGHT

    crunches = [week for week in weeks if week.crunch]
    summary = [f"{len(weeks)} weeks from {_day(weeks[0].week_start)}."]
    if crunches:
        summary.append(
            "Crunch weeks (more refills due than capacity): "
            + ", ".join(f"week of {_day(w.week_start)} ({w.due} due, capacity {w.capacity})" for w in crunches)
            + "."
        )
    else:
        summary.append("No week has more refills due than capacity.")
    summary.append("The table below the chart gives every number.")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{cid}" class="plan-chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" aria-describedby="{cid}-desc" font-family="system-ui, sans-serif">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(" ".join(summary))}</desc>',
    ]
    # Crunch bands behind the bars, each with its word above.
    for index, week in enumerate(weeks):
        if week.crunch:
            x = LEFT + index * group
            parts.append(
                f'<rect class="crunch-band" x="{_fmt(x + 1)}" y="{TOP}" width="{_fmt(group - 2)}" '
                f'height="{PLOT_HEIGHT}" fill="{CRUNCH_FILL}"><title>{escape(_crunch_title(week))}</title></rect>'
            )
            label = "Crunch" if group >= 44 else "!"
            parts.append(
                _text(
                    x + group / 2, TOP - 8, label, size=11, colour=CRUNCH_TEXT, css_class="crunch-label", weight="bold"
                )
            )
    # Gridlines and value labels.
    for value in range(0, top + 1, step):
        parts.append(
            f'<line class="grid" x1="{LEFT}" y1="{_fmt(y(value))}" x2="{right}" y2="{_fmt(y(value))}" '
            f'stroke="#d5dbe3" stroke-width="1"/>'
        )
        parts.append(_text(LEFT - 6, y(value) + 4, str(value), anchor="end"))
    parts.append(f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#1b2430"/>')
    # The bars, three per week.
    label_every = math.ceil(len(weeks) / 13)
    for index, week in enumerate(weeks):
        x0 = LEFT + index * group + (group - bar * len(SERIES)) / 2
        for offset, (key, label, colour) in enumerate(SERIES):
            value = getattr(week, key)
            height = bottom - y(value)
            parts.append(
                f'<rect class="bar bar-{key}" x="{_fmt(x0 + offset * bar)}" y="{_fmt(y(value))}" '
                f'width="{_fmt(bar - 1 if bar > 3 else bar)}" height="{_fmt(height)}" fill="{colour}">'
                f"<title>{escape(f'Week of {_day(week.week_start)}: {label.lower()} {value}')}</title></rect>"
            )
        if index % label_every == 0:
            parts.append(_text(LEFT + (index + 0.5) * group, AXIS_LABEL_Y, week_label(week)))
    parts.append(_legend())
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text and attribute above is escaped


def _crunch_title(week) -> str:
    return f"Crunch: week of {_day(week.week_start)}, {week.due} due, capacity {week.capacity}"


def _legend() -> str:
    parts = ['<g class="legend">']
    x = LEFT
    for _key, label, colour in SERIES:
        parts.append(f'<rect x="{_fmt(x)}" y="{LEGEND_Y - 9}" width="14" height="12" fill="{colour}"/>')
        parts.append(_text(x + 19, LEGEND_Y + 1, label, anchor="start", css_class="legend-label"))
        x += 34 + 6.5 * len(label)
    parts.append(
        f'<rect x="{_fmt(x)}" y="{LEGEND_Y - 9}" width="14" height="12" fill="{CRUNCH_FILL}" stroke="{CRUNCH_TEXT}"/>'
    )
    parts.append(
        _text(x + 19, LEGEND_Y + 1, "Crunch: more due than capacity", anchor="start", css_class="legend-label")
    )
    parts.append("</g>")
    return "".join(parts)
