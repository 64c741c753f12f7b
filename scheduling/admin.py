"""The Django admin of refill sessions and absences (superusers only, clinic/admin.py), checked
by the app's own forms: a member of the clinic, a working day, no overlaps."""

from django.contrib import admin

from clinic.admin_forms import DelegatingAdminForm
from scheduling.forms import AbsenceForm, RefillSessionForm
from scheduling.models import Absence, RefillSession


class RefillSessionAdminForm(DelegatingAdminForm):
    validation_form = RefillSessionForm

    class Meta:
        model = RefillSession
        fields = ["clinic", *RefillSessionForm.Meta.fields]

    def validation_kwargs(self, cleaned):
        clinic = cleaned.get("clinic")
        return {"clinic": clinic} if clinic else None


class AbsenceAdminForm(DelegatingAdminForm):
    validation_form = AbsenceForm

    class Meta:
        model = Absence
        fields = ["clinic", *AbsenceForm.Meta.fields]

    def validation_kwargs(self, cleaned):
        clinic, member = cleaned.get("clinic"), cleaned.get("member")
        if clinic is None or member is None:
            return None
        # As a clinic admin records it: any member of the clinic (another clinic's is refused).
        return {"clinic": clinic, "membership": member, "can_choose_member": True}


@admin.register(RefillSession)
class RefillSessionAdmin(admin.ModelAdmin):
    form = RefillSessionAdminForm
    list_display = ["__str__", "clinic", "member", "weekday", "start_time", "slots", "slot_minutes", "active"]
    list_filter = ["clinic", "weekday", "active"]
    search_fields = ["member__user__username", "member__user__last_name"]
    list_select_related = ["clinic", "member__user"]


@admin.register(Absence)
class AbsenceAdmin(admin.ModelAdmin):
    form = AbsenceAdminForm
    list_display = ["member", "clinic", "first_day", "last_day", "note"]
    list_filter = ["clinic"]
    search_fields = ["member__user__username", "member__user__last_name"]
    list_select_related = ["clinic", "member__user"]
    date_hierarchy = "first_day"
