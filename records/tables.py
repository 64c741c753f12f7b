"""The upcoming appointments list (records/views_appointments.py), through the one row path."""

import django_tables2 as tables
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import time as time_filter
from django.template.defaultfilters import urlencode as urlencode_filter
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from clinic.display import member_name
from clinic.rows import PageListTable


class AppointmentTable(PageListTable):
    """Scheduled appointments from today on (refills/events/appointment_list.html)."""

    row_header = False  # the date is the first cell, as before: the patient is in a later column

    local_date = tables.Column(verbose_name=_("Date"))
    local_time = tables.Column(verbose_name=_("Time"))
    mrn = tables.Column(accessor="patient__mrn", verbose_name=_("MRN"))
    patient = tables.Column(accessor="patient_id", verbose_name=_("Patient"))
    kind = tables.Column(accessor="pk", verbose_name=_("Kind"))  # its label, from the record
    assigned = tables.Column(accessor="pk", verbose_name=_("Assigned to"))
    actions = tables.Column(accessor="pk", verbose_name=_("Actions"))

    def __init__(self, data, *, request, paginator, today, filtered):
        super().__init__(
            data,
            request=request,
            paginator=paginator,
            caption=format_html("Scheduled appointments from {}, soonest first", date_filter(today)),
            caption_class="visually-hidden",
            empty_text=format_html("No scheduled appointments{}.", " match these filters" if filtered else ""),
        )
        self.today = today

    def render_local_date(self, value):
        return date_filter(value, "D j M Y")

    def render_local_time(self, value):
        return time_filter(value, "H:i")

    def render_patient(self, value, record):
        return format_html(
            '<a href="{}">{}</a>', reverse("patient_detail", kwargs={"pk": value}), record.patient.full_name
        )

    def render_kind(self, record):
        return record.get_kind_display()

    def render_assigned(self, record):
        return member_name(record.assigned_to) if record.assigned_to else "-"

    def render_actions(self, record):
        back = self.request.get_full_path()
        when = date_filter(record.local_date, "D j M Y")
        html = format_html(
            '\n        <a href="{}">Reschedule</a>\n'
            '        <a class="btn-small btn-danger" href="{}?next={}">Cancel appointment'
            '<span class="visually-hidden"> of {} on {}</span></a>\n        ',
            reverse("appointment_edit", args=[record.pk]),
            reverse("appointment_cancel", args=[record.pk]),
            urlencode_filter(back),
            record.patient.mrn,
            when,
        )
        if record.local_date <= self.today:
            html += format_html(
                '\n        <form method="post" action="{}" class="inline">{}'
                '<input type="hidden" name="next" value="{}">'
                '<button type="submit" class="btn-small btn-secondary">Completed</button></form>\n'
                '        <a class="btn-small btn-secondary" href="{}?next={}">No-show'
                '<span class="visually-hidden"> of {} on {}</span></a>\n        ',
                reverse("appointment_complete", args=[record.pk]),
                self.csrf_input,
                back,
                reverse("appointment_no_show", args=[record.pk]),
                urlencode_filter(back),
                record.patient.mrn,
                when,
            )
        return format_html("{}\n      ", html)

    class Meta:
        template_name = "refills/_table.html"
        attrs = {"class": "table"}
