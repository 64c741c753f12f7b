"""What Today shows about the screening pipeline: candidates waiting for a first trial
longer than the clinic's target, named, each with their clinician (one query)."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Case, Count, IntegerField, Sum, Value, When, Window

from screening.pipeline import pipeline, waiting_beyond_target_q

NAMED = 10  # Today names at most this many, longest waiting first; the rest are on the pipeline page


@dataclass(frozen=True)
class WaitingCandidates:
    count: int
    target_days: int
    named: list  # Candidate rows (with days_since_referral and clinician), longest waiting first
    mine: int  # how many of them are the user's own

    @property
    def more(self) -> int:
        return self.count - len(self.named)


def waiting_candidates(clinic, today: date, user=None) -> WaitingCandidates:
    """Candidates waiting longer than ``clinic.screening_target_days`` from referral to a first
    trial: how many, the longest waiting named, and how many are ``user``'s."""
    mine = Case(When(clinician=user, then=Value(1)), default=Value(0), output_field=IntegerField())
    # The totals as window functions: computed over every waiting candidate before the LIMIT,
    # so Today runs one query however many there are.
    named = list(
        pipeline(clinic, today)
        .filter(waiting_beyond_target_q(clinic, today))
        .annotate(waiting_total=Window(Count("pk")), waiting_mine=Window(Sum(mine)))
        .order_by("referral_date", "pk")[:NAMED]
    )
    return WaitingCandidates(
        count=named[0].waiting_total if named else 0,
        target_days=clinic.screening_target_days,
        named=named,
        mine=(named[0].waiting_mine or 0) if named and user is not None else 0,
    )
