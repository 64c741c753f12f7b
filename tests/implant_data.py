"""Invented candidates with screening trials, for the implant and titration tests."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from screening.models import Candidate, ScreeningTrial, StageMove
from tests.factories import PatientFactory

GROUPS = ("hip_adductors_l", "hip_adductors_r", "knee_extensors_l", "knee_extensors_r")
BEFORE = {"hip_adductors_l": "3", "hip_adductors_r": "3", "knee_extensors_l": "2", "knee_extensors_r": "2"}
EFFECT = {"hip_adductors_l": "1+", "hip_adductors_r": "1", "knee_extensors_l": "1", "knee_extensors_r": "1"}


def make_candidate(clinic, *, stage="trial_done", referral=date(2025, 11, 2), stage_date=None, mrn=None, **fields):
    """A candidate (rows written directly: test set-up) with its referral and current stage moves."""
    patient = PatientFactory(clinic=clinic, **({"mrn": mrn} if mrn else {}))
    stage_date = stage_date or referral
    candidate = Candidate.objects.create(
        clinic=clinic,
        patient=patient,
        referral_date=referral,
        referrer="Dr Invented Referrer",
        cause="sci",
        injury_level="T4",
        functional_goals="Easier transfers and sleep without spasms.",
        stage=stage,
        stage_date=stage_date,
        closed_reason=fields.pop("closed_reason", ""),
        **fields,
    )
    StageMove.objects.create(candidate=candidate, stage="referred", date=referral)
    if stage != "referred":
        StageMove.objects.create(
            candidate=candidate, stage=stage, date=stage_date, closed_reason=candidate.closed_reason
        )
    return candidate


def trial(candidate, given_at: datetime, *, dose="50", effect_until_hours=4, outcome="responder", effective=True):
    """A trial whose effect (a mean drop of more than one MAS step) is seen at 2 hours and at
    ``effect_until_hours``, and gone at 24 hours; ``effective=False``: no drop at all."""
    after_scores = EFFECT if effective else BEFORE
    points = [{"hours": "2", "scores": after_scores}]
    if effect_until_hours != 2:
        points.append({"hours": str(effect_until_hours), "scores": after_scores})
    points.append({"hours": "24", "scores": BEFORE})
    return ScreeningTrial.objects.create(
        candidate=candidate,
        given_at=given_at,
        dose_mcg=Decimal(dose),
        mas_before=BEFORE,
        mas_after=points,
        outcome=outcome,
        note="Invented trial.",
    )


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def responder(clinic, *, trial_day=date(2025, 12, 1), stage="trial_done", stage_date=None, **kwargs):
    """A candidate after a 50 mcg responder trial (effect last seen at 4 hours: 100 mcg/day proposed)."""
    candidate = make_candidate(clinic, stage=stage, stage_date=stage_date or trial_day, **kwargs)
    trial(candidate, at(trial_day))
    return candidate


def two_trials(clinic, *, first_day=date(2025, 12, 1), stage="trial_done", **kwargs):
    """50 mcg not effective, then 75 mcg effective for 12 hours (75 mcg/day proposed)."""
    candidate = make_candidate(clinic, stage=stage, stage_date=first_day + timedelta(days=2), **kwargs)
    trial(candidate, at(first_day), dose="50", outcome="non_responder", effective=False)
    trial(candidate, at(first_day + timedelta(days=2)), dose="75", effect_until_hours=12)
    return candidate
