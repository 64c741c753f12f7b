from django.contrib import admin

from clinic.admin_forms import ServiceAdminMixin
from clinic.models import Clinic, Membership
from refills import services  # the only writer of the dates clinic settings feed


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


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "clinic", "role", "digest_opt_in"]
    list_filter = ["clinic", "role"]
    autocomplete_fields = ["user", "clinic"]


def superuser_only(request) -> bool:
    """The Django admin is for superusers only; clinic members use the app."""
    return request.user.is_active and request.user.is_superuser


admin.site.has_permission = superuser_only
admin.site.site_header = "ITB Caseload administration"
