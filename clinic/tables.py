"""The clinic's own lists (members), through the one row path (clinic/rows.py)."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from clinic.display import member_name
from clinic.rows import PageListTable


class MembersTable(PageListTable):
    """The clinic's members with their role and digest form (clinic/members.html)."""

    row_header = False  # the name comes first, as before

    name = tables.Column(accessor="user__username", verbose_name=_("Name"))
    email = tables.Column(accessor="user__email", verbose_name=_("Email"), empty_values=())
    role = tables.Column(accessor="pk", verbose_name=_("Role and digest"))
    remove = tables.Column(accessor="pk", verbose_name=_("Remove"))

    def __init__(self, data, *, request, roles):
        super().__init__(
            data, request=request, caption=_("Clinic members and their roles"), caption_class="visually-hidden"
        )
        self.roles = roles

    def render_name(self, record):
        return member_name(record.user)

    def render_email(self, value):
        return value

    def render_role(self, record):
        options = format_html_join(
            "",
            '<option value="{}" {}>{}</option>',
            ((value, "selected" if value == record.role else "", label) for value, label in self.roles),
        )
        return format_html(
            '\n      <form method="post" action="{}" class="inline">\n        {}\n'
            '        <label for="role-{}" class="visually-hidden">Role of {}</label>\n'
            '        <select name="role" id="role-{}">{}</select>\n'
            '        <input type="checkbox" name="digest_opt_in" id="digest-{}" {}>\n'
            '        <label for="digest-{}">Daily digest</label>\n'
            '        <button type="submit" class="btn-small">Save</button>\n      </form>\n    ',
            reverse("membership_update", args=[record.pk]),
            self.csrf_input,
            record.pk,
            record.user.username,
            record.pk,
            options,
            record.pk,
            "checked" if record.digest_opt_in else "",
            record.pk,
        )

    def render_remove(self, record):
        return format_html(
            '\n      <form method="post" action="{}" class="inline">{}'
            '<button type="submit" class="btn-small btn-danger">Remove {}</button></form>\n    ',
            reverse("membership_remove", args=[record.pk]),
            self.csrf_input,
            record.user.username,
        )

    class Meta:
        template_name = "refills/_table.html"
        attrs = {"class": "table"}


class AuditTable(PageListTable):
    """Audit entries in clinic words (includes/audit_table.html: the clinic's trail, a
    patient's history and the patient page); records are clinic.audit_display.AuditRow."""

    row_header = False  # the time comes first, as before
    wrap_class = "audit-wrap"

    when = tables.Column(verbose_name=_("When"), attrs={"td": {"class": "audit-when"}}, empty_values=())
    who = tables.Column(verbose_name=_("Who"), attrs={"td": {"class": "audit-who"}}, empty_values=())
    what = tables.Column(verbose_name=_("What"), attrs={"td": {"class": "audit-what"}}, empty_values=())
    changes = tables.Column(verbose_name=_("Changes"), empty_values=())

    def __init__(self, data, *, request=None):
        super().__init__(
            data,
            request=request,
            caption=_("Who changed what and when"),
            caption_class="visually-hidden",
            empty_text=_("No changes recorded yet."),
        )

    def render_what(self, record):
        patient = (
            format_html('<span class="audit-patient">{} {}</span>', _("Patient:"), record.patient)
            if record.patient
            else ""
        )
        return format_html("<strong>{}</strong> {}{}", record.action, record.what, patient)

    def render_changes(self, record):
        if not record.changes:
            return format_html('<span class="muted">{}</span>', _("No details recorded"))
        items = format_html_join(
            "",
            '<li><span class="change-label">{}:</span> {}</li>',
            (
                (change.label, format_html("{} → {}", change.old, change.new) if record.shows_both else change.new)
                for change in record.changes
            ),
        )
        return format_html('<ul class="changes">{}</ul>', items)

    class Meta:
        template_name = "refills/_table.html"
        attrs = {"class": "table audit"}
