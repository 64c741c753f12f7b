"""Titration review pages: record, correct and delete a review of a pump patient's scores."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from clinic import display
from clinic.access import ClinicAccessMixin, Role
from patients.models import Pump
from screening import titration
from screening.models_titration import TitrationReview
from screening.titration_forms import TitrationReviewForm


def patient_page(patient) -> str:
    return reverse("patient_detail", kwargs={"pk": patient.pk}) + "#titration"


class ReviewFormView(ClinicAccessMixin, TemplateView):
    role = Role.MANAGER
    template_name = "screening/titration_form.html"

    def make_form(self, data=None):
        raise NotImplementedError

    def refused(self):
        return None

    def get(self, request, *args, **kwargs):
        return self.refused() or self.render_to_response(self.get_context_data(form=self.make_form()))

    def post(self, request, *args, **kwargs):
        if refusal := self.refused():
            return refusal
        form = self.make_form(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        if form.instance.reviewed_by_id is None:
            form.instance.reviewed_by = request.user
        review = form.save()
        messages.success(
            request,
            _("Titration review of %(day)s saved.") % {"day": display.day(review.reviewed_on)},
        )
        return redirect(patient_page(self.pump.patient))

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            pump=self.pump, patient=self.pump.patient, patient_url=patient_page(self.pump.patient), **kwargs
        )


class TitrationReviewCreateView(ReviewFormView):
    """Record a review after the implant of a pump."""

    def load_objects(self):
        self.pump = self.get_scoped(Pump.objects.select_related("patient", "model", "clinic"), pk=self.kwargs["pk"])

    def refused(self):
        if self.pump.status != Pump.Status.ACTIVE:
            messages.error(self.request, _("This pump is explanted: no titration review can be recorded on it."))
            return redirect(patient_page(self.pump.patient))
        return None

    def make_form(self, data=None):
        initial = {"reviewed_on": self.today}
        return TitrationReviewForm(data, initial=initial, pump=self.pump, today=self.today)


class TitrationReviewEditView(ReviewFormView):
    """Correct a recorded review (its date, scores, note)."""

    def load_objects(self):
        self.review = self.get_scoped(
            TitrationReview.objects.select_related("pump__patient", "pump__model", "pump__clinic"), pk=self.kwargs["pk"]
        )
        self.pump = self.review.pump

    def make_form(self, data=None):
        # A fresh copy, so a refused edit never shows half-changed values.
        instance = TitrationReview.objects.select_related("pump").get(pk=self.review.pk)
        return TitrationReviewForm(data, instance=instance, pump=self.pump, today=self.today)

    def get_context_data(self, **kwargs):
        return super().get_context_data(review=self.review, **kwargs)


class TitrationReviewDeleteView(ClinicAccessMixin, TemplateView):
    """Delete a review, after a confirmation page (POST with ``confirm``)."""

    role = Role.MANAGER
    template_name = "screening/titration_delete.html"

    def load_objects(self):
        self.review = self.get_scoped(
            TitrationReview.objects.select_related("pump__patient", "reviewed_by"), pk=self.kwargs["pk"]
        )

    def get_context_data(self, **kwargs):
        patient = self.review.pump.patient
        return super().get_context_data(
            review=self.review, patient=patient, patient_url=patient_page(patient), **kwargs
        )

    def post(self, request, *args, **kwargs):
        patient = self.review.pump.patient
        if request.POST.get("confirm") != "yes":
            messages.info(request, _("Nothing was deleted."))
            return redirect(patient_page(patient))
        day = self.review.reviewed_on
        titration.delete_review(self.review)
        messages.success(request, _("Titration review of %(day)s deleted.") % {"day": display.day(day)})
        return redirect(patient_page(patient))
