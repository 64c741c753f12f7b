"""django-tables2 tables for the dashboard lists.

Every sortable column is backed by a field or a query annotation (``order_by=``),
never a Python property, so sorting happens in SQL. ``value_*`` methods give the
plain values that go into CSV and XLSX exports (dates stay dates, pump models by code).

On pages (SPEC 8) dates read "Wed 25 Nov 2026", pump models by name, members by name; the
lists fit a 1366 px screen: the patient cell carries the MRN and the high-risk mark, the
booking cell the next appointment, and the columns they replace stay in the exports only
(``visible=False``). Each cell carries its column's name (``data-label``) so that narrow
screens can show a row as a stacked card (static/css/app.css).
"""

import django_tables2 as tables
from django.db.models import F
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from clinic.display import day, day_html, member_name, qty, signed_qty
from clinic.rows import ListTable, PageListTable
from dashboard.filters import member_label
from dashboard.templatetags.dashboard import (
    booking_badge,
    status_badge,
    url_if_exists,
    url_with_query,
)
from records.templatetags.patient_extras import days_to_due_text
from refills import schedule
from refills.labels import BOOKING_LABELS, STATUS_LABELS


def nulls_last(*fields):
    """A table ``order_<column>`` method: empty values last in both directions (as
    PostgreSQL and SQLite disagree on where NULL sorts), MRN to break ties."""

    def order(table, queryset, is_descending):
        ordering = [F(f).desc(nulls_last=True) if is_descending else F(f).asc(nulls_last=True) for f in fields]
        return queryset.order_by(*ordering, "patient__mrn"), True

    return order


class DayColumn(tables.Column):
    """A date shown as "Wed 25 Nov 2026"; exports keep the date itself."""

    def render(self, value):
        return day_html(value)

    def value(self, value):
        return value


def row_status_class(record) -> str:
    return f"status-{record.status_now}"


class PumpColumnsMixin(ListTable):
    """Patient and pump columns shared by the pump lists.

    On the page the patient cell is the name linking to the patient page, with the MRN and
    the high-risk mark under it; the MRN column is in the exports only.
    """

    mrn = tables.Column(accessor="patient__mrn", verbose_name=_("MRN"), visible=False)
    patient = tables.Column(
        accessor="patient__last_name", verbose_name=_("Patient"), order_by=("patient__last_name", "patient__first_name")
    )
    pump = tables.Column(accessor="serial_number", verbose_name=_("Pump"), order_by=("model__name", "serial_number"))

    def render_mrn(self, value, record):
        url = url_if_exists("patient_detail", pk=record.patient_id)
        return format_html('<a href="{}">{}</a>', url, value) if url else value

    def value_mrn(self, value):
        return value

    def render_patient(self, record):
        patient = record.patient
        name = f"{patient.last_name}, {patient.first_name}"
        url = url_if_exists("patient_detail", pk=record.patient_id)
        # Text, not only colour: the mark must read the same in grey scale and to screen readers.
        risk = format_html(' <span class="badge badge-risk">{}</span>', _("High risk")) if patient.high_risk else ""
        if url:
            return format_html(
                '<a class="who" href="{}"><span class="who-name">{}</span> <span class="mrn">{}</span></a>{}',
                url,
                name,
                patient.mrn,
                risk,
            )
        return format_html(
            '<span class="who"><span class="who-name">{}</span> <span class="mrn">{}</span></span>{}',
            name,
            patient.mrn,
            risk,
        )

    def value_patient(self, record):
        return f"{record.patient.last_name}, {record.patient.first_name}"

    def render_pump(self, record):
        # The model by name on pages; the serial under it. Files keep the model's code.
        return format_html(
            '<span class="model">{}</span> <span class="serial">{}</span>', record.model.name, record.serial_number
        )

    def value_pump(self, record):
        return f"{record.model.code} {record.serial_number}"


class ManagerRiskColumnsMixin(tables.Table):
    manager = tables.Column(
        accessor="patient__manager",
        verbose_name=_("Pump manager"),
        order_by=("patient__manager__last_name", "patient__manager__first_name", "patient__manager__username"),
    )
    # Shown in the patient cell on pages; a column of the exports.
    high_risk = tables.Column(
        accessor="patient__high_risk",
        verbose_name=_("Risk"),
        empty_values=(),
        order_by=("-patient__high_risk",),
        visible=False,
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


def appointment_text(when, at, kind) -> str:
    """ "Wed 25 Nov 2026 09:30", with the kind when it is not a refill."""
    text = f"{day(when)} {at:%H:%M}"
    if kind and kind != "refill":
        text += f" ({kind})"
    return text


class NextAppointmentMixin(tables.Table):
    """Booking state with the next appointment under it on pages; both columns in exports."""

    next_appointment = tables.Column(
        accessor="next_appointment_date",
        verbose_name=_("Next appointment"),
        order_by=("next_appointment_date", "next_appointment_time"),
        visible=False,
    )
    booking = tables.Column(verbose_name=_("Refill booked"), order_by=("booking",))

    order_next_appointment = nulls_last("next_appointment_date", "next_appointment_time")

    def render_next_appointment(self, value, record):
        return appointment_text(value, record.next_appointment_time, record.next_appointment_kind)

    def value_next_appointment(self, value, record):
        text = f"{value.isoformat()} {record.next_appointment_time:%H:%M}"
        if record.next_appointment_kind and record.next_appointment_kind != "refill":
            text += f" ({record.next_appointment_kind})"
        return text

    def render_booking(self, value, record):
        badge = booking_badge(value)
        if record.next_appointment_date is None:
            return badge
        return format_html(
            '{} <span class="next-visit">{}</span>',
            badge,
            appointment_text(record.next_appointment_date, record.next_appointment_time, record.next_appointment_kind),
        )

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
    attrs = {"class": "table table-stack"}
    row_attrs = {"class": row_status_class}
    order_by_field = "sort"
    empty_text = _("No pumps match.")


class CaseloadTable(StatusColumnMixin, NextAppointmentMixin, ManagerRiskColumnsMixin, PumpColumnsMixin):
    """Every active pump of the clinic (most urgent first unless sorted)."""

    caption = _("Caseload")

    last_refill_date = DayColumn(verbose_name=_("Last refill"))
    alarm_date = DayColumn(verbose_name=_("Alarm date"))
    refill_due = DayColumn(verbose_name=_("Refill due"))
    # In words under the refill due date on pages ("3 days overdue"); a column of the exports.
    days_to_due = tables.Column(verbose_name=_("Days to due"), attrs={"td": {"class": "num"}}, visible=False)

    order_last_refill_date = nulls_last("last_refill_date")
    order_alarm_date = nulls_last("alarm_date")
    order_refill_due = nulls_last("refill_due")
    order_days_to_due = nulls_last("days_to_due")

    def render_refill_due(self, value, record):
        return format_html('{} <span class="days">{}</span>', day_html(value), days_to_due_text(record.days_to_due))

    def value_refill_due(self, value):
        return value

    class Meta(DashboardTableMeta):
        # The export's columns in this order; on the page the hidden ones are merged (see top).
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
        verbose_name=_("Book"),
        accessor="pk",
        orderable=False,
        empty_values=(),
        exclude_from_export=True,
        attrs={"td": {"class": "row-action"}},
    )
    # The worklist is for booking: the pump is in the exports and on the patient page, and its
    # column would push the list past a 1366 px screen.
    pump = tables.Column(accessor="serial_number", verbose_name=_("Pump"), visible=False)

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
            "book",  # not exported: placed where a 1024 px tablet still shows it
            "refill_due",
            "alarm_date",
            "empty_date",
            "booking",
            "next_appointment",
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

    booked = tables.Column(
        accessor="replacement_booked_date",
        verbose_name=_("Booked"),
        order_by=("replacement_booked_date", "replacement_booked_time"),
        empty_values=(),
    )

    order_booked = nulls_last("replacement_booked_date", "replacement_booked_time")

    def render_replacement_due(self, value, record):
        if record.replacement_estimated:
            return format_html('{} <span class="tag">{}</span>', day_html(value), _("estimated"))
        return day_html(value)

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
            return format_html("{} <strong>{}</strong>", day_html(stop), _("stopped"))
        days = (stop - self.today).days
        return format_html('{} <span class="days">({} {})</span>', day_html(stop), days, _("days"))

    def value_stop_date(self, record):
        return self.stop_date_for(record)

    def render_booked(self, value, record):
        """The scheduled replacement appointment (the earliest from today), or "Not booked"."""
        if value is None:
            return format_html('<span class="badge badge-unbooked">{}</span>', _("Not booked"))
        return format_html(
            '<span class="badge badge-booked">{}</span> <span class="next-visit">{}</span>',
            _("Booked"),
            f"{day(value)} {record.replacement_booked_time:%H:%M}",
        )

    def value_booked(self, value, record):
        if value is None:
            return ""
        return f"{value.isoformat()} {record.replacement_booked_time:%H:%M}"

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
            "booked",
            "manager",
            "high_risk",
        )


def label_cells(*table_classes) -> None:
    """Each cell says which column it is in (data-label), for the stacked rows of narrow
    screens; static attributes, so the row renderer's shortcut still applies."""
    for table_class in table_classes:
        for column in table_class.base_columns.values():
            td = column.attrs.setdefault("td", {})
            td.setdefault("data-label", column.verbose_name)


label_cells(CaseloadTable, OverdueTable, ReplacementTable)


# -- The lists that were hand-written tables: the same markup, through the one row path. --


class ReviewTable(PageListTable):
    """Refills awaiting review (refills/review.html); the acknowledge form for managers.

    As on the other lists, the patient cell (the row's header) carries the MRN under the
    name. On phones each row stacks as a card (``table-stack``, static/css/app.css) with the
    Difference and what it may mean first after the patient (``review-first``): the
    under-delivery numbers are what the page is for.
    """

    patient = tables.Column(accessor="pk", verbose_name=_("Patient"))
    pump = tables.Column(accessor="pk", verbose_name=_("Pump"))
    performed_on = tables.Column(verbose_name=_("Refill date"))
    expected = tables.Column(
        accessor="expected_residual_ml",
        verbose_name=_("Expected residual (mL)"),
        attrs={"th": {"class": "num"}, "td": {"class": "num"}},
        empty_values=(),
    )
    actual = tables.Column(
        accessor="volume_removed_ml",
        verbose_name=_("Actual residual (mL)"),
        attrs={"th": {"class": "num"}, "td": {"class": "num"}},
        empty_values=(),
    )
    difference = tables.Column(
        accessor="residual_discrepancy_ml",
        verbose_name=_("Difference (mL)"),
        attrs={"th": {"class": "num"}, "td": {"class": "num review-first"}},
        empty_values=(),
    )
    meaning = tables.Column(
        accessor="residual_discrepancy_ml",
        verbose_name=_("What it may mean"),
        attrs={"td": {"class": "review-first"}},
        empty_values=(),
    )
    acknowledge = tables.Column(accessor="pk", verbose_name=_("Acknowledge"), attrs={"td": {"class": "review-ack"}})

    def __init__(self, data, *, request, can_manage, paginator):
        super().__init__(
            data,
            request=request,
            paginator=paginator,
            caption=format_html("{} ({})", _("Refills awaiting review"), paginator.count),
            empty_text=_("No refills await review."),
            exclude=() if can_manage else ("acknowledge",),
        )

    def render_patient(self, record):
        patient = record.pump.patient
        risk = format_html(' <span class="badge badge-risk">{}</span>', _("High risk")) if patient.high_risk else ""
        return format_html(
            '<a class="who" href="{}"><span class="who-name">{}, {}</span> <span class="mrn">{}</span></a>{}',
            reverse("patient_detail", kwargs={"pk": record.pump.patient_id}),
            patient.last_name,
            patient.first_name,
            patient.mrn,
            risk,
        )

    def render_pump(self, record):
        return format_html(
            '<span class="model">{}</span> <span class="serial">{}</span>',
            record.pump.model.name,
            record.pump.serial_number,
        )

    def render_performed_on(self, value, record):
        when = day_html(value)
        if record.performed_by is None:
            return when
        return format_html('{}<br><small class="help">by {}</small>', when, member_name(record.performed_by))

    def render_expected(self, value):
        return qty(value)

    def render_actual(self, value):
        return qty(value)

    def render_difference(self, value):
        return format_html("<strong>{}</strong>", signed_qty(value))

    def render_meaning(self, value):
        return "" if value is None else schedule.discrepancy_meaning(value)

    @cached_property
    def acknowledge_form(self) -> str:
        """The acknowledge form with its words and CSRF token in place (once per page); the
        refill's URL, id and MRN go in per row."""
        return format_html(
            '\n        <form method="post" action="{{}}" class="ack-form">\n          {}\n'
            '          <label for="note-{{}}">{} {{}}</label>\n'
            '          <textarea id="note-{{}}" name="note" rows="2" maxlength="2000" required></textarea>\n'
            '          <button type="submit" class="btn-small">{}</button>\n        </form>\n      ',
            self.csrf_input,
            _("Note for"),
            _("Acknowledge"),
        )

    def render_acknowledge(self, record):
        return format_html(
            self.acknowledge_form,
            reverse("refill_acknowledge", args=[record.pk]),
            record.pk,
            record.pump.patient.mrn,
            record.pk,
        )

    class Meta:
        template_name = "refills/_table.html"
        attrs = {"class": "table table-stack review"}
        row_attrs = {
            "id": lambda record: f"refill-{record.pk}",
            "class": lambda record: "status-alarming" if record.residual_discrepancy_ml > 0 else "status-due_soon",
        }


label_cells(ReviewTable)
