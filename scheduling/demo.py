"""The demo clinic's week: refill sessions for its pump managers, a clinic session, and one
absence (the manager's week away two weeks ahead, so the plan shows a thinner week)."""

from datetime import date, time, timedelta

from clinic.audit import acting_as
from clinic.models import Membership
from scheduling.models import Absence, RefillSession

# (who: "manager", "admin" or None for the clinic's session, weekday, start, slots, minutes)
SESSIONS = (
    ("manager", 1, time(9, 0), 6, 30),
    ("manager", 3, time(9, 0), 6, 30),
    ("admin", 2, time(13, 30), 4, 30),
    (None, 4, time(9, 0), 4, 45),
)


def seed_week(clinic, users: dict, today: date, admin: str, manager: str) -> None:
    """Create the demo's sessions and absence (as the demo admin, so the audit trail says who)."""
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
        away_from = today - timedelta(days=today.weekday()) + timedelta(weeks=2)  # a Monday
        Absence.objects.create(
            clinic=clinic,
            member=members["manager"],
            first_day=away_from,
            last_day=away_from + timedelta(days=4),
            note="Annual leave",
        )
