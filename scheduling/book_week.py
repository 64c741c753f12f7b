"""Book the week (SPEC 9): every "due soon, not booked" pump of a week, a proposed slot for
each, then all bookings in one transaction (all or nothing).

``propose_rows`` lists the week's pumps with proposals that do not share a slot;
``check_rows`` validates edited rows (every problem named by row and field);
``confirm_rows`` saves them through refills.services in one transaction.
The bench calls ``propose_rows`` then ``confirm_rows`` (``book_whole_week``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from clinic import display
from patients.models import Pump
from refills import services
from refills.booking import MAX_BOOKING_DAYS, working_days_text
from refills.models import Appointment
from scheduling import capacity
from scheduling.week import clinic_now, full_window, load_week, no_refiller_text, session_rows, window_for

# A week of pumps is one page: beyond this the page asks for a shorter list (never a timeout).
MAX_ROWS = 500


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def default_week(today: date) -> date:
    """The week the page opens on: the next one."""
    return week_start(today) + timedelta(days=7)


def due_pumps(clinic, today: date, monday: date):
    """Followed pumps with no scheduled refill whose refill is due by the week's Sunday
    (overdue ones included), most urgent first."""
    sunday = monday + timedelta(days=6)
    return (
        Pump.objects.active()
        .filter(clinic=clinic, first_refill_booking__isnull=True, refill_due__isnull=False, refill_due__lte=sunday)
        .select_related("patient", "patient__manager")
        .order_by("refill_due", "patient__last_name", "pk")
    )


@dataclass
class Row:
    """One pump of the week: what is proposed, what the user chose, and what is wrong."""

    pump: Pump
    day: date | None = None
    start: time | None = None
    member_id: int | None = None
    skip: bool = False
    late: bool = False
    confirmed: bool = False  # the "book it anyway" tick
    input_errors: dict[str, list[str]] = field(default_factory=dict)  # unreadable input, from the page
    errors: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # needing the tick, in words

    @property
    def key(self) -> str:
        return str(self.pump.pk)

    def add_error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def propose_rows(clinic, today: date, monday: date, pumps=None) -> list[Row]:
    """The week's pumps, each with the SPEC 9 proposal; proposals do not share a slot."""
    pumps = list(due_pumps(clinic, today, monday)[:MAX_ROWS] if pumps is None else pumps)
    sessions = session_rows(clinic)
    now = clinic_now(clinic, today)  # today's slots that have begun are not proposed
    first, last = window_for(today, [p.refill_due for p in pumps])
    rows = _proposed(load_week(clinic, first, last, sessions=sessions, now=now), pumps, today)
    if sessions and any(row.day > last for row in rows) and last < full_window(today)[1]:
        # A proposal past the days read: read every bookable day and propose again.
        rows = _proposed(load_week(clinic, *full_window(today), sessions=sessions, now=now), pumps, today)
    return rows


def _proposed(week: capacity.ClinicWeek, pumps, today: date) -> list[Row]:
    rows = []
    unslotted: dict[tuple, int] = {}  # (day, member) -> proposals without a session slot so far
    busy: set[tuple] = set()  # (day, start, member) of the batch's proposals
    for pump in pumps:
        proposal = week.propose(pump.refill_due, today, pump.patient.manager_id, busy)
        member = proposal.assignee
        if proposal.fits:
            busy.add((proposal.day, proposal.start, member))
            week.take(capacity.Slot(proposal.day, proposal.start, proposal.session_id, proposal.member_id))
            start = proposal.start
        else:  # no sessions: half-hour steps from 09:00, so one member is never booked twice at once
            count = unslotted[proposal.day, member] = unslotted.get((proposal.day, member), -1) + 1
            start = (datetime.combine(proposal.day, DEFAULT_TIME) + timedelta(minutes=30 * count)).time()
            if start < DEFAULT_TIME:  # past midnight: a person chooses
                start = DEFAULT_TIME
        rows.append(Row(pump, proposal.day, start, member, late=proposal.late))
    return rows


DEFAULT_TIME = capacity.DEFAULT_TIME


def member_choices(clinic) -> dict[int, str]:
    users = get_user_model().objects.filter(memberships__clinic=clinic).order_by("last_name", "username")
    return {user.pk: display.member_name(user) for user in users}


def check_rows(clinic, today: date, rows: list[Row], members: dict[int, str]) -> bool:
    """Validate every row (nothing is saved here); True when all rows may be booked.

    Problems a booking form would ask to confirm (a non-working day, a full session, the
    member away) need the row's tick; rows take slots in order, so two rows cannot share
    a session's last slot without the second one's tick.
    """
    booking = [row for row in rows if not row.skip]
    limit = today + timedelta(days=MAX_BOOKING_DAYS)
    now = clinic_now(clinic, today)
    for row in booking:
        row.errors, row.problems = {name: list(found) for name, found in row.input_errors.items()}, []
        if row.day is None:
            if "date" not in row.errors:
                row.add_error("date", _("Enter a date."))
        elif row.day < today:
            row.add_error("date", _("This date is in the past (today is %(today)s).") % {"today": display.day(today)})
        elif row.day > limit:
            row.add_error("date", _("Appointments can be booked at most two years ahead."))
        if row.start is None and "time" not in row.errors:
            row.add_error("time", _("Enter a time."))
        elif row.day == today and now is not None and row.start <= now.time() and "date" not in row.errors:
            row.add_error(
                "time",
                _("This time has already passed today (it is %(now)s now): choose a later time or another day.")
                % {"now": f"{now:%H:%M}"},
            )
        if row.member_id is not None and row.member_id not in members and "member" not in row.errors:
            row.add_error("member", _("Choose a member of this clinic."))
        if row.pump.first_refill_booking is not None:
            row.add_error(
                "pump",
                _("A refill was booked for this pump meanwhile (%(day)s).")
                % {"day": display.day(row.pump.first_refill_booking)},
            )
    valid = [row for row in booking if not row.errors]
    if valid:
        last = max(row.day for row in valid)
        week = load_week(clinic, min(row.day for row in valid), last)
        number = {id(row): position for position, row in enumerate(rows, start=1)}
        taken: dict[tuple, int] = {}
        for row in valid:
            same = (row.day, row.start, row.member_id)
            if same in taken and row.member_id is not None:
                row.add_error(
                    "time",
                    _("Row %(other)s already books %(name)s at this time.")
                    % {"other": taken[same], "name": members.get(row.member_id, "")},
                )
            taken.setdefault(same, number[id(row)])
            for code in week.problems(row.day, row.start, row.member_id):
                row.problems.append(problem_text(code, row, clinic, members))
            _take_slot(week, row)
            if row.problems and not row.confirmed:
                row.add_error(
                    "confirm", _("Tick 'book anyway' to book this: %(why)s.") % {"why": "; ".join(row.problems)}
                )
    return not any(row.errors for row in booking)


def _take_slot(week: capacity.ClinicWeek, row: Row) -> None:
    """The row's booking takes a slot of its day, as a booked refill would."""
    free = week.free_slots(row.day)
    if free:
        booked = capacity.Booked(row.day, row.start, row.member_id)
        week.take(min(free, key=lambda slot: capacity._fit_rank(slot, booked)))


def problem_text(code: str, row: Row, clinic, members: dict[int, str]) -> str:
    shown = display.day(row.day)
    if code == capacity.NON_WORKING_DAY:
        return _("%(day)s is not a working day of the clinic (%(days)s)") % {
            "day": shown,
            "days": working_days_text(clinic.working_days),
        }
    if code == capacity.FULL_SESSION:
        return _("the refill session at %(time)s on %(day)s is full") % {"time": f"{row.start:%H:%M}", "day": shown}
    if code == capacity.NO_REFILLER:
        return no_refiller_text(row.day)
    return _("%(name)s is away on %(day)s") % {"name": members.get(row.member_id, ""), "day": shown}


class RowsRefused(Exception):
    """Some row is not valid: nothing was saved."""


def confirm_rows(
    clinic, user, today: date, rows: list[Row], members: dict[int, str] | None = None
) -> list[Appointment]:
    """Book every row not skipped, in one transaction: all or nothing.

    The pumps are locked and read again first, so a booking made meanwhile (another
    member's, another tab's) is seen and refused rather than doubled.
    """
    members = member_choices(clinic) if members is None else members
    with transaction.atomic():
        wanted = [row for row in rows if not row.skip]
        locked = {
            pump.pk: pump
            for pump in Pump.objects.select_for_update()
            .filter(clinic=clinic, pk__in=[row.pump.pk for row in wanted])
            .select_related("patient__clinic")
        }
        for row in wanted:
            row.pump = locked.get(row.pump.pk, row.pump)
        if not check_rows(clinic, today, rows, members):
            raise RowsRefused
        appointments = [
            Appointment(
                patient=row.pump.patient,
                pump=row.pump,
                kind=Appointment.Kind.REFILL,
                local_date=row.day,
                local_time=row.start,
                assigned_to_id=row.member_id,
                created_by=user,
            )
            for row in wanted
        ]
        return services.book_appointments(appointments)


def book_whole_week(clinic, user, today: date, monday: date) -> list[Appointment]:
    """Propose and confirm every due pump of the week as proposed (the bench's measure)."""
    rows = propose_rows(clinic, today, monday)
    for row in rows:
        row.confirmed = True
    return confirm_rows(clinic, user, today, rows)
