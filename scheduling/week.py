"""Load a clinic's week (sessions, absences, booked refills) into scheduling.capacity.

The public surface for pages and commands: ``load_week`` for a window of days,
``propose`` for one pump, ``booking_check`` for a booking form's confirmations.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import display
from clinic.models import Membership
from refills.booking import MAX_BOOKING_DAYS
from refills.models import Appointment
from scheduling import capacity
from scheduling.models import Absence, RefillSession

# Proposals usually land within days of refill due; the window loaded first reaches this far
# past it, and only a proposal that would need a day beyond it loads the rest (to the limit).
FIRST_WINDOW_DAYS = 28


def session_rows(clinic) -> list[capacity.Session]:
    rows = RefillSession.objects.filter(clinic=clinic, active=True).values_list(
        "pk", "weekday", "start_time", "slots", "slot_minutes", "member__user_id"
    )
    return [capacity.Session(*row) for row in rows]


def refiller_ids(clinic) -> list[int]:
    """The members who can refill (admins and pump managers): a clinic session needs one of them."""
    rows = Membership.objects.filter(clinic=clinic, user__is_active=True).exclude(role=Membership.Role.STAFF)
    return list(rows.values_list("user_id", flat=True))


def absence_rows(clinic, first_day: date, last_day: date) -> list[capacity.Absence]:
    rows = Absence.objects.filter(clinic=clinic, last_day__gte=first_day, first_day__lte=last_day).values_list(
        "member__user_id", "first_day", "last_day"
    )
    return [capacity.Absence(*row) for row in rows]


def booked_rows(clinic, first_day: date, last_day: date, exclude_ids=()) -> list[capacity.Booked]:
    """Scheduled refill appointments of the clinic in the window (one row per appointment)."""
    rows = (
        Appointment.objects.filter(
            patient__clinic=clinic,
            kind=Appointment.Kind.REFILL,
            status=Appointment.Status.SCHEDULED,
            local_date__range=(first_day, last_day),
        )
        .exclude(pk__in=list(exclude_ids))
        .values_list("local_date", "local_time", "assigned_to_id")
    )
    return [capacity.Booked(*row) for row in rows]


def clinic_now(clinic, today: date) -> datetime | None:
    """The clinic-local time now (naive) while it is still ``today`` there, else None (a
    ``today`` of another day, e.g. ``refill_plan --as-of``: no slot of it has passed)."""
    now = timezone.localtime(timezone=clinic.zone)
    return now.replace(tzinfo=None) if now.date() == today else None


def load_week(
    clinic, first_day: date, last_day: date, *, exclude_ids=(), sessions=None, now=None
) -> capacity.ClinicWeek:
    """The clinic's week with the bookings and absences of ``first_day`` to ``last_day``.

    Days outside the window read as free of bookings: ask only about days inside it.
    ``now`` (clinic_now): today's slots up to it have passed and are not free.
    """
    sessions = session_rows(clinic) if sessions is None else sessions
    absences = absence_rows(clinic, first_day, last_day)
    if not sessions:  # no slots to fill: the bookings do not matter
        return capacity.ClinicWeek(clinic.working_days, (), absences, now=now)
    return capacity.ClinicWeek(
        clinic.working_days,
        sessions,
        absences,
        booked_rows(clinic, first_day, last_day, exclude_ids),
        now=now,
        refillers=refiller_ids(clinic) if any(s.clinic_session for s in sessions) else None,
    )


def window_for(today: date, refill_dues) -> tuple[date, date]:
    """The days proposals for these refill dues should look at first."""
    latest = max([due for due in refill_dues if due is not None] + [today])
    return today, min(latest + timedelta(days=FIRST_WINDOW_DAYS), today + timedelta(days=MAX_BOOKING_DAYS))


def full_window(today: date) -> tuple[date, date]:
    return today, today + timedelta(days=MAX_BOOKING_DAYS)


def propose(
    clinic, today: date, refill_due: date | None, manager_id: int | None, *, exclude_ids=()
) -> capacity.Proposal:
    """The SPEC 9 proposal for one pump (a booking page, the overdue list's "Book refill"):
    never a slot that has already begun (clinic-local now)."""
    sessions = session_rows(clinic)
    now = clinic_now(clinic, today)
    first, last = window_for(today, [refill_due])  # ``exclude_ids``: an appointment being moved
    week = load_week(clinic, first, last, sessions=sessions, now=now, exclude_ids=exclude_ids)
    proposal = week.propose(refill_due, today, manager_id)
    if week.has_sessions and (not proposal.fits or proposal.day > last) and last < full_window(today)[1]:
        week = load_week(clinic, *full_window(today), sessions=sessions, now=now, exclude_ids=exclude_ids)
        proposal = week.propose(refill_due, today, manager_id)
    return proposal


def first_booking_day(clinic, today: date) -> date:
    """The day "Book refill" proposes for a pump already past its refill due (the overdue
    list says it): the first free slot from now, as the booking form's ``propose``."""
    return propose(clinic, today, None, None).day


def present(clinic, user_id: int | None, day: date) -> int | None:
    """``user_id`` unless that member is away on ``day`` (then None)."""
    if (
        user_id is None
        or Absence.objects.filter(
            clinic=clinic, member__user_id=user_id, first_day__lte=day, last_day__gte=day
        ).exists()
    ):
        return None
    return user_id


def member_names(clinic, user_ids) -> dict[int, str]:
    users = get_user_model().objects.filter(pk__in=[u for u in user_ids if u], memberships__clinic=clinic)
    return {user.pk: display.member_name(user) for user in users}


def proposal_text(proposal: capacity.Proposal, names: dict[int, str]) -> str:
    """The proposal in words, for the booking page."""
    if not proposal.fits:
        return ""
    who = names.get(proposal.member_id) if proposal.member_id else None
    text = _("Proposed: %(day)s at %(time)s, %(session)s.") % {
        "day": display.day(proposal.day),
        "time": f"{proposal.start:%H:%M}",
        "session": _("%(name)s's session") % {"name": who} if who else _("the clinic's session"),
    }
    if proposal.late:
        text += " " + _("No free slot before refill due: this is booked late.")
    return text


def booking_check(clinic, today: date, *, exclude_ids=()):
    """A booking form's check: ``check(day, start, member_id, kind)`` lists (field, code, message)
    for a full refill session or an absent member (the form asks the non-working day itself)."""

    def check(day: date, start: time, member_id: int | None, kind: str) -> list[tuple[str, str, str]]:
        week = load_week(clinic, day, day, exclude_ids=exclude_ids)
        found = []
        shown = display.day(day)
        for code in week.problems(day, start, member_id):
            if code == capacity.FULL_SESSION and kind == Appointment.Kind.REFILL:
                found.append(
                    (
                        "local_time",
                        code,
                        _("The refill session at %(time)s on %(day)s is full")
                        % {"time": f"{start:%H:%M}", "day": shown},
                    )
                )
            elif code == capacity.MEMBER_ABSENT:
                name = member_names(clinic, [member_id]).get(member_id, _("The member"))
                found.append(("assigned_to", code, _("%(name)s is away on %(day)s") % {"name": name, "day": shown}))
            elif code == capacity.NO_REFILLER and kind == Appointment.Kind.REFILL:
                found.append(("assigned_to", code, no_refiller_text(day)))
        return found

    return check


def no_refiller_text(day: date) -> str:
    """A clinic session on a day every member who can refill is away (capacity.NO_REFILLER)."""
    return _("Every admin and pump manager (who can refill) is away on %(day)s") % {"day": display.day(day)}
