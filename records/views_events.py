"""Forms for fill events (refill, program change).

Refills and program changes are previewed before saving: the view validates with the
form, computes the new dates with refills.preview from the cleaned values, and saves
only on "Save" with every confirmation ticked. Appointment status changes are POST-only.
"""

from datetime import date, time
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import dateformat
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from clinic import display
from clinic.access import ClinicAccessMixin, Role
from patients.models import Pump
from records.pages import sync_worklist
from refills import preview
from refills.forms import ProgramChangeForm, RefillForm, plain
from refills.models import Appointment, DosingMode
from refills.services import current_cycle, current_program, scheduled_refills

# Confirmation checkbox -> the field whose error asks for it.
CONFIRMATIONS = {
    "compounded": "concentration_mcg_ml",
    "confirm_unusual_dose": "daily_dose_mcg",
    "bridge_bolus_confirmed": "bridge_bolus_confirmed",
    "confirm_volume_difference": "volume_after_ml",
    "confirm_past_due": "performed_on",
}
DEFAULT_APPOINTMENT_TIME = time(9, 0)


def patient_page(patient) -> str:
    """The patient's page."""
    return reverse("patient_detail", kwargs={"pk": patient.pk})


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


def trimmed(value):
    """A stored Decimal as it is typed, without trailing zeros (20.00 -> 20), for a form's
    starting values; anything else as it is."""
    if not isinstance(value, Decimal):
        return value
    value = value.normalize()
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


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
        if initial:
            initial = {key: trimmed(value) for key, value in initial.items()}
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
                sync_worklist(self.pump)  # a flagged or empty pump is on the worklist at once
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
            program_mode=dict(DosingMode.choices).get(self.program["dosing_mode"], "") if self.program else "",
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
        # Never the volume removed: it is measured, and a projection standing in for it
        # would make every discrepancy zero (SPEC section 4). It is shown as a hint instead.
        initial = {"performed_on": self.today, "volume_after_ml": self.pump.reservoir_ml}
        program = self.program
        if program is not None:
            initial.update({key: program[key] for key in program if key != "since"})
        return initial

    def render(self, form, **extra):
        self.describe_residual(form)
        return super().render(form, **extra)

    def describe_residual(self, form) -> None:
        """The expected residual on the chosen date, as the hint beside the volume removed."""
        if "volume_removed_ml" not in form.fields:
            return
        if self.initial_fill:
            hint = _("First fill of this pump: nothing to remove, leave it empty.")
        else:
            day = getattr(form, "cleaned_data", {}).get("performed_on") or self.today
            expected = preview.expected_residual_ml(self.previous_cycle, day)
            if expected is None:
                return
            hint = _("Expected about %(ml)s mL on %(day)s — measure and enter what you removed.") % {
                "ml": plain(expected),
                "day": dateformat.format(day, "D j M Y"),
            }
        # The bound field copies the help text when first built (validation builds it).
        form.fields["volume_removed_ml"].help_text = hint
        form["volume_removed_ml"].help_text = hint

    def compute_preview(self, cleaned):
        return preview.preview_refill(cleaned, self.previous_cycle, preview.ScheduleSettings.of(self.pump))

    def saved_messages(self, refill) -> None:
        due = self.pump.refill_due
        messages.success(
            self.request,
            format_html(
                'Refill of {} saved. Next refill due {}. <a href="{}">Book the next refill</a>',
                self.pump.serial_number,
                display.day(due) if due else "-",
                booking_url(self.pump.patient, Appointment.Kind.REFILL, due),
            ),
        )
        self.still_booked_message(refill)
        if refill.needs_review:
            messages.warning(
                self.request,
                _("The residual differs from the expected %(e)s mL by %(d)s mL: the refill is on the review list.")
                % {
                    "e": display.qty(refill.expected_residual_ml),
                    "d": display.signed_qty(refill.residual_discrepancy_ml),
                },
            )

    def still_booked_message(self, refill) -> None:
        """A refill visit still booked for this pump counts as the next refill's booking (the
        earliest scheduled refill books the pump), though it was most likely for the refill
        just recorded: say so, what to do with it (cancel it, or mark it completed on its
        day, as its row offers), and only then book the next refill."""
        visits = list(scheduled_refills().filter(pump=self.pump).order_by("local_date", "local_time"))
        if not visits:
            return
        when = ", ".join(f"{display.day(visit.local_date)} at {visit.local_time:%H:%M}" for visit in visits)
        if len(visits) == 1:
            text = (
                "A refill visit is still booked for this pump: {}. If it was for the refill just recorded, cancel "
                'it under <a href="{}#h-upcoming">Upcoming appointments</a> (or mark it Completed on its day), '
                "then book the next refill: while it stays booked, the pump counts as booked for its next refill."
            )
        else:
            text = (
                "{} refill visits are still booked for this pump: {}. If they were for the refill just recorded, "
                'cancel them under <a href="{}#h-upcoming">Upcoming appointments</a> (or mark them Completed on '
                "their day), then book the next refill: while one stays booked, the pump counts as booked for its "
                "next refill."
            )
        args = (when,) if len(visits) == 1 else (len(visits), when)
        messages.warning(self.request, format_html(text, *args, patient_page(self.pump.patient)))

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
        changes = self.pump.program_changes.filter(performed_on__gt=refill.performed_on).order_by("performed_on", "id")
        existing = [preview.DoseChange.of(change) for change in changes]
        return preview.preview_program_change(
            preview.FillProgram.of(refill), existing, cleaned, preview.ScheduleSettings.of(self.pump)
        )

    def saved_messages(self, change) -> None:
        messages.success(
            self.request,
            _("Program change saved. Alarm date %(alarm)s, refill due %(due)s.")
            % {"alarm": display.day(self.pump.alarm_date) or "-", "due": display.day(self.pump.refill_due) or "-"},
        )
