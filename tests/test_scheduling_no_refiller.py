"""A clinic session with every member who can refill away (SPEC 9 capacity): Book the week
does not propose it, and moving a row onto it needs the tick naming the problem.

Today is Monday 2 Mar 2026 (Europe/London); the page opens on Mon 9 to Sun 15 Mar. The
clinic runs a session (no member) on Thursdays at 09:00; its one pump manager (the only
member who can refill: staff cannot) is away Wednesday to Friday that week.
"""

from datetime import date, time

import pytest
import time_machine
from django.urls import reverse

from clinic.models import Membership
from refills.models import Appointment
from scheduling.models import Absence, RefillSession
from tests.test_view_book_week import post_data, pump_due, rows_of

pytestmark = pytest.mark.django_db
THU_12, THU_19 = date(2026, 3, 12), date(2026, 3, 19)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel("2026-03-02 12:00:00Z", tick=False):
        yield


@pytest.fixture
def away_week(clinic, manager):
    RefillSession.objects.create(clinic=clinic, member=None, weekday=3, start_time=time(9), slots=2)
    member = Membership.objects.get(clinic=clinic, user=manager)
    Absence.objects.create(clinic=clinic, member=member, first_day=date(2026, 3, 11), last_day=date(2026, 3, 13))
    return pump_due(clinic, date(2026, 3, 13), manager, "MRN-FRI")


def test_book_the_week_skips_the_clinic_session_nobody_can_run_and_asks_to_book_it(client, staff, manager, away_week):
    client.force_login(staff)
    page = client.get(reverse("book_week"))
    # Not Thursday 12 (no one to run the session): the Thursday 5 before it, with the manager.
    assert rows_of(page) == [("MRN-FRI", date(2026, 3, 5), time(9), manager.pk, False)]
    key = str(away_week.pk)
    moved = {f"date-{key}": THU_12.isoformat(), f"time-{key}": "09:00", f"member-{key}": ""}
    refused = client.post(reverse("book_week"), post_data(page, action="confirm", **moved))
    assert refused.status_code == 200 and not Appointment.objects.exists()
    assert "Every admin and pump manager (who can refill) is away on Thu 12 Mar 2026" in refused.content.decode()
    ticked = client.post(reverse("book_week"), post_data(page, action="confirm", **moved, **{f"confirm-{key}": "yes"}))
    assert ticked.status_code == 302
    assert Appointment.objects.get(pump=away_week).local_date == THU_12


def test_an_admin_in_that_day_runs_the_clinic_session(client, staff, admin_user, away_week):
    client.force_login(staff)
    page = client.get(reverse("book_week"))
    assert rows_of(page) == [("MRN-FRI", THU_12, time(9), None, False)]  # the manager is away: no one assigned


def test_the_plan_counts_no_capacity_for_it(client, staff, away_week):
    from scheduling.plan import clinic_week

    days = clinic_week(away_week.patient.clinic, date(2026, 3, 2), date(2026, 3, 23))
    assert [days.week_capacity(monday) for monday in (date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16))] == [
        2,
        0,
        2,
    ]
