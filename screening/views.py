"""Candidate pages: add (a new patient, or one of the clinic's patients without a pump), the
candidate page, edit, and moving through the stages of the pipeline (SPEC 10)."""

from django.contrib import messages
from django.db import IntegrityError
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from clinic import display
from clinic.access import ClinicAccessMixin, Role
from patients.models import Patient
from screening import engine, services, summary
from screening.forms import CandidateForm, CandidatePatientForm, StageMoveForm
from screening.models import Candidate, Stage


class CandidateMixin(ClinicAccessMixin):
    """A view about one candidate of the clinic, from the URL's pk (another clinic's: 404)."""

    def load_objects(self):
        self.candidate = self.get_scoped(Candidate.objects.select_related("patient", "clinician"), pk=self.kwargs["pk"])
        self.patient = self.candidate.patient

    def get_context_data(self, **kwargs):
        return super().get_context_data(candidate=self.candidate, patient=self.patient, **kwargs)


class CandidateCreateView(ClinicAccessMixin, TemplateView):
    """A new patient referred for ITB: the patient and the candidate in one transaction."""

    role = Role.MANAGER
    template_name = "screening/candidate_form.html"

    def forms(self, data=None):
        return (
            CandidatePatientForm(data, prefix="patient", clinic=self.clinic, today=self.today),
            CandidateForm(
                data, prefix="candidate", clinic=self.clinic, today=self.today, initial={"referral_date": self.today}
            ),
        )

    def get(self, request, *args, **kwargs):
        patient_form, form = self.forms()
        return self.render_to_response(self.get_context_data(patient_form=patient_form, form=form))

    def post(self, request, *args, **kwargs):
        patient_form, form = self.forms(request.POST)
        if all([patient_form.is_valid(), form.is_valid()]):  # both checked: every error at once
            try:
                candidate = services.add_candidate(form, patient_form=patient_form, by=request.user, on=self.today)
            except IntegrityError:
                patient_form.add_error(
                    "mrn", _("Another patient with this MRN was saved at the same time: please check.")
                )
            else:
                messages.success(
                    request,
                    _("Candidate %(mrn)s added, referred on %(date)s.")
                    % {"mrn": candidate.patient.mrn, "date": display.day(candidate.referral_date)},
                )
                return redirect("candidate_detail", pk=candidate.pk)
        return self.render_to_response(self.get_context_data(patient_form=patient_form, form=form))


class CandidateFromPatientView(ClinicAccessMixin, TemplateView):
    """One of the clinic's patients without a pump becomes a candidate."""

    role = Role.MANAGER
    template_name = "screening/candidate_form.html"

    def load_objects(self):
        self.patient = self.get_scoped(Patient, pk=self.kwargs["pk"])

    def refused(self):
        if services.may_become_candidate(self.patient):
            return None
        existing = Candidate.objects.filter(patient=self.patient).first()
        if existing is not None:
            messages.info(self.request, _("This patient is already a candidate."))
            return redirect("candidate_detail", pk=existing.pk)
        messages.error(
            self.request, _("This patient has an implanted pump: only a patient without a pump can be a candidate.")
        )
        return redirect("patient_detail", pk=self.patient.pk)

    def form(self, data=None):
        return CandidateForm(
            data, prefix="candidate", clinic=self.clinic, today=self.today, initial={"referral_date": self.today}
        )

    def get(self, request, *args, **kwargs):
        return self.refused() or self.render_to_response(self.get_context_data(patient=self.patient, form=self.form()))

    def post(self, request, *args, **kwargs):
        refused = self.refused()
        if refused:
            return refused
        form = self.form(request.POST)
        if form.is_valid():
            try:
                candidate = services.add_candidate(form, patient=self.patient, by=request.user, on=self.today)
            except IntegrityError:
                form.add_error(None, _("This patient was made a candidate at the same time: please check."))
            else:
                messages.success(
                    request,
                    _("%(mrn)s is now a candidate, referred on %(date)s.")
                    % {"mrn": self.patient.mrn, "date": display.day(candidate.referral_date)},
                )
                return redirect("candidate_detail", pk=candidate.pk)
        return self.render_to_response(self.get_context_data(patient=self.patient, form=form))


class CandidateDetailView(CandidateMixin, TemplateView):
    """The candidate's referral, stage and its history, trials (the implant section, with the
    starting-dose proposal, is the implant's template tag)."""

    template_name = "screening/candidate_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        trials = list(self.candidate.trials.all())
        engine_trials = [t.as_engine_trial() for t in trials]
        context.update(
            moves=list(self.candidate.moves.select_related("moved_by")),
            trials=[summary.trial_row(t, e) for t, e in zip(trials, engine_trials, strict=True)],
            allowed_moves=services.allowed_moves(self.candidate),
            may_record_trial=self.candidate.stage not in (Stage.CLOSED, Stage.IMPLANTED),
            days_in_stage=engine.days_waiting(self.candidate.stage_date, self.today),
            days_since_referral=engine.days_waiting(self.candidate.referral_date, self.today),
        )
        return context


class CandidateEditView(CandidateMixin, TemplateView):
    role = Role.MANAGER
    template_name = "screening/candidate_form.html"

    def form(self, data=None):
        # A fresh copy, so a refused edit never shows half-changed values elsewhere on the page.
        instance = Candidate.objects.get(pk=self.candidate.pk)
        return CandidateForm(data, prefix="candidate", clinic=self.clinic, today=self.today, instance=instance)

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=self.form(), editing=True))

    def post(self, request, *args, **kwargs):
        form = self.form(request.POST)
        if form.is_valid():
            form.save()
            messages.success(request, _("Candidate %(mrn)s saved.") % {"mrn": self.patient.mrn})
            return redirect("candidate_detail", pk=self.candidate.pk)
        return self.render_to_response(self.get_context_data(form=form, editing=True))


class StageMoveView(CandidateMixin, TemplateView):
    """Move a candidate to the next stage, one back, or close it with a reason (audited)."""

    role = Role.MANAGER
    template_name = "screening/candidate_move.html"

    def form(self, data=None):
        allowed = services.allowed_moves(self.candidate)
        return StageMoveForm(
            data,
            candidate=self.candidate,
            allowed=allowed,
            today=self.today,
            scheduled_implants=services.scheduled_implants(self.candidate),
        )

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=self.form()))

    def post(self, request, *args, **kwargs):
        form = self.form(request.POST)
        if form.is_valid():
            try:
                move = services.move_stage(
                    self.candidate,
                    form.cleaned_data["stage"],
                    on=form.cleaned_data["date"],
                    by=request.user,
                    closed_reason=form.cleaned_data["closed_reason"],
                    note=form.cleaned_data["note"],
                )
            except services.StageMoveRefused as refused:
                form.add_error("stage", str(refused))  # moved by someone else meanwhile
            else:
                text = _("%(mrn)s moved to %(stage)s on %(date)s.") % {
                    "mrn": self.patient.mrn,
                    "stage": Stage(move.stage).label.lower(),
                    "date": display.day(move.date),
                }
                for appointment in move.cancelled_implants:
                    text += " " + _("The implant booked for %(when)s was cancelled.") % {
                        "when": services.implant_when(appointment)
                    }
                messages.success(request, text)
                return redirect("candidate_detail", pk=self.candidate.pk)
        return self.render_to_response(self.get_context_data(form=form))
