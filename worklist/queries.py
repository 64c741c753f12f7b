"""What the worklist pages read: live items with their pump, owner and last contact, in SQL.

Every page filters by ``item_live_q`` (the pump's condition now), so an item whose pump was
booked or refilled a moment ago is gone on the next page load even before the sync runs.
"""

from datetime import date

from django.db.models import Count, Q

from clinic import caseload_cache
from patients.querysets import DaysFrom
from worklist.conditions import item_live_q, need_expression, state_now_expression
from worklist.models import Item

TABS = {
    "open": "Open",
    "claimed": "Claimed",
    "mine": "Claimed by me",
    "excepted": "Excepted",
    "all": "All",
}


def live_items(clinic, today: date):
    """The clinic's items that need action on ``today``, with what the pages show."""
    return (
        Item.objects.filter(clinic=clinic)
        .filter(item_live_q(today))
        .annotate(
            need_rank=need_expression(today),
            state_now=state_now_expression(today),
            days_to_due=DaysFrom("pump__refill_due", today),
        )
        .select_related(
            "pump__patient", "claimed_by", "excepted_by", "last_contact", "last_contact__recorded_by", "refill"
        )
    )


def worklist_order(items):
    """Escalated first, then the most urgent need, then the earliest date (the order the sync
    stored: index worklist_item_order gives a page's rows without sorting every item; a pump
    whose need changed since the last sync, at most a sync interval ago, keeps its old place)."""
    return items.order_by("sort_rank", "sort_date", "pk")


def tab_q(tab: str, user, today: date) -> Q:
    """A tab's items, on the stored columns (state_now_expression's rule spelled out): a CASE in
    the filter hid the selectivity from PostgreSQL, which then sorted every item for a page."""
    expired = Q(state="excepted", excepted_until__lt=today)  # reads as open until the sync reopens it
    return {
        "open": Q(state="open") | expired,
        "claimed": Q(state="claimed"),
        "mine": Q(state="claimed", claimed_by=user),
        "excepted": Q(state="excepted", excepted_until__gte=today),
        "all": Q(),
    }[tab]


def tab_counts(items, user, today: date) -> dict:
    """How many items each tab holds, in one query."""
    return items.aggregate(**{tab: Count("pk", filter=tab_q(tab, user, today)) for tab in TABS})


def cached_tab_counts(clinic, today: date, user) -> dict:
    """tab_counts, cached until the clinic's caseload or worklist changes (clinic.caseload_cache:
    every pump, fill and appointment change, and the worklist's own services and sync, invalidate it)."""
    items = live_items(clinic, today)
    return caseload_cache.cached(
        clinic.pk, ("worklist tabs", today.isoformat(), user.pk), lambda: tab_counts(items, user, today)
    )
