"""The refill schedule engine: pure functions over exact decimals and dates.

No Django here. Models call these functions and store what they return; lists read
the stored columns. Volumes and rates are carried as ``Fraction`` internally so that
no division ever rounds: (20 - 3) / (340 / 2000) is exactly 100 days.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

Number = Decimal | Fraction | int

# The status and booking names are the record's vocabulary (patients.pump_states), shared
# with the SQL encodings of Pump.objects.with_status; the engine re-exports them.
from patients.pump_states import (  # noqa: E402, F401 (re-exported: the engine's public names)
    ALARMING,
    BOOKED,
    BOOKED_LATE,
    DUE_SOON,
    EMPTY,
    NO_FILL,
    OK,
    OVERDUE,
    STATUS_SEVERITY,
    UNBOOKED,
)

URGENT_REPLACEMENT_DAYS = 90


def exact(value: Number) -> Fraction:
    """Turn a Decimal, int or Fraction into an exact Fraction (floats are refused)."""
    if isinstance(value, float):
        raise TypeError("floats are not exact; pass a Decimal")
    return Fraction(value)


def planning_rate(daily_dose_mcg: Number, bolus_allowance_mcg: Number, concentration_mcg_ml: Number) -> Fraction:
    """mL per day the plan must allow for: (daily dose + bolus allowance) / concentration."""
    concentration = exact(concentration_mcg_ml)
    if concentration <= 0:
        raise ValueError("concentration must be positive")
    rate = (exact(daily_dose_mcg) + exact(bolus_allowance_mcg or 0)) / concentration
    if rate <= 0:
        raise ValueError("the daily dose must be positive")
    return rate


@dataclass(frozen=True)
class RateChange:
    """A program change: from ``starts_on`` the pump delivers ``rate_ml_per_day``."""

    starts_on: date
    rate_ml_per_day: Fraction


@dataclass(frozen=True)
class FillCycle:
    """What a refill left in the pump and how fast it is used, with later changes."""

    refilled_on: date
    volume_ml: Fraction
    rate_ml_per_day: Fraction
    changes: tuple[RateChange, ...] = ()

    @classmethod
    def build(
        cls,
        refilled_on: date,
        volume_ml: Number,
        rate_ml_per_day: Number,
        changes: Iterable[RateChange] = (),
    ) -> FillCycle:
        # Changes on or before the refill date are already part of the refill's rate.
        later = sorted((c for c in changes if c.starts_on > refilled_on), key=lambda c: c.starts_on)
        return cls(refilled_on, exact(volume_ml), exact(rate_ml_per_day), tuple(later))

    def segments(self) -> list[tuple[date, Fraction, date | None]]:
        """(start, rate, end) pieces of the projection; the last piece has no end."""
        starts = [(self.refilled_on, self.rate_ml_per_day)] + [(c.starts_on, c.rate_ml_per_day) for c in self.changes]
        return [
            (start, rate, starts[i + 1][0] if i + 1 < len(starts) else None) for i, (start, rate) in enumerate(starts)
        ]

    def volume_on(self, day: date) -> Fraction:
        """Projected volume at the start of ``day`` (may go below zero; callers floor it)."""
        volume = self.volume_ml
        for start, rate, end in self.segments():
            if day <= start:
                break
            stop = day if end is None or day < end else end
            volume -= rate * (stop - start).days
        return volume

    def date_reaching(self, threshold_ml: Number) -> date:
        """The date during which the projected volume reaches ``threshold_ml``."""
        threshold = exact(threshold_ml)
        volume = self.volume_ml
        for start, rate, end in self.segments():
            if volume <= threshold:
                # Already at or below it when this piece starts (e.g. crossed just
                # before a program change, or a fill that left less than the alarm).
                return start
            days = math.floor((volume - threshold) / rate)
            # A tiny rate (e.g. 0.01 mcg/day) puts the crossing beyond the calendar: clamp it
            # to the last representable date (refill due is capped by the max interval anyway).
            crossing = start + timedelta(days=days) if days <= (date.max - start).days else date.max
            if end is None or crossing < end:
                return crossing
            volume -= rate * (end - start).days
        raise AssertionError("the last segment has no end, so it always crosses")


def fill_cycle(
    refilled_on: date,
    volume_after_ml: Number,
    concentration_mcg_ml: Number,
    daily_dose_mcg: Number,
    bolus_allowance_mcg: Number | None,
    changes: Iterable[tuple[date, Number | None, Number | None]] = (),
) -> FillCycle:
    """The one fill-cycle builder: a fill and the program changes after it.

    ``changes``: (date, new daily dose or None, new bolus allowance or None), in the order
    they were made; each keeps the values it does not set. Changes on or before the fill
    date are part of the fill's own program and are skipped.
    """
    dose, bolus = daily_dose_mcg, bolus_allowance_mcg or 0
    rate_changes = []
    for day, new_dose, new_bolus in sorted(changes, key=lambda change: change[0]):
        if day <= refilled_on:
            continue
        dose = new_dose if new_dose is not None else dose
        bolus = new_bolus if new_bolus is not None else bolus
        rate_changes.append(RateChange(day, planning_rate(dose, bolus, concentration_mcg_ml)))
    rate = planning_rate(daily_dose_mcg, bolus_allowance_mcg or 0, concentration_mcg_ml)
    return FillCycle.build(refilled_on, volume_after_ml, rate, rate_changes)


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months, clamped to the month's last day (29 Feb + 12 = 28 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class PumpSchedule:
    """The stored, date-independent results for one pump."""

    alarm_date: date
    empty_date: date
    refill_due: date
    due_soon_from: date


def pump_schedule(
    cycle: FillCycle,
    alarm_volume_ml: Number,
    buffer_days: int,
    max_interval_days: int,
    due_soon_days: int,
) -> PumpSchedule:
    """Alarm date, empty date, refill due and the first due-soon day of one fill cycle."""
    alarm = cycle.date_reaching(alarm_volume_ml)
    empty = cycle.date_reaching(0)
    due = refill_due(alarm, cycle.refilled_on, buffer_days, max_interval_days)
    return PumpSchedule(alarm, empty, due, due_soon_from(due, due_soon_days))


def refill_due(alarm_date: date, refilled_on: date, buffer_days: int, max_interval_days: int) -> date:
    """min(alarm date - buffer days, refill date + the model's max interval)."""
    return min(alarm_date - timedelta(days=buffer_days), refilled_on + timedelta(days=max_interval_days))


def due_soon_from(refill_due_on: date, due_soon_days: int) -> date:
    """The first day a pump counts as due soon."""
    return refill_due_on - timedelta(days=due_soon_days)


def pump_status(
    today: date,
    empty_date: date | None,
    alarm_date: date | None,
    refill_due: date | None,
    due_soon_from: date | None,
) -> str:
    """Status of a pump on ``today``; the first matching rule wins (SPEC section 3)."""
    if refill_due is None or alarm_date is None or empty_date is None:
        return NO_FILL
    if today >= empty_date:
        return EMPTY
    if today >= alarm_date:
        return ALARMING
    if today > refill_due:
        return OVERDUE
    if due_soon_from is not None and today >= due_soon_from:
        return DUE_SOON
    return OK


def booking_state(refill_due: date | None, scheduled_refill_dates: Sequence[date]) -> str:
    """booked if a scheduled refill falls on or before refill due, late if only after."""
    if not scheduled_refill_dates:
        return UNBOOKED
    if refill_due is None or min(scheduled_refill_dates) <= refill_due:
        return BOOKED
    return BOOKED_LATE


@dataclass(frozen=True)
class Replacement:
    due: date
    estimated: bool


def replacement_due(implant_date: date, service_life_months: int | None, eri_date: date | None) -> Replacement | None:
    """The recorded ERI date, else implant date plus service life (estimated)."""
    if eri_date is not None:
        return Replacement(eri_date, estimated=False)
    if service_life_months is None:
        return None
    return Replacement(add_months(implant_date, service_life_months), estimated=True)


def replacement_state(today: date, due: date | None, window_days: int) -> str | None:
    """'urgent' within 90 days, 'planned' within the clinic's window, else None."""
    if due is None:
        return None
    days = (due - today).days
    if days <= URGENT_REPLACEMENT_DAYS:
        return "urgent"
    if days <= window_days:
        return "planned"
    return None


def expected_residual(previous: FillCycle | None, refill_date: date) -> Fraction | None:
    """Projected volume on a refill date from the previous fill, never below zero."""
    if previous is None:
        return None
    return max(previous.volume_on(refill_date), Fraction(0))


# A refill records its expected residual and discrepancy to 0.001 mL (Refill's columns); the
# flag judges the discrepancy at that precision, so the stored flag, the stored (and shown)
# discrepancy and the preview's label always agree, even just above the threshold.
RECORDED_PLACES = 3


def discrepancy_threshold_ml(reservoir_ml: Number) -> Fraction:
    """1.0 mL for reservoirs of 20 mL or less, 2.0 mL above that."""
    return Fraction(1) if exact(reservoir_ml) <= 20 else Fraction(2)


def residual_discrepancy(actual_ml: Number, expected_ml: Number) -> Fraction:
    """Actual residual minus expected: positive means more left than expected."""
    return exact(actual_ml) - exact(expected_ml)


def discrepancy_flagged(discrepancy_ml: Number, reservoir_ml: Number) -> bool:
    """True when the discrepancy, as recorded (RECORDED_PLACES), exceeds the threshold (SPEC 3:
    "exceeds", so exactly 1.0 mL on a 20 mL reservoir is not flagged)."""
    recorded = Fraction(to_decimal(exact(discrepancy_ml), RECORDED_PLACES))
    return abs(recorded) > discrepancy_threshold_ml(reservoir_ml)


def discrepancy_meaning(discrepancy_ml: Number) -> str:
    """What a discrepancy may mean, in the clinic's words."""
    if exact(discrepancy_ml) > 0:
        return (
            "More left than expected: possible under-delivery (catheter or pump fault). "
            "Withdrawal risk: check the patient and the system."
        )
    if exact(discrepancy_ml) < 0:
        return (
            "Less left than expected: possible over-delivery or a pocket fill. "
            "Check for overdose signs and the refill technique."
        )
    return "As expected."


def to_decimal(value: Fraction, places: int = 2) -> Decimal:
    """A Fraction rounded for display (never used in further arithmetic)."""
    quantum = Decimal(1).scaleb(-places)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(quantum)
