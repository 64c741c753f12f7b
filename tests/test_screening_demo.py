"""The demo's screening pipeline (screening/demo.py): candidates in every stage, responders and
non-responders, and an implanted former candidate whose titration tells a story."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from clinic.models import Clinic
from demo import seeder as demo
from refills.models import Appointment, ProgramChange
from screening import engine
from screening.models import Candidate, ScreeningTrial, TitrationReview

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    with time_machine.travel("2026-11-25 10:00:00Z", tick=False):
        call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
        yield Clinic.objects.get(slug=demo.SLUG)


def check_candidates_in_every_stage_and_closed_for_each_reason(seeded):
    candidates = Candidate.objects.filter(clinic=seeded)
    assert set(candidates.values_list("stage", flat=True)) == set(engine.STAGES)
    reasons = Counter(candidates.filter(stage="closed").values_list("closed_reason", flat=True))
    assert set(reasons) == {"not_a_candidate", "declined", "non_responder"}
    # One referred long ago is waiting past the clinic's target.
    today = seeded.today()
    assert candidates.filter(stage="referred", referral_date__lt=today - timedelta(days=42))


def check_trials_of_responders_and_non_responders(seeded):
    trials = ScreeningTrial.objects.filter(candidate__clinic=seeded)
    outcomes = Counter(trials.values_list("outcome", flat=True))
    assert outcomes["responder"] >= 4 and outcomes["non_responder"] >= 4
    second = Candidate.objects.get(clinic=seeded, patient__mrn="CAND0006")
    proposal = engine.propose_starting_dose(t.as_engine_trial() for t in second.trials.all())
    assert proposal.daily_dose_mcg == Decimal(75)  # the 75 mcg trial, effective for 12 hours
    booked = Candidate.objects.get(clinic=seeded, stage="implant_scheduled")
    implant = Appointment.objects.get(patient=booked.patient, kind="implant")
    assert implant.status == "scheduled" and implant.local_date > seeded.today() and implant.pump is None


def check_implanted_candidate_with_a_titration_story(seeded):
    implanted = Candidate.objects.get(clinic=seeded, stage="implanted")
    assert implanted not in Candidate.objects.in_pipeline()
    pump = implanted.patient.pumps.get(status="active")
    first = pump.refills.get(is_initial_fill=True)
    assert first.daily_dose_mcg == Decimal(100)  # twice the 50 mcg screening dose
    assert implanted.moves.get(stage="implanted").date == pump.implant_date
    assert Appointment.objects.get(patient=implanted.patient, kind="implant").status == "completed"
    doses = list(
        ProgramChange.objects.filter(pump=pump).order_by("performed_on").values_list("daily_dose_mcg", flat=True)
    )
    assert doses[0] < doses[-2] and len(doses) >= 5  # the dose climbs over the months
    reviews = list(TitrationReview.objects.filter(pump=pump).order_by("reviewed_on"))
    assert len(reviews) >= 6
    assert reviews[0].penn_score > reviews[-1].penn_score
    assert (reviews[-1].reviewed_on - reviews[0].reviewed_on).days > 180


def check_seeded_statuses_still_match_the_plan(seeded):
    with time_machine.travel("2026-11-25 10:00:00Z", tick=False):
        plan = demo.build_plan(seeded.today(), demo._model_specs(), demo.clinic_settings(seeded))
        summary = demo.verify_demo(seeded, plan, seeded.today())
    # Only the implanted candidate's pump is outside the pump plan; the seeder adds it to the plan.
    assert summary.mismatches == ["CAND0011: listed but not planned"]


def check_delete_demo_removes_the_candidates_first(seeded):
    # A candidate protects its patient: the seeder's --reset deletes the screening rows first.
    demo.delete_demo(seeded)
    assert not Candidate.objects.exists() and not ScreeningTrial.objects.exists()
    assert not TitrationReview.objects.exists()


def test_screening_demo(seeded):
    """One seeding (about 20 s) for every check, the deletion last."""
    check_candidates_in_every_stage_and_closed_for_each_reason(seeded)
    check_trials_of_responders_and_non_responders(seeded)
    check_implanted_candidate_with_a_titration_story(seeded)
    check_seeded_statuses_still_match_the_plan(seeded)
    check_delete_demo_removes_the_candidates_first(seeded)
