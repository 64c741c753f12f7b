"""The projected reservoir volume of one pump, drawn as a small self-contained SVG.

A pure function over the schedule engine's fill cycles: no database, no JavaScript,
no external library. Volumes stay exact Fractions until they become coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from html import escape

from django.utils.safestring import SafeString, mark_safe

from clinic.chart_axes import date_ticks
from clinic.display import day as _day
from refills.schedule import FillCycle, exact

WIDTH = 800
LEFT, RIGHT, TOP = 56, 24, 30
PLOT_HEIGHT = 220
AXIS_LABEL_Y = TOP + PLOT_HEIGHT + 18
LEGEND_Y = TOP + PLOT_HEIGHT + 48
HEIGHT = LEGEND_Y + 26

COLOURS = {
    "volume": "#14527a",
    "fill": "#5b6675",
    "change": "#6b21a8",
    "alarm": "#b3001b",
    "today": "#1b2430",
    "due": "#c2410c",
    "residual": "#1f6f43",
    "grid": "#d5dbe3",
}


@dataclass(frozen=True)
class ChartFill:
    """One fill on the chart: its cycle (until the next fill) and the residual found at it."""

    cycle: FillCycle
    actual_residual_ml: Decimal | None = None


@dataclass(frozen=True)
class Frame:
    """Maps dates and volumes to SVG coordinates."""

    start: date
    end: date
    top_ml: Fraction

    @property
    def days(self) -> int:
        return max((self.end - self.start).days, 1)

    def x(self, day: date, extra_days: Fraction = Fraction(0)) -> float:
        offset = Fraction((day - self.start).days) + extra_days
        return LEFT + float(offset / self.days) * (WIDTH - LEFT - RIGHT)

    def y(self, volume_ml) -> float:
        return TOP + float(1 - exact(volume_ml) / self.top_ml) * PLOT_HEIGHT

    def contains(self, day: date | None) -> bool:
        return day is not None and self.start <= day <= self.end


def projection_points(cycle: FillCycle, until: date) -> list[tuple[Fraction, Fraction]]:
    """(days after the fill, projected mL) corners of a cycle up to ``until``, floored at 0."""
    points = [(Fraction(0), cycle.volume_ml)]
    for start, rate, end in cycle.segments():
        stop = until if end is None or end > until else end
        if stop <= start:
            break
        before, after = cycle.volume_on(start), cycle.volume_on(stop)
        start_offset = Fraction((start - cycle.refilled_on).days)
        if before > 0 > after:
            # The pump runs dry inside this piece: bend the line where it reaches zero.
            points.append((start_offset + before / rate, Fraction(0)))
        points.append((Fraction((stop - cycle.refilled_on).days), max(after, Fraction(0))))
        if stop == until:
            break
    return points


def chart_window(fills: Sequence[ChartFill], today: date, refill_due: date | None, alarm_date: date | None):
    """From the first fill shown to the latest of refill due, alarm date and today, plus a margin."""
    start = fills[0].cycle.refilled_on
    last = max(d for d in (refill_due, alarm_date, today, fills[-1].cycle.refilled_on) if d is not None)
    margin = max(7, (last - start).days // 8)
    return start, last + timedelta(days=margin)


def volume_step(top_ml: Fraction) -> int:
    """A round mL step giving at most six gridlines."""
    for step in (1, 2, 5, 10, 20, 50):
        if top_ml / step <= 6:
            return step
    return 100


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _ml(value) -> str:
    """A volume for a label: 2 mL, 2.5 mL (no trailing zeros)."""
    text = f"{Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else Decimal(value):.2f}"
    return text.rstrip("0").rstrip(".") + " mL"


def _line(x1, y1, x2, y2, colour, css_class, dash="", width=1.5, title=""):
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    inner = f"<title>{escape(title)}</title>" if title else ""
    return (
        f'<line class="{css_class}" x1="{_fmt(x1)}" y1="{_fmt(y1)}" x2="{_fmt(x2)}" y2="{_fmt(y2)}" '
        f'stroke="{colour}" stroke-width="{width}"{dash_attr}>{inner}</line>'
    )


def _text(x, y, text, anchor="start", size=12, colour="#1b2430", css_class="label"):
    return (
        f'<text class="{css_class}" x="{_fmt(x)}" y="{_fmt(y)}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{colour}">{escape(text)}</text>'
    )


def reservoir_chart(
    fills: Sequence[ChartFill],
    *,
    reservoir_ml,
    alarm_volume_ml,
    today: date,
    refill_due: date | None = None,
    alarm_date: date | None = None,
    change_dates: Sequence[date] = (),
    chart_id: str = "reservoir-chart",
    title: str = "Projected reservoir volume",
) -> SafeString:
    """The SVG of the projected volume over ``fills`` (oldest first); "" when there is no fill."""
    if not fills:
        return mark_safe("")  # noqa: S308 - a constant
    start, end = chart_window(fills, today, refill_due, alarm_date)
    top = max([exact(reservoir_ml)] + [f.cycle.volume_ml for f in fills])
    step = volume_step(top)
    frame = Frame(start, end, Fraction(math.ceil(top / step) * step))
    bottom, right = TOP + PLOT_HEIGHT, WIDTH - RIGHT
    cid = escape(chart_id)

    summary = [f"Projected reservoir volume from {_day(start)} to {_day(end)}."]
    summary.append(f"Low-reservoir alarm at {_ml(exact(alarm_volume_ml))}.")
    if alarm_date:
        summary.append(f"Alarm date {_day(alarm_date)}.")
    if refill_due:
        summary.append(f"Refill due {_day(refill_due)}.")
    summary.append(f"Today {_day(today)}.")
    summary.append(
        "Fills: " + ", ".join(f"{_day(f.cycle.refilled_on)} ({_ml(f.cycle.volume_ml)})" for f in fills) + "."
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{cid}" class="reservoir-chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" aria-describedby="{cid}-desc" font-family="system-ui, sans-serif">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(" ".join(summary))}</desc>',
    ]

    # Axes and horizontal gridlines with mL labels.
    for volume in range(0, int(frame.top_ml) + 1, step):
        y = frame.y(volume)
        parts.append(_line(LEFT, y, right, y, COLOURS["grid"], "grid", width=1))
        parts.append(_text(LEFT - 6, y + 4, f"{volume} mL", anchor="end", size=11, css_class="axis-label"))
    parts.append(_line(LEFT, TOP, LEFT, bottom, "#1b2430", "axis y-axis", width=1))
    parts.append(_line(LEFT, bottom, right, bottom, "#1b2430", "axis x-axis", width=1))
    for day, label in date_ticks(start, end):
        x = frame.x(day)
        parts.append(_line(x, bottom, x, bottom + 5, "#1b2430", "tick", width=1))
        parts.append(_text(x, AXIS_LABEL_Y, label, anchor="middle", size=11, css_class="axis-label"))

    # The alarm line across the plot.
    alarm_y = frame.y(alarm_volume_ml)
    alarm_label = f"Alarm {_ml(exact(alarm_volume_ml))}"
    parts.append(_line(LEFT, alarm_y, right, alarm_y, COLOURS["alarm"], "alarm-line", "6 4", 2, alarm_label))
    parts.append(_text(right - 4, alarm_y - 5, alarm_label, anchor="end", size=11, colour=COLOURS["alarm"]))

    # Program changes and fills as vertical markers.
    for day in change_dates:
        if frame.contains(day):
            x = frame.x(day)
            parts.append(
                _line(x, TOP, x, bottom, COLOURS["change"], "change-marker", "2 3", 1.5, f"Program change {_day(day)}")
            )
    for fill in fills:
        x = frame.x(fill.cycle.refilled_on)
        parts.append(
            _line(x, TOP, x, bottom, COLOURS["fill"], "fill-marker", "4 3", 1, f"Fill {_day(fill.cycle.refilled_on)}")
        )

    # The projected volume, one piece per fill (each ends at the next fill).
    for index, fill in enumerate(fills):
        cycle = fill.cycle
        until = fills[index + 1].cycle.refilled_on if index + 1 < len(fills) else end
        points = " ".join(
            f"{_fmt(frame.x(cycle.refilled_on, offset))},{_fmt(frame.y(volume))}"
            for offset, volume in projection_points(cycle, until)
        )
        parts.append(
            f'<polyline class="projection" points="{points}" fill="none" stroke="{COLOURS["volume"]}" '
            f'stroke-width="2.5" stroke-linejoin="round"/>'
        )

    # Today and refill due, labelled at the top (refill due one line lower so they never overlap).
    if frame.contains(refill_due):
        x = frame.x(refill_due)
        label = f"Refill due {_day(refill_due)}"
        parts.append(_line(x, TOP, x, bottom, COLOURS["due"], "refill-due-marker", "8 4", 2, label))
        parts.append(_marker_label(x, TOP - 4, label, COLOURS["due"]))
    if frame.contains(today):
        x = frame.x(today)
        label = f"Today {_day(today)}"
        parts.append(_line(x, TOP, x, bottom, COLOURS["today"], "today-marker", width=2, title=label))
        parts.append(_marker_label(x, TOP - 16, label, COLOURS["today"]))

    # Points: what each fill left, and the residual actually found at it.
    for fill in fills:
        cycle = fill.cycle
        x = frame.x(cycle.refilled_on)
        parts.append(
            f'<circle class="fill-point" cx="{_fmt(x)}" cy="{_fmt(frame.y(cycle.volume_ml))}" r="4.5" '
            f'fill="{COLOURS["volume"]}"><title>{escape(f"Fill {_day(cycle.refilled_on)}: {_ml(cycle.volume_ml)} after refill")}</title></circle>'
        )
        if fill.actual_residual_ml is not None:
            residual = exact(fill.actual_residual_ml)
            parts.append(
                f'<circle class="residual-point" cx="{_fmt(x)}" cy="{_fmt(frame.y(residual))}" r="4" fill="#fff" '
                f'stroke="{COLOURS["residual"]}" stroke-width="2"><title>{escape(f"Residual found {_day(cycle.refilled_on)}: {_ml(residual)}")}</title></circle>'
            )

    parts.append(_legend())
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text and attribute above is escaped


def _marker_label(x: float, y: float, label: str, colour: str) -> str:
    """A vertical marker's label, on its left near the right edge so it is never cut off."""
    if x > WIDTH * 0.7:
        return _text(x - 3, y, label, anchor="end", size=11, colour=colour)
    return _text(x + 3, y, label, size=11, colour=colour)


def _legend() -> str:
    items = [
        ("line", COLOURS["volume"], "", "Projected volume"),
        ("line", COLOURS["fill"], "4 3", "Fill"),
        ("circle", COLOURS["residual"], "", "Residual found"),
        ("line", COLOURS["change"], "2 3", "Program change"),
        ("line", COLOURS["alarm"], "6 4", "Alarm volume"),
        ("line", COLOURS["today"], "", "Today"),
        ("line", COLOURS["due"], "8 4", "Refill due"),
    ]
    parts = ['<g class="legend">']
    x = LEFT
    for shape, colour, dash, label in items:
        if shape == "line":
            parts.append(_line(x, LEGEND_Y, x + 22, LEGEND_Y, colour, "legend-swatch", dash, 2.5))
        else:
            parts.append(
                f'<circle cx="{_fmt(x + 11)}" cy="{LEGEND_Y}" r="4" fill="#fff" stroke="{colour}" stroke-width="2"/>'
            )
        parts.append(_text(x + 27, LEGEND_Y + 4, label, size=11, css_class="legend-label"))
        x += 34 + 6.5 * len(label)
    parts.append("</g>")
    return "".join(parts)
