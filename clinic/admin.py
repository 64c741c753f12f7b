"""The Django admin of memberships (superusers only). The clinic's own admin is in refills/admin.py:
its settings feed every pump's dates, which only the refills services write."""

from django.contrib import admin

from clinic.models import Membership


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
