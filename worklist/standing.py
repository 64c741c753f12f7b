"""SPEC 9's standing check: pumps due within ``due_soon_days`` with neither a refill booked on or
before refill due nor an exception. The goal is zero.

"Due within due_soon_days" is read as "due soon or worse" (due_soon_from <= today): a pump whose
refill due has already passed unbooked still fails the check (it would be odd for the count to
improve by letting a date pass). An exception is one recorded on the pump's refill item of its
current fill cycle whose until-date is today or later.
"""

from datetime import date

from django.db.models import Exists, F, OuterRef, Q

from clinic.access import scoped
from patients.models import Pump
from worklist.models import Item


def active_exception(today: date) -> Exists:
    return Exists(
        Item.objects.filter(
            pump=OuterRef("pk"),
            kind=Item.Kind.REFILL,
            cycle_date=OuterRef("last_refill_date"),
            state=Item.State.EXCEPTED,
            excepted_until__gte=today,
        )
    )


def standing_check_q(today: date) -> Q:
    """Due soon or worse, and no refill booked on or before refill due."""
    return Q(due_soon_from__lte=today) & (
        Q(first_refill_booking__isnull=True) | Q(first_refill_booking__gt=F("refill_due"))
    )


def standing_check_pumps(clinic, today: date):
    """The failing pumps, earliest refill due first, with status and booking (Pump.with_status)."""
    return (
        scoped(Pump.objects.active(), clinic)
        .filter(standing_check_q(today))
        .filter(~active_exception(today))
        .with_status(today)
        .select_related("patient", "patient__manager")
        .order_by("refill_due", "patient__mrn", "pk")
    )


def standing_check_count(clinic, today: date) -> int:
    return (
        scoped(Pump.objects.active(), clinic).filter(standing_check_q(today)).filter(~active_exception(today)).count()
    )
