"""worklist.working_hours: when an escalation delay of working hours (08:00-17:00 local on the
working days) has passed, at its boundaries."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from worklist.working_hours import delay_ends_at

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = [0, 1, 2, 3, 4]


def london(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("start", "hours", "ends"),
    [
        (london(2026, 11, 25, 10, 0), 2, london(2026, 11, 25, 12, 0)),  # Wednesday morning: the same day
        (london(2026, 11, 25, 15, 0), 2, london(2026, 11, 25, 17, 0)),  # ends exactly at closing
        (london(2026, 11, 25, 16, 0), 2, london(2026, 11, 26, 9, 0)),  # one hour today, one tomorrow
        (london(2026, 11, 25, 6, 30), 2, london(2026, 11, 25, 10, 0)),  # before opening: from 08:00
        (london(2026, 11, 25, 17, 30), 2, london(2026, 11, 26, 10, 0)),  # after closing: from 08:00 next day
        (london(2026, 11, 27, 16, 0), 2, london(2026, 11, 30, 9, 0)),  # Friday 16:00: Monday 09:00
        (london(2026, 11, 28, 11, 0), 2, london(2026, 11, 30, 10, 0)),  # Saturday: Monday 10:00
        (london(2026, 11, 25, 10, 0), 9, london(2026, 11, 26, 10, 0)),  # a whole working day
        (london(2026, 11, 25, 10, 0), 45, london(2026, 12, 2, 10, 0)),  # the longest delay: five working days
    ],
)
def test_working_hours_on_a_monday_to_friday_clinic(start, hours, ends):
    assert delay_ends_at(start, hours, WEEKDAYS, LONDON) == ends.astimezone(UTC)


def test_the_result_is_in_utc():
    assert delay_ends_at(london(2026, 11, 25, 10, 0), 2, WEEKDAYS, LONDON).tzinfo == UTC


def test_a_clinic_without_working_days_counts_every_day():
    assert delay_ends_at(london(2026, 11, 28, 11, 0), 2, [], LONDON) == london(2026, 11, 28, 13, 0)


def test_a_clinic_working_saturdays_escalates_on_saturday():
    assert delay_ends_at(london(2026, 11, 27, 16, 0), 2, [*WEEKDAYS, 5], LONDON) == london(2026, 11, 28, 9, 0)


def test_across_the_spring_clock_change_working_hours_stay_local():
    # London moves to BST on Sunday 29 March 2026: Monday 09:00 local is 08:00 UTC.
    ends = delay_ends_at(london(2026, 3, 27, 16, 0), 2, WEEKDAYS, LONDON)
    assert ends == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_the_clinics_zone_decides_the_hours():
    # 14:00 UTC is 09:00 in New York (EST): two working hours end at 11:00 local, 16:00 UTC.
    start = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
    assert delay_ends_at(start, 2, WEEKDAYS, NEW_YORK) == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
