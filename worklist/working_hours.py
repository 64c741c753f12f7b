"""Working hours: when an unclaimed item's escalation delay has passed. Pure, no Django.

"Working hours" are 08:00 to 17:00 clinic-local on the clinic's working days (Clinic.working_days,
the days the digest goes out). A delay of 2 working hours from 16:00 on a Friday therefore ends
at 09:00 on the next working Monday; from a Saturday it ends at 10:00 on Monday. A clinic with
no working day recorded counts every day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_STARTS = time(8, 0)
DAY_ENDS = time(17, 0)
LONGEST_SEARCH_DAYS = 400  # a delay is at most 45 hours: this is never reached with a working day a week


def delay_ends_at(start: datetime, hours: int, working_days: Iterable[int] | None, zone: ZoneInfo) -> datetime:
    """The moment (UTC) at which ``hours`` working hours have passed since ``start`` (aware)."""
    days = frozenset(working_days or ()) or frozenset(range(7))
    remaining = timedelta(hours=hours)
    local_start = start.astimezone(zone)
    day = local_start.date()
    for _ in range(LONGEST_SEARCH_DAYS):
        if day.weekday() in days:
            opens = datetime.combine(day, DAY_STARTS, tzinfo=zone)
            closes = datetime.combine(day, DAY_ENDS, tzinfo=zone)
            begin = max(opens, local_start)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(UTC)
                remaining -= available
        day += timedelta(days=1)
    raise ValueError("no working hours found")
