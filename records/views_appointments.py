"""Appointments: book, reschedule, cancel, complete, no-show, and the upcoming list.

Status changes are POSTs; cancel and no-show cannot be undone, so their GET is a
confirmation page and their POST changes nothing without its "confirm" field (no
JavaScript needed). Bookings validate through AppointmentForm.
"""

import csv
from datetime import date, datetime, time, timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import dateformat, timezone
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import ListView, TemplateView

from clinic import display
from clinic.access import ClinicAccessMixin, Role
from clinic.audit import log_export
from clinic.fields import MemberChoiceField
from clinic.spreadsheet_cells import spreadsheet_safe
from patients.models import Patient, Pump
from records.pages import review_flags, sync_worklist
from records.tables import AppointmentTable
from records.views_events import DEFAULT_APPOINTMENT_TIME, patient_page
from refills import booking, services
from refills.forms import AppointmentForm
from refills.labels import STATUS_LABELS
from refills.models import Appointment
from scheduling import week as scheduling_week  # this page moves to records/ (an upper layer)


def query_date(value) -> date | None:
    """A YYYY-MM-DD query value, or None for anything else."""
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def shown(day: date) -> str:
    """A date as pages show it (SPEC 8): Wed 25 Nov 2026."""
    return dateformat.format(day, "D j M Y")


def safe_next(request, fallback: str, name: str = "next") -> str:
    """The page to go to from the request's ``name`` value (POST, else GET), if it is on this site."""
    target = request.POST.get(name) or request.GET.get(name) or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def session_hours(sessions) -> str:
    """The refill sessions' hours in words, e.g. "09:00-12:00, 14:00-15:30"."""
    spans = []
    for session in sorted(sessions, key=lambda s: s.start):
        starts = session.slot_starts()
        if starts:
            end = datetime.combine(date.min, starts[-1]) + timedelta(minutes=session.slot_minutes)
            spans.append(f"{session.start:%H:%M}-{end:%H:%M}")
    return ", ".join(spans)


def booking_check(clinic, today: date, pump, *, exclude_ids=()):
    """The booking page's check: the week's problems (scheduling.week.booking_check) and, for a
    refill, a second refill of the same pump and a time outside every refill session of the
    day (when the clinic has sessions). Each needs its own tick naming it (AppointmentForm)."""
    week_check = scheduling_week.booking_check(clinic, today, exclude_ids=exclude_ids)

    def check(day: date, start: time, member_id: int | None, kind: str) -> list[tuple[str, str, str]]:
        found = list(week_check(day, start, member_id, kind))
        if kind != Appointment.Kind.REFILL:
            return found
        if problem := outside_sessions(clinic, day, start):
            found.append(("local_time", "outside_sessions", problem))
        if problem := second_refill(pump, today, exclude_ids):
            found.append(("local_date", "second_refill", problem))
        return found

    return check


def outside_sessions(clinic, day: date, start: time) -> str:
    """A refill at a time no refill session of that weekday covers, in a clinic that has
    sessions (a non-working day is asked by the form itself)."""
    sessions = scheduling_week.session_rows(clinic)
    if not sessions or not booking.is_working_day(day, clinic.working_days):
        return ""
    held = [s for s in sessions if s.weekday == day.weekday() and s.slot_starts()]
    if any(s.covers(start) for s in held):
        return ""
    if not held:
        return _("No refill session is held on %(weekday)ss (%(day)s)") % {
            "weekday": booking.WEEKDAY_NAMES[day.weekday()],
            "day": display.day(day),
        }
    return _("%(time)s on %(day)s is outside the refill sessions (%(hours)s)") % {
        "time": f"{start:%H:%M}",
        "day": display.day(day),
        "hours": session_hours(held),
    }


def second_refill(pump, today: date, exclude_ids=()) -> str:
    """The pump's refill already booked (scheduled, from today on), if any: booking another
    is usually a mistake (the page offers to move it instead)."""
    if pump is None:
        return ""
    booked = (
        Appointment.objects.filter(
            pump=pump, kind=Appointment.Kind.REFILL, status=Appointment.Status.SCHEDULED, local_date__gte=today
        )
        .exclude(pk__in=list(exclude_ids))
        .order_by("local_date", "local_time", "pk")
        .first()
    )
    if booked is None:
        return ""
    return _("This pump already has a refill booked for %(day)s at %(time)s") % {
        "day": display.day(booked.local_date),
        "time": f"{booked.local_time:%H:%M}",
    }


class AppointmentFormView(ClinicAccessMixin, TemplateView):
    role = Role.STAFF
    template_name = "refills/events/appointment_form.html"

    def render(self, form):
        return self.render_to_response(self.get_context_data(form=form))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        pump = self.scoped(Pump.objects.active()).with_status(self.today).filter(patient=self.patient).first()
        context.update(
            patient=self.patient,
            pump=pump,
            status_label=STATUS_LABELS.get(pump.status_now, "") if pump else "",
            review_flags=review_flags(pump.refills.filter(needs_review=True)) if pump else [],
            patient_url=patient_page(self.patient),
            upcoming=self.patient.appointments.filter(status=Appointment.Status.SCHEDULED, local_date__gte=self.today)
            .select_related("assigned_to")
            .order_by("local_date", "local_time"),
        )
        return context


class AppointmentCreateView(AppointmentFormView):
    def load_objects(self):
        self.patient = self.get_scoped(Patient.objects.select_related("clinic"), pk=self.kwargs["pk"])

    def make_form(self, data=None, initial=None):
        pump = self.patient.pumps.filter(status=Pump.Status.ACTIVE).first()  # the one the form books
        check = booking_check(self.clinic, self.today, pump)
        return AppointmentForm(
            data,
            initial=initial,
            patient=self.patient,
            today=self.today,
            check_working_day=True,
            booking_check=check,
            without_pump=not self.has_pump,
        )

    @cached_property
    def has_pump(self) -> bool:
        return self.patient.pumps.filter(status=Pump.Status.ACTIVE).exists()

    def first_bookable_day(self, at: time) -> date:
        """Today, unless ``at`` has already passed today in the clinic's zone (then tomorrow):
        a proposal is never in the past."""
        now = timezone.localtime(timezone=self.clinic.zone)
        return self.today + timedelta(days=1) if now.date() == self.today and now.time() >= at else self.today

    def initial_values(self) -> dict:
        kind = self.request.GET.get("kind")
        if kind not in Appointment.Kind.values:
            kind = Appointment.Kind.REFILL
        if not self.has_pump:
            kind = Appointment.Kind.REVIEW  # nothing to refill or replace
        # The link's date (the worklist's, the patient page's, or the refill due of a
        # refill just saved), else the pump's refill due; either way the proposal is a
        # working day, not before today (refills.booking).
        wanted = query_date(self.request.GET.get("date"))
        if wanted is None or wanted > self.today + timedelta(days=booking.MAX_BOOKING_DAYS):
            pump = self.patient.pumps.filter(status=Pump.Status.ACTIVE).first()
            wanted = pump.refill_due if pump is not None and kind == Appointment.Kind.REFILL else None
        if kind == Appointment.Kind.REFILL and (slot := self.slot_proposal(wanted)) is not None:
            return slot
        day = booking.proposed_booking_date(
            wanted, self.first_bookable_day(DEFAULT_APPOINTMENT_TIME), self.clinic.working_days
        )
        return {
            "kind": kind,
            "local_date": day,
            "local_time": DEFAULT_APPOINTMENT_TIME,
            "assigned_to": scheduling_week.present(self.clinic, self.patient.manager_id, day),
        }

    def slot_proposal(self, wanted) -> dict | None:
        """SPEC 9: a free slot of the clinic's refill sessions, by the pump's refill due."""
        pump = self.patient.pumps.filter(status=Pump.Status.ACTIVE).first()
        due = pump.refill_due if pump is not None and pump.refill_due is not None else wanted
        proposal = scheduling_week.propose(self.clinic, self.today, due, self.patient.manager_id)
        if (
            proposal.fits
            and proposal.start
            and proposal.day == self.today
            and self.first_bookable_day(proposal.start) != self.today
        ):
            # Today's slot has already begun: propose from tomorrow (never a time in the past).
            tomorrow = self.today + timedelta(days=1)
            proposal = scheduling_week.propose(self.clinic, tomorrow, due, self.patient.manager_id)
        if not proposal.fits:
            return None
        names = scheduling_week.member_names(self.clinic, [proposal.member_id])
        self.proposal_text = scheduling_week.proposal_text(proposal, names)
        return {
            "kind": Appointment.Kind.REFILL,
            "local_date": proposal.day,
            "local_time": proposal.start,
            "assigned_to": proposal.assignee,  # the session's member, else the manager if free then
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(proposal_text=getattr(self, "proposal_text", ""), **kwargs)
        # A refill already booked (e.g. "Book earlier" on a booked-late item): offer to move it
        # to the proposal rather than book a second one.
        context["upcoming"] = list(context["upcoming"])
        context["booked_refill"] = next(
            (
                a
                for a in context["upcoming"]
                if a.kind == Appointment.Kind.REFILL and a.pump_id == getattr(context["pump"], "pk", None)
            ),
            None,
        )
        return context

    def refused(self):
        if self.patient.status == Patient.Status.ACTIVE:
            return None
        messages.error(
            self.request,
            _("This patient is %(status)s: no appointments can be booked.")
            % {"status": self.patient.get_status_display().lower()},
        )
        return redirect(patient_page(self.patient))

    def get(self, request, *args, **kwargs):
        return self.refused() or self.render(self.make_form(initial=self.initial_values()))

    def post(self, request, *args, **kwargs):
        if refusal := self.refused():
            return refusal
        form = self.make_form(request.POST)
        if not form.is_valid():
            return self.render(form)
        form.instance.created_by = request.user
        with transaction.atomic():
            appointment = form.save()
        sync_worklist(appointment.pump)
        messages.success(
            request,
            _("%(kind)s appointment booked for %(day)s at %(time)s.")
            % {
                "kind": appointment.get_kind_display(),
                "day": display.day(appointment.local_date),
                "time": f"{appointment.local_time:%H:%M}",
            },
        )
        pump = appointment.pump
        if (
            appointment.kind == Appointment.Kind.REFILL
            and pump
            and pump.refill_due
            and appointment.local_date > pump.refill_due
        ):
            messages.warning(
                request,
                _("This is after the refill due date (%(due)s): the refill is booked late.")
                % {"due": display.day(pump.refill_due)},
            )
        return redirect(patient_page(self.patient))


class AppointmentEditView(AppointmentFormView):
    """Reschedule a scheduled appointment: date, time, assigned member, notes."""

    def load_objects(self):
        self.appointment = self.get_scoped(Appointment.objects.select_related("patient__clinic"), pk=self.kwargs["pk"])
        self.patient = self.appointment.patient

    def make_form(self, data=None, initial=None):
        check = booking_check(self.clinic, self.today, self.appointment.pump, exclude_ids=[self.appointment.pk])
        form = AppointmentForm(
            data,
            initial=initial,
            instance=self.appointment,
            patient=self.patient,
            today=self.today,
            check_working_day=True,
            booking_check=check,
        )
        del form.fields["kind"]  # rescheduling keeps the kind; book a new one for another kind
        return form

    def refused(self):
        if self.appointment.status == Appointment.Status.SCHEDULED:
            return None
        messages.error(
            self.request,
            _(
                "This appointment is %(status)s: only a scheduled appointment can be rescheduled. Book a new one instead."
            )
            % {"status": self.appointment.get_status_display().lower()},
        )
        return redirect(patient_page(self.patient))

    def proposed_move(self) -> dict | None:
        """``?propose=1`` (the plan's and the booking page's "Move"): a refill gets a new SPEC 9
        proposal, its own slot free and never a session of a member away that day."""
        if self.request.GET.get("propose") != "1" or self.appointment.kind != Appointment.Kind.REFILL:
            return None
        pump = self.appointment.pump
        due = pump.refill_due if pump is not None else None
        proposal = scheduling_week.propose(
            self.clinic, self.today, due, self.patient.manager_id, exclude_ids=[self.appointment.pk]
        )
        if not proposal.fits:
            return None
        names = scheduling_week.member_names(self.clinic, [proposal.member_id])
        self.proposal_text = scheduling_week.proposal_text(proposal, names)
        return {"local_date": proposal.day, "local_time": proposal.start, "assigned_to": proposal.assignee}

    def get(self, request, *args, **kwargs):
        return self.refused() or self.render(self.make_form(initial=self.proposed_move()))

    def post(self, request, *args, **kwargs):
        if refusal := self.refused():
            return refusal
        before = (self.appointment.local_date, self.appointment.local_time, self.appointment.assigned_to_id)
        form = self.make_form(request.POST)
        if not form.is_valid():
            return self.render(form)
        with transaction.atomic():
            appointment = form.save()
        sync_worklist(appointment.pump)
        if (appointment.local_date, appointment.local_time, appointment.assigned_to_id) == before:
            messages.info(
                request,
                _("Date, time and member unchanged: the appointment stays on %(day)s at %(time)s.")
                % {"day": display.day(appointment.local_date), "time": f"{appointment.local_time:%H:%M}"},
            )
            return redirect(patient_page(self.patient))
        messages.success(
            request,
            _("Appointment moved to %(day)s at %(time)s.")
            % {"day": display.day(appointment.local_date), "time": f"{appointment.local_time:%H:%M}"},
        )
        return redirect(patient_page(self.patient))

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            appointment=self.appointment, proposal_text=getattr(self, "proposal_text", ""), **kwargs
        )


class AppointmentStatusView(ClinicAccessMixin, TemplateView):
    """POST: move a scheduled appointment to ``new_status``.

    With ``needs_confirmation`` the GET is a page that asks, and a POST without
    ``confirm=yes`` shows that page again and changes nothing.
    """

    role = Role.STAFF
    http_method_names = ["post"]
    template_name = "refills/events/appointment_status_confirm.html"
    new_status: str = ""
    done_message = ""
    needs_date_reached = True  # completed / no-show only once the day has come
    needs_confirmation = False
    # The confirmation page: heading, question, consequence, the confirming button.
    title = question = consequence = yes_label = ""

    def load_objects(self):
        self.appointment = self.get_scoped(
            Appointment.objects.select_related("patient__clinic", "assigned_to"), pk=self.kwargs["pk"]
        )

    def after_url(self) -> str:
        return safe_next(self.request, patient_page(self.appointment.patient))

    def back_url(self) -> str:
        """Where "Keep the appointment" leads: the page the user came from."""
        return safe_next(self.request, self.after_url(), name="back")

    def get(self, request, *args, **kwargs):
        problem = self.refusal(self.appointment)
        if problem:
            messages.error(request, problem)
            return redirect(self.back_url())
        return self.render_to_response(self.get_context_data())

    def post(self, request, *args, **kwargs):
        if self.needs_confirmation and request.POST.get("confirm") != "yes":
            return self.get(request, *args, **kwargs) if self.refusal(self.appointment) else self.ask_again()
        patient = self.appointment.patient
        with transaction.atomic():
            # Lock the row so two clicks cannot both move it out of "scheduled".
            appointment = Appointment.objects.select_for_update().get(pk=self.appointment.pk)
            appointment.patient = patient
            problem = self.refusal(appointment)
            if problem:
                messages.error(request, problem)
            else:
                services.set_appointment_status(appointment, self.new_status)
                messages.success(
                    request,
                    self.done_message
                    % {"kind": appointment.get_kind_display().lower(), "day": shown(appointment.local_date)},
                )
        if not problem:
            sync_worklist(appointment.pump)  # a cancelled booking opens its item again at once
        return redirect(self.after_url())

    def ask_again(self):
        """A POST without the confirmation (an old page, a stray form): ask, change nothing."""
        return self.render_to_response(self.get_context_data(unconfirmed=True))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        a = self.appointment
        words = {
            "kind": a.get_kind_display().lower(),
            "patient": f"{a.patient.full_name} (MRN {a.patient.mrn})",
            "day": shown(a.local_date),
            "time": f"{a.local_time:%H:%M}",
        }
        reminded = a.patient.reminders_opt_in and bool(a.patient.email) and a.local_date > self.today
        context.update(
            appointment=a,
            patient=a.patient,
            title=self.title,
            question=self.question % words,
            consequence=self.consequence_text(reminded),
            yes_label=self.yes_label,
            next_url=self.after_url(),
            back_url=self.back_url(),
        )
        return context

    def consequence_text(self, reminded: bool) -> str:
        return self.consequence

    def refusal(self, appointment) -> str | None:
        target = Appointment.Status(self.new_status).label.lower()
        if appointment.status != Appointment.Status.SCHEDULED:
            return _(
                "This appointment is already %(status)s; only a scheduled appointment can be marked %(target)s."
            ) % {
                "status": appointment.get_status_display().lower(),
                "target": target,
            }
        if self.needs_date_reached and appointment.local_date > self.today:
            return _("This appointment is on %(day)s: it cannot be marked %(target)s before that day.") % {
                "day": shown(appointment.local_date),
                "target": target,
            }
        return None


class AppointmentCancelView(AppointmentStatusView):
    """Cancel a scheduled appointment, after a confirmation page: it cannot be undone."""

    http_method_names = ["get", "post"]
    new_status = Appointment.Status.CANCELLED
    done_message = gettext_lazy("The %(kind)s appointment of %(day)s is cancelled.")
    needs_date_reached = False
    needs_confirmation = True
    title = gettext_lazy("Cancel appointment")
    question = gettext_lazy("Cancel the %(kind)s appointment of %(patient)s on %(day)s at %(time)s?")
    yes_label = gettext_lazy("Yes, cancel the appointment")

    def consequence_text(self, reminded: bool) -> str:
        if reminded:
            return _("This cannot be undone; the patient's reminder stops.")
        return _("This cannot be undone.")


class AppointmentCompleteView(AppointmentStatusView):
    new_status = Appointment.Status.COMPLETED
    done_message = gettext_lazy("The %(kind)s appointment of %(day)s is marked completed.")


class AppointmentNoShowView(AppointmentStatusView):
    """Record that the patient did not come, after a confirmation page: it cannot be undone."""

    http_method_names = ["get", "post"]
    new_status = Appointment.Status.NO_SHOW
    done_message = gettext_lazy("The %(kind)s appointment of %(day)s is marked no-show.")
    needs_confirmation = True
    title = gettext_lazy("Mark no-show")
    question = gettext_lazy(
        "Mark the %(kind)s appointment of %(patient)s on %(day)s at %(time)s as no-show (the patient did not come)?"
    )
    consequence = gettext_lazy(
        "This cannot be undone: the appointment is recorded as missed and no longer counts as a booking. "
        "Book a new date with the patient."
    )
    yes_label = gettext_lazy("Yes, mark no-show")


class AppointmentFilterForm(forms.Form):
    assigned = MemberChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=gettext_lazy("Anyone"),
        label=gettext_lazy("Assigned to"),
    )
    kind = forms.ChoiceField(
        choices=[("", gettext_lazy("Any"))] + Appointment.Kind.choices, required=False, label=gettext_lazy("Kind")
    )

    def __init__(self, *args, clinic, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned"].queryset = (
            get_user_model().objects.filter(memberships__clinic=clinic).order_by("last_name", "username")
        )


CSV_COLUMNS = ["date", "time", "kind", "mrn", "patient", "pump_serial", "assigned_to"]


def csv_cell(value) -> str:
    """Text a spreadsheet will not run as a formula (the one rule of every export)."""
    return spreadsheet_safe("" if value is None else str(value))


class AppointmentListView(ClinicAccessMixin, ListView):
    """Scheduled appointments of the clinic from today on, soonest first; CSV export."""

    role = Role.STAFF
    template_name = "refills/events/appointment_list.html"
    context_object_name = "appointments"
    paginate_by = 50

    def get_queryset(self):
        self.filters = AppointmentFilterForm(self.request.GET or None, clinic=self.clinic)
        chosen = {}
        if self.filters.is_bound:
            self.filters.is_valid()
            # Only the valid filters apply; a bad value is ignored rather than an error page.
            chosen = self.filters.cleaned_data
        queryset = self.scoped(
            Appointment.objects.filter(status=Appointment.Status.SCHEDULED, local_date__gte=self.today)
        )
        if chosen.get("assigned"):
            queryset = queryset.filter(assigned_to=chosen["assigned"])
        if chosen.get("kind"):
            queryset = queryset.filter(kind=chosen["kind"])
        return queryset.select_related("patient", "pump", "assigned_to").order_by("local_date", "local_time", "pk")

    def get(self, request, *args, **kwargs):
        if request.GET.get("format") == "csv":
            return self.export_csv()
        return super().get(request, *args, **kwargs)

    def export_csv(self):
        rows = list(self.get_queryset())
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="appointments-{self.clinic.slug}-{self.today}.csv"'
        writer = csv.writer(response)
        writer.writerow(CSV_COLUMNS)
        for a in rows:
            assigned = (a.assigned_to.get_full_name() or a.assigned_to.username) if a.assigned_to else ""
            cells = [a.local_date, f"{a.local_time:%H:%M}", a.kind, a.patient.mrn, a.patient.full_name]
            writer.writerow(csv_cell(v) for v in [*cells, a.pump.serial_number if a.pump else "", assigned])
        log_export(self.clinic, self.request.user, what="appointments", fmt="csv", rows=len(rows))
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["filters"] = self.filters
        context["table"] = AppointmentTable(
            context["appointments"],
            request=self.request,
            paginator=context["paginator"],
            today=self.today,
            filtered=self.filters.is_bound,
        )
        return context
