"""Forms for fill events (refill, program change) and appointments.

Refills and program changes are previewed before saving: the view validates with the
form, computes the new dates with refills.preview from the cleaned values, and saves
only on "Save" with every confirmation ticked. Appointment status changes are POST-only.
"""

import csv
from datetime import date, time, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import ListView, TemplateView

from clinic.access import ClinicAccessMixin, Role
from clinic.audit import log_export
from patients.models import Patient, Pump
from refills import preview
from refills.forms import AppointmentForm, ProgramChangeForm, RefillForm
from refills.labels import STATUS_LABELS
from refills.models import Appointment
from refills.services import current_cycle, current_program

# Confirmation checkbox -> the field whose error asks for it.
CONFIRMATIONS = {
    "compounded": "concentration_mcg_ml",
    "confirm_unusual_dose": "daily_dose_mcg",
    "bridge_bolus_confirmed": "bridge_bolus_confirmed",
}
DEFAULT_APPOINTMENT_TIME = time(9, 0)
MAX_BOOKING_DAYS = 730  # AppointmentForm refuses dates further ahead


def patient_page(patient) -> str:
    """The patient's page, or the home page while that page does not exist yet."""
    try:
        return reverse("patient_detail", kwargs={"pk": patient.pk})
    except NoReverseMatch:
        return reverse("home")


def booking_url(patient, kind: str, day: date | None) -> str:
    query = {"kind": kind, **({"date": day.isoformat()} if day else {})}
    return f"{reverse('appointment_create', kwargs={'pk': patient.pk})}?{urlencode(query)}"


def validate_with_confirmations(make_form, data):
    """Validate, and tell missing confirmations apart from real errors.

    Returns (form, valid, cleaned, needed): ``cleaned`` is the data as it would be with
    every confirmation ticked (None if other errors remain), for the preview; ``needed``
    lists (checkbox, messages). Each confirmation message is moved onto its checkbox.
    """
    form = make_form(data)
    if form.is_valid():
        return form, True, form.cleaned_data, []
    boxes = [box for box in CONFIRMATIONS if box in form.fields]
    ticked_data = data.copy()
    for box in boxes:
        ticked_data[box] = "on"
    ticked = make_form(ticked_data)
    cleaned = ticked.cleaned_data if ticked.is_valid() else None
    needed = []
    for box in boxes:
        source = CONFIRMATIONS[box]
        if source in form.errors and source not in ticked.errors:
            errors = form.errors.pop(source)
            form.errors.setdefault(box, form.error_class()).extend(errors)
            needed.append((form[box], list(errors)))
    return form, False, cleaned, needed


def place_confirmations(form) -> None:
    """Put each confirmation checkbox right after the field it confirms."""
    order = []
    for name in form.fields:
        if name in CONFIRMATIONS and CONFIRMATIONS[name] != name:
            continue
        order.append(name)
        order.extend(box for box, source in CONFIRMATIONS.items() if source == name and box in form.fields)
    form.order_fields(order)


class PumpEventView(ClinicAccessMixin, TemplateView):
    """Shared flow of a fill event form on one pump: GET, preview, save."""

    role = Role.MANAGER
    form_class = None

    def load_objects(self):
        self.pump = self.get_scoped(Pump.objects.select_related("patient", "model", "clinic"), pk=self.kwargs["pk"])

    @cached_property
    def program(self) -> dict | None:
        return current_program(self.pump)

    def refused(self):
        if self.pump.status != Pump.Status.ACTIVE:
            messages.error(self.request, _("This pump is explanted: no fill events can be recorded on it."))
            return redirect(patient_page(self.pump.patient))
        return None

    def form_kwargs(self) -> dict:
        return {"pump": self.pump, "today": self.today}

    def make_form(self, data=None, initial=None):
        form = self.form_class(data, initial=initial, **self.form_kwargs())
        place_confirmations(form)
        return form

    def get(self, request, *args, **kwargs):
        return self.refused() or self.render(self.make_form(initial=self.initial_values()))

    def post(self, request, *args, **kwargs):
        if refusal := self.refused():
            return refusal
        form, valid, cleaned, needed = validate_with_confirmations(self.make_form, request.POST)
        if valid and request.POST.get("action") != "preview":
            try:
                with transaction.atomic():
                    form.instance.performed_by = request.user
                    event = form.save()
            except IntegrityError:
                form.add_error("performed_on", _("Another event was saved for this date meanwhile; check the dates."))
            else:
                self.saved_messages(event)
                return redirect(patient_page(self.pump.patient))
        try:
            result = self.compute_preview(cleaned) if cleaned is not None else None
        except (ValueError, ArithmeticError):
            result = None  # the form already names what is wrong
        return self.render(form, preview=result, needed=needed, previewed=True)

    def render(self, form, **extra):
        return self.render_to_response(self.get_context_data(form=form, **extra))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            pump=self.pump,
            patient=self.pump.patient,
            program=self.program,
            patient_url=patient_page(self.pump.patient),
        )
        return context


class RefillCreateView(PumpEventView):
    template_name = "refills/events/refill_form.html"
    form_class = RefillForm

    def load_objects(self):
        super().load_objects()
        self.initial_fill = not self.pump.refills.exists()

    def form_kwargs(self) -> dict:
        return {**super().form_kwargs(), "initial_fill": self.initial_fill}

    @cached_property
    def previous_cycle(self):
        # The form refuses dates before the latest fill or program change, so the
        # current cycle is the one running on the refill date.
        return None if self.initial_fill else current_cycle(self.pump)[1]

    def initial_values(self) -> dict:
        initial = {"performed_on": self.today, "volume_after_ml": self.pump.reservoir_ml}
        expected = preview.expected_residual_ml(self.previous_cycle, self.today)
        if expected is not None:
            initial["volume_removed_ml"] = expected
        program = self.program
        if program is not None:
            initial.update({key: program[key] for key in program if key != "since"})
        return initial

    def compute_preview(self, cleaned):
        return preview.preview_refill(cleaned, self.previous_cycle, preview.ScheduleSettings.of(self.pump))

    def saved_messages(self, refill) -> None:
        due = self.pump.refill_due
        messages.success(
            self.request,
            format_html(
                'Refill of {} saved. Next refill due {}. <a href="{}">Book the next refill</a>',
                self.pump.serial_number,
                due.isoformat() if due else "-",
                booking_url(self.pump.patient, Appointment.Kind.REFILL, due),
            ),
        )
        if refill.needs_review:
            messages.warning(
                self.request,
                _("The residual differs from the expected %(e)s mL by %(d)s mL: the refill is on the review list.")
                % {"e": refill.expected_residual_ml, "d": refill.residual_discrepancy_ml},
            )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["initial_fill"] = self.initial_fill
        context["expected_today"] = preview.expected_residual_ml(self.previous_cycle, self.today)
        return context


class ProgramChangeCreateView(PumpEventView):
    template_name = "refills/events/program_change_form.html"
    form_class = ProgramChangeForm

    def initial_values(self) -> dict:
        initial = {"performed_on": self.today}
        program = self.program
        if program is not None:
            initial.update({key: program[key] for key in ("daily_dose_mcg", "bolus_allowance_mcg", "dosing_mode")})
        return initial

    def compute_preview(self, cleaned):
        refill, _cycle = current_cycle(self.pump)
        if refill is None:
            return None
        fill = preview.FillProgram(
            refill.performed_on,
            refill.volume_after_ml,
            refill.concentration_mcg_ml,
            refill.daily_dose_mcg,
            refill.bolus_allowance_mcg,
        )
        existing = [
            preview.DoseChange(c.performed_on, c.daily_dose_mcg, c.bolus_allowance_mcg)
            for c in self.pump.program_changes.filter(performed_on__gt=refill.performed_on).order_by(
                "performed_on", "id"
            )
        ]
        return preview.preview_program_change(fill, existing, cleaned, preview.ScheduleSettings.of(self.pump))

    def saved_messages(self, change) -> None:
        messages.success(
            self.request,
            _("Program change saved. Alarm date %(alarm)s, refill due %(due)s.")
            % {"alarm": self.pump.alarm_date, "due": self.pump.refill_due},
        )


# Appointments


def query_date(value) -> date | None:
    """A YYYY-MM-DD query value, or None for anything else."""
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def safe_next(request, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


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
        return AppointmentForm(data, initial=initial, patient=self.patient, today=self.today)

    def initial_values(self) -> dict:
        kind = self.request.GET.get("kind")
        if kind not in Appointment.Kind.values:
            kind = Appointment.Kind.REFILL
        day = query_date(self.request.GET.get("date"))
        if day is None or day > self.today + timedelta(days=MAX_BOOKING_DAYS):
            pump = self.patient.pumps.filter(status=Pump.Status.ACTIVE).first()
            due = pump.refill_due if pump is not None and kind == Appointment.Kind.REFILL else None
            day = due or self.today
        day = max(day, self.today)  # an overdue refill is booked from today on
        return {
            "kind": kind,
            "local_date": day,
            "local_time": DEFAULT_APPOINTMENT_TIME,
            "assigned_to": self.patient.manager_id,
        }

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
        messages.success(
            request,
            _("%(kind)s appointment booked for %(day)s at %(time)s.")
            % {
                "kind": appointment.get_kind_display(),
                "day": appointment.local_date,
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
                _("This is after the refill due date (%(due)s): the refill is booked late.") % {"due": pump.refill_due},
            )
        return redirect(patient_page(self.patient))


class AppointmentEditView(AppointmentFormView):
    """Reschedule a scheduled appointment: date, time, assigned member, notes."""

    def load_objects(self):
        self.appointment = self.get_scoped(Appointment.objects.select_related("patient__clinic"), pk=self.kwargs["pk"])
        self.patient = self.appointment.patient

    def make_form(self, data=None):
        form = AppointmentForm(data, instance=self.appointment, patient=self.patient, today=self.today)
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

    def get(self, request, *args, **kwargs):
        return self.refused() or self.render(self.make_form())

    def post(self, request, *args, **kwargs):
        if refusal := self.refused():
            return refusal
        form = self.make_form(request.POST)
        if not form.is_valid():
            return self.render(form)
        with transaction.atomic():
            appointment = form.save()
        messages.success(
            request,
            _("Appointment moved to %(day)s at %(time)s.")
            % {"day": appointment.local_date, "time": f"{appointment.local_time:%H:%M}"},
        )
        return redirect(patient_page(self.patient))

    def get_context_data(self, **kwargs):
        return super().get_context_data(appointment=self.appointment, **kwargs)


class AppointmentStatusView(ClinicAccessMixin, View):
    """POST: move a scheduled appointment to ``new_status``."""

    role = Role.STAFF
    new_status: str = ""
    done_message = ""
    needs_date_reached = True  # completed / no-show only once the day has come

    def load_objects(self):
        self.appointment = self.get_scoped(Appointment.objects.select_related("patient__clinic"), pk=self.kwargs["pk"])

    def post(self, request, *args, **kwargs):
        patient = self.appointment.patient
        with transaction.atomic():
            # Lock the row so two clicks cannot both move it out of "scheduled".
            appointment = Appointment.objects.select_for_update().get(pk=self.appointment.pk)
            appointment.patient = patient
            problem = self.refusal(appointment)
            if problem:
                messages.error(request, problem)
            else:
                appointment.status = self.new_status
                appointment.save(update_fields=["status", "updated_at"])
                messages.success(request, self.done_message % {"day": appointment.local_date})
        return redirect(safe_next(request, patient_page(patient)))

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
                "day": appointment.local_date,
                "target": target,
            }
        return None


class AppointmentCancelView(AppointmentStatusView):
    new_status = Appointment.Status.CANCELLED
    done_message = gettext_lazy("The appointment of %(day)s is cancelled.")
    needs_date_reached = False


class AppointmentCompleteView(AppointmentStatusView):
    new_status = Appointment.Status.COMPLETED
    done_message = gettext_lazy("The appointment of %(day)s is marked completed.")


class AppointmentNoShowView(AppointmentStatusView):
    new_status = Appointment.Status.NO_SHOW
    done_message = gettext_lazy("The appointment of %(day)s is marked no-show.")


class AppointmentFilterForm(forms.Form):
    assigned = forms.ModelChoiceField(
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
    """Text a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


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
        for appointment in context["appointments"]:
            appointment.patient_url = patient_page(appointment.patient)
        context["filters"] = self.filters
        return context
