"""Screening trial pages: record a trial (its MAS grid in one form), edit it, and its summary."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from clinic import display
from clinic.access import ClinicAccessMixin, Role
from screening import chart, engine, services, summary
from screening.forms import TrialForm
from screening.models import MuscleGroup, ScreeningTrial, Stage
from screening.views import CandidateMixin


class TrialCreateView(CandidateMixin, TemplateView):
    role = Role.MANAGER
    template_name = "screening/trial_form.html"

    def refused(self):
        if self.candidate.stage in (Stage.CLOSED, Stage.IMPLANTED):
            messages.error(
                self.request,
                _("This candidate is %(stage)s: no trial can be recorded.")
                % {"stage": self.candidate.stage_display.lower()},
            )
            return redirect("candidate_detail", pk=self.candidate.pk)
        return None

    def form(self, data=None):
        return TrialForm(data, candidate=self.candidate, clinic=self.clinic, now=timezone.now())

    def get(self, request, *args, **kwargs):
        return self.refused() or self.render_to_response(self.get_context_data(form=self.form()))

    def post(self, request, *args, **kwargs):
        refused = self.refused()
        if refused:
            return refused
        form = self.form(request.POST)
        if form.is_valid():
            trial = services.record_trial(form, by=request.user)
            messages.success(
                request,
                _("Trial of %(dose)s mcg on %(date)s recorded.")
                % {"dose": display.qty(trial.dose_mcg), "date": display.day(form.cleaned_data["trial_date"])},
            )
            return redirect("trial_detail", pk=trial.pk)
        return self.render_to_response(self.get_context_data(form=form))


class TrialMixin(ClinicAccessMixin):
    """A view about one trial of the clinic's candidates, from the URL's pk."""

    def load_objects(self):
        self.trial = self.get_scoped(
            ScreeningTrial.objects.select_related("candidate__patient", "recorded_by"), pk=self.kwargs["pk"]
        )
        self.candidate = self.trial.candidate
        self.patient = self.candidate.patient

    def get_context_data(self, **kwargs):
        return super().get_context_data(trial=self.trial, candidate=self.candidate, patient=self.patient, **kwargs)


class TrialEditView(TrialMixin, TemplateView):
    role = Role.MANAGER
    template_name = "screening/trial_form.html"

    def form(self, data=None):
        # A fresh copy, so a refused edit never shows half-changed values elsewhere on the page.
        instance = ScreeningTrial.objects.get(pk=self.trial.pk)
        return TrialForm(data, candidate=self.candidate, clinic=self.clinic, now=timezone.now(), instance=instance)

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=self.form(), editing=True))

    def post(self, request, *args, **kwargs):
        form = self.form(request.POST)
        if form.is_valid():
            services.record_trial(form, by=request.user)
            messages.success(request, _("Trial saved."))
            return redirect("trial_detail", pk=self.trial.pk)
        return self.render_to_response(self.get_context_data(form=form, editing=True))


class TrialDetailView(TrialMixin, TemplateView):
    """The trial summary: per muscle group before, best after and change; the chart; the scores."""

    template_name = "screening/trial_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        engine_trial = self.trial.as_engine_trial()
        labels = {group: str(label) for group, label in MuscleGroup.choices}
        row = summary.trial_row(self.trial, engine_trial)
        scored = [group for group, _label in MuscleGroup.choices if group in self.trial.mas_before]
        context.update(
            row=row,
            given_at=timezone.localtime(self.trial.given_at, self.clinic.zone),
            chart=chart.mas_chart(
                engine_trial,
                {g: labels[g] for g in scored},
                chart_id=f"mas-chart-{self.trial.pk}",
                title=f"MAS before and after the {display.qty(self.trial.dose_mcg)} mcg dose",
            ),
            score_table=[
                (labels[g], self.trial.mas_before.get(g), [p["scores"].get(g, "") for p in self.trial.mas_after])
                for g in scored
            ],
            proposal=engine.propose_starting_dose([t.as_engine_trial() for t in self.candidate.trials.all()]),
        )
        return context


class TrialDeleteView(TrialMixin, TemplateView):
    """Delete a trial recorded in error, after a confirmation page that says what it does to the
    candidate's stage and implant booking (audited)."""

    role = Role.MANAGER
    template_name = "screening/trial_delete.html"

    def get_context_data(self, **kwargs):
        try:
            plan, refusal = services.trial_delete_plan(self.trial), None
        except services.TrialDeleteRefused as refused:
            plan, refusal = None, str(refused)
        implants = " and ".join(services.implant_when(a) for a in plan.cancels) if plan else ""
        return super().get_context_data(plan=plan, refusal=refusal, cancelled_implants=implants, **kwargs)

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data())

    def post(self, request, *args, **kwargs):
        if request.POST.get("confirm") != "yes":  # only the confirmation page's button deletes
            return self.render_to_response(self.get_context_data())
        when = timezone.localtime(self.trial.given_at, self.clinic.zone)
        try:
            plan = services.delete_trial(self.trial, by=request.user, on=self.today)
        except services.TrialDeleteRefused as refusal:
            messages.error(request, str(refusal))
            return redirect("trial_detail", pk=self.trial.pk)
        text = _("The trial of %(when)s was deleted (kept in the audit trail).") % {
            "when": f"{display.day(when.date())} {when:%H:%M}"
        }
        if plan.back_to:
            text += " " + _("The candidate moved back to %(stage)s.") % {"stage": plan.back_to_label.lower()}
        for appointment in plan.cancels:
            text += " " + _("The implant booked for %(when)s was cancelled.") % {
                "when": services.implant_when(appointment)
            }
        messages.success(request, text)
        return redirect("candidate_detail", pk=self.candidate.pk)
