"""The clinic settings page. Its lead days and thresholds feed every pump's stored dates, so
saving goes through the refills service that recomputes them (the only writer of those dates);
the page lives here rather than in clinic/, which imports nothing from the apps above it."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import UpdateView

from clinic.access import ClinicAccessMixin, Role
from clinic.forms import ClinicSettingsForm
from refills.services import change_clinic_settings  # the only writer of the recomputed dates


class ClinicSettingsView(ClinicAccessMixin, UpdateView):
    role = Role.ADMIN
    form_class = ClinicSettingsForm
    template_name = "clinic/settings.html"

    def get_object(self, queryset=None):
        return self.clinic

    def form_valid(self, form):
        change_clinic_settings(form.save(commit=False))
        messages.success(self.request, _("Clinic settings saved; schedules were recomputed."))
        return redirect("clinic_settings")
