from django.contrib import admin

from clinic.admin_forms import DelegatingAdminForm, ServiceAdminMixin
from clinic.models import Clinic, Membership
from refills import services
from refills.forms import AppointmentForm, ProgramChangeForm, RefillForm
from refills.models import Appointment, ProgramChange, Refill


class PumpEventAdminForm(DelegatingAdminForm):
    def validation_kwargs(self, cleaned):
        pump = cleaned.get("pump")
        return {"pump": pump, "today": pump.clinic.today()} if pump else None


class RefillAdminForm(PumpEventAdminForm):
    validation_form = RefillForm

    class Meta:
        model = Refill
        fields = "__all__"

    def validation_kwargs(self, cleaned):
        kwargs = super().validation_kwargs(cleaned)
        if kwargs is not None:
            kwargs["initial_fill"] = cleaned.get("is_initial_fill", False)
        return kwargs


class ProgramChangeAdminForm(PumpEventAdminForm):
    validation_form = ProgramChangeForm

    class Meta:
        model = ProgramChange
        fields = "__all__"


class AppointmentAdminForm(DelegatingAdminForm):
    validation_form = AppointmentForm

    class Meta:
        model = Appointment
        fields = "__all__"

    def validation_kwargs(self, cleaned):
        patient = cleaned.get("patient")
        return {"patient": patient, "today": patient.clinic.today()} if patient else None


@admin.register(Refill)
class RefillAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = RefillAdminForm
    save_service = services.record_refill
    delete_service = services.delete_fill_event
    list_display = [
        "pump",
        "performed_on",
        "volume_after_ml",
        "concentration_mcg_ml",
        "daily_dose_mcg",
        "residual_discrepancy_ml",
        "needs_review",
    ]
    list_filter = ["needs_review", "pump__clinic"]
    readonly_fields = [
        "expected_residual_ml",
        "residual_discrepancy_ml",
        "needs_review",
        "reviewed_by",
        "reviewed_at",
        "review_note",
    ]
    autocomplete_fields = ["pump"]
    list_select_related = ["pump"]


@admin.register(ProgramChange)
class ProgramChangeAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = ProgramChangeAdminForm
    save_service = services.change_program
    delete_service = services.delete_fill_event
    list_display = ["pump", "performed_on", "daily_dose_mcg", "bolus_allowance_mcg"]
    autocomplete_fields = ["pump"]
    list_select_related = ["pump"]


@admin.register(Appointment)
class AppointmentAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = AppointmentAdminForm
    save_service = services.book_appointment
    delete_service = services.delete_appointment
    list_display = ["patient", "kind", "local_date", "local_time", "status", "assigned_to"]
    list_filter = ["kind", "status", "patient__clinic"]
    autocomplete_fields = ["patient", "pump"]
    list_select_related = ["patient", "assigned_to"]


# The clinic's settings (lead days, thresholds) feed every pump's stored dates: saved through
# the service that recomputes them, so the clinic's admin lives here rather than in clinic/.
class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Clinic)
class ClinicAdmin(ServiceAdminMixin, admin.ModelAdmin):
    save_service = services.change_clinic_settings
    list_display = ["name", "slug", "time_zone", "buffer_days", "due_soon_days"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
