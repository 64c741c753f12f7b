"""Glue between the models and the pure schedule engine.

These functions read a pump's events, call refills.schedule, and store the results
on the pump in the caller's transaction.
"""

from datetime import date
from decimal import Decimal

from django.db import transaction

from patients.models import Pump
from refills import schedule
from refills.models import ProgramChange, Refill

STORED_FIELDS = [
    "last_refill_date",
    "alarm_date",
    "empty_date",
    "refill_due",
    "due_soon_from",
    "replacement_due",
    "replacement_estimated",
]


def _cycle(refill: Refill, changes) -> schedule.FillCycle:
    """The fill cycle a refill starts, with the program changes that follow it."""
    dose = refill.daily_dose_mcg
    bolus = refill.bolus_allowance_mcg or Decimal(0)
    rate_changes = []
    for change in sorted(changes, key=lambda c: (c.performed_on, c.pk or 0)):
        if change.performed_on <= refill.performed_on:
            continue
        dose = change.daily_dose_mcg if change.daily_dose_mcg is not None else dose
        bolus = change.bolus_allowance_mcg if change.bolus_allowance_mcg is not None else bolus
        rate = schedule.planning_rate(dose, bolus, refill.concentration_mcg_ml)
        rate_changes.append(schedule.RateChange(change.performed_on, rate))
    return schedule.FillCycle.build(
        refill.performed_on,
        refill.volume_after_ml,
        schedule.planning_rate(refill.daily_dose_mcg, refill.bolus_allowance_mcg or 0, refill.concentration_mcg_ml),
        rate_changes,
    )


def current_cycle(pump: Pump) -> tuple[Refill | None, schedule.FillCycle | None]:
    """The latest refill of a pump and its cycle (with later program changes)."""
    refill = pump.refills.order_by("-performed_on", "-id").first()
    if refill is None:
        return None, None
    changes = pump.program_changes.filter(performed_on__gt=refill.performed_on)
    return refill, _cycle(refill, changes)


def current_program(pump: Pump, refills=None, changes=None) -> dict | None:
    """Concentration, dose, bolus and mode in force now (for the patient page and card).

    ``refills`` and ``changes``: the pump's rows if the caller has already read them.
    """
    if refills is not None:
        refill = max(refills, key=lambda r: (r.performed_on, r.pk), default=None)
    else:
        refill = pump.refills.order_by("-performed_on", "-id").first()
    if refill is None:
        return None
    program = {
        "concentration_mcg_ml": refill.concentration_mcg_ml,
        "daily_dose_mcg": refill.daily_dose_mcg,
        "bolus_allowance_mcg": refill.bolus_allowance_mcg,
        "dosing_mode": refill.dosing_mode,
        "since": refill.performed_on,
    }
    if changes is not None:
        later = sorted(
            (c for c in changes if c.performed_on > refill.performed_on), key=lambda c: (c.performed_on, c.pk)
        )
    else:
        later = pump.program_changes.filter(performed_on__gt=refill.performed_on).order_by("performed_on", "id")
    for change in later:
        if change.daily_dose_mcg is not None:
            program["daily_dose_mcg"] = change.daily_dose_mcg
        if change.bolus_allowance_mcg is not None:
            program["bolus_allowance_mcg"] = change.bolus_allowance_mcg
        if change.dosing_mode:
            program["dosing_mode"] = change.dosing_mode
        program["since"] = change.performed_on
    return program


def compute_schedule(pump: Pump, events: tuple | None = None) -> dict:
    """The stored columns of a pump, computed from its events and settings.

    ``events``: (latest refill, its later program changes) when they are not saved yet
    (the import writes new pumps with their first fill together); else read from the pump.
    """
    clinic = pump.clinic
    if events is not None:
        refill = events[0]
        cycle = _cycle(refill, events[1]) if refill is not None else None
    else:
        refill, cycle = current_cycle(pump) if pump.pk else (None, None)
    values = {
        "last_refill_date": None,
        "alarm_date": None,
        "empty_date": None,
        "refill_due": None,
        "due_soon_from": None,
    }
    if cycle is not None:
        result = schedule.pump_schedule(
            cycle,
            pump.alarm_volume_ml,
            clinic.buffer_days,
            pump.model.max_refill_interval_days,
            clinic.due_soon_days,
        )
        values.update(
            last_refill_date=refill.performed_on,
            alarm_date=result.alarm_date,
            empty_date=result.empty_date,
            refill_due=result.refill_due,
            due_soon_from=result.due_soon_from,
        )
    replacement = schedule.replacement_due(pump.implant_date, pump.model.service_life_months, pump.eri_date)
    values["replacement_due"] = replacement.due if replacement else None
    values["replacement_estimated"] = replacement.estimated if replacement else True
    return values


def refresh_pump_schedule(pump: Pump) -> Pump:
    """Recompute and store a pump's dates (call inside the changing transaction)."""
    values = compute_schedule(pump)
    for field, value in values.items():
        setattr(pump, field, value)
    Pump.objects.filter(pk=pump.pk).update(**values)
    return pump


@transaction.atomic
def refresh_clinic_schedules(clinic) -> int:
    """After buffer or due-soon days change: recompute refill due for every pump.

    Alarm and empty dates do not depend on clinic settings, so this reads only the
    stored columns, never the events.
    """
    pumps = list(
        Pump.objects.filter(clinic=clinic, alarm_date__isnull=False)
        .select_related("model")
        .only("pk", "alarm_date", "last_refill_date", "model__max_refill_interval_days")
    )
    for pump in pumps:
        pump.refill_due = schedule.refill_due(
            pump.alarm_date, pump.last_refill_date, clinic.buffer_days, pump.model.max_refill_interval_days
        )
        pump.due_soon_from = schedule.due_soon_from(pump.refill_due, clinic.due_soon_days)
    Pump.objects.bulk_update(pumps, ["refill_due", "due_soon_from"], batch_size=1000)
    return len(pumps)


def previous_cycle(refill: Refill) -> schedule.FillCycle | None:
    """The fill cycle that was running when ``refill`` happened."""
    previous = (
        Refill.objects.filter(pump_id=refill.pump_id, performed_on__lt=refill.performed_on)
        .exclude(pk=refill.pk)
        .order_by("-performed_on", "-id")
        .first()
    )
    if previous is None:
        return None
    changes = ProgramChange.objects.filter(
        pump_id=refill.pump_id, performed_on__gt=previous.performed_on, performed_on__lt=refill.performed_on
    )
    return _cycle(previous, changes)


def apply_residual_check(refill: Refill) -> None:
    """Set expected residual, discrepancy and the review flag on a refill before saving."""
    cycle = None if refill.is_initial_fill else previous_cycle(refill)
    expected = schedule.expected_residual(cycle, refill.performed_on)
    if expected is None or refill.volume_removed_ml is None:
        refill.expected_residual_ml = schedule.to_decimal(expected, 3) if expected is not None else None
        refill.residual_discrepancy_ml = None
        refill.needs_review = False
        return
    discrepancy = schedule.residual_discrepancy(refill.volume_removed_ml, expected)
    refill.expected_residual_ml = schedule.to_decimal(expected, 3)
    refill.residual_discrepancy_ml = schedule.to_decimal(discrepancy, 3)
    flagged = schedule.discrepancy_flagged(discrepancy, refill.pump.reservoir_ml)
    # A flagged refill stays on the review list until acknowledged.
    if refill.reviewed_at is None:
        refill.needs_review = flagged


def refresh_later_residuals(pump: Pump, after: date) -> int:
    """Re-run the residual check of refills after ``after`` (an earlier event changed)."""
    later = list(Refill.objects.filter(pump=pump, performed_on__gt=after).select_related("pump"))
    fields = ["expected_residual_ml", "residual_discrepancy_ml", "needs_review"]
    for refill in later:
        apply_residual_check(refill)
    Refill.objects.bulk_update(later, fields)
    return len(later)


def status_on(pump: Pump, today: date) -> str:
    """Python-side status of one pump (the SQL annotation must agree with this)."""
    return schedule.pump_status(today, pump.empty_date, pump.alarm_date, pump.refill_due, pump.due_soon_from)


def refresh_appointment_times(clinic) -> int:
    """After a clinic's time zone changes: recompute the UTC start of its appointments."""
    from refills.models import Appointment

    appointments = list(Appointment.objects.filter(patient__clinic=clinic).select_related("patient__clinic"))
    for appointment in appointments:
        appointment.patient.clinic = clinic
        appointment.starts_at = appointment.start_moment()
    Appointment.objects.bulk_update(appointments, ["starts_at"], batch_size=1000)
    return len(appointments)
