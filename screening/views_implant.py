"""The implant pages of a candidate: book the implant, then record it with the proposed dose."""

from datetime import time, timedelta

from django.contrib import messages
from django.db import IntegrityError
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from clinic import display
from clinic.access import ClinicAccessMixin, Role
from refills import booking
from scheduling import week as scheduling_week
from screening import implant
from screening.models import Candidate
from screening.services import StageMoveRefused

DEFAULT_IMPLANT_TIME = "08:30"


def candidate_page(candidate: Candidate) -> str:
    """The candidate's page (the screening app's), else the patient's."""
    try:
        return reverse("candidate_detail", kwargs={"pk": candidate.pk})
    except NoReverseMatch:
        return reverse("patient_detail", kwargs={"pk": candidate.patient_id})


class CandidateMixin(ClinicAccessMixin):
    role = Role.MANAGER

    def load_objects(self):
        self.candidate = self.get_scoped(
            Candidate.objects.select_related("patient", "clinic", "clinician"), pk=self.kwargs["pk"]
        )
        self.patient = self.candidate.patient

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            candidate=self.candidate,
            patient=self.patient,
            candidate_url=candidate_page(self.candidate),
            **kwargs,
        )

    def refuse(self, reason: str):
        messages.error(self.request, reason)
        return redirect(candidate_page(self.candidate))


class ImplantBookView(CandidateMixin, TemplateView):
    """Book the implant appointment of a responder; the candidate moves to "implant scheduled".
    Staff may book it (SPEC 6: staff book appointments); recording the implant is a manager's."""

    role = Role.STAFF
    template_name = "screening/implant_book.html"

    def make_form(self, data=None, initial=None):
        # As every booking page: a non-working day or an absent member needs a tick naming it.
        return implant.ImplantAppointmentForm(
            data,
            initial=initial,
            patient=self.patient,
            today=self.today,
            check_working_day=True,
            booking_check=scheduling_week.booking_check(self.clinic, self.today),
        )

    def get(self, request, *args, **kwargs):
        if reason := implant.why_not_schedule(self.candidate):
            return self.refuse(reason)
        # Never a time already past: after today's default time, from tomorrow.
        now = timezone.localtime(timezone=self.clinic.zone)
        start = self.today
        if now.date() == self.today and now.time() >= time.fromisoformat(DEFAULT_IMPLANT_TIME):
            start = self.today + timedelta(days=1)
        initial = {
            "local_date": booking.first_working_day_from(start, self.clinic.working_days),
            "local_time": DEFAULT_IMPLANT_TIME,
            "assigned_to": self.candidate.clinician_id,
        }
        return self.render_to_response(self.get_context_data(form=self.make_form(initial=initial)))

    def post(self, request, *args, **kwargs):
        if reason := implant.why_not_schedule(self.candidate):
            return self.refuse(reason)
        form = self.make_form(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        try:
            appointment = implant.schedule_implant(self.candidate, form, by=request.user, on=self.today)
        except StageMoveRefused as refusal:
            form.add_error(None, str(refusal))
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(
            request,
            _("Implant booked for %(day)s at %(time)s; the candidate is now at the stage 'implant scheduled'.")
            % {"day": display.day(appointment.local_date), "time": f"{appointment.local_time:%H:%M}"},
        )
        return redirect(candidate_page(self.candidate))

    def get_context_data(self, **kwargs):
        return super().get_context_data(proposal=implant.proposal(self.candidate), **kwargs)


class ImplantView(CandidateMixin, TemplateView):
    """The implant form of the pump create page, pre-filled from the candidate with the proposed
    starting dose, which the clinician confirms; saving makes the candidate a pump patient."""

    template_name = "screening/implant.html"

    def forms(self, data=None):
        self.the_proposal = implant.proposal(self.candidate)
        self.appointment = implant.implant_appointment(self.candidate)
        return implant.implant_forms(
            self.candidate, today=self.today, data=data, the_proposal=self.the_proposal, appointment=self.appointment
        )

    def get(self, request, *args, **kwargs):
        if reason := implant.why_not_implant(self.candidate):
            return self.refuse(reason)
        pump_form, fill_form, confirm_form = self.forms()
        return self.render(pump_form, fill_form, confirm_form)

    def post(self, request, *args, **kwargs):
        if reason := implant.why_not_implant(self.candidate):
            return self.refuse(reason)
        pump_form, fill_form, confirm_form = self.forms(request.POST)
        # Validate all three (no short-circuit) so every error shows at once.
        valid = [pump_form.is_valid(), fill_form.is_valid(), confirm_form.is_valid()]
        implant.check_implant_date(self.candidate, pump_form)
        if all(valid) and pump_form.is_valid():
            try:
                pump = implant.implant_from_candidate(
                    self.candidate, pump_form, fill_form, self.the_proposal, by=request.user
                )
            except IntegrityError:
                pump_form.add_error(
                    None,
                    _(
                        "Another pump was saved at the same time (this serial number, or a pump for this patient): "
                        "nothing was saved, please check."
                    ),
                )
            except StageMoveRefused as refusal:
                pump_form.add_error(None, str(refusal))
            else:
                messages.success(
                    request,
                    _(
                        "Pump %(serial)s implanted for %(mrn)s with a starting dose of %(dose)s mcg/day; "
                        "the candidate is now a pump patient. Refill due %(due)s: book the next refill."
                    )
                    % {
                        "serial": pump.serial_number,
                        "mrn": self.patient.mrn,
                        "dose": display.qty(fill_form.instance.daily_dose_mcg),
                        "due": display.day(pump.refill_due) or "-",
                    },
                )
                if pump.implant_booking and pump.implant_booking[1] == "cancelled":
                    messages.info(
                        request,
                        _("The implant booked for %(day)s was cancelled: the implant was recorded on %(implant)s.")
                        % {
                            "day": display.day(pump.implant_booking[0].local_date),
                            "implant": display.day(pump.implant_date),
                        },
                    )
                return redirect("patient_detail", pk=self.patient.pk)
        return self.render(pump_form, fill_form, confirm_form)

    def render(self, pump_form, fill_form, confirm_form):
        return self.render_to_response(
            self.get_context_data(
                pump_form=pump_form,
                fill_form=fill_form,
                confirm_form=confirm_form,
                proposal=self.the_proposal,
                appointment=self.appointment,
                booked_later=self.appointment is not None and self.appointment.local_date > self.today,
            )
        )
