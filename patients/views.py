"""Patient pages."""

from django.views.generic import ListView

from clinic.access import ClinicAccessMixin
from clinic.audit import patient_history
from patients.models import Patient


class PatientHistoryView(ClinicAccessMixin, ListView):
    """The audit trail of one patient: details, pumps, fills and appointments."""

    template_name = "patients/history.html"
    context_object_name = "entries"
    paginate_by = 50

    def load_objects(self):
        self.patient = self.get_scoped(Patient, pk=self.kwargs["pk"])

    def get_queryset(self):
        return patient_history(self.clinic, self.patient)

    def get_context_data(self, **kwargs):
        return super().get_context_data(patient=self.patient, **kwargs)
