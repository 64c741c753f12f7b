"""Invented screening candidates and trials for the screening tests."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from screening.forms import AFTER_COLUMNS
from screening.models import Candidate, Cause, MuscleGroup, ScreeningTrial, Stage, StageMove
from tests.factories import PatientFactory

LONDON = ZoneInfo("Europe/London")
RESPONDER_BEFORE = {"hip_adductors_l": "3", "hip_adductors_r": "3", "knee_extensors_l": "2", "knee_extensors_r": "2"}
RESPONDER_AFTER = [
    {
        "hours": "2",
        "scores": {"hip_adductors_l": "1", "hip_adductors_r": "1+", "knee_extensors_l": "1", "knee_extensors_r": "1"},
    },
    {
        "hours": "4",
        "scores": {"hip_adductors_l": "1", "hip_adductors_r": "1", "knee_extensors_l": "0", "knee_extensors_r": "1"},
    },
    {
        "hours": "6",
        "scores": {"hip_adductors_l": "2", "hip_adductors_r": "1+", "knee_extensors_l": "1", "knee_extensors_r": "1"},
    },
    {
        "hours": "8",
        "scores": {"hip_adductors_l": "3", "hip_adductors_r": "3", "knee_extensors_l": "2", "knee_extensors_r": "2"},
    },
]


def make_candidate(
    clinic,
    *,
    stage=Stage.REFERRED,
    referral_date=date(2026, 9, 1),
    stage_date=None,
    patient=None,
    clinician=None,
    closed_reason="",
    cause=Cause.MULTIPLE_SCLEROSIS,
    injury_level="",
    **patient_fields,
):
    patient = patient or PatientFactory(clinic=clinic, **patient_fields)
    candidate = Candidate.objects.create(
        clinic=clinic,
        patient=patient,
        referral_date=referral_date,
        referrer="Dr Invented, neurology",
        cause=cause,
        injury_level=injury_level,
        functional_goals="Transfers and seating",
        clinician=clinician,
        stage=stage,
        stage_date=stage_date or referral_date,
        closed_reason=closed_reason,
    )
    StageMove.objects.create(candidate=candidate, stage=Stage.REFERRED, date=referral_date)
    if stage != Stage.REFERRED:
        StageMove.objects.create(
            candidate=candidate, stage=stage, date=candidate.stage_date, closed_reason=closed_reason
        )
    return candidate


def make_trial(
    candidate,
    *,
    given_at=datetime(2026, 10, 5, 9, 0, tzinfo=LONDON),
    dose="50",
    outcome="responder",
    before=None,
    after=None,
):
    return ScreeningTrial.objects.create(
        candidate=candidate,
        given_at=given_at,
        dose_mcg=Decimal(dose),
        mas_before=RESPONDER_BEFORE if before is None else before,
        mas_after=RESPONDER_AFTER if after is None else after,
        outcome=outcome,
    )


def grid_data(scores=None, hours=("1", "2", "4", "6", "8", ""), **overrides):
    """POST data: the dose fields and the grid. ``scores``: {(group, column): score}."""
    values = {
        "trial_date": "2026-11-24",
        "trial_time": "09:30",
        "method": "lumbar_puncture",
        "dose_mcg": "50",
        "side_effects": "Mild headache",
        "outcome": "responder",
        "note": "Sat unsupported for the first time in months",
    }
    for n in range(1, AFTER_COLUMNS + 1):
        values[f"hours_{n}"] = hours[n - 1]
    for group in MuscleGroup.values:
        for n in range(AFTER_COLUMNS + 1):
            values[f"mas_{group}_{n}"] = ""
    if scores is None:
        scores = {
            ("hip_adductors_l", 0): "3",
            ("hip_adductors_l", 2): "1+",
            ("hip_adductors_l", 3): "1",
            ("hip_adductors_l", 5): "2",
            ("knee_extensors_l", 0): "2",
            ("knee_extensors_l", 2): "1",
            ("knee_extensors_l", 3): "1",
            ("knee_extensors_l", 5): "2",
        }
    for (group, n), score in scores.items():
        values[f"mas_{group}_{n}"] = score
    values.update(overrides)
    return values
