"""refills.booking: the date a booking form proposes falls on one of the clinic's working days.

Calendar used below: Mon 23 Mar 2026 ... Fri 27, Sat 28, Sun 29, Mon 30 Mar 2026.
"""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refills.booking import is_working_day, proposed_booking_date, working_days_text

MON_FRI = [0, 1, 2, 3, 4]
MON, WED, THU, FRI, SAT, SUN = (date(2026, 3, d) for d in (23, 25, 26, 27, 28, 29))
NEXT_MON = date(2026, 3, 30)


@pytest.mark.parametrize(
    ("refill_due", "today", "working_days", "expected"),
    [
        (SAT, MON, MON_FRI, FRI),  # due on a Saturday: the Friday before
        (SUN, MON, MON_FRI, FRI),  # due on a Sunday: the Friday before
        (NEXT_MON, MON, MON_FRI, NEXT_MON),  # due on a Monday: that Monday
        (WED, MON, MON_FRI, WED),  # due on a working day: that day
        (WED, WED, MON_FRI, WED),  # due today, a working day: today
        (date(2026, 3, 2), WED, MON_FRI, WED),  # due in the past, today a working day: today
        (date(2026, 3, 2), SAT, MON_FRI, NEXT_MON),  # due in the past, today Saturday: Monday
        (SUN, SUN, MON_FRI, NEXT_MON),  # due today, a Sunday: the next Monday
        (SAT, FRI, MON_FRI, FRI),  # due tomorrow, a Saturday: today (Friday)
        (SUN, SAT, MON_FRI, NEXT_MON),  # no working day from today to due: the first after (late)
        (None, SAT, MON_FRI, NEXT_MON),  # no refill due (no fill yet): the first working day from today
        (SAT, MON, [0, 1, 2, 3, 4, 5], SAT),  # a clinic open on Saturdays
        (date(2026, 4, 6), THU, [2], date(2026, 4, 1)),  # open Wednesdays only: the Wednesday before
        (SAT, MON, [], FRI),  # no working days configured: Monday to Friday
        (SAT, MON, None, FRI),
        (date(2028, 3, 4), MON, MON_FRI, date(2028, 3, 3)),  # two years ahead: still the Friday before
    ],
)
def test_proposed_booking_date(refill_due, today, working_days, expected):
    assert proposed_booking_date(refill_due, today, working_days) == expected


def test_is_working_day():
    assert is_working_day(FRI, MON_FRI) and not is_working_day(SAT, MON_FRI)
    assert is_working_day(SAT, [5]) and not is_working_day(FRI, [5])
    assert not is_working_day(SUN, []) and is_working_day(MON, [])  # none configured: Monday to Friday


@pytest.mark.parametrize(
    ("working_days", "text"),
    [
        (MON_FRI, "Monday to Friday"),
        ([0, 2], "Monday, Wednesday"),
        ([5], "Saturday"),
        ([], "Monday to Friday"),
        ([1, 2, 3, 5], "Tuesday, Wednesday, Thursday, Saturday"),
    ],
)
def test_working_days_text(working_days, text):
    assert working_days_text(working_days) == text


@given(
    refill_due=st.one_of(st.none(), st.dates(date(2026, 1, 1), date(2027, 12, 31))),
    today=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
    working_days=st.sets(st.integers(0, 6), min_size=1).map(sorted),
)
def test_the_proposal_is_the_latest_working_day_on_or_before_due_and_not_before_today(refill_due, today, working_days):
    day = proposed_booking_date(refill_due, today, working_days)
    assert day >= today and day.weekday() in working_days
    if refill_due is not None and day <= refill_due:
        # As late as possible: no working day between the proposal and refill due.
        later = [day + timedelta(days=n) for n in range(1, (refill_due - day).days + 1)]
        assert not any(d.weekday() in working_days for d in later)
    else:
        # Refill due passed (or none, or no working day up to it): the first working day from today.
        before = [today + timedelta(days=n) for n in range((day - today).days)]
        assert not any(d.weekday() in working_days for d in before)
        if refill_due is not None:
            assert not any(
                (today + timedelta(days=n)).weekday() in working_days for n in range((refill_due - today).days + 1)
            )
