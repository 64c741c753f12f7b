"""Titration after an implant, drawn as a small self-contained SVG (issue 16 item 5).

A pure function, like the reservoir chart: the daily dose over time (a step line from the
fill events, refills and program changes) against the scores recorded at the titration
reviews (the mean Modified Ashworth score across the muscle groups assessed, and the Penn
spasm frequency score), both on one 0-4 scale. No database, no JavaScript, no library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe

from clinic.chart_axes import date_ticks
from clinic.display import day as _day
from clinic.display import qty

WIDTH = 800
LEFT, RIGHT, TOP = 72, 64, 20
PLOT_HEIGHT = 220
BOTTOM = TOP + PLOT_HEIGHT
AXIS_LABEL_Y = BOTTOM + 18
LEGEND_Y = BOTTOM + 46
HEIGHT = LEGEND_Y + 22
SCORE_TOP = 4  # MAS (0-4, with 1+ as 1.5) and Penn (0-4) share the right axis

COLOURS = {
    "dose": "#14527a",
    "mas": "#b3001b",
    "penn": "#6b21a8",
    "today": "#1b2430",
    "grid": "#d5dbe3",
    "axis": "#1b2430",
}


@dataclass(frozen=True)
class DoseStep:
    """The daily dose in force from ``day`` (a fill's or a program change's)."""

    day: date
    dose_mcg: Decimal
    source: str = "refill"  # refill, first_fill or program_change


@dataclass(frozen=True)
class ReviewPoint:
    """One titration review: the mean MAS over ``groups`` muscle groups, and Penn if scored."""

    day: date
    mas_mean: Decimal | None
    groups: int
    penn: int | None


@dataclass(frozen=True)
class Frame:
    start: date
    end: date
    dose_top: int

    @property
    def days(self) -> int:
        return max((self.end - self.start).days, 1)

    def x(self, day: date) -> float:
        return LEFT + (day - self.start).days / self.days * (WIDTH - LEFT - RIGHT)

    def y_dose(self, dose) -> float:
        return TOP + (1 - float(dose) / self.dose_top) * PLOT_HEIGHT

    def y_score(self, score) -> float:
        return TOP + (1 - float(score) / SCORE_TOP) * PLOT_HEIGHT


def dose_step(top) -> int:
    """A round mcg/day step giving at most five gridlines."""
    for step in (10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if top / step <= 5:
            return step
    return 2000


def chart_window(steps: Sequence[DoseStep], reviews: Sequence[ReviewPoint], start: date, today: date):
    last = max([today, start] + [s.day for s in steps] + [r.day for r in reviews])
    margin = max(7, (last - start).days // 12)
    return start, last + timedelta(days=margin)


def _f(value: float) -> str:
    return f"{value:.1f}"


def _line(x1, y1, x2, y2, colour, css_class, dash="", width=1.5):
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line class="{css_class}" x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" '
        f'stroke="{colour}" stroke-width="{width}"{dash_attr}/>'
    )


def _text(x, y, text, anchor="start", colour="#1b2430", css_class="axis-label"):
    return (
        f'<text class="{css_class}" x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}" font-size="11" '
        f'fill="{colour}">{escape(text)}</text>'
    )


def summary_text(steps: Sequence[DoseStep], reviews: Sequence[ReviewPoint], start: date, end: date) -> str:
    """The chart in words (its description for screen readers)."""
    parts = [f"Daily dose and spasticity scores from {_day(start)} to {_day(end)}."]
    if steps:
        parts.append("Daily dose: " + ", ".join(f"{qty(s.dose_mcg)} mcg/day from {_day(s.day)}" for s in steps) + ".")
    if reviews:
        words = []
        for r in reviews:
            scores = []
            if r.mas_mean is not None:
                scores.append(f"mean MAS {qty(r.mas_mean)}")
            if r.penn is not None:
                scores.append(f"Penn {r.penn}")
            words.append(f"{_day(r.day)} " + " and ".join(scores))
        parts.append("Reviews: " + "; ".join(words) + ".")
    return " ".join(parts)


def titration_chart(
    steps: Sequence[DoseStep],
    reviews: Sequence[ReviewPoint],
    *,
    start: date,
    today: date,
    chart_id: str = "titration-chart",
    title: str = "Daily dose and spasticity scores",
) -> SafeString:
    """The SVG of dose ``steps`` (oldest first) against ``reviews`` (oldest first) from ``start``
    (the implant date); "" when there is neither a dose nor a review."""
    if not steps and not reviews:
        return mark_safe("")  # noqa: S308 - a constant
    start, end = chart_window(steps, reviews, start, today)
    top_dose = max([Decimal(1)] + [s.dose_mcg for s in steps])
    step = dose_step(top_dose)
    # Headroom above the highest dose, so its line never runs along the plot's top edge.
    frame = Frame(start, end, max(step, math.ceil(top_dose * Decimal("1.1") / step) * step))
    right = WIDTH - RIGHT
    cid = escape(chart_id)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{cid}" class="titration-chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{cid}-title" aria-describedby="{cid}-desc" font-family="system-ui, sans-serif">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(summary_text(steps, reviews, start, end))}</desc>',
    ]
    # Dose gridlines and labels on the left; the score scale on the right.
    for dose in range(0, frame.dose_top + 1, step):
        y = frame.y_dose(dose)
        parts.append(_line(LEFT, y, right, y, COLOURS["grid"], "grid", width=1))
        parts.append(_text(LEFT - 6, y + 4, f"{dose}", anchor="end", colour=COLOURS["dose"]))
    for score in range(0, SCORE_TOP + 1):
        parts.append(_text(right + 6, frame.y_score(score) + 4, str(score), colour=COLOURS["axis"]))
    parts.append(_text(LEFT - 6, TOP - 6, "mcg/day", anchor="end", colour=COLOURS["dose"], css_class="axis-title"))
    parts.append(_text(right + 6, TOP - 6, "score", colour=COLOURS["axis"], css_class="axis-title"))
    parts.append(_line(LEFT, TOP, LEFT, BOTTOM, COLOURS["axis"], "axis y-axis", width=1))
    parts.append(_line(right, TOP, right, BOTTOM, COLOURS["axis"], "axis y2-axis", width=1))
    parts.append(_line(LEFT, BOTTOM, right, BOTTOM, COLOURS["axis"], "axis x-axis", width=1))
    for day, label in date_ticks(start, end):
        x = frame.x(day)
        parts.append(_line(x, BOTTOM, x, BOTTOM + 5, COLOURS["axis"], "tick", width=1))
        parts.append(_text(x, AXIS_LABEL_Y, label, anchor="middle"))

    if start <= today <= end:
        x = frame.x(today)
        parts.append(_line(x, TOP, x, BOTTOM, COLOURS["today"], "today-marker", "2 3", 1))

    # The dose: a step line, each dose held until the next one, the last until the window's end.
    if steps:
        points = []
        for index, s in enumerate(steps):
            y = frame.y_dose(s.dose_mcg)
            until = steps[index + 1].day if index + 1 < len(steps) else end
            points += [(frame.x(s.day), y), (frame.x(until), y)]
        parts.append(
            '<polyline class="dose-line" points="'
            + " ".join(f"{_f(x)},{_f(y)}" for x, y in points)
            + f'" fill="none" stroke="{COLOURS["dose"]}" stroke-width="2.5" stroke-linejoin="round"/>'
        )
        for s in steps:
            parts.append(
                f'<circle class="dose-point" cx="{_f(frame.x(s.day))}" cy="{_f(frame.y_dose(s.dose_mcg))}" r="3.5" '
                f'fill="{COLOURS["dose"]}"><title>{escape(f"{_day(s.day)}: {qty(s.dose_mcg)} mcg/day")}</title></circle>'
            )

    # The scores: mean MAS (circles, solid) and Penn (squares, dashed), joined review to review.
    mas = [r for r in reviews if r.mas_mean is not None]
    penn = [r for r in reviews if r.penn is not None]
    if len(mas) > 1:
        parts.append(_polyline("mas-line", [(frame.x(r.day), frame.y_score(r.mas_mean)) for r in mas], "mas"))
    if len(penn) > 1:
        parts.append(
            _polyline("penn-line", [(frame.x(r.day), frame.y_score(r.penn)) for r in penn], "penn", dash="6 4")
        )
    for r in mas:
        label = f"{_day(r.day)}: mean MAS {qty(r.mas_mean)} over {r.groups} muscle group{'s' if r.groups != 1 else ''}"
        parts.append(
            f'<circle class="mas-point" cx="{_f(frame.x(r.day))}" cy="{_f(frame.y_score(r.mas_mean))}" r="5" '
            f'fill="#fff" stroke="{COLOURS["mas"]}" stroke-width="2.5"><title>{escape(label)}</title></circle>'
        )
    for r in penn:
        x, y = frame.x(r.day), frame.y_score(r.penn)
        parts.append(
            f'<rect class="penn-point" x="{_f(x - 4.5)}" y="{_f(y - 4.5)}" width="9" height="9" '
            f'fill="{COLOURS["penn"]}"><title>{escape(f"{_day(r.day)}: Penn {r.penn}")}</title></rect>'
        )
    parts.append(_legend())
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text and attribute above is escaped


def _polyline(css_class: str, points, colour: str, dash: str = "") -> str:
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<polyline class="{css_class}" points="'
        + " ".join(f"{_f(x)},{_f(y)}" for x, y in points)
        + f'" fill="none" stroke="{COLOURS[colour]}" stroke-width="2"{dash_attr}/>'
    )


def _legend() -> str:
    parts = ['<g class="legend">']
    x = LEFT
    items = (
        ("dose", "Daily dose (mcg/day, left)"),
        ("mas", "Mean MAS (0-4, 1+ as 1.5, right)"),
        ("penn", "Penn spasm frequency (0-4, right)"),
    )
    for key, label in items:
        if key == "dose":
            parts.append(_line(x, LEGEND_Y, x + 22, LEGEND_Y, COLOURS["dose"], "legend-swatch", width=2.5))
        elif key == "mas":
            parts.append(
                f'<circle cx="{_f(x + 11)}" cy="{LEGEND_Y}" r="5" fill="#fff" stroke="{COLOURS["mas"]}" stroke-width="2.5"/>'
            )
        else:
            parts.append(
                f'<rect x="{_f(x + 6.5)}" y="{LEGEND_Y - 4.5}" width="9" height="9" fill="{COLOURS["penn"]}"/>'
            )
        parts.append(_text(x + 28, LEGEND_Y + 4, label, css_class="legend-label"))
        x += 40 + 6.2 * len(label)
    parts.append("</g>")
    return "".join(parts)
