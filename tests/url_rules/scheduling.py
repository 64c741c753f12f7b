"""The clinic's week (issue 15): refill sessions, absences, book the week."""

from datetime import date, time

from clinic.models import Membership
from tests.url_rules import ADMIN, NOT_ALLOWED, STAFF, Rule


def extra_objects(clinic, objects: dict) -> dict:
    from scheduling.models import Absence, RefillSession

    invited = objects["membership"]  # a staff member: their absence is not the cast's own
    manager = Membership.objects.filter(clinic=clinic, role=Membership.Role.MANAGER).first() or invited
    return {
        "refill_session": RefillSession.objects.create(
            clinic=clinic, member=manager, weekday=1, start_time=time(9), slots=3, slot_minutes=30
        ),
        "absence": Absence.objects.create(
            clinic=clinic, member=invited, first_day=date(2025, 10, 6), last_day=date(2030, 10, 10), note="course"
        ),
    }


RULES = {
    "sessions": Rule(ADMIN, NOT_ALLOWED),
    "session_create": Rule(ADMIN, ADMIN),
    "session_edit": Rule(ADMIN, ADMIN, {"pk": "refill_session"}),
    "session_delete": Rule(ADMIN, ADMIN, {"pk": "refill_session"}),
    "absences": Rule(STAFF, NOT_ALLOWED),
    "absence_create": Rule(STAFF, STAFF),
    # Someone else's absence (the cast's own is tested in tests/test_view_absences.py).
    "absence_edit": Rule(ADMIN, ADMIN, {"pk": "absence"}),
    "absence_delete": Rule(ADMIN, ADMIN, {"pk": "absence"}),
    "book_week": Rule(STAFF, STAFF),
}
