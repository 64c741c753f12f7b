"""What Today shows of the worklist, in one call: the escalated items (top of the page), the
standing check (count and link), and the owner and last contact of each item on Today's
action list. Two queries, whatever the caseload.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import F, Q
from django.urls import reverse

from worklist import display
from worklist.queries import live_items
from worklist.standing import standing_check_count

UNDER_DELIVERY = "under_delivery"  # refills.dangers' kind for a flagged refill


@dataclass
class TodayWorklist:
    escalated: list
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


def for_today(clinic, today: date, danger_items=()) -> TodayWorklist:
    """The worklist's part of Today for ``clinic`` on ``today``."""
    zone = clinic.zone
    pump_ids = [d.pump.pk for d in danger_items if d.kind != UNDER_DELIVERY]
    refill_ids = [d.refill.pk for d in danger_items if d.kind == UNDER_DELIVERY and d.refill is not None]
    wanted = Q(escalated_at__isnull=False)
    if pump_ids or refill_ids:
        wanted |= Q(kind="refill", pump_id__in=pump_ids) | Q(kind="review", refill_id__in=refill_ids)
    # One query for both: the escalated items and the items of Today's action list.
    escalated, by_danger = [], {}
    for item in live_items(clinic, today).filter(wanted).order_by(F("escalated_at").desc(nulls_last=True), "pk"):
        shown = row(item, zone)
        if item.escalated_at is not None:
            escalated.append(shown)
        key = ("review", item.refill_id) if item.kind == "review" else ("refill", item.pump_id)
        by_danger[key] = shown
    return TodayWorklist(
        escalated=escalated,
        standing_count=standing_check_count(clinic, today),
        standing_url=reverse("worklist_unbooked"),
        worklist_url=reverse("worklist"),
        by_danger=by_danger,
    )
