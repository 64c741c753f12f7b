"""Patient and pump pages: the patient page, add/edit patient, implant, edit, explant, wallet card."""

from datetime import date
from decimal import Decimal

from django.contrib import messages
from django.db import IntegrityError
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import FormView, ListView, TemplateView

from clinic import display
from clinic.access import ClinicAccessMixin, Role
from clinic.audit import log_export, patient_history
from patients.forms import ExplantForm, PatientForm, PumpForm
from patients.models import Patient, Pump
from records import pages as services
from refills import booking, dangers
from refills import services as refill_services
from refills.forms import RefillForm
from refills.models import Appointment, ProgramChange, Refill
from refills.services import current_program
from screening.implant import pump_create_route

AUDIT_ENTRIES_ON_PAGE = 5  # the latest changes; the rest on the history page (patient_history)
MAX_RESERVOIR_ML = Decimal(100)  # PumpForm's upper bound, for checking a fill against a pump not yet valid


class PatientMixin(ClinicAccessMixin):
    """A view about one patient of the clinic, from the URL's pk."""

    def load_objects(self):
        # The candidate card (screening) reads patient.candidate: joined here, not one more query.
        self.patient = self.get_scoped(Patient.objects.select_related("manager", "candidate"), pk=self.kwargs["pk"])

    def active_pump(self):
        """The patient's implanted pump annotated with its status today, or None."""
        return (
            self.scoped(Pump.objects.filter(patient=self.patient, status=Pump.Status.ACTIVE))
            .with_status(self.today)
            .select_related("model")
            .first()
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(patient=self.patient, **kwargs)


class PumpMixin(ClinicAccessMixin):
    """A view about one pump of the clinic, from the URL's pk."""

    def load_objects(self):
        self.pump = self.get_scoped(Pump.objects.select_related("model", "patient"), pk=self.kwargs["pk"])
        self.patient = self.pump.patient

    def get_context_data(self, **kwargs):
        return super().get_context_data(pump=self.pump, patient=self.patient, **kwargs)


def known_members(patient, refills, changes, appointments) -> set:
    """The members the patient page has already read (its manager, who performed, reviewed or
    is assigned), so that its audit entries naming them need no query of their own."""
    members = {patient.manager}
    for refill in refills:
        members.update((refill.performed_by, refill.reviewed_by))
    members.update(change.performed_by for change in changes)
    members.update(appointment.assigned_to for appointment in appointments)
    members.discard(None)
    return members


class PatientDetailView(PatientMixin, TemplateView):
    """Everything about one patient: details, pump, program, appointments, chart, timeline, audit."""

    template_name = "patients/detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Every pump of the patient in one query, with its status today: the implanted one (at
        # most one, a constraint) is the page's pump, the list and the audit table name them all.
        pumps = list(
            self.scoped(Pump.objects.filter(patient=self.patient))
            .with_status(self.today)
            .select_related("model")
            .order_by("-implant_date", "-pk")
        )
        for each in pumps:
            each.patient = self.patient  # already read (the danger banner reads its phone): no query
        pump = next((each for each in pumps if each.status == Pump.Status.ACTIVE), None)
        # Each table read once for the timeline, the program, the chart and the upcoming list:
        # the page runs the same queries for a patient with two fills or with forty.
        refills = list(Refill.objects.filter(pump__patient=self.patient).select_related("performed_by", "reviewed_by"))
        changes = list(ProgramChange.objects.filter(pump__patient=self.patient).select_related("performed_by"))
        appointments = list(self.patient.appointments.select_related("assigned_to", "pump"))
        upcoming = [a for a in appointments if a.status == Appointment.Status.SCHEDULED]
        context.update(
            pump=pump,
            pumps=pumps,
            risk_labels=services.risk_labels(self.patient),
            upcoming=upcoming,
            timeline=services.patient_timeline(self.patient, pumps, refills, changes, appointments),
            audit_entries=patient_history(self.clinic, self.patient)[:AUDIT_ENTRIES_ON_PAGE],
            # Rows already read that the audit entries' values may name: not read again.
            audit_known=[*pumps, *known_members(self.patient, refills, changes, appointments)],
        )
        if pump is not None:
            pump_refills = [r for r in refills if r.pump_id == pump.pk]
            pump_changes = [c for c in changes if c.pump_id == pump.pk]
            context.update(
                program=current_program(pump, pump_refills, pump_changes),
                review_flags=services.review_flags(pump_refills),
                chart=services.pump_chart(pump, self.today, pump_refills, pump_changes),
                stop_date=pump.stop_date_on(self.today),
                # The latest working day on or before refill due, not before today.
                book_date=booking.proposed_booking_date(pump.refill_due, self.today, self.clinic.working_days),
            )
        # What to do first, at the top of the page: an empty, alarming or overdue pump, a refill awaiting review.
        context["danger_banners"] = dangers.patient_banners(
            pump,
            refills,
            self.today,
            may_record=self.can_manage,
            booking_day=booking.first_working_day_from(self.today, self.clinic.working_days),
        )
        return context


class PatientHistoryView(PatientMixin, ListView):
    """The audit trail of one patient: details, pumps, fills and appointments."""

    template_name = "patients/history.html"
    context_object_name = "entries"
    paginate_by = 50

    def get_queryset(self):
        return patient_history(self.clinic, self.patient)


class ImplantFormsMixin:
    """A pump form (prefix "pump") with its first fill (prefix "fill"), all checked before any save."""

    def implant_forms(self, data=None, patient=None):
        pump_form = PumpForm(
            data,
            prefix="pump",
            clinic=self.clinic,
            today=self.today,
            patient=patient,
            initial={"implant_date": self.today},
        )
        fill_form = RefillForm(
            data,
            prefix="fill",
            pump=self.stand_in_pump(pump_form),
            today=self.today,
            initial_fill=True,
            initial={"performed_on": self.today, "bolus_allowance_mcg": 0},
        )
        # A new pump has nothing to remove and no previous concentration to bridge from.
        for field in ("volume_removed_ml", "bridge_bolus_confirmed"):
            del fill_form.fields[field]
        return pump_form, fill_form

    def stand_in_pump(self, pump_form) -> Pump:
        """The pump the first fill is checked against before anything is saved."""
        if pump_form.is_bound and pump_form.is_valid():
            pump_form.instance.clinic = self.clinic
            return pump_form.instance
        # No valid pump yet: check what can be judged now, the rest once the pump is fixed.
        cleaned = getattr(pump_form, "cleaned_data", {})
        reservoir = cleaned.get("reservoir_ml") if "reservoir_ml" not in pump_form.errors else None
        if reservoir is None or not 0 < reservoir <= MAX_RESERVOIR_ML:
            reservoir = MAX_RESERVOIR_ML
        return Pump(clinic=self.clinic, implant_date=cleaned.get("implant_date") or date.min, reservoir_ml=reservoir)

    def save_implant(self, patient_form, pump_form, fill_form):
        """Save everything in one transaction; None (with a form error) if the database refused."""
        try:
            return services.implant(patient_form, pump_form, fill_form, self.request.user)
        except IntegrityError:
            pump_form.add_error(
                None, _("Another record with this MRN or serial number was saved at the same time: please check.")
            )
            return None

    def saved_message(self, pump):
        due = display.day(pump.refill_due) if pump.refill_due else "-"
        messages.success(
            self.request,
            _("Pump %(serial)s implanted for %(mrn)s. Alarm date %(alarm)s, refill due %(due)s: book the next refill.")
            % {
                "serial": pump.serial_number,
                "mrn": pump.patient.mrn,
                "alarm": display.day(pump.alarm_date) or "-",
                "due": due,
            },
        )


class PatientCreateView(ImplantFormsMixin, ClinicAccessMixin, TemplateView):
    """Add a patient with an implanted pump and its first fill, all or nothing."""

    role = Role.MANAGER
    template_name = "patients/create.html"

    def get(self, request, *args, **kwargs):
        patient_form = PatientForm(prefix="patient", clinic=self.clinic, today=self.today)
        return self.render_to_response(self.get_context_data(patient_form=patient_form, **self.forms_context()))

    def forms_context(self, data=None):
        pump_form, fill_form = self.implant_forms(data)
        return {"pump_form": pump_form, "fill_form": fill_form}

    def post(self, request, *args, **kwargs):
        patient_form = PatientForm(request.POST, prefix="patient", clinic=self.clinic, today=self.today)
        forms = self.forms_context(request.POST)
        # Validate all three (no short-circuit) so every error shows at once.
        valid = [patient_form.is_valid(), forms["pump_form"].is_valid(), forms["fill_form"].is_valid()]
        if all(valid):
            pump = self.save_implant(patient_form, forms["pump_form"], forms["fill_form"])
            if pump is not None:
                self.saved_message(pump)
                for warning in patient_form.warnings.values():  # accepted, but needs attention
                    messages.warning(request, warning)
                return redirect("patient_detail", pk=pump.patient_id)
        messages.error(request, _("Nothing was saved: please correct the fields marked below."))
        return self.render_to_response(self.get_context_data(patient_form=patient_form, **forms))


class PumpCreateView(ImplantFormsMixin, PatientMixin, TemplateView):
    """Implant a new pump (with its first fill) for a patient whose previous pump was explanted."""

    role = Role.MANAGER
    template_name = "patients/pump_create.html"

    def refuse_if_implanted(self):
        if (route := pump_create_route(self.patient)) is not None:
            # An open candidate: the implant page (implant scheduled) or the candidate page, never past the pipeline.
            url, refusal = route
            if refusal:
                messages.error(self.request, refusal)
            return redirect(url)
        current = self.patient.pumps.filter(status=Pump.Status.ACTIVE).first()
        if current is None:
            return None
        messages.error(
            self.request,
            _("This patient still has pump %(serial)s implanted: explant it before implanting a new one.")
            % {"serial": current.serial_number},
        )
        return redirect("patient_detail", pk=self.patient.pk)

    def get(self, request, *args, **kwargs):
        refused = self.refuse_if_implanted()
        if refused:
            return refused
        pump_form, fill_form = self.implant_forms(patient=self.patient)
        return self.render_to_response(self.get_context_data(pump_form=pump_form, fill_form=fill_form))

    def post(self, request, *args, **kwargs):
        refused = self.refuse_if_implanted()
        if refused:
            return refused
        pump_form, fill_form = self.implant_forms(request.POST, patient=self.patient)
        if all([pump_form.is_valid(), fill_form.is_valid()]):
            pump = self.save_implant(None, pump_form, fill_form)
            if pump is not None:
                self.saved_message(pump)
                return redirect("patient_detail", pk=self.patient.pk)
        messages.error(request, _("Nothing was saved: please correct the fields marked below."))
        return self.render_to_response(self.get_context_data(pump_form=pump_form, fill_form=fill_form))


class PatientEditView(PatientMixin, FormView):
    role = Role.MANAGER
    template_name = "patients/edit.html"
    form_class = PatientForm

    def get_form_kwargs(self):
        # A fresh copy, so a rejected edit never shows half-changed values elsewhere on the page.
        instance = Patient.objects.get(pk=self.patient.pk)
        return {**super().get_form_kwargs(), "clinic": self.clinic, "today": self.today, "instance": instance}

    def form_valid(self, form):
        form.save()
        messages.success(self.request, _("Patient %(mrn)s saved.") % {"mrn": form.instance.mrn})
        for warning in form.warnings.values():  # accepted, but needs attention
            messages.warning(self.request, warning)
        return redirect("patient_detail", pk=self.patient.pk)


class PumpEditView(PumpMixin, FormView):
    """Edit a pump (alarm volume, ERI date, ...); saving recomputes its stored schedule."""

    role = Role.MANAGER
    template_name = "patients/pump_edit.html"
    form_class = PumpForm

    def get_form_kwargs(self):
        instance = Pump.objects.select_related("model", "clinic").get(pk=self.pump.pk)
        return {
            **super().get_form_kwargs(),
            "clinic": self.clinic,
            "today": self.today,
            "instance": instance,
            "patient": self.patient,
        }

    def form_valid(self, form):
        # Through the service: the pump is saved with its alarm, empty, refill due and replacement dates.
        pump = refill_services.edit_pump(form.save(commit=False))
        services.sync_worklist(pump)
        messages.success(
            self.request,
            _("Pump %(serial)s saved. Alarm date %(alarm)s, refill due %(due)s.")
            % {
                "serial": pump.serial_number,
                "alarm": display.day(pump.alarm_date) or "-",
                "due": display.day(pump.refill_due) or "-",
            },
        )
        return redirect("patient_detail", pk=self.patient.pk)


class PumpExplantView(PumpMixin, FormView):
    """Confirm the explant date; the pump leaves the caseload and its bookings are cancelled."""

    role = Role.MANAGER
    template_name = "patients/pump_explant.html"
    form_class = ExplantForm

    def get(self, request, *args, **kwargs):
        if self.pump.status == Pump.Status.EXPLANTED:
            return self.already_explanted()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if self.pump.status == Pump.Status.EXPLANTED:
            return self.already_explanted()
        return super().post(request, *args, **kwargs)

    def already_explanted(self):
        messages.info(
            self.request,
            _("Pump %(serial)s was already explanted on %(day)s.")
            % {"serial": self.pump.serial_number, "day": display.day(self.pump.explant_date)},
        )
        return redirect("patient_detail", pk=self.patient.pk)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "pump": self.pump, "today": self.today}

    def get_initial(self):
        return {"explant_date": self.today}

    def get_context_data(self, **kwargs):
        scheduled = self.pump.appointments.filter(status=Appointment.Status.SCHEDULED)
        return super().get_context_data(scheduled=scheduled, **kwargs)

    def form_valid(self, form):
        day = form.cleaned_data["explant_date"]
        cancelled = services.explant(self.pump, day)
        services.sync_worklist(self.pump)  # an explanted pump's items resolve at once
        messages.success(
            self.request,
            _("Pump %(serial)s explanted on %(day)s; %(n)d scheduled appointment(s) cancelled.")
            % {"serial": self.pump.serial_number, "day": display.day(day), "n": cancelled},
        )
        return redirect("patient_detail", pk=self.patient.pk)


class WalletCardView(PatientMixin, TemplateView):
    """A printable, card-sized summary for the patient to carry; viewing it is logged as an export."""

    template_name = "patients/wallet_card.html"

    def get(self, request, *args, **kwargs):
        self.pump = self.active_pump()
        if self.pump is not None:  # without a pump the page says so and shows no card: nothing exported
            log_export(self.clinic, request.user, what="wallet card", fmt="html", rows=1, patient=self.patient)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        pump = self.pump
        return super().get_context_data(
            pump=pump, program=current_program(pump) if pump is not None else None, **kwargs
        )
