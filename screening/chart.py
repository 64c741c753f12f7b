"""The MAS scores of a screening trial over the hours after the dose, as a small SVG.

A pure function over the engine's Trial (no database, no JavaScript, no library), in the
style of the reservoir chart (records/chart.py): one line per muscle group from the score
before the dose (at 0 hours) through each time point; the 8-hour mark of the dose rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe

from screening import engine

# Small enough that its 13 px text stays readable when a phone scales it to its width.
WIDTH = 480
LEFT, RIGHT, TOP = 40, 16, 34
PLOT_HEIGHT = 190
AXIS_LABEL_Y = TOP + PLOT_HEIGHT + 18
AXIS_TITLE_Y = AXIS_LABEL_Y + 18
LEGEND_TOP = AXIS_TITLE_Y + 22
LEGEND_ROW = 20
LEGEND_COLUMNS = 2
# Distinct, dark enough on white (WCAG 3:1 for graphics), and each with its own dash so
# lines still differ in grey scale.
PALETTE = (
    ("#14527a", ""),
    ("#b3001b", "6 3"),
    ("#1f6f43", "2 3"),
    ("#6b21a8", "8 3 2 3"),
    ("#c2410c", "4 4"),
    ("#1b2430", "1 3"),
    ("#0e7490", "10 4"),
    ("#854d0e", "3 2 8 2"),
)
GRID = "#d5dbe3"
EIGHT_HOURS = "#5b6675"
# The hour labels under the axis never overlap: each is given the first of LABEL_ROWS rows
# where it clears the label before it by LABEL_GAP (its width estimated generously, CHAR_EM
# of the font size a character: wider than system-ui's digits and lower-case letters); one
# that fits in no row is left out (its tick, its points' tooltips and the table keep it).
AXIS_FONT = 13
CHAR_EM = 0.62
LABEL_GAP = 6
LABEL_ROWS = 2
LABEL_ROW_HEIGHT = 15


def label_width(text: str, size: int = AXIS_FONT) -> float:
    return len(text) * size * CHAR_EM


def place_labels(labels: list[tuple[float, str]]) -> list[tuple[float, str, int]]:
    """(x, text, row) of each label that fits, centred on its x, in order of x. The first
    ("before") and the last (the trial's last time point) are always shown: the first on
    the first row, the last too unless it would touch the first."""
    if len(labels) < 2:
        return [(x, text, 0) for x, text in labels]
    (first_x, first_text), (last_x, last_text) = labels[0], labels[-1]
    last_left = last_x - label_width(last_text) / 2
    last_row = 0 if first_x + label_width(first_text) / 2 + LABEL_GAP <= last_left else 1
    right_edge = [float("-inf")] * LABEL_ROWS
    right_edge[0] = first_x + label_width(first_text) / 2
    placed = [(first_x, first_text, 0)]
    for x, text in labels[1:-1]:
        half = label_width(text) / 2
        for row in range(LABEL_ROWS):
            clear_of_last = row != last_row or x + half + LABEL_GAP <= last_left
            if x - half >= right_edge[row] + LABEL_GAP and clear_of_last:
                right_edge[row] = x + half
                placed.append((x, text, row))
                break
    placed.append((last_x, last_text, last_row))
    return placed


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _hours(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _text(x, y, text, anchor="start", size=13, colour="#1b2430", css_class="axis-label"):
    return (
        f'<text class="{css_class}" x="{_fmt(x)}" y="{_fmt(y)}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{colour}">{escape(text)}</text>'
    )


def mas_chart(
    trial: engine.Trial, labels: Mapping[str, str], *, chart_id: str = "mas-chart", title: str = "MAS after the dose"
) -> SafeString:
    """The SVG for a trial; ``labels`` maps each muscle group to its name (in legend order).
    "" when no group was scored before and after the dose."""
    rows = engine.compare_groups(trial, order=list(labels))
    if not rows:
        return mark_safe("")  # noqa: S308 - a constant
    last_hours = max(point.hours for point in trial.after)
    span = max(last_hours, Decimal(8)) if last_hours <= 12 else last_hours  # the 8-hour mark when it fits
    plot_width = WIDTH - LEFT - RIGHT
    legend_rows = (len(rows) + LEGEND_COLUMNS - 1) // LEGEND_COLUMNS
    top_rank = len(engine.MAS_SCORES) - 1

    def x(hours) -> float:
        return LEFT + float(Decimal(hours) / span) * plot_width

    ticks = sorted({Decimal(0), *(point.hours for point in trial.after)})
    hour_labels = place_labels([(x(hours), "before" if hours == 0 else f"{_hours(hours)} h") for hours in ticks])
    # A second row of hour labels pushes the axis title and the legend down.
    shift = LABEL_ROW_HEIGHT * max(row for _x, _text, row in hour_labels)
    height = LEGEND_TOP + shift + legend_rows * LEGEND_ROW + 6

    def y(score: str) -> float:
        return TOP + (1 - engine.mas_rank(score) / top_rank) * PLOT_HEIGHT

    cid = escape(chart_id)
    described = " ".join(
        f"{labels[row.group]}: {row.before} before, "
        + ", ".join(f"{score} at {_hours(hours)} h" for hours, score in row.scores)
        + "."
        for row in rows
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{cid}" class="mas-chart" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="{escape(title)}" aria-describedby="{cid}-desc" font-family="system-ui, sans-serif">',
        f"<title>{escape(title)}</title>",
        f'<desc id="{cid}-desc">{escape(described)}</desc>',
    ]
    bottom, right = TOP + PLOT_HEIGHT, WIDTH - RIGHT
    for score in engine.MAS_SCORES:
        parts.append(
            f'<line class="grid" x1="{LEFT}" y1="{_fmt(y(score))}" x2="{right}" y2="{_fmt(y(score))}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(_text(LEFT - 8, y(score) + 4, score, anchor="end"))
    parts.append(f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#1b2430"/>')
    parts.append(f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#1b2430"/>')
    for hours in ticks:
        parts.append(
            f'<line class="tick" x1="{_fmt(x(hours))}" y1="{bottom}" x2="{_fmt(x(hours))}" y2="{bottom + 4}" '
            'stroke="#1b2430"/>'
        )
    for label_x, text, row in hour_labels:
        parts.append(
            _text(label_x, AXIS_LABEL_Y + row * LABEL_ROW_HEIGHT, text, anchor="middle", css_class="hour-label")
        )
    parts.append(_text(LEFT + plot_width / 2, AXIS_TITLE_Y + shift, "hours after the dose", anchor="middle"))
    parts.append(_text(LEFT - 8, TOP - 16, "MAS", anchor="end"))
    if span >= 8:
        parts.append(
            f'<line class="eight-hours" x1="{_fmt(x(8))}" y1="{TOP}" x2="{_fmt(x(8))}" y2="{bottom}" '
            f'stroke="{EIGHT_HOURS}" stroke-width="1.5" stroke-dasharray="3 3"><title>8 hours after the dose</title></line>'
        )
        parts.append(_text(x(8), TOP - 6, "8 h", anchor="middle", colour=EIGHT_HOURS))

    for index, row in enumerate(rows):
        colour, dash = PALETTE[index % len(PALETTE)]
        points = [(Decimal(0), row.before), *row.scores]
        coords = " ".join(f"{_fmt(x(h))},{_fmt(y(s))}" for h, s in points)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<polyline class="group-line" points="{coords}" fill="none" stroke="{colour}" stroke-width="2"'
            f'{dash_attr} stroke-linejoin="round"><title>{escape(labels[row.group])}</title></polyline>'
        )
        for h, s in points:
            parts.append(
                f'<circle cx="{_fmt(x(h))}" cy="{_fmt(y(s))}" r="3" fill="{colour}">'
                f"<title>{escape(f'{labels[row.group]}: MAS {s} ' + ('before the dose' if h == 0 else f'at {_hours(h)} h'))}</title></circle>"
            )
        column, line = index % LEGEND_COLUMNS, index // LEGEND_COLUMNS
        lx, ly = LEFT + column * (plot_width / LEGEND_COLUMNS), LEGEND_TOP + shift + line * LEGEND_ROW
        parts.append(
            f'<line x1="{_fmt(lx)}" y1="{_fmt(ly)}" x2="{_fmt(lx + 22)}" y2="{_fmt(ly)}" stroke="{colour}" '
            f'stroke-width="2.5"{dash_attr}/>'
        )
        parts.append(_text(lx + 28, ly + 4, labels[row.group], css_class="legend-label"))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text and attribute above is escaped
