"""The pipeline's query: a clinic's candidates with their days waiting, counted in SQL.

Used by the pipeline page and by Today (screening/today.py), so that both count the same
candidates the same way.
"""

from datetime import date, timedelta

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Subquery, Value, When

from patients.querysets import DaysFrom
from screening import engine
from screening.models import Candidate, ScreeningTrial

STAGE_ORDER = Case(
    *(When(stage=stage, then=Value(index)) for index, stage in enumerate(engine.STAGES)),
    output_field=IntegerField(),
)


def search_q(value: str, prefix: str = "patient__") -> Q:
    """Every word must match the MRN, first or last name ("Smith, Ann" works), as the caseload's search."""
    q = Q()
    for word in value.replace(",", " ").split():
        q &= (
            Q(**{f"{prefix}mrn__icontains": word})
            | Q(**{f"{prefix}first_name__icontains": word})
            | Q(**{f"{prefix}last_name__icontains": word})
        )
    return q


def open_candidates_matching(clinic, value: str) -> int:
    """How many candidates of the pipeline's open stages match a search (one count query):
    the caseload's search, when it finds no pump, points to them."""
    if not value.strip():
        return 0
    return (
        Candidate.objects.filter(clinic=clinic)
        .in_pipeline()
        .exclude(stage=engine.CLOSED)
        .filter(search_q(value))
        .count()
    )


def pipeline(clinic, today: date):
    """The clinic's candidates in the pipeline (never an implanted pump patient), with
    ``days_in_stage``, ``days_since_referral`` and ``stage_order``, by stage then referral."""
    latest_trial = ScreeningTrial.objects.filter(candidate=OuterRef("pk")).order_by("-given_at", "-pk")
    return (
        Candidate.objects.filter(clinic=clinic)
        .in_pipeline()
        .select_related("patient", "clinician")
        .annotate(
            # today - the stored date, in whole days (DaysFrom gives column - day).
            days_in_stage=-DaysFrom("stage_date", today),
            days_since_referral=-DaysFrom("referral_date", today),
            stage_order=STAGE_ORDER,
            # The latest trial, for its link and outcome on the list (one subquery per value).
            last_trial_id=Subquery(latest_trial.values("pk")[:1]),
            last_trial_dose=Subquery(latest_trial.values("dose_mcg")[:1]),
            last_trial_outcome=Subquery(latest_trial.values("outcome")[:1]),
            last_trial_at=Subquery(latest_trial.values("given_at")[:1]),
        )
        .order_by("stage_order", "referral_date", "pk")
    )


def waiting_beyond_target_q(clinic, today: date) -> Q:
    """Candidates still waiting for their first trial longer than the clinic's target
    (``screening_target_days`` from referral; default 42)."""
    first_trial = ScreeningTrial.objects.filter(candidate=OuterRef("pk"))
    return (
        Q(stage__in=engine.BEFORE_TRIAL)
        & Q(referral_date__lt=today - timedelta(days=clinic.screening_target_days))
        & ~Q(Exists(first_trial))
    )
