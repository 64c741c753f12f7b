"""The reminder outbox list (reminders/views.py), through the one row path."""

from zoneinfo import ZoneInfo

import django_tables2 as tables
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from clinic.display import member_name
from clinic.rows import PageListTable


class OutboxTable(PageListTable):
    """Reminder emails, newest first (refills/outbox.html); times in the clinic's time zone."""

    row_header = False  # the row number comes first, as before

    number = tables.Column(accessor="pk", verbose_name="#")
    kind = tables.Column(accessor="pk", verbose_name=_("Kind"))  # its label, from the record
    recipient = tables.Column(accessor="pk", verbose_name=_("For"))
    recipient_email = tables.Column(verbose_name=_("Recipient"), empty_values=())
    key_date = tables.Column(verbose_name=_("Date"), attrs={"td": {"class": "nowrap"}}, empty_values=())
    status = tables.Column(accessor="pk", verbose_name=_("Status"))
    attempts = tables.Column(verbose_name=_("Attempts"), empty_values=())
    created_at = tables.Column(verbose_name=_("Created"), empty_values=())
    sent_at = tables.Column(verbose_name=_("Sent"), empty_values=())
    last_error = tables.Column(verbose_name=_("Last error"), empty_values=())
    action = tables.Column(accessor="pk", verbose_name=_("Action"))

    def __init__(self, data, *, request, paginator, time_zone, filtered_status):
        super().__init__(
            data,
            request=request,
            paginator=paginator,
            caption=_("Reminder emails, newest first"),
            caption_class="visually-hidden",
            empty_text=format_html("No reminders{}.", " with this status" if filtered_status else ""),
        )
        self.time_zone = ZoneInfo(time_zone)

    def local(self, moment, fmt):
        return date_filter(localtime(moment, self.time_zone), fmt) if moment else ""

    def render_kind(self, record):
        text = record.get_kind_display()
        if record.pump_status and record.pump_status != "ok":
            text = f"{text} (pump {record.pump_status_label.lower()})"
        return text

    def render_recipient(self, record):
        if record.patient:
            return format_html(
                '<a href="{}">{}</a>', reverse("patient_detail", args=[record.patient_id]), record.patient.mrn
            )
        return member_name(record.recipient_user) if record.recipient_user else "-"

    def render_key_date(self, value):
        return date_filter(value, "D j M Y")

    def render_status(self, record):
        if record.status == "failed":
            return format_html('<span class="badge badge-alarming">{}</span>', _("Failed"))
        return record.get_status_display()

    def render_created_at(self, value):
        return self.local(value, "D j M Y H:i")

    def render_sent_at(self, value):
        return self.local(value, "D j M Y H:i") or "-"

    def render_last_error(self, value):
        return value or ""

    def render_action(self, record):
        if record.status != "failed":
            return format_html("{}", "\n    ")
        return format_html(
            '\n      <form method="post" action="{}" class="inline">{}'
            '<button type="submit" class="btn-small">Retry #{}</button></form>\n    ',
            reverse("outbox_retry", args=[record.pk]),
            self.csrf_input,
            record.pk,
        )

    class Meta:
        template_name = "refills/_table.html"
        attrs = {"class": "table"}
        row_attrs = {
            "class": lambda record: (
                "status-alarming outbox-failed"
                if record.status == "failed"
                else "outbox-skipped"
                if record.status == "skipped"
                else ""
            )
        }
