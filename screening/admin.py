"""The Django admin of candidates and screening trials (superusers only, clinic/admin.py).

The stage, its history and the trials are written by screening.services alone (with their
stage moves and implant bookings), so here they are read-only: a candidate's referral and
cause can be corrected (through the app's CandidateForm), candidates are added, moved and
their trials recorded or deleted on the app's pages.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from clinic import display
from clinic.admin_forms import DelegatingAdminForm
from screening.forms import CandidateForm
from screening.models import Candidate, ScreeningTrial, StageMove


class CandidateAdminForm(DelegatingAdminForm):
    validation_form = CandidateForm

    class Meta:
        model = Candidate
        fields = CandidateForm.Meta.fields

    def validation_kwargs(self, cleaned):
        clinic = self.instance.clinic  # a candidate's clinic is read-only here
        return {"clinic": clinic, "today": clinic.today()}


class StageMoveInline(admin.TabularInline):
    """The stage history, read-only (every move is a service's, audited)."""

    model = StageMove
    fields = ["date", "stage", "closed_reason", "moved_by", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Candidate)
class CandidateAdmin(admin.ModelAdmin):
    form = CandidateAdminForm
    list_display = ["mrn", "clinic", "stage", "stage_date", "referral_date", "cause", "clinician"]
    list_filter = ["clinic", "stage", "cause"]
    search_fields = ["patient__mrn"]
    list_select_related = ["clinic", "patient", "clinician"]
    readonly_fields = ["clinic", "patient", "stage", "stage_date", "closed_reason", "created_at", "updated_at"]
    fields = [*readonly_fields[:5], *CandidateForm.Meta.fields, "created_at", "updated_at"]
    inlines = [StageMoveInline]

    @admin.display(description=_("MRN"), ordering="patient__mrn")
    def mrn(self, obj):
        return obj.patient.mrn

    def has_add_permission(self, request):
        return False  # added on the app's pages, with the referral's stage move

    def has_delete_permission(self, request, obj=None):
        return False  # the stage history and trials would go with it


@admin.register(ScreeningTrial)
class ScreeningTrialAdmin(admin.ModelAdmin):
    """Trials, read-only: recorded on the app's MAS grid; deleting one there moves the stage back."""

    list_display = ["mrn", "clinic", "given", "method", "dose", "outcome"]
    list_filter = ["candidate__clinic", "outcome", "method"]
    search_fields = ["candidate__patient__mrn"]
    list_select_related = ["candidate__clinic", "candidate__patient"]
    date_hierarchy = "given_at"

    @admin.display(description=_("MRN"), ordering="candidate__patient__mrn")
    def mrn(self, obj):
        return obj.candidate.patient.mrn

    @admin.display(description=_("clinic"), ordering="candidate__clinic__name")
    def clinic(self, obj):
        return obj.candidate.clinic

    @admin.display(description=_("dose given at"), ordering="given_at")
    def given(self, obj):
        local = obj.given_at.astimezone(obj.candidate.clinic.zone)  # the clinic's time, as on its pages
        return f"{display.day(local.date())} {local:%H:%M}"

    @admin.display(description=_("dose (mcg)"), ordering="dose_mcg")
    def dose(self, obj):
        return display.qty(obj.dose_mcg)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
