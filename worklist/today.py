"""What Today shows of the worklist, in one call: the escalated items (top of the page), the
standing check (count and link), and the owner and last contact of each item on Today's
action list. One query, and one more (cached until the caseload or the worklist changes) for
the numbers, whatever the caseload.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Case, IntegerField, Q, Value, When
from django.urls import reverse

from clinic import caseload_cache
from worklist import display
from worklist.queries import live_items
from worklist.standing import standing_check_count

UNDER_DELIVERY = "under_delivery"  # refills.dangers' kind for a flagged refill


@dataclass
class TodayWorklist:
    escalated: list  # the latest escalated items, at most ESCALATED_SHOWN
    more_escalated: bool  # there may be more than those shown: the worklist lists them first
    standing_count: int
    standing_url: str
    worklist_url: str
    by_danger: dict = field(default_factory=dict)  # ("refill", pump id) or ("review", refill id) -> row

    def row_for(self, danger_item):
        """The worklist row of one of Today's action items (refills.dangers.DangerItem), or None."""
        if danger_item.kind == UNDER_DELIVERY and danger_item.refill is not None:
            return self.by_danger.get(("review", danger_item.refill.pk))
        return self.by_danger.get(("refill", danger_item.pump.pk))


def row(item, zone) -> dict:
    return {
        "item": item,
        "url": reverse("worklist_item", args=[item.pk]),
        "need": display.need_badge(item),
        "owner": display.owner_text(item, zone),
        "last_contact": display.last_contact_text(item, zone),
        "escalated": display.escalated_text(item, zone),
        "patient": item.pump.patient,
    }


ESCALATED_SHOWN = 10  # at the top of Today; the rest are first on the worklist


def for_today(clinic, today: date, danger_items=(), standing_count: int | None = None) -> TodayWorklist:
    """The worklist's part of Today for ``clinic`` on ``today``: one query (and one more, cached,
    for the standing check unless ``standing_count`` gives it: Today counts it with its cards)."""
    zone = clinic.zone
    pump_ids = [d.pump.pk for d in danger_items if d.kind != UNDER_DELIVERY]
    refill_ids = [d.refill.pk for d in danger_items if d.kind == UNDER_DELIVERY and d.refill is not None]
    listed = Q(kind="refill", pump_id__in=pump_ids) | Q(kind="review", refill_id__in=refill_ids)
    # One query for both: the items of Today's action list, then the latest escalated ones.
    rows = (
        live_items(clinic, today)
        .filter(listed | Q(escalated_at__isnull=False))
        .annotate(listed=Case(When(listed, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("listed", "-escalated_at", "pk")[: len(pump_ids) + len(refill_ids) + ESCALATED_SHOWN]
    )
    escalated, by_danger, unlisted = [], {}, 0
    for item in rows:
        shown = row(item, zone)
        unlisted += item.listed
        if item.escalated_at is not None:
            escalated.append(shown)
        key = ("review", item.refill_id) if item.kind == "review" else ("refill", item.pump_id)
        by_danger[key] = shown
    escalated.sort(key=lambda shown: shown["item"].escalated_at, reverse=True)
    return TodayWorklist(
        escalated=escalated[:ESCALATED_SHOWN],
        more_escalated=unlisted >= ESCALATED_SHOWN or len(escalated) > ESCALATED_SHOWN,
        # Cached until the caseload or the worklist changes.
        standing_count=standing_count
        if standing_count is not None
        else caseload_cache.cached(
            clinic.pk, ("standing check", today.isoformat()), lambda: standing_check_count(clinic, today)
        ),
        standing_url=reverse("worklist_unbooked"),
        worklist_url=reverse("worklist"),
        by_danger=by_danger,
    )
