"""django-tables2 tables for the dashboard lists.

Every sortable column is backed by a field or a query annotation (``order_by=``),
never a Python property, so sorting happens in SQL. ``value_*`` methods give the
plain values that go into CSV and XLSX exports (dates stay dates).
"""

import contextlib

import django_tables2 as tables
from django.db.models import F
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from tablib import Dataset

from refills.filters import member_label
from refills.labels import BOOKING_LABELS, STATUS_LABELS
from refills.templatetags.dashboard import (
    booking_badge,
    status_badge,
    url_if_exists,
    url_with_query,
)

# Spreadsheet programs run a cell that starts like a formula; exports neutralise it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    if isinstance(value, str):
        # Control characters the forms accept (all but NUL) cannot be stored in XLSX.
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith(FORMULA_STARTS):
            return "'" + value
    return value


class SafeTableExport(tables.export.TableExport):
    """TableExport whose text cells cannot be read as spreadsheet formulas."""

    def table_to_dataset(self, table, exclude_columns, dataset_kwargs=None):
        dataset = super().table_to_dataset(table, exclude_columns, dataset_kwargs)
        safe = Dataset(title=dataset.title, headers=dataset.headers)
        for row in dataset:
            safe.append([spreadsheet_safe(value) for value in row])
        return safe


def nulls_last(*fields):
    """A table ``order_<column>`` method: empty values last in both directions (as
    PostgreSQL and SQLite disagree on where NULL sorts), MRN to break ties."""

    def order(table, queryset, is_descending):
        ordering = [F(f).desc(nulls_last=True) if is_descending else F(f).asc(nulls_last=True) for f in fields]
        return queryset.order_by(*ordering, "patient__mrn"), True

    return order


class DayColumn(tables.Column):
    """A date shown as YYYY-MM-DD; exports keep the date itself."""

    def render(self, value):
        return format_html('<time datetime="{0}">{0}</time>', value.isoformat())

    def value(self, value):
        return value


def row_status_class(record) -> str:
    return f"status-{record.status_now}"


class PumpColumnsMixin(tables.Table):
    """Patient and pump columns shared by the pump lists."""

    mrn = tables.Column(accessor="patient__mrn", verbose_name=_("MRN"))
    patient = tables.Column(
        accessor="patient__last_name", verbose_name=_("Patient"), order_by=("patient__last_name", "patient__first_name")
    )
    pump = tables.Column(accessor="serial_number", verbose_name=_("Pump"), order_by=("model__code", "serial_number"))

    def render_mrn(self, value, record):
        url = url_if_exists("patient_detail", pk=record.patient_id)
        return format_html('<a href="{}">{}</a>', url, value) if url else value

    def value_mrn(self, value):
        return value

    def render_patient(self, record):
        return f"{record.patient.last_name}, {record.patient.first_name}"

    value_patient = render_patient

    def render_pump(self, record):
        return f"{record.model.code} {record.serial_number}"

    value_pump = render_pump


class ManagerRiskColumnsMixin(tables.Table):
    manager = tables.Column(
        accessor="patient__manager",
        verbose_name=_("Pump manager"),
        order_by=("patient__manager__last_name", "patient__manager__first_name", "patient__manager__username"),
    )
    high_risk = tables.Column(
        accessor="patient__high_risk", verbose_name=_("Risk"), empty_values=(), order_by=("-patient__high_risk",)
    )

    order_manager = nulls_last("patient__manager__last_name", "patient__manager__first_name")

    def render_manager(self, value):
        return member_label(value)

    value_manager = render_manager

    def render_high_risk(self, value):
        # Text, not only colour: the mark must read the same in grey scale and to screen readers.
        return format_html('<span class="badge badge-risk">{}</span>', _("High risk")) if value else ""

    def value_high_risk(self, value):
        return "High risk" if value else ""


class NextAppointmentMixin(tables.Table):
    next_appointment = tables.Column(
        accessor="next_appointment_date",
        verbose_name=_("Next appointment"),
        order_by=("next_appointment_date", "next_appointment_time"),
    )
    booking = tables.Column(verbose_name=_("Refill booked"), order_by=("booking",))

    order_next_appointment = nulls_last("next_appointment_date", "next_appointment_time")

    def render_next_appointment(self, value, record):
        text = f"{value.isoformat()} {record.next_appointment_time:%H:%M}"
        if record.next_appointment_kind and record.next_appointment_kind != "refill":
            text += f" ({record.next_appointment_kind})"
        return text

    value_next_appointment = render_next_appointment

    def render_booking(self, value):
        return booking_badge(value)

    def value_booking(self, value):
        return str(BOOKING_LABELS.get(value, value))


class StatusColumnMixin(tables.Table):
    status = tables.Column(
        accessor="status_now", verbose_name=_("Status"), order_by=("status_rank", "refill_due", "patient__mrn")
    )

    def render_status(self, value):
        return status_badge(value)

    def value_status(self, value):
        return str(STATUS_LABELS.get(value, value))


class DashboardTableMeta:
    template_name = "refills/_table.html"
    attrs = {"class": "table"}
    row_attrs = {"class": row_status_class}
    order_by_field = "sort"
    empty_text = _("No pumps match.")


class CaseloadTable(StatusColumnMixin, NextAppointmentMixin, ManagerRiskColumnsMixin, PumpColumnsMixin):
    """Every active pump of the clinic (most urgent first unless sorted)."""

    caption = _("Caseload")

    last_refill_date = DayColumn(verbose_name=_("Last refill"))
    alarm_date = DayColumn(verbose_name=_("Alarm date"))
    refill_due = DayColumn(verbose_name=_("Refill due"))
    days_to_due = tables.Column(verbose_name=_("Days to due"), attrs={"td": {"class": "num"}})

    order_last_refill_date = nulls_last("last_refill_date")
    order_alarm_date = nulls_last("alarm_date")
    order_refill_due = nulls_last("refill_due")
    order_days_to_due = nulls_last("days_to_due")

    class Meta(DashboardTableMeta):
        sequence = (
            "mrn",
            "patient",
            "pump",
            "last_refill_date",
            "alarm_date",
            "refill_due",
            "status",
            "days_to_due",
            "next_appointment",
            "booking",
            "manager",
            "high_risk",
        )


class OverdueTable(StatusColumnMixin, NextAppointmentMixin, ManagerRiskColumnsMixin, PumpColumnsMixin):
    """Empty, alarming and overdue pumps, with a one-click booking link."""

    caption = _("Overdue worklist")

    phone = tables.Column(accessor="patient__phone", verbose_name=_("Phone"))
    days_overdue = tables.Column(verbose_name=_("Days overdue"), attrs={"td": {"class": "num"}})
    refill_due = DayColumn(verbose_name=_("Refill due"))
    alarm_date = DayColumn(verbose_name=_("Alarm date"))
    empty_date = DayColumn(verbose_name=_("Empty date"))
    book = tables.Column(
        verbose_name=_("Book"), accessor="pk", orderable=False, empty_values=(), exclude_from_export=True
    )

    def __init__(self, *args, booking_date, **kwargs):
        self.booking_date = booking_date
        super().__init__(*args, **kwargs)

    def render_phone(self, value):
        return format_html('<a href="tel:{0}">{0}</a>', value)

    def value_phone(self, value):
        return value

    def render_book(self, record):
        url = url_with_query(
            "appointment_create",
            {"kind": "refill", "date": self.booking_date.isoformat()},
            pk=record.patient_id,
        )
        if not url:
            return ""
        label = _("Book refill")
        return format_html(
            '<a class="btn-small" href="{}">{}<span class="visually-hidden"> {} {}</span></a>',
            url,
            label,
            _("for"),
            record.patient.mrn,
        )

    class Meta(DashboardTableMeta):
        sequence = (
            "mrn",
            "patient",
            "phone",
            "status",
            "days_overdue",
            "refill_due",
            "alarm_date",
            "empty_date",
            "booking",
            "next_appointment",
            "book",
            "high_risk",
            "manager",
            "pump",
        )


class ReplacementTable(ManagerRiskColumnsMixin, PumpColumnsMixin):
    """Pumps in the replacement pipeline (urgent first)."""

    caption = _("Replacement pipeline")

    implant_date = DayColumn(verbose_name=_("Implanted"))
    eri_date = DayColumn(verbose_name=_("ERI date"))
    replacement_due = tables.Column(
        verbose_name=_("Replacement due"),
        order_by=("replacement_due", "patient__mrn"),
        attrs={"td": {"class": "nowrap"}},
    )
    estimated = tables.Column(accessor="replacement_estimated", verbose_name=_("Estimated"), visible=False)
    days_to_replacement = tables.Column(verbose_name=_("Days left"), attrs={"td": {"class": "num"}})
    urgency = tables.Column(
        accessor="replacement_urgent",
        verbose_name=_("Urgency"),
        empty_values=(),
        order_by=("-replacement_urgent", "replacement_due"),
    )
    stop_date = tables.Column(
        accessor="eri_date",
        verbose_name=_("Pump stops"),
        orderable=False,
        empty_values=(),
        attrs={"td": {"class": "nowrap"}},
    )

    def __init__(self, *args, today, **kwargs):
        self.today = today
        super().__init__(*args, **kwargs)

    order_eri_date = nulls_last("eri_date")

    def render_replacement_due(self, value, record):
        if record.replacement_estimated:
            return format_html(
                '<time datetime="{0}">{0}</time> <span class="tag">{1}</span>', value.isoformat(), _("estimated")
            )
        return format_html('<time datetime="{0}">{0}</time>', value.isoformat())

    def value_replacement_due(self, value):
        return value

    def value_estimated(self, value):
        return "estimated" if value else ""

    def urgency_label(self, record):
        if record.days_to_replacement < 0:
            return _("Past due")
        return _("Urgent") if record.replacement_urgent else _("Planned")

    def render_urgency(self, record):
        tone = "alarming" if record.replacement_urgent else "ok"
        return format_html('<span class="badge badge-{}">{}</span>', tone, self.urgency_label(record))

    def value_urgency(self, record):
        return str(self.urgency_label(record))

    def stop_date_for(self, record):
        """Models that stop after ERI (SynchroMed II): ERI + 90 days, shown once ERI is reached."""
        if record.eri_date is None or self.today < record.eri_date:
            return None
        return record.stop_date_after_eri

    def render_stop_date(self, record):
        stop = self.stop_date_for(record)
        if stop is None:
            return ""
        if stop <= self.today:
            return format_html('<time datetime="{0}">{0}</time> <strong>{1}</strong>', stop.isoformat(), _("stopped"))
        days = (stop - self.today).days
        return format_html('<time datetime="{0}">{0}</time> ({1} {2})', stop.isoformat(), days, _("days"))

    def value_stop_date(self, record):
        return self.stop_date_for(record)

    class Meta(DashboardTableMeta):
        row_attrs = {"class": lambda record: "status-alarming" if record.replacement_urgent else ""}
        sequence = (
            "mrn",
            "patient",
            "pump",
            "implant_date",
            "eri_date",
            "replacement_due",
            "estimated",
            "days_to_replacement",
            "urgency",
            "stop_date",
            "manager",
            "high_risk",
        )


def _cache_render_signatures() -> None:
    """django-tables2 inspects a render method's signature for every cell it renders
    (django_tables2.utils.signature); the answer never changes for a function, so it is
    kept per function: a fifth of a 50-row list page's time (bench/RESULTS.md)."""
    from django_tables2 import utils

    if getattr(utils.signature, "cached", False):
        return
    inspect_signature = utils.signature
    known = {}

    def signature(fn):
        # A bound method: the same answer for every instance (self is never part of it).
        key = (getattr(fn, "__func__", fn), hasattr(fn, "__func__"))
        try:
            return known[key]
        except (KeyError, TypeError):
            result = inspect_signature(fn)
            with contextlib.suppress(TypeError):  # an unhashable callable is not cached
                known[key] = result
            return result

    signature.cached = True
    utils.signature = signature


_cache_render_signatures()
