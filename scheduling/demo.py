"""The demo clinic's week: refill sessions for its pump managers, a clinic session, and the
absences that make the plan worth reading (issue 15's "Done when").

Called once the demo caseload and its bookings exist. The manager's week away is the week
ahead (one to four weeks on) where the most refills are due among those holding a refill
booked with the manager: the plan lists those bookings as falling in an absence. The admin's
study day the same week takes their session too, so only the clinic's short Friday session
is left and that week is a crunch (more refills due than capacity).
"""

from datetime import date, time, timedelta

from clinic.audit import acting_as
from clinic.models import Membership
from refills.models import Appointment
from scheduling import plan
from scheduling.models import Absence, RefillSession

# (who: "manager", "admin" or None for the clinic's session, weekday, start, slots, minutes)
SESSIONS = (
    ("manager", 1, time(9, 0), 6, 30),
    ("manager", 3, time(9, 0), 6, 30),
    ("admin", 2, time(13, 30), 4, 30),
    (None, 4, time(9, 0), 2, 45),
)
ADMIN_WEEKDAY = 2  # the admin's session day: their study day in the crunch week
CANDIDATE_WEEKS = range(1, 5)


def crunch_week(clinic, today: date, manager_user) -> date:
    """The Monday of the manager's week away (see the module's docstring)."""
    first = plan.monday_of(today)
    due = plan.due_by_week(clinic, first, max(CANDIDATE_WEEKS) + 1)
    booked = set(
        plan.scheduled_refills_between(clinic, first, first + timedelta(weeks=max(CANDIDATE_WEEKS) + 1))
        .filter(assigned_to=manager_user, kind=Appointment.Kind.REFILL)
        .values_list("local_date", flat=True)
    )

    def score(index: int) -> tuple:
        monday = first + timedelta(weeks=index)
        has_booking = any(monday <= day <= monday + timedelta(days=4) for day in booked)
        return (has_booking, due.get(index, (0, 0))[0], -index)

    return first + timedelta(weeks=max(CANDIDATE_WEEKS, key=score))


def seed_week(clinic, users: dict, today: date, admin: str, manager: str) -> None:
    """Create the demo's sessions and absences (as the demo admin, so the audit trail says who)."""
    members = {
        "manager": Membership.objects.get(clinic=clinic, user=users[manager]),
        "admin": Membership.objects.get(clinic=clinic, user=users[admin]),
    }
    with acting_as(users[admin]):
        for who, weekday, start, slots, minutes in SESSIONS:
            RefillSession.objects.create(
                clinic=clinic,
                member=members[who] if who else None,
                weekday=weekday,
                start_time=start,
                slots=slots,
                slot_minutes=minutes,
            )
        away_from = crunch_week(clinic, today, users[manager])  # a Monday
        Absence.objects.create(
            clinic=clinic,
            member=members["manager"],
            first_day=away_from,
            last_day=away_from + timedelta(days=4),
            note="Annual leave",
        )
        study_day = away_from + timedelta(days=ADMIN_WEEKDAY)
        Absence.objects.create(
            clinic=clinic, member=members["admin"], first_day=study_day, last_day=study_day, note="Study day"
        )
