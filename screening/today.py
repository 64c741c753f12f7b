"""What Today shows about the screening pipeline: candidates waiting for a first trial
longer than the clinic's target, named, each for their clinician."""

from dataclasses import dataclass
from datetime import date

from screening.pipeline import pipeline, waiting_beyond_target_q

NAMED = 10  # Today names at most this many; the rest are on the pipeline page


@dataclass(frozen=True)
class WaitingCandidates:
    count: int
    target_days: int
    named: list  # Candidate rows (with days_since_referral), longest waiting first
    mine: int  # how many of them are the user's own


def waiting_candidates(clinic, today: date, user=None) -> WaitingCandidates:
    """Candidates waiting longer than ``clinic.screening_target_days`` from referral to a first
    trial: how many, the longest waiting named, and how many are ``user``'s."""
    waiting = pipeline(clinic, today).filter(waiting_beyond_target_q(clinic, today))
    named = list(waiting.order_by("referral_date", "pk")[:NAMED])
    count = len(named) if len(named) < NAMED else waiting.count()
    mine = waiting.filter(clinician=user).count() if user is not None and count else 0
    return WaitingCandidates(count=count, target_days=clinic.screening_target_days, named=named, mine=mine)
