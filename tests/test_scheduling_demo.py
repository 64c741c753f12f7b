"""scheduling.demo: the demo clinic's sessions (both managers and the clinic) and one absence, audited."""

from datetime import date

import pytest
from auditlog.models import LogEntry

from clinic.models import Membership
from scheduling.capacity import ClinicWeek
from scheduling.demo import seed_week
from scheduling.models import Absence, RefillSession
from scheduling.week import load_week

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 25)  # a Wednesday


def test_seed_week_gives_sessions_capacity_and_an_absence_two_weeks_ahead(clinic, admin_user, manager):
    users = {"boss": admin_user, "morgan": manager}
    seed_week(clinic, users, TODAY, "boss", "morgan")
    sessions = RefillSession.objects.filter(clinic=clinic)
    assert {(s.member.user.username if s.member else None, s.weekday) for s in sessions} == {
        ("mark-manager", 1),
        ("mark-manager", 3),
        ("alice-admin", 2),
        (None, 4),
    }
    absence = Absence.objects.get(clinic=clinic)
    assert absence.member == Membership.objects.get(user=manager)
    assert (absence.first_day, absence.last_day) == (date(2026, 12, 7), date(2026, 12, 11))
    week: ClinicWeek = load_week(clinic, date(2026, 11, 30), date(2026, 12, 13))
    assert week.week_capacity(date(2026, 11, 30)) == 6 + 6 + 4 + 4
    assert week.week_capacity(date(2026, 12, 7)) == 4 + 4  # the manager's week away
    assert LogEntry.objects.filter(actor=admin_user, content_type__app_label="scheduling").count() == 5
