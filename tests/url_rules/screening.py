"""The screening pipeline, candidate and trial pages (issue 16): everyone in the clinic views;
admins and managers add, edit, move and record trials (clinical data); staff may not."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from tests.url_rules import MANAGER, NOT_ALLOWED, STAFF, Rule


def extra_objects(clinic, objects):
    """A candidate waiting for a first trial beyond the target (Today names it), a candidate
    whose trial the pipeline links, and a patient without a pump to refer."""
    from screening.models import Stage
    from tests.factories import PatientFactory
    from tests.screening_data import make_candidate, make_trial

    waiting = make_candidate(clinic, stage=Stage.ASSESSED, referral_date=date(2025, 6, 1), stage_date=date(2025, 7, 1))
    tried = make_candidate(clinic, stage=Stage.TRIAL_DONE, referral_date=date(2025, 8, 1), stage_date=date(2025, 9, 10))
    trial = make_trial(tried, given_at=datetime(2025, 9, 10, 9, 0, tzinfo=ZoneInfo("Europe/London")))
    return {"candidate": waiting, "screening_trial": trial, "patient_to_refer": PatientFactory(clinic=clinic)}


RULES = {
    "pipeline": Rule(STAFF, NOT_ALLOWED),
    "candidate_create": Rule(MANAGER, MANAGER),
    "candidate_from_patient": Rule(MANAGER, MANAGER, {"pk": "patient_to_refer"}),
    "candidate_detail": Rule(STAFF, NOT_ALLOWED, {"pk": "candidate"}),
    "candidate_edit": Rule(MANAGER, MANAGER, {"pk": "candidate"}),
    "candidate_move": Rule(MANAGER, MANAGER, {"pk": "candidate"}),
    "trial_create": Rule(MANAGER, MANAGER, {"pk": "candidate"}),
    "trial_detail": Rule(STAFF, NOT_ALLOWED, {"pk": "screening_trial"}),
    "trial_edit": Rule(MANAGER, MANAGER, {"pk": "screening_trial"}),
    "trial_delete": Rule(MANAGER, MANAGER, {"pk": "screening_trial"}),
}
