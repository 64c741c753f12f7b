"""When a pump needs an item, as SQL conditions on its stored dates, read on a given day.

The same conditions serve the sync (which pumps need an item now) and every page (which
items still need action now), so a booking or a refill clears an item on the next page
load, before the sync has run. ``prefix`` is the path from the queried model to the pump
("" on Pump, "pump__" on Item).
"""

from datetime import date, timedelta

from django.db.models import Case, CharField, Exists, F, IntegerField, OuterRef, Q, Value, When

from patients.models import Patient
from refills import schedule
from refills.models import Appointment

EMPTY, ALARMING, OVERDUE = schedule.EMPTY, schedule.ALARMING, schedule.OVERDUE
BOOKED_LATE = "booked_late"
DUE_SOON_UNBOOKED = "due_soon_unbooked"
UNDER_DELIVERY = "under_delivery"
OVER_DELIVERY = "over_delivery"
REPLACEMENT = "replacement"

# What an item is about now, most urgent first: its rank on the worklist and on Today.
NEED_RANK = {
    EMPTY: 0,
    ALARMING: 1,
    OVERDUE: 2,
    UNDER_DELIVERY: 3,
    BOOKED_LATE: 4,
    DUE_SOON_UNBOOKED: 5,
    OVER_DELIVERY: 6,
    REPLACEMENT: 7,
}
NEED_LABELS = {
    EMPTY: "Empty",
    ALARMING: "Alarming",
    OVERDUE: "Overdue",
    UNDER_DELIVERY: "Under-delivery to review",
    BOOKED_LATE: "Booked after refill due",
    DUE_SOON_UNBOOKED: "Due soon, not booked",
    OVER_DELIVERY: "Discrepancy to review",
    REPLACEMENT: "Replacement within 90 days",
}
# The badge colour classes of the lists (static/css/app.css).
NEED_TONES = {
    EMPTY: "empty",
    ALARMING: "alarming",
    OVERDUE: "overdue",
    UNDER_DELIVERY: "under_delivery",
    BOOKED_LATE: "late",
    DUE_SOON_UNBOOKED: "due_soon",
    OVER_DELIVERY: "review",
    REPLACEMENT: "replacement",
}


def refill_needed_q(today: date, prefix: str = "") -> Q:
    """Empty, alarming, overdue, due soon and not booked, or booked after refill due.

    Exact for the stored dates (due_soon_from <= refill_due <= alarm_date <= empty_date, all
    set or none): refill_due < today is overdue or worse; alarm_date <= today covers the
    alarming pump whose refill due is today (buffer 0).
    """
    p = prefix
    return (
        Q(**{f"{p}refill_due__lt": today})
        | Q(**{f"{p}alarm_date__lte": today})
        | Q(**{f"{p}due_soon_from__lte": today, f"{p}first_refill_booking__isnull": True})
        | Q(**{f"{p}first_refill_booking__gt": F(f"{p}refill_due")})
    )


def followed_q(prefix: str = "") -> Q:
    """An implanted pump of a patient the clinic still follows (PumpQuerySet.active)."""
    not_followed = Patient.objects.filter(pk=OuterRef(f"{prefix}patient_id")).exclude(status="active")
    return Q(**{f"{prefix}status": "active"}) & ~Exists(not_followed)


def replacement_booked(today: date, prefix: str = "") -> Exists:
    """A replacement appointment scheduled from today for the pump's patient (as the replacements list)."""
    return Exists(
        Appointment.objects.filter(
            patient=OuterRef(f"{prefix}patient_id"),
            kind=Appointment.Kind.REPLACEMENT,
            status=Appointment.Status.SCHEDULED,
            local_date__gte=today,
        )
    )


def replacement_needed_q(today: date, prefix: str = "") -> Q:
    """Replacement due within 90 days (or past) and no replacement booked."""
    soon = today + timedelta(days=schedule.URGENT_REPLACEMENT_DAYS)
    return Q(**{f"{prefix}replacement_due__lte": soon}) & ~replacement_booked(today, prefix)


def item_live_q(today: date) -> Q:
    """On Item: its condition holds on ``today`` (whatever the sync last wrote)."""
    refill = Q(kind="refill", cycle_date=F("pump__last_refill_date")) & refill_needed_q(today, "pump__")
    review = Q(kind="review", refill__needs_review=True)
    replacement = Q(kind="replacement") & replacement_needed_q(today, "pump__")
    return ~Q(state="resolved") & followed_q("pump__") & (refill | review | replacement)


def need_expression(today: date) -> Case:
    """On Item: the rank of what it is about now (NEED_RANK), first match wins."""
    p = "pump__"
    return Case(
        When(Q(kind="review", refill__residual_discrepancy_ml__gt=0), then=Value(NEED_RANK[UNDER_DELIVERY])),
        When(kind="review", then=Value(NEED_RANK[OVER_DELIVERY])),
        When(kind="replacement", then=Value(NEED_RANK[REPLACEMENT])),
        When(**{f"{p}empty_date__lte": today}, then=Value(NEED_RANK[EMPTY])),
        When(**{f"{p}alarm_date__lte": today}, then=Value(NEED_RANK[ALARMING])),
        When(**{f"{p}refill_due__lt": today}, then=Value(NEED_RANK[OVERDUE])),
        When(**{f"{p}first_refill_booking__gt": F(f"{p}refill_due")}, then=Value(NEED_RANK[BOOKED_LATE])),
        default=Value(NEED_RANK[DUE_SOON_UNBOOKED]),
        output_field=IntegerField(),
    )


RANK_NEED = {rank: need for need, rank in NEED_RANK.items()}
ESCALATED_RANK = -1  # the stored order puts escalated items first (Item.sort_rank)


def refill_need(today: date, empty_date, alarm_date, refill_due, first_refill_booking) -> str:
    """need_expression's rule for a refill item, in Python (the sync's stored order)."""
    if empty_date <= today:
        return EMPTY
    if alarm_date <= today:
        return ALARMING
    if refill_due < today:
        return OVERDUE
    if first_refill_booking is not None and first_refill_booking > refill_due:
        return BOOKED_LATE
    return DUE_SOON_UNBOOKED


def refill_sort_date(need: str, empty_date, refill_due):
    """The longest empty or the soonest to run empty first; else the earliest refill due."""
    return empty_date if need in (EMPTY, ALARMING) else refill_due


def need_of(rank: int) -> str:
    return RANK_NEED[rank]


def state_now_expression(today: date) -> Case:
    """An exception whose until-date has passed reads as open, before the sync reopens it."""
    return Case(
        When(state="excepted", excepted_until__lt=today, then=Value("open")),
        default=F("state"),
        output_field=CharField(),
    )
