"""Patient and pump page URLs."""

from datetime import date

from tests.url_rules import MANAGER, NOT_ALLOWED, STAFF, Rule


def extra_objects(clinic, objects):
    """A patient whose pump was explanted, so a new pump may be implanted."""
    from tests.factories import PatientFactory, PumpFactory

    patient = PatientFactory(clinic=clinic)
    PumpFactory(patient=patient, implant_date=date(2018, 1, 1), status="explanted", explant_date=date(2025, 5, 1))
    return {"patient_without_pump": patient}


RULES = {
    "patient_detail": Rule(STAFF, NOT_ALLOWED, {"pk": "patient"}),
    "patient_history": Rule(STAFF, NOT_ALLOWED, {"pk": "patient"}),
    "wallet_card": Rule(STAFF, NOT_ALLOWED, {"pk": "patient"}),
    "patient_create": Rule(MANAGER, MANAGER),
    "patient_edit": Rule(MANAGER, MANAGER, {"pk": "patient"}),
    "pump_create": Rule(MANAGER, MANAGER, {"pk": "patient_without_pump"}),
    "pump_edit": Rule(MANAGER, MANAGER, {"pk": "pump"}),
    "pump_explant": Rule(MANAGER, MANAGER, {"pk": "pump"}),
}
