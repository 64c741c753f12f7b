"""The date axis of the server-rendered SVG charts (the reservoir chart on the patient page,
the titration chart): one rule for the ticks and their labels."""

from __future__ import annotations

import math
from datetime import date, timedelta

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day_month(value: date) -> str:
    """An axis tick: "1 Mar" (the year is in the chart's summary and tooltips)."""
    return f"{value.day} {MONTHS[value.month - 1]}"


def date_ticks(start: date, end: date) -> list[tuple[date, str]]:
    """First days of months in the window (thinned to eight or fewer), else weekly ticks."""
    months = []
    day = date(start.year, start.month, 1)
    while day <= end:
        if day > start:
            months.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    if len(months) >= 2:
        every = math.ceil(len(months) / 8)
        chosen = months[::every]
        return [
            (d, f"{MONTHS[d.month - 1]} {d.year}" if i == 0 or d.month == 1 else MONTHS[d.month - 1])
            for i, d in enumerate(chosen)
        ]
    return [
        (start + timedelta(days=n), day_month(start + timedelta(days=n))) for n in range(0, (end - start).days + 1, 7)
    ]
