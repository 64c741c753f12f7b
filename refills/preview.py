"""What a refill or program change would do, computed before anything is saved.

Pure functions over the form's cleaned values and plain settings (no Django, no
database): the views gather the pump's current fill cycle, call these, and show the
result next to the form. The arithmetic is refills.schedule's, so the preview gives
the same dates that saving stores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from refills import schedule


@dataclass(frozen=True)
class ScheduleSettings:
    """The pump and clinic values the schedule depends on."""

    alarm_volume_ml: Decimal
    reservoir_ml: Decimal
    max_interval_days: int
    buffer_days: int
    due_soon_days: int

    @classmethod
    def of(cls, pump) -> ScheduleSettings:
        """From a pump (and its model and clinic), read by attribute only."""
        return cls(
            alarm_volume_ml=pump.alarm_volume_ml,
            reservoir_ml=pump.reservoir_ml,
            max_interval_days=pump.model.max_refill_interval_days,
            buffer_days=pump.clinic.buffer_days,
            due_soon_days=pump.clinic.due_soon_days,
        )


@dataclass(frozen=True)
class ResidualCheck:
    """Expected against actual residual at a refill (SPEC section 3)."""

    expected_ml: Decimal
    actual_ml: Decimal | None
    discrepancy_ml: Decimal | None
    threshold_ml: Decimal
    flagged: bool
    meaning: str


@dataclass(frozen=True)
class RefillPreview:
    residual: ResidualCheck | None  # None for a first fill (nothing to compare with)
    schedule: schedule.PumpSchedule
    rate_ml_per_day: Decimal


@dataclass(frozen=True)
class ProgramChangePreview:
    volume_on_change_ml: Decimal  # projected volume when the new program starts
    schedule: schedule.PumpSchedule
    rate_ml_per_day: Decimal


def _schedule(cycle: schedule.FillCycle, settings: ScheduleSettings) -> schedule.PumpSchedule:
    return schedule.pump_schedule(
        cycle, settings.alarm_volume_ml, settings.buffer_days, settings.max_interval_days, settings.due_soon_days
    )


def expected_residual_ml(previous: schedule.FillCycle | None, day: date) -> Decimal | None:
    """The projected volume on ``day`` (floor 0), rounded for a form field."""
    expected = schedule.expected_residual(previous, day)
    return None if expected is None else schedule.to_decimal(expected, 2)


def residual_check(
    previous: schedule.FillCycle | None, day: date, actual_ml: Decimal | None, reservoir_ml: Decimal
) -> ResidualCheck | None:
    """The same check saving a refill applies (services.apply_residual_check), without saving."""
    expected = schedule.expected_residual(previous, day)
    if expected is None:
        return None
    threshold = schedule.to_decimal(schedule.discrepancy_threshold_ml(reservoir_ml), 1)
    if actual_ml is None:
        return ResidualCheck(schedule.to_decimal(expected, 3), None, None, threshold, False, "")
    discrepancy = schedule.residual_discrepancy(actual_ml, expected)
    return ResidualCheck(
        expected_ml=schedule.to_decimal(expected, 3),
        actual_ml=actual_ml,
        discrepancy_ml=schedule.to_decimal(discrepancy, 3),
        threshold_ml=threshold,
        flagged=schedule.discrepancy_flagged(discrepancy, reservoir_ml),
        meaning=schedule.discrepancy_meaning(discrepancy),
    )


def preview_refill(cleaned: Mapping, previous: schedule.FillCycle | None, settings: ScheduleSettings) -> RefillPreview:
    """Residual check and the new alarm date, empty date and refill due of a refill.

    ``cleaned`` holds RefillForm's cleaned values; ``previous`` is the fill cycle
    running on the refill date (None for a first fill). Program changes on the refill
    date or earlier are part of the refill's own program, so the new cycle has none.
    """
    day = cleaned["performed_on"]
    rate = schedule.planning_rate(
        cleaned["daily_dose_mcg"], cleaned.get("bolus_allowance_mcg") or 0, cleaned["concentration_mcg_ml"]
    )
    cycle = schedule.FillCycle.build(day, cleaned["volume_after_ml"], rate)
    return RefillPreview(
        residual=residual_check(previous, day, cleaned.get("volume_removed_ml"), settings.reservoir_ml),
        schedule=_schedule(cycle, settings),
        rate_ml_per_day=schedule.to_decimal(rate, 3),
    )


@dataclass(frozen=True)
class FillProgram:
    """The part of a refill the projection needs."""

    performed_on: date
    volume_after_ml: Decimal
    concentration_mcg_ml: Decimal
    daily_dose_mcg: Decimal
    bolus_allowance_mcg: Decimal


@dataclass(frozen=True)
class DoseChange:
    """A program change: a new dose and/or bolus (None = unchanged) from a date."""

    performed_on: date
    daily_dose_mcg: Decimal | None
    bolus_allowance_mcg: Decimal | None


def cycle_with_changes(fill: FillProgram, changes: Iterable[DoseChange]) -> schedule.FillCycle:
    """The fill cycle of ``fill`` with program changes applied in date order (schedule.fill_cycle,
    the one builder, which refills.services uses too): each change keeps the values it does not set.
    """
    return schedule.fill_cycle(
        fill.performed_on,
        fill.volume_after_ml,
        fill.concentration_mcg_ml,
        fill.daily_dose_mcg,
        fill.bolus_allowance_mcg,
        [(change.performed_on, change.daily_dose_mcg, change.bolus_allowance_mcg) for change in changes],
    )


def preview_program_change(
    fill: FillProgram, existing: Iterable[DoseChange], cleaned: Mapping, settings: ScheduleSettings
) -> ProgramChangePreview:
    """The alarm date, empty date and refill due once the change in ``cleaned`` applies."""
    change = DoseChange(cleaned["performed_on"], cleaned.get("daily_dose_mcg"), cleaned.get("bolus_allowance_mcg"))
    changes = [*existing, change]
    cycle = cycle_with_changes(fill, changes)
    rate = next((c.rate_ml_per_day for c in cycle.changes if c.starts_on == change.performed_on), None)
    if rate is None:
        rate = cycle.rate_ml_per_day
    volume = max(cycle.volume_on(change.performed_on), Fraction(0))
    return ProgramChangePreview(
        volume_on_change_ml=schedule.to_decimal(volume, 2),
        schedule=_schedule(cycle, settings),
        rate_ml_per_day=schedule.to_decimal(rate, 3),
    )
