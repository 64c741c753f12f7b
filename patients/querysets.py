"""SQL-side status for pumps on a given date, matching refills.schedule exactly.

Status depends on the date, so it is never stored: the stored dates are compared
with ``today`` in the query, so lists filter and sort in the database.
"""

from datetime import date

from django.apps import apps
from django.db import models
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, Subquery, Value, When

from refills import schedule


class DaysFrom(models.Func):
    """Whole days from a date value to a date column: column - day."""

    output_field = IntegerField()

    def __init__(self, column, day: date):
        super().__init__(F(column), Value(day, output_field=models.DateField()))

    def as_sql(self, compiler, connection, **extra):
        column, column_params = compiler.compile(self.source_expressions[0])
        day, day_params = compiler.compile(self.source_expressions[1])
        if connection.vendor == "postgresql":
            return f"({column} - {day}::date)", (*column_params, *day_params)
        if connection.vendor == "sqlite":
            return (
                f"CAST(julianday({column}) - julianday({day}) AS INTEGER)",
                (*column_params, *day_params),
            )
        raise NotImplementedError(connection.vendor)


def status_expression(today: date) -> Case:
    """The rules of refills.schedule.pump_status, first match wins."""
    return Case(
        When(refill_due__isnull=True, then=Value(schedule.NO_FILL)),
        When(empty_date__lte=today, then=Value(schedule.EMPTY)),
        When(alarm_date__lte=today, then=Value(schedule.ALARMING)),
        When(refill_due__lt=today, then=Value(schedule.OVERDUE)),
        When(due_soon_from__lte=today, then=Value(schedule.DUE_SOON)),
        default=Value(schedule.OK),
        output_field=models.CharField(),
    )


def status_rank_expression(today: date) -> Case:
    """Severity for sorting (0 = empty, most urgent)."""
    return Case(
        *(
            When(status_q(status, today), then=Value(rank))
            for status, rank in sorted(schedule.STATUS_SEVERITY.items(), key=lambda item: item[1])
        ),
        default=Value(schedule.STATUS_SEVERITY[schedule.OK]),
        output_field=IntegerField(),
    )


def status_q(status: str, today: date) -> Q:
    """A filter selecting the pumps that have ``status`` on ``today``."""
    no_fill = Q(refill_due__isnull=True)
    empty = Q(empty_date__lte=today)
    alarming = Q(alarm_date__lte=today)
    overdue = Q(refill_due__lt=today)
    due_soon = Q(due_soon_from__lte=today)
    if status == schedule.NO_FILL:
        return no_fill
    if status == schedule.EMPTY:
        return ~no_fill & empty
    if status == schedule.ALARMING:
        return ~no_fill & ~empty & alarming
    if status == schedule.OVERDUE:
        return ~no_fill & ~empty & ~alarming & overdue
    if status == schedule.DUE_SOON:
        return ~no_fill & ~empty & ~alarming & ~overdue & due_soon
    if status == schedule.OK:
        return ~no_fill & ~empty & ~alarming & ~overdue & ~due_soon
    raise ValueError(f"unknown status {status!r}")


class PumpQuerySet(models.QuerySet):
    def active(self):
        """Implanted pumps of patients the clinic still follows."""
        return self.filter(status="active", patient__status="active")

    def for_clinic(self, clinic):
        return self.filter(clinic=clinic)

    def with_status(self, today: date):
        """Annotate status, status_rank, days_to_due, booking and next appointment."""
        appointment = apps.get_model("refills", "Appointment")
        scheduled_refills = appointment.objects.filter(pump=OuterRef("pk"), kind="refill", status="scheduled")
        next_visit = appointment.objects.filter(pump=OuterRef("pk"), status="scheduled").order_by(
            "local_date", "local_time"
        )
        return self.annotate(
            status_now=status_expression(today),
            status_rank=status_rank_expression(today),
            days_to_due=DaysFrom("refill_due", today),
            booked_on_time=Exists(scheduled_refills.filter(local_date__lte=OuterRef("refill_due"))),
            booked_any=Exists(scheduled_refills),
            next_appointment_date=Subquery(next_visit.values("local_date")[:1]),
            next_appointment_time=Subquery(next_visit.values("local_time")[:1]),
            next_appointment_kind=Subquery(next_visit.values("kind")[:1]),
        ).annotate(
            booking=Case(
                When(booked_on_time=True, then=Value(schedule.BOOKED)),
                When(booked_any=True, refill_due__isnull=True, then=Value(schedule.BOOKED)),
                When(booked_any=True, then=Value(schedule.BOOKED_LATE)),
                default=Value(schedule.UNBOOKED),
                output_field=models.CharField(),
            )
        )

    def with_status_in(self, statuses, today: date):
        """Pumps whose status on ``today`` is one of ``statuses`` (none for an empty list)."""
        statuses = list(statuses)
        if not statuses:
            return self.none()
        q = Q()
        for status in statuses:
            q |= status_q(status, today)
        return self.filter(q)

    def urgent_first(self):
        """Default order: status severity, then refill due, high risk first among equals."""
        return self.order_by(
            "status_rank", F("refill_due").asc(nulls_first=True), "-patient__high_risk", "patient__mrn"
        )
