"""Dashboard URLs: Today, the lists, and acknowledging a residual review."""

from datetime import date
from decimal import Decimal

from tests.url_rules import MANAGER, NOT_ALLOWED, STAFF, Rule

RULES = {
    "home": Rule(STAFF, NOT_ALLOWED),
    "caseload": Rule(STAFF, NOT_ALLOWED),
    "overdue": Rule(STAFF, NOT_ALLOWED),
    "replacements": Rule(STAFF, NOT_ALLOWED),
    "review": Rule(STAFF, NOT_ALLOWED),
    "refill_acknowledge": Rule(NOT_ALLOWED, MANAGER, {"pk": "review_refill"}),
}


def extra_objects(clinic, objects):
    """A refill flagged for review, on its own patient so other areas' objects stay as they are."""
    from tests.factories import PatientFactory, PumpFactory, RefillFactory

    pump = PumpFactory(patient=PatientFactory(clinic=clinic), implant_date=date(2025, 6, 1))
    RefillFactory(pump=pump, performed_on=date(2025, 6, 1), is_initial_fill=True)
    # 30 days at 0.2 mL/day leaves 14 mL expected; 18 mL removed is +4 mL: flagged.
    flagged = RefillFactory(pump=pump, performed_on=date(2025, 7, 1), volume_removed_ml=Decimal("18"))
    assert flagged.needs_review
    return {"review_refill": flagged}
