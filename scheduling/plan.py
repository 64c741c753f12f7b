"""The refill plan (SPEC 9): per week ahead, refills due, booked, capacity and due but unbooked.

One function, ``plan_weeks``, computes the numbers of the plan page and of the
``refill_plan`` command. It counts in SQL, grouped by week, so its queries are the same
few whatever the caseload size:

- ``due``: followed pumps (active pumps of active patients, as caseload_report lists them)
  whose refill due falls in the week; a pump whose refill due is before the first day
  counts in the first week (it is overdue now and still needs its refill).
- ``due_unbooked``: those of them with no scheduled refill on or before their refill due
  (the pump's stored ``first_refill_booking``, the booking state's one source).
- ``booked``: scheduled refill appointments of the clinic dated in the week.
- ``capacity``: free and used refill slots of the week's sessions, less absences
  (scheduling.capacity); 0 when the clinic has no sessions.

``absence_conflicts`` lists the booked refills that fall in their assigned member's absence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, F, IntegerField, Q, Value
from django.db.models.functions import Cast, Greatest

from clinic import caseload_cache
from clinic.access import scoped
from patients.models import Pump
from patients.querysets import DaysFrom
from refills.models import Appointment
from scheduling import capacity, week

DEFAULT_WEEKS = 12
MAX_WEEKS = 520  # ten years: the command refuses more (a typo, not a plan)
PAGE_WEEK_CHOICES = (4, 8, 12, 26, 52)


@dataclass(frozen=True)
class PlanWeek:
    """One row of the plan: a week from Monday ``week_start`` to the Sunday after."""

    week_start: date
    due: int
    booked: int
    capacity: int
    due_unbooked: int

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)

    @property
    def crunch(self) -> bool:
        """More refills due than the week's sessions can take."""
        return self.due > self.capacity

    def as_row(self) -> dict:
        """The contract's keys with JSON-ready values (ISO date)."""
        return {
            "week_start": self.week_start.isoformat(),
            "due": self.due,
            "booked": self.booked,
            "capacity": self.capacity,
            "due_unbooked": self.due_unbooked,
        }


COLUMNS = ("week_start", "due", "booked", "capacity", "due_unbooked")


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_index(column: str, first_monday: date):
    """The plan week (0 = the first) of a date column; dates before the first week give 0."""
    return Greatest(
        Cast(DaysFrom(column, first_monday), IntegerField()) / Value(7), Value(0), output_field=IntegerField()
    )


def followed_pumps(clinic):
    """The pumps the plan follows: the caseload report's (active pumps of active patients)."""
    return scoped(Pump.objects.active(), clinic)


def unbooked_q() -> Q:
    """No scheduled refill on or before refill due (booking state 'unbooked' or 'late')."""
    return Q(first_refill_booking__isnull=True) | Q(first_refill_booking__gt=F("refill_due"))


def due_by_week(clinic, first_monday: date, weeks: int) -> dict[int, tuple[int, int]]:
    """{week index: (due, due_unbooked)}, one grouped query."""
    end = first_monday + timedelta(weeks=weeks)
    rows = (
        followed_pumps(clinic)
        .filter(refill_due__lt=end)
        .annotate(week=week_index("refill_due", first_monday))
        .order_by()
        .values("week")
        .annotate(due=Count("pk"), unbooked=Count("pk", filter=unbooked_q()))
    )
    return {row["week"]: (row["due"], row["unbooked"]) for row in rows}


def scheduled_refills_between(clinic, start: date, end: date):
    """The clinic's scheduled refill appointments dated from ``start`` to before ``end``.

    The UTC ``starts_at`` range (one day wider than the local dates, for any time zone)
    lets the scheduled-start index find them; the local dates decide.
    """
    return scoped(Appointment.objects, clinic).filter(
        kind=Appointment.Kind.REFILL,
        status=Appointment.Status.SCHEDULED,
        starts_at__gte=datetime.combine(start - timedelta(days=1), time.min, tzinfo=UTC),
        starts_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC),
        local_date__gte=start,
        local_date__lt=end,
    )


def booked_by_week(clinic, first_monday: date, weeks: int) -> dict[int, int]:
    """{week index: scheduled refill appointments}, one grouped query."""
    end = first_monday + timedelta(weeks=weeks)
    rows = (
        scheduled_refills_between(clinic, first_monday, end)
        .annotate(week=week_index("local_date", first_monday))
        .order_by()
        .values("week")
        .annotate(booked=Count("pk"))
    )
    return {row["week"]: row["booked"] for row in rows}


def plan_weeks(clinic, as_of: date, weeks: int = DEFAULT_WEEKS, *, cached: bool = False) -> list[PlanWeek]:
    """The plan's rows: ``weeks`` weeks from the Monday of the week containing ``as_of``.

    ``cached`` (the page): the due and booked counts, which read only pumps, patients and
    appointments, come from the clinic's caseload cache (clinic.caseload_cache: recounted
    after any committed change of those rows). The command always counts.
    """
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    first_monday = monday_of(as_of)
    end = first_monday + timedelta(weeks=weeks)

    def count():
        return due_by_week(clinic, first_monday, weeks), booked_by_week(clinic, first_monday, weeks)

    if cached:
        due, booked = caseload_cache.cached(clinic.pk, ("refill-plan", first_monday, weeks), count)
    else:
        due, booked = count()
    clinic_days = clinic_week(clinic, first_monday, end)
    slot_counts: dict[int, int] = {}
    rows = []
    for index in range(weeks):
        start = first_monday + timedelta(weeks=index)
        week_due, week_unbooked = due.get(index, (0, 0))
        week_slots = week_capacity(clinic_days, start, slot_counts)
        rows.append(PlanWeek(start, week_due, booked.get(index, 0), week_slots, week_unbooked))
    return rows


def week_capacity(clinic_days: capacity.ClinicWeek, monday: date, per_session: dict | None = None) -> int:
    """``clinic_days.week_capacity(monday)`` (the slots of the sessions held each day) without
    building every slot: each session's slot count is computed once (``per_session``, shared
    by the weeks of a plan). A clinic of 40 managers with a weekly session each has
    thousands of slots in twelve weeks."""
    per_session = {} if per_session is None else per_session
    total = 0
    for offset in range(7):
        for session in clinic_days.sessions_on(monday + timedelta(days=offset)):
            if session.id not in per_session:
                per_session[session.id] = len(session.slot_starts())
            total += per_session[session.id]
    return total


def clinic_week(clinic, start: date, end: date) -> capacity.ClinicWeek:
    """The clinic's active sessions and the absences from ``start`` to before ``end``, loaded
    as the booking pages load them (scheduling.week): one query, two with sessions."""
    sessions = week.session_rows(clinic)
    absences = week.absence_rows(clinic, start, end - timedelta(days=1)) if sessions else ()
    refillers = week.refiller_ids(clinic) if any(s.clinic_session for s in sessions) else None
    return capacity.ClinicWeek(clinic.working_days, sessions, absences, refillers=refillers)


@dataclass(frozen=True)
class AbsenceConflict:
    """A booked refill on a day its assigned member is away."""

    appointment: Appointment

    @property
    def patient(self):
        return self.appointment.patient

    @property
    def member(self):
        return self.appointment.assigned_to

    @property
    def day(self) -> date:
        return self.appointment.local_date


def absence_conflicts(clinic, start: date, end: date, limit: int = 200) -> list[AbsenceConflict]:
    """Scheduled refills from ``start`` to before ``end`` whose assigned member is away that day.

    The absences of the window first (one small query), then, if there are any, the
    appointments of the absent members on their days away (one query, with patient and
    member), at most ``limit`` rows.
    """
    last = end - timedelta(days=1)
    away = Q()
    for absence in week.absence_rows(clinic, start, last):
        away |= Q(
            assigned_to_id=absence.member_id,
            local_date__gte=max(absence.first_day, start),
            local_date__lte=min(absence.last_day, last),
        )
    if not away:
        return []
    appointments = (
        scheduled_refills_between(clinic, start, end)
        .filter(away)
        .select_related("patient", "assigned_to")
        .order_by("local_date", "local_time", "pk")[:limit]
    )
    return [AbsenceConflict(appointment) for appointment in appointments]
