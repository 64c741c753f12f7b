"""The date a booking form proposes, in the clinic's week (pure functions, no Django).

SPEC 9: a proposal falls on a working day, as late as safe: the latest working day on or
before refill due, never before today. When refill due has passed, or no working day lies
between today and refill due, the proposal is the first working day from today (a refill
after its due date is then booked late, and the booking page says so).
"""

from collections.abc import Iterable
from datetime import date, timedelta

# A clinic with no working days recorded (the settings form requires one; old or imported
# data may lack them) is taken to work Monday to Friday, the model's default.
DEFAULT_WORKING_DAYS = frozenset(range(5))
# Appointments can be booked at most this many days (two years) ahead (AppointmentForm).
MAX_BOOKING_DAYS = 730
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def working_weekdays(working_days: Iterable[int] | None) -> frozenset[int]:
    """The clinic's working weekdays as date.weekday() numbers (Monday is 0)."""
    days = frozenset(day for day in (working_days or ()) if 0 <= day <= 6)
    return days or DEFAULT_WORKING_DAYS


def is_working_day(day: date, working_days: Iterable[int] | None) -> bool:
    return day.weekday() in working_weekdays(working_days)


def first_working_day_from(day: date, working_days: Iterable[int] | None) -> date:
    """``day`` if the clinic works that day, else its next working day."""
    working = working_weekdays(working_days)
    while day.weekday() not in working:  # at most six steps: ``working`` is never empty
        day += timedelta(days=1)
    return day


def proposed_booking_date(refill_due: date | None, today: date, working_days: Iterable[int] | None) -> date:
    """The working day a booking form proposes for a refill due on ``refill_due``.

    The latest working day on or before refill due and not before today; without one
    (refill due past, or no working day from today to refill due, or no refill due at
    all), the first working day from today.
    """
    working = working_weekdays(working_days)
    if refill_due is not None and refill_due >= today:
        day = refill_due
        while day >= today:
            if day.weekday() in working:
                return day
            day -= timedelta(days=1)
    return first_working_day_from(today, working)


def working_days_text(working_days: Iterable[int] | None) -> str:
    """The working weekdays in words, e.g. "Monday to Friday" or "Monday, Wednesday"."""
    days = sorted(working_weekdays(working_days))
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{WEEKDAY_NAMES[days[0]]} to {WEEKDAY_NAMES[days[-1]]}"
    return ", ".join(WEEKDAY_NAMES[day] for day in days)
