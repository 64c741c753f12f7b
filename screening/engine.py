"""The screening engine: pure functions over Decimal, datetime and plain values, no Django.

Definitions (SPEC 10; the label's rule leaves them to us, so they are written down here):

- **MAS order.** The Modified Ashworth Scale is ordinal: 0 < 1 < 1+ < 2 < 3 < 4. A *step* is
  one place in that order, so 1 -> 1+ is one step and 2 -> 1 two steps (1+ between them).
- **Per muscle group** (``compare_groups``): the score before the dose, the best (lowest)
  score after it with the first time point that reached it, and the change in steps
  (negative = less spasticity). Only groups scored before the dose and at least once after
  it are compared.
- **A time point shows the effect** when, over the groups scored both before the dose and
  at that time point, the scores dropped by at least one step on average (the mean change
  is -1 step or lower). This is the usual "1-point drop in the mean Ashworth score" of the
  screening literature, counted in MAS steps.
- **Effective trial**: at least one time point shows the effect.
- **Effect duration** (``effect_duration_hours``): the hours after the dose of the *last*
  time point that still shows the effect. We do not know how long beyond it the effect
  lasted, so an effect last seen at exactly 8 hours did not "last more than 8 hours".
- **Starting dose** (``propose_starting_dose``): from the *effective screening dose*, the
  lowest dose (the earliest if tied) among the trials the clinician marked "responder" that
  are also effective by the scores: twice that dose over 24 hours, or that dose itself when
  its effect lasted more than 8 hours. Always a proposal the clinician confirms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction

# Stages of a candidate (codes; the models give them their words).
REFERRED = "referred"
ASSESSED = "assessed"
TRIAL_SCHEDULED = "trial_scheduled"
TRIAL_DONE = "trial_done"
IMPLANT_SCHEDULED = "implant_scheduled"
IMPLANTED = "implanted"
CLOSED = "closed"
STAGES = (REFERRED, ASSESSED, TRIAL_SCHEDULED, TRIAL_DONE, IMPLANT_SCHEDULED, IMPLANTED, CLOSED)
# Stages before any trial: a candidate here is waiting for the first trial.
BEFORE_TRIAL = (REFERRED, ASSESSED, TRIAL_SCHEDULED)

# Outcomes of a trial.
RESPONDER = "responder"
NON_RESPONDER = "non_responder"
INCONCLUSIVE = "inconclusive"

MAS_SCORES = ("0", "1", "1+", "2", "3", "4")
_MAS_RANK = {score: rank for rank, score in enumerate(MAS_SCORES)}

MIN_HOURS_BETWEEN_TRIALS = 24
USUAL_DOSE_MIN = Decimal(25)
USUAL_DOSE_MAX = Decimal(100)
LONG_EFFECT_HOURS = Decimal(8)
MAX_HOURS_AFTER = Decimal(96)  # catheter infusion trials last a few days at most

# The sensible moves from each stage (forward, one back, or closing). "Implanted" is reached
# only by implanting the pump; a closed candidate can be reopened at the stage it was closed in.
_MOVES = {
    REFERRED: (ASSESSED, CLOSED),
    ASSESSED: (REFERRED, TRIAL_SCHEDULED, CLOSED),
    TRIAL_SCHEDULED: (ASSESSED, TRIAL_DONE, CLOSED),
    TRIAL_DONE: (TRIAL_SCHEDULED, IMPLANT_SCHEDULED, CLOSED),
    IMPLANT_SCHEDULED: (TRIAL_DONE, IMPLANTED, CLOSED),
    IMPLANTED: (),
    CLOSED: (),
}


def cancels_implant(stage: str, to: str) -> bool:
    """A move that cancels the implant booked: closing, or leaving "implant scheduled" other
    than by implanting (the booking no longer stands)."""
    return to == CLOSED or (stage == IMPLANT_SCHEDULED and to != IMPLANTED)


def allowed_moves(stage: str, *, closed_from: str | None = None) -> tuple[str, ...]:
    """The stages a candidate in ``stage`` may move to (``closed_from``: the stage before closing)."""
    if stage == CLOSED:
        return (closed_from,) if closed_from and closed_from not in (CLOSED, IMPLANTED) else (REFERRED,)
    return _MOVES[stage]


def mas_rank(score: str) -> int:
    """The place of a MAS score in the scale's order (0 for "0", 2 for "1+", 5 for "4")."""
    try:
        return _MAS_RANK[score]
    except KeyError:
        raise ValueError(f"not a Modified Ashworth Scale score: {score!r}") from None


def is_mas_score(value) -> bool:
    return isinstance(value, str) and value in _MAS_RANK


@dataclass(frozen=True)
class TimePoint:
    hours: Decimal  # after the dose, > 0
    scores: Mapping[str, str]  # muscle group -> MAS score


@dataclass(frozen=True)
class Trial:
    dose_mcg: Decimal
    before: Mapping[str, str]
    after: tuple[TimePoint, ...] = ()
    outcome: str = ""
    given_at: datetime | None = None

    @classmethod
    def from_stored(cls, *, given_at, dose_mcg, outcome, mas_before, mas_after) -> Trial:
        """From the stored JSON shape: ``mas_after`` is ``[{"hours": "4", "scores": {...}}]``."""
        points = tuple(
            sorted(
                (
                    TimePoint(hours=Decimal(str(p["hours"])), scores=dict(p.get("scores") or {}))
                    for p in mas_after or ()
                ),
                key=lambda p: p.hours,
            )
        )
        return cls(
            dose_mcg=Decimal(dose_mcg), before=dict(mas_before or {}), after=points, outcome=outcome, given_at=given_at
        )


@dataclass(frozen=True)
class GroupComparison:
    group: str
    before: str
    best_after: str
    best_after_hours: Decimal  # the first time point that reached the best score
    change: int  # in MAS steps, negative = less spasticity
    scores: tuple[tuple[Decimal, str], ...] = field(default=())  # (hours, score) after the dose

    @property
    def improved(self) -> bool:
        return self.change < 0


def compare_groups(trial: Trial, order: Sequence[str] | None = None) -> list[GroupComparison]:
    """Per muscle group scored before and after the dose: before, best after, change.

    ``order`` lists the groups in the order to return them (the form's); by default, as scored.
    """
    groups = list(order) if order is not None else list(trial.before)
    result = []
    for group in groups:
        before = trial.before.get(group)
        if before is None:
            continue
        after = tuple((p.hours, p.scores[group]) for p in trial.after if group in p.scores)
        if not after:
            continue
        best_hours, best = min(after, key=lambda hs: (mas_rank(hs[1]), hs[0]))
        result.append(
            GroupComparison(
                group=group,
                before=before,
                best_after=best,
                best_after_hours=best_hours,
                change=mas_rank(best) - mas_rank(before),
                scores=after,
            )
        )
    return result


def mean_change(trial: Trial, point: TimePoint) -> Fraction | None:
    """Mean change in steps at a time point over the groups scored before and at it (None if none)."""
    changes = [
        mas_rank(score) - mas_rank(trial.before[group])
        for group, score in point.scores.items()
        if group in trial.before
    ]
    if not changes:
        return None
    return Fraction(sum(changes), len(changes))


def shows_effect(trial: Trial, point: TimePoint) -> bool:
    change = mean_change(trial, point)
    return change is not None and change <= -1


def is_effective(trial: Trial) -> bool:
    """At least one time point shows a mean drop of one MAS step or more."""
    return any(shows_effect(trial, point) for point in trial.after)


def effect_duration_hours(trial: Trial) -> Decimal | None:
    """Hours after the dose of the last time point still showing the effect (None if never)."""
    hours = [point.hours for point in trial.after if shows_effect(trial, point)]
    return max(hours) if hours else None


@dataclass(frozen=True)
class Proposal:
    """A starting daily dose for the pump with the sentence that explains it (None: no proposal)."""

    daily_dose_mcg: Decimal | None
    reason: str
    trial: Trial | None = None


def _number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def effective_trial(trials: Iterable[Trial]) -> Trial | None:
    """The lowest-dose responder trial that the scores show effective (earliest if tied)."""
    candidates = [t for t in trials if t.outcome == RESPONDER and is_effective(t)]
    if not candidates:
        return None
    return min(candidates, key=lambda t: (t.dose_mcg, t.given_at or datetime.min))


def propose_starting_dose(trials: Iterable[Trial]) -> Proposal:
    """The label's starting dose from the screening trials (SPEC 10), with its reason.

    Twice the effective screening dose over 24 hours, or the screening dose itself when its
    effect lasted more than 8 hours. Without an effective responder trial there is no
    proposal (``daily_dose_mcg`` is None) and the reason says why.
    """
    trials = list(trials)
    if not trials:
        return Proposal(None, "No screening trial is recorded: no starting dose is proposed.")
    chosen = effective_trial(trials)
    if chosen is None:
        if not any(t.outcome == RESPONDER for t in trials):
            return Proposal(None, "No trial is marked responder: no starting dose is proposed.")
        return Proposal(
            None,
            "No responder trial shows a drop of at least one MAS step on average: "
            "no starting dose is proposed; enter the dose you decide.",
        )
    dose = chosen.dose_mcg
    hours = effect_duration_hours(chosen)
    if hours > LONG_EFFECT_HOURS:
        return Proposal(
            dose,
            f"The effect of the {_number(dose)} mcg screening dose lasted more than 8 hours "
            f"(still seen {_number(hours)} hours after the dose): start at the screening dose, "
            f"{_number(dose)} mcg/day.",
            chosen,
        )
    daily = dose * 2
    return Proposal(
        daily,
        f"The effect of the {_number(dose)} mcg screening dose was last seen {_number(hours)} hours "
        f"after the dose (not more than 8): start at twice the screening dose over 24 hours, "
        f"{_number(daily)} mcg/day.",
        chosen,
    )


def hours_between(earlier: datetime, later: datetime) -> Fraction:
    return Fraction(int((later - earlier) / timedelta(seconds=1)), 3600)


def too_close(given_at: datetime, others: Iterable[datetime]) -> datetime | None:
    """The first other trial less than 24 hours from ``given_at`` (None when all are far enough)."""
    for other in sorted(others):
        if abs(hours_between(other, given_at)) < MIN_HOURS_BETWEEN_TRIALS:
            return other
    return None


def dose_needs_confirmation(dose_mcg: Decimal) -> bool:
    return not (USUAL_DOSE_MIN <= dose_mcg <= USUAL_DOSE_MAX)


def parse_hours(text: str) -> Decimal | None:
    """Hours after the dose as typed ("4", "1.5"); None when not a number."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return None
    return value if value.is_finite() else None


def days_waiting(since, today) -> int:
    """Whole days from a local date to today (0 on the day itself)."""
    return (today - since).days
