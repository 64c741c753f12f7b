"""scheduling.demo: the demo clinic's sessions, the manager's week away holding booked refills,
and a crunch week (more refills due than capacity), as issue 15's "Done when" asks."""

from datetime import date, timedelta

import pytest
import time_machine
from auditlog.models import LogEntry

from clinic.models import Clinic
from demo import seeder as demo
from scheduling import plan
from scheduling.models import Absence, RefillSession

pytestmark = pytest.mark.django_db

# Seeded on each weekday of a week: the story must not depend on the day.
DAYS = [date(2026, 11, 23) + timedelta(days=offset) for offset in range(7)]


@pytest.mark.parametrize("today", [DAYS[2], DAYS[0], DAYS[4], DAYS[6]], ids=["wed", "mon", "fri", "sun"])
def test_the_demo_has_a_crunch_week_and_booked_refills_in_an_absence(today):
    with time_machine.travel(f"{today.isoformat()} 10:00:00Z", tick=False):
        demo.create_demo(today)
    clinic = Clinic.objects.get(slug=demo.SLUG)
    sessions = RefillSession.objects.filter(clinic=clinic)
    assert {(s.member.user.username if s.member else None, s.weekday) for s in sessions} == {
        (demo.MANAGER, 1),
        (demo.MANAGER, 3),
        (demo.ADMIN, 2),
        (None, 4),
    }
    leave = Absence.objects.get(clinic=clinic, member__user__username=demo.MANAGER)
    assert leave.first_day.weekday() == 0 and leave.last_day == leave.first_day + timedelta(days=4)
    assert plan.monday_of(today) < leave.first_day <= plan.monday_of(today) + timedelta(weeks=4)

    weeks = plan.plan_weeks(clinic, today, 6)
    crunch = [week for week in weeks[1:] if week.crunch]
    assert [week.week_start for week in crunch] == [leave.first_day]
    assert crunch[0].capacity == 2  # the clinic's Friday session only: the manager away, the admin's study day

    conflicts = plan.absence_conflicts(clinic, today, today + timedelta(weeks=6))
    assert conflicts and all(leave.first_day <= c.day <= leave.last_day for c in conflicts)
    assert LogEntry.objects.filter(content_type__app_label="scheduling", action=LogEntry.Action.CREATE).count() == 6
