"""Titration and outcomes after an implant: the dose over time against the scores.

``dose_steps`` and ``review_point`` are pure (over rows already read); ``titration`` reads
one pump's fill events and reviews (queries whatever their number) and returns what
the patient page shows: the chart and its table. ``record_review`` / ``delete_review`` are
the only writers of a review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction

from screening import engine
from screening.models_titration import TitrationReview
from screening.titration_chart import DoseStep, ReviewPoint, titration_chart

# MAS as a number for a mean (engine.MAS_SCORES in order): 1+ counts as 1.5, the usual
# convention when Ashworth scores are averaged; the scale and its order are the engine's.
MAS_VALUE = dict(
    zip(engine.MAS_SCORES, (Decimal(0), Decimal(1), Decimal("1.5"), Decimal(2), Decimal(3), Decimal(4)), strict=True)
)


def mas_mean(scores: dict) -> Decimal | None:
    """The mean MAS of the groups scored (two decimals), None when none is scored."""
    values = [MAS_VALUE[score] for score in scores.values() if score in MAS_VALUE]
    if not values:
        return None
    return (sum(values) / len(values)).quantize(Decimal("0.01"))


def mas_sum(scores: dict) -> Decimal | None:
    values = [MAS_VALUE[score] for score in scores.values() if score in MAS_VALUE]
    return sum(values) if values else None


def dose_steps(refills, changes) -> list[DoseStep]:
    """The daily dose in force from each fill event that sets one, oldest first.

    A program change without a daily dose (a bolus change only) keeps the dose; a dose that
    repeats the one in force is not a step. On one day a refill comes before a program change.
    """
    events = [
        (r.performed_on, 0, r.pk or 0, r.daily_dose_mcg, "first_fill" if r.is_initial_fill else "refill")
        for r in refills
    ]
    events += [
        (c.performed_on, 1, c.pk or 0, c.daily_dose_mcg, "program_change")
        for c in changes
        if c.daily_dose_mcg is not None
    ]
    steps: list[DoseStep] = []
    for day, _order, _pk, dose, source in sorted(events, key=lambda e: e[:3]):
        if steps and steps[-1].dose_mcg == dose:
            continue
        if steps and steps[-1].day == day:
            steps[-1] = DoseStep(day, dose, source)
        else:
            steps.append(DoseStep(day, dose, source))
    return steps


def dose_on(steps: list[DoseStep], day: date) -> Decimal | None:
    """The daily dose in force on ``day`` (None before the first fill)."""
    current = None
    for step in steps:
        if step.day > day:
            break
        current = step.dose_mcg
    return current


def review_point(review: TitrationReview) -> ReviewPoint:
    scored = {g: s for g, s in (review.mas or {}).items() if s in MAS_VALUE}
    return ReviewPoint(review.reviewed_on, mas_mean(scored), len(scored), review.penn_score)


@dataclass(frozen=True)
class Row:
    """One line of the chart's table: a dose step, a review, or both on one day."""

    day: date
    dose_mcg: Decimal | None
    dose_changed: bool
    source: str
    review: TitrationReview | None
    mas_mean: Decimal | None
    groups: int
    penn: int | None


def table_rows(steps: list[DoseStep], reviews: list[TitrationReview]) -> list[Row]:
    """Dose steps and reviews by date, newest first, each review with the dose in force that day."""
    by_day = {}
    for step in steps:
        by_day[step.day] = Row(step.day, step.dose_mcg, True, step.source, None, None, 0, None)
    rows = list(by_day.values())
    for review in reviews:
        point = review_point(review)
        changed = by_day.pop(review.reviewed_on, None)
        if changed is not None:
            rows.remove(changed)
        rows.append(
            Row(
                review.reviewed_on,
                dose_on(steps, review.reviewed_on),
                changed is not None,
                changed.source if changed is not None else "",
                review,
                point.mas_mean,
                point.groups,
                point.penn,
            )
        )
    return sorted(rows, key=lambda r: (r.day, r.review.pk if r.review else 0), reverse=True)


def titration(pump, today: date, refills=None, changes=None) -> dict:
    """The titration section of a pump: chart (SVG), table rows and reviews.

    ``refills`` and ``changes``: the pump's fill events if the caller has already read them
    (the patient page has): then one query (the reviews), else three.
    """
    if refills is None:
        refills = list(pump.refills.only("pk", "pump", "performed_on", "daily_dose_mcg", "is_initial_fill"))
    if changes is None:
        changes = list(pump.program_changes.only("pk", "pump", "performed_on", "daily_dose_mcg"))
    reviews = list(pump.titration_reviews.select_related("reviewed_by"))
    steps = dose_steps(refills, changes)
    chart = titration_chart(
        steps,
        [review_point(r) for r in reviews],
        start=pump.implant_date,
        today=today,
        chart_id=f"titration-chart-{pump.pk}",
        title=f"Daily dose and spasticity scores since the implant of pump {pump.serial_number}",
    )
    return {"chart": chart, "rows": table_rows(steps, reviews), "reviews": reviews, "steps": steps}


@transaction.atomic
def record_review(review: TitrationReview) -> TitrationReview:
    """Save a new or edited review (its audit entry with it)."""
    review.save()
    return review


@transaction.atomic
def delete_review(review: TitrationReview) -> None:
    review.delete()
