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
    """The projected volume on ``day`` (floor 0), to the places a refill stores it
    (``schedule.RECORDED_PLACES``): the hint, the preview and the saved refill read the same."""
    expected = schedule.expected_residual(previous, day)
    return None if expected is None else schedule.to_decimal(expected, schedule.RECORDED_PLACES)


def within_tolerance_meaning(discrepancy_ml: Decimal, threshold_ml: Decimal) -> str:
    """What a discrepancy that is not flagged means: no review, whichever its sign (SPEC 3
    flags only one that exceeds the threshold), so never a withdrawal-risk warning."""
    if discrepancy_ml == 0:
        return schedule.discrepancy_meaning(discrepancy_ml)
    side = "More" if discrepancy_ml > 0 else "Less"
    return (
        f"{side} left than expected, but not more than {threshold_ml.normalize():f} mL off: "
        "within the usual measuring difference, not flagged for review."
    )


def residual_check(
    previous: schedule.FillCycle | None, day: date, actual_ml: Decimal | None, reservoir_ml: Decimal
) -> ResidualCheck | None:
    """The same check saving a refill applies (services.apply_residual_check), without saving."""
    expected = schedule.expected_residual(previous, day)
    if expected is None:
        return None
    places = schedule.RECORDED_PLACES
    threshold = schedule.to_decimal(schedule.discrepancy_threshold_ml(reservoir_ml), 1)
    if actual_ml is None:
        return ResidualCheck(schedule.to_decimal(expected, places), None, None, threshold, False, "")
    discrepancy = schedule.residual_discrepancy(actual_ml, expected)
    shown = schedule.to_decimal(discrepancy, places)
    flagged = schedule.discrepancy_flagged(discrepancy, reservoir_ml)
    return ResidualCheck(
        expected_ml=schedule.to_decimal(expected, places),
        actual_ml=actual_ml,
        discrepancy_ml=shown,
        threshold_ml=threshold,
        flagged=flagged,
        meaning=schedule.discrepancy_meaning(discrepancy) if flagged else within_tolerance_meaning(shown, threshold),
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
    return RefillPreview(
        residual=residual_check(previous, day, cleaned.get("volume_removed_ml"), settings.reservoir_ml),
        schedule=refill_schedule(cleaned, settings),
        rate_ml_per_day=schedule.to_decimal(rate, 3),
    )


def refill_schedule(cleaned: Mapping, settings: ScheduleSettings) -> schedule.PumpSchedule:
    """The alarm date, empty date and refill due a refill with these values leaves (its own
    fill only: program changes on or before its date are part of its program)."""
    rate = schedule.planning_rate(
        cleaned["daily_dose_mcg"], cleaned.get("bolus_allowance_mcg") or 0, cleaned["concentration_mcg_ml"]
    )
    return _schedule(schedule.FillCycle.build(cleaned["performed_on"], cleaned["volume_after_ml"], rate), settings)


@dataclass(frozen=True)
class FillProgram:
    """The part of a refill the projection needs."""

    performed_on: date
    volume_after_ml: Decimal
    concentration_mcg_ml: Decimal
    daily_dose_mcg: Decimal
    bolus_allowance_mcg: Decimal

    @classmethod
    def of(cls, refill) -> FillProgram:
        """The projection's part of a saved refill."""
        return cls(
            refill.performed_on,
            refill.volume_after_ml,
            refill.concentration_mcg_ml,
            refill.daily_dose_mcg,
            refill.bolus_allowance_mcg,
        )


@dataclass(frozen=True)
class DoseChange:
    """A program change: a new dose and/or bolus (None = unchanged) from a date."""

    performed_on: date
    daily_dose_mcg: Decimal | None
    bolus_allowance_mcg: Decimal | None

    @classmethod
    def of(cls, change) -> DoseChange:
        """The projection's part of a saved program change."""
        return cls(change.performed_on, change.daily_dose_mcg, change.bolus_allowance_mcg)


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
    # The rate from the change's date: the last change starting then (an earlier change the
    # same day is applied first, as saving applies it), not the first one.
    rate = next((c.rate_ml_per_day for c in reversed(cycle.changes) if c.starts_on == change.performed_on), None)
    if rate is None:
        rate = cycle.rate_ml_per_day
    volume = max(cycle.volume_on(change.performed_on), Fraction(0))
    return ProgramChangePreview(
        volume_on_change_ml=schedule.to_decimal(volume, 2),
        schedule=_schedule(cycle, settings),
        rate_ml_per_day=schedule.to_decimal(rate, 3),
    )
