"""Implant from a trial and titration reviews (issue 16 items 4, 5): everyone views the patient
page; everyone books the implant (SPEC 6: staff book appointments); admins and managers record
the implant and titration reviews (clinical data, like refills and program changes); staff may not."""

from datetime import date, time

from tests.url_rules import MANAGER, STAFF, Rule


def extra_objects(clinic, objects):
    """A responder ready for the implant to be booked, one whose implant is booked, and a
    titration review on the fixture's pump."""
    from screening.models_titration import TitrationReview
    from tests.factories import AppointmentFactory
    from tests.implant_data import responder

    ready = responder(clinic, trial_day=date(2025, 9, 1))
    booked = responder(clinic, trial_day=date(2025, 9, 1), stage="implant_scheduled", stage_date=date(2025, 9, 20))
    AppointmentFactory(patient=booked.patient, kind="implant", local_date=date(2025, 10, 1), local_time=time(8, 30))
    review = TitrationReview.objects.create(
        pump=objects["pump"], reviewed_on=date(2025, 8, 1), mas={"hip_flexors_l": "2"}
    )
    return {"implant_ready": ready, "implant_booked": booked, "titration_review": review}


RULES = {
    "candidate_implant_book": Rule(STAFF, STAFF, {"pk": "implant_ready"}),
    "candidate_implant": Rule(MANAGER, MANAGER, {"pk": "implant_booked"}),
    "titration_review_create": Rule(MANAGER, MANAGER, {"pk": "pump"}),
    "titration_review_edit": Rule(MANAGER, MANAGER, {"pk": "titration_review"}),
    "titration_review_delete": Rule(MANAGER, MANAGER, {"pk": "titration_review"}),
}
