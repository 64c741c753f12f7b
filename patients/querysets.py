"""SQL-side status for pumps on a given date, matching refills.schedule exactly (a test proves it).

Status depends on the date, so it is never stored: the stored dates are compared
with ``today`` in the query, so lists filter and sort in the database.
"""

from datetime import date

from django.db import models
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, Subquery, Value, When

from patients import pump_states as schedule  # the engine's names (refills.schedule re-exports them)


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


def booking_expression() -> Case:
    """booked / late / unbooked from the stored date of the earliest scheduled refill."""
    return Case(
        When(first_refill_booking__isnull=True, then=Value(schedule.UNBOOKED)),
        When(refill_due__isnull=True, then=Value(schedule.BOOKED)),
        When(first_refill_booking__lte=F("refill_due"), then=Value(schedule.BOOKED)),
        default=Value(schedule.BOOKED_LATE),
        output_field=models.CharField(),
    )


URGENT_STATUSES = frozenset({schedule.EMPTY, schedule.ALARMING, schedule.OVERDUE})


def head_q(today: date) -> Q:
    """The pumps that come first in ``urgent_first`` order on ``today``, before all others.

    The stored dates always satisfy due_soon_from <= refill_due <= alarm_date <= empty_date
    (refills.schedule.pump_schedule), so every empty, alarming, overdue or unfilled pump has
    refill_due <= today or none, and every pump with refill_due > today is due soon or ok
    and sorts after them. The first pages of the default order therefore lie among these
    pumps whenever there are enough of them, and the refill_due index finds them without
    sorting the whole caseload.
    """
    return Q(refill_due__lte=today) | Q(refill_due__isnull=True)


def counting_status_q(status: str, today: date) -> Q:
    """``status_q`` in the fewest comparisons, for counting a whole caseload.

    Exact for stored dates from the schedule engine, where due_soon_from <= refill_due <=
    alarm_date <= empty_date and all are set or none (a comparison with NULL is false).
    """
    if status == schedule.EMPTY:
        return Q(empty_date__lte=today)
    if status == schedule.ALARMING:
        return Q(alarm_date__lte=today, empty_date__gt=today)
    if status == schedule.OVERDUE:
        return Q(refill_due__lt=today, alarm_date__gt=today)
    if status == schedule.DUE_SOON:
        return Q(due_soon_from__lte=today, refill_due__gte=today, alarm_date__gt=today)
    return status_q(status, today)


class PumpQuerySet(models.QuerySet):
    _known_count = None  # set by with_known_count() on one queryset, never copied to clones

    def active(self):
        """Implanted pumps of patients the clinic still follows.

        "No such patient among the (few) no longer followed" (NOT EXISTS on the partial index
        patient_not_followed) rather than a join on the patient's status: PostgreSQL probes
        the index for the few rows a page reads, and hashes the few unfollowed patients to
        count a whole caseload. NOT IN would hash every unfollowed patient of the
        installation in every query, even for a page of 50 (bench/FINDINGS.md).
        """
        patients = self.model._meta.get_field("patient").related_model.objects
        not_followed = patients.filter(pk=OuterRef("patient_id")).exclude(status="active")
        return self.filter(status="active").filter(~Exists(not_followed))

    def with_known_count(self, count: int):
        """This queryset, answering count() with ``count`` (already counted in another query)."""
        clone = self._chain()
        clone._known_count = count
        return clone

    def count(self):
        if self._known_count is not None:
            return self._known_count
        return super().count()

    def with_status(self, today: date):
        """Annotate status, status_rank, days_to_due, booking and next appointment."""
        # The refill cycle's appointments, reached through their relation to the pump: this
        # app names no model of the apps above it.
        appointment = self.model._meta.get_field("appointments").related_model
        next_visit = appointment.objects.filter(pump=OuterRef("pk"), status="scheduled").order_by(
            "local_date", "local_time"
        )
        return self.annotate(
            status_now=status_expression(today),
            status_rank=status_rank_expression(today),
            days_to_due=DaysFrom("refill_due", today),
            next_appointment_date=Subquery(next_visit.values("local_date")[:1]),
            next_appointment_time=Subquery(next_visit.values("local_time")[:1]),
            next_appointment_kind=Subquery(next_visit.values("kind")[:1]),
            # The earliest scheduled refill decides the booking (schedule.booking_state); its
            # date is stored on the pump (refills.models.refresh_first_refill_booking).
            booking=booking_expression(),
        )

    def with_status_in(self, statuses, today: date):
        """Pumps whose status on ``today`` is one of ``statuses`` (none for an empty list)."""
        statuses = list(statuses)
        if not statuses:
            return self.none()
        q = Q()
        for status in statuses:
            q |= status_q(status, today)
        if URGENT_STATUSES.issuperset(statuses):
            # Implied by the statuses (see head_q): lets the refill_due index find them.
            q &= Q(refill_due__lte=today)
        if {schedule.EMPTY, schedule.ALARMING}.issuperset(statuses):
            q &= Q(alarm_date__lte=today)  # implied too: the alarm_date index finds them
        return self.filter(q)

    def urgent_first(self):
        """Default order: status severity, then refill due, high risk first among equals."""
        return self.order_by(
            "status_rank", F("refill_due").asc(nulls_first=True), "-patient__high_risk", "patient__mrn"
        )
