"""The worklist (issue 15): staff may view, claim, release, record contacts and exceptions (SPEC 6)."""

from datetime import UTC, datetime

from tests.url_rules import NOT_ALLOWED, STAFF, Rule
from worklist.models import Item

ITEM = {"pk": "worklist_item"}

RULES = {
    "worklist": Rule(STAFF, NOT_ALLOWED),
    "worklist_unbooked": Rule(STAFF, NOT_ALLOWED),
    "worklist_item": Rule(STAFF, NOT_ALLOWED, ITEM),
    "worklist_claim": Rule(NOT_ALLOWED, STAFF, ITEM),
    "worklist_release": Rule(NOT_ALLOWED, STAFF, ITEM),
    "worklist_contact": Rule(NOT_ALLOWED, STAFF, ITEM),
    "worklist_exception": Rule(NOT_ALLOWED, STAFF, ITEM),
    "worklist_end_exception": Rule(NOT_ALLOWED, STAFF, ITEM),
}


def extra_objects(clinic, objects: dict) -> dict:
    moment = datetime(2025, 9, 1, 9, 0, tzinfo=UTC)
    item = Item.objects.create(
        clinic=clinic,
        pump=objects["pump"],
        kind=Item.Kind.REFILL,
        cycle_date=objects["pump"].last_refill_date,
        opened_at=moment,
        open_since=moment,
    )
    return {"worklist_item": item}
