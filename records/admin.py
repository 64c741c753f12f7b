from django.contrib import admin

from clinic.admin_forms import DelegatingAdminForm, ServiceAdminMixin
from patients.forms import PatientForm, PumpForm
from patients.models import Patient, Pump, PumpModel
from refills import services  # the only writer of a pump's stored dates


class PatientAdminForm(DelegatingAdminForm):
    validation_form = PatientForm

    class Meta:
        model = Patient
        fields = "__all__"

    def validation_kwargs(self, cleaned):
        clinic = cleaned.get("clinic")
        return {"clinic": clinic, "today": clinic.today()} if clinic else None


class PumpAdminForm(DelegatingAdminForm):
    validation_form = PumpForm

    class Meta:
        model = Pump
        fields = "__all__"

    def validation_kwargs(self, cleaned):
        patient = cleaned.get("patient")
        if patient is None:
            return None
        return {"clinic": patient.clinic, "today": patient.clinic.today(), "patient": patient}

    def clean(self):
        cleaned = super().clean()
        patient, clinic = cleaned.get("patient"), cleaned.get("clinic")
        if patient and clinic and patient.clinic_id != clinic.pk:
            self.add_error("clinic", "The pump's clinic must be the patient's clinic.")
        return cleaned


@admin.register(PumpModel)
class PumpModelAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "reservoir_ml",
        "alarm_volume_ml",
        "service_life_months",
        "max_refill_interval_days",
    ]


@admin.register(Patient)
class PatientAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = PatientAdminForm
    delete_service = services.delete_patient
    list_display = ["mrn", "last_name", "first_name", "clinic", "status", "high_risk", "manager"]
    list_filter = ["clinic", "status"]
    search_fields = ["mrn", "last_name", "first_name"]
    list_select_related = ["clinic", "manager"]


@admin.register(Pump)
class PumpAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = PumpAdminForm
    save_service = services.edit_pump
    delete_service = services.delete_pump
    list_display = [
        "serial_number",
        "model",
        "patient",
        "status",
        "last_refill_date",
        "alarm_date",
        "refill_due",
        "replacement_due",
    ]
    list_filter = ["clinic", "model", "status"]
    search_fields = ["serial_number", "patient__mrn"]
    list_select_related = ["model", "patient"]
    readonly_fields = list(Pump.SCHEDULE_FIELDS)
    autocomplete_fields = ["patient"]
