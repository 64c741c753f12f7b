"""Book the week: staff book every "due soon, not booked" pump of a week in one pass.

GET shows the week's pumps with a proposed slot each (editable); POST ``review`` checks
every row and shows what will be booked; POST ``confirm`` books them all in one
transaction, or nothing (every problem named by row and field). Without JavaScript.
"""

from collections import Counter
from datetime import date, time, timedelta

from django.contrib import messages
from django.db.models import F
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from clinic import display
from clinic.access import ClinicAccessMixin, Role
from patients.models import Pump
from refills.booking import MAX_BOOKING_DAYS
from refills.labels import STATUS_LABELS
from scheduling.book_week import (
    MAX_ROWS,
    Row,
    RowsRefused,
    check_rows,
    confirm_rows,
    default_week,
    member_choices,
    propose_rows,
    week_start,
)

FIELD_LABELS = {"date": "Date", "time": "Time", "member": "Member", "confirm": "Book anyway", "pump": "Pump"}


def parse_date(value) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def parse_time(value) -> time | None:
    try:
        return time.fromisoformat(value) if value else None
    except ValueError:
        return None


class BookWeekView(ClinicAccessMixin, TemplateView):
    role = Role.STAFF
    template_name = "scheduling/book_week.html"

    def chosen_week(self, value) -> date:
        this_week = week_start(self.today)
        wanted = parse_date(value)
        if wanted is None:
            return default_week(self.today)
        monday = week_start(wanted)
        if monday < this_week:
            messages.info(self.request, _("That week has passed: showing this week."))
            return this_week
        if monday > self.today + timedelta(days=MAX_BOOKING_DAYS):
            return default_week(self.today)
        return monday

    def get(self, request, *args, **kwargs):
        monday = self.chosen_week(request.GET.get("week"))
        rows = propose_rows(self.clinic, self.today, monday)
        return self.render_rows(monday, rows, stage="edit")

    def post(self, request, *args, **kwargs):
        monday = self.chosen_week(request.POST.get("week"))
        members = member_choices(self.clinic)
        rows = self.rows_from_post(members)
        action = request.POST.get("action")
        if action == "edit" or not rows:
            return self.render_rows(monday, rows, stage="edit", members=members)
        if action != "confirm":
            if not check_rows(self.clinic, self.today, rows, members):
                return self.render_rows(monday, rows, stage="edit", members=members, refused=True)
            return self.render_rows(monday, rows, stage="review", members=members)
        try:  # checks every row again with the pumps locked
            booked = confirm_rows(self.clinic, request.user, self.today, rows, members)
        except RowsRefused:
            return self.render_rows(monday, rows, stage="edit", members=members, refused=True)
        late = sum(1 for a in booked if a.pump.refill_due and a.local_date > a.pump.refill_due)
        text = booked_text(booked)
        if late:
            text += " " + _("%(late)s of them after refill due (booked late).") % {"late": late}
        messages.success(request, text)
        return redirect(f"{reverse('book_week')}?week={monday.isoformat()}")

    def rows_from_post(self, members) -> list[Row]:
        """The posted rows, for this clinic's followed pumps only (others are dropped)."""
        data = self.request.POST
        keys = []
        for value in data.getlist("pump")[:MAX_ROWS]:
            if value.isdigit() and value not in keys:
                keys.append(value)
        pumps = {
            str(p.pk): p
            for p in Pump.objects.active()
            .filter(clinic=self.clinic, pk__in=keys)
            .select_related("patient", "patient__manager")
        }
        rows = []
        for key in keys:
            pump = pumps.get(key)
            if pump is None:
                continue
            member = data.get(f"member-{key}", "")
            row = Row(
                pump,
                day=parse_date(data.get(f"date-{key}")),
                start=parse_time(data.get(f"time-{key}")),
                member_id=int(member) if member.isdigit() else None,
                skip=data.get(f"book-{key}") != "yes",
                confirmed=data.get(f"confirm-{key}") == "yes",
            )
            if not row.skip:
                if data.get(f"date-{key}") and row.day is None:
                    row.input_errors["date"] = [_("Enter a date as YYYY-MM-DD.")]
                if data.get(f"time-{key}") and row.start is None:
                    row.input_errors["time"] = [_("Enter a time as HH:MM.")]
                if member and row.member_id not in members:
                    row.input_errors["member"] = [_("Choose a member of this clinic.")]
            row.late = bool(row.day and pump.refill_due and row.day > pump.refill_due)
            rows.append(row)
        return rows

    def render_rows(self, monday, rows, *, stage, members=None, refused=False):
        members = member_choices(self.clinic) if members is None else members
        for number, row in enumerate(rows, start=1):
            row.number = number
            row.status_label = STATUS_LABELS.get(status_of(row.pump, self.today), "")
            row.status = status_of(row.pump, self.today)
            row.member_name = members.get(row.member_id, "")
            row.late = bool(row.day and row.pump.refill_due and row.day > row.pump.refill_due)
        problems = [
            {"row": row, "field": name, "label": FIELD_LABELS[name], "message": message}
            for row in rows
            for name, messages_ in row.errors.items()
            for message in messages_
        ]
        booking = [row for row in rows if not row.skip]
        context = self.get_context_data(
            monday=monday,
            sunday=monday + timedelta(days=6),
            previous_week=monday - timedelta(days=7) if monday > week_start(self.today) else None,
            next_week=monday + timedelta(days=7),
            this_week=week_start(self.today),
            rows=rows,
            booking_count=len(booking),
            stage=stage,
            members=sorted(members.items(), key=lambda item: item[1].lower()),
            refused=refused,
            problems=problems,
            truncated=stage == "edit" and len(rows) >= MAX_ROWS,
            # "Nothing to book" while some pumps due by Sunday are booked only after refill due.
            booked_late=0 if rows else booked_late_count(self.clinic, monday + timedelta(days=6)),
        )
        return self.render_to_response(context)


def booked_late_count(clinic, sunday: date) -> int:
    """Followed pumps due by ``sunday`` whose only booking is after refill due (the standing check's)."""
    return (
        Pump.objects.active()
        .filter(clinic=clinic, refill_due__lte=sunday, first_refill_booking__gt=F("refill_due"))
        .count()
    )


def booked_text(booked) -> str:
    """The weeks really booked (a proposal may fall before or after the week chosen)."""
    by_week = Counter(week_start(a.local_date) for a in booked)
    weeks = ", ".join(
        _("%(count)s in the week of %(week)s") % {"count": count, "week": display.day(monday)}
        for monday, count in sorted(by_week.items())
    )
    return _("%(count)s refill%(s)s booked: %(weeks)s.") % {
        "count": len(booked),
        "s": "" if len(booked) == 1 else "s",
        "weeks": weeks,
    }


def status_of(pump: Pump, today: date) -> str:
    """The pump's status word from its stored dates (the lists' order of severity)."""
    if pump.empty_date and pump.empty_date <= today:
        return "empty"
    if pump.alarm_date and pump.alarm_date <= today:
        return "alarming"
    if pump.refill_due and pump.refill_due < today:
        return "overdue"
    if pump.due_soon_from and pump.due_soon_from <= today:
        return "due_soon"
    return "ok"
