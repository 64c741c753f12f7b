"""The only writers of a pump's derived state (STYLE convention 11).

Every path that changes a pump, its fill events or its appointments (the pages, the
Django admin, the import, the commands, the demo) calls one of the functions below.
Each writes the event together with the pump's stored dates (``Pump.SCHEDULE_FIELDS``,
from the pure engine in refills.schedule) and its booking state
(``Pump.first_refill_booking``), in one transaction. Models have no save()/delete()
hooks on other rows: saving a model directly changes that row only.
"""

from datetime import date

from django.db import models, transaction
from django.db.models import signals
from django.utils import timezone

from clinic.audit import batched_entries
from patients.models import Patient, Pump
from refills import schedule
from refills.models import Appointment, ProgramChange, Refill

# Reading: the engine over a pump's rows -----------------------------------------------------


def fill_cycle(refill: Refill, changes) -> schedule.FillCycle:
    """The fill cycle a refill starts, with the program changes that follow it."""
    ordered = sorted(changes, key=lambda c: (c.performed_on, c.pk or 0))
    return schedule.fill_cycle(
        refill.performed_on,
        refill.volume_after_ml,
        refill.concentration_mcg_ml,
        refill.daily_dose_mcg,
        refill.bolus_allowance_mcg,
        [(c.performed_on, c.daily_dose_mcg, c.bolus_allowance_mcg) for c in ordered],
    )


def current_cycle(pump: Pump) -> tuple[Refill | None, schedule.FillCycle | None]:
    """The latest refill of a pump and its cycle (with later program changes)."""
    refill = pump.refills.order_by("-performed_on", "-id").first()
    if refill is None:
        return None, None
    changes = pump.program_changes.filter(performed_on__gt=refill.performed_on)
    return refill, fill_cycle(refill, changes)


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
    """The stored columns of a pump (``Pump.SCHEDULE_FIELDS``), computed from its events and settings.

    ``events``: (latest refill, its later program changes) when they are not saved yet
    (the import writes new pumps with their first fill together); else read from the pump.
    """
    clinic = pump.clinic
    if events is not None:
        refill = events[0]
        cycle = fill_cycle(refill, events[1]) if refill is not None else None
    else:
        refill, cycle = current_cycle(pump) if pump.pk else (None, None)
    values = dict.fromkeys(Pump.SCHEDULE_FIELDS)
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
    return fill_cycle(previous, changes)


def status_on(pump: Pump, today: date) -> str:
    """Python-side status of one pump (the SQL annotation must agree with this)."""
    return schedule.pump_status(today, pump.empty_date, pump.alarm_date, pump.refill_due, pump.due_soon_from)


def first_refill_booking(pump_id: int):
    """The date of a pump's earliest scheduled refill, or None."""
    return scheduled_refills().filter(pump=pump_id).order_by("local_date").values_list("local_date", flat=True).first()


def scheduled_refills():
    """The appointments that book a refill: the booking state comes from the earliest one."""
    return Appointment.objects.filter(kind=Appointment.Kind.REFILL, status=Appointment.Status.SCHEDULED)


# Storing derived state (inside the changing transaction) -----------------------------------


def refresh_pump_schedule(pump: Pump) -> Pump:
    """Recompute and store a pump's dates (call inside the changing transaction)."""
    values = compute_schedule(pump)
    for field, value in values.items():
        setattr(pump, field, value)
    Pump.objects.filter(pk=pump.pk).update(**values)
    return pump


def refresh_first_refill_booking(pump_ids) -> None:
    """Store on each pump the date of its earliest scheduled refill (None when there is none).

    One UPDATE whatever the number of pumps.
    """
    pump_ids = {pk for pk in pump_ids if pk is not None}
    if pump_ids:
        store_first_refill_booking(Pump.objects.filter(pk__in=pump_ids))


def store_first_refill_booking(pumps) -> int:
    """Recompute the stored first booked refill of every pump of the queryset ``pumps``."""
    first = scheduled_refills().filter(pump=models.OuterRef("pk")).order_by("local_date").values("local_date")[:1]
    return pumps.update(first_refill_booking=models.Subquery(first))


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


def _fill_events_changed(pump: Pump, *days: date) -> None:
    """After a fill event was written or deleted: the pump's dates and later residuals."""
    refresh_pump_schedule(pump)
    refresh_later_residuals(pump, min(day for day in days if day is not None))


# Fill events ---------------------------------------------------------------------------------


@transaction.atomic
def record_refill(refill: Refill) -> Refill:
    """Save a new or edited refill (its residual check) and the pump's stored dates."""
    previous_day = _stored_value(refill, "performed_on")
    apply_residual_check(refill)
    refill.save()
    _fill_events_changed(refill.pump, refill.performed_on, previous_day)
    return refill


@transaction.atomic
def change_program(change: ProgramChange) -> ProgramChange:
    """Save a new or edited program change and the pump's stored dates."""
    previous_day = _stored_value(change, "performed_on")
    change.save()
    _fill_events_changed(change.pump, change.performed_on, previous_day)
    return change


@transaction.atomic
def delete_fill_event(event: Refill | ProgramChange) -> None:
    """Delete a refill or program change and recompute the pump's stored dates."""
    pump, day = event.pump, event.performed_on
    event.delete()
    _fill_events_changed(pump, day)


@transaction.atomic
def acknowledge_refill(refill: Refill, user, note: str) -> Refill:
    """A manager's review of a flagged refill: only the review fields (the schedule does not change)."""
    refill.needs_review = False
    refill.reviewed_by = user
    refill.reviewed_at = timezone.now()
    refill.review_note = note
    refill.save(update_fields=["needs_review", "reviewed_by", "reviewed_at", "review_note"])
    return refill


# Pumps ---------------------------------------------------------------------------------------


@transaction.atomic
def edit_pump(pump: Pump) -> Pump:
    """Save a new or edited pump with its stored dates (alarm volume, ERI and model feed them)."""
    for field, value in compute_schedule(pump).items():
        setattr(pump, field, value)
    # Read again, so a save never writes back a booking date that an appointment changed
    # since this object was loaded (e.g. in another tab).
    pump.first_refill_booking = first_refill_booking(pump.pk) if pump.pk else None
    pump.save()
    return pump


@transaction.atomic
def implant(pump: Pump, first_fill: Refill, patient: Patient | None = None) -> Pump:
    """Save a pump (and its new patient) with its first fill; the pump's dates from that fill."""
    if patient is not None:
        patient.save()
        pump.patient = patient
    edit_pump(pump)
    first_fill.pump = pump
    first_fill.is_initial_fill = True
    record_refill(first_fill)
    pump.refresh_from_db()
    return pump


@transaction.atomic
def explant(pump: Pump, explant_date: date) -> int:
    """Mark a pump explanted and cancel its scheduled appointments; returns how many were cancelled."""
    pump.status = Pump.Status.EXPLANTED
    pump.explant_date = explant_date
    edit_pump(pump)
    cancelled = 0
    # One save per appointment so each cancellation is in the audit trail.
    for appointment in pump.appointments.filter(status=Appointment.Status.SCHEDULED).select_related("patient__clinic"):
        appointment.status = Appointment.Status.CANCELLED
        appointment.save()
        cancelled += 1
    refresh_first_refill_booking({pump.pk})
    pump.first_refill_booking = None
    return cancelled


@transaction.atomic
def delete_pump(pump: Pump) -> None:
    """Delete a pump with its appointments and fill events.

    Its rows go first, one by one, while the pump still exists: each deletion is in the
    audit trail, and an appointment of this pump that booked another pump's refill (the
    model allows it) leaves that pump's booking recomputed.
    """
    delete_appointments(Appointment.objects.filter(pump=pump))
    ProgramChange.objects.filter(pump=pump).delete()
    Refill.objects.filter(pump=pump).delete()
    pump.delete()


@transaction.atomic
def delete_patient(patient: Patient) -> None:
    """Delete a patient (refused while they have a pump: delete the pump first) and their
    appointments, recomputing the booking state of the pumps those booked."""
    delete_appointments(Appointment.objects.filter(patient=patient))
    patient.delete()


# Appointments --------------------------------------------------------------------------------


@transaction.atomic
def book_appointment(appointment: Appointment) -> Appointment:
    """Save a new (or changed) appointment and the booking state of its pump(s)."""
    previous_pump_id = _stored_value(appointment, "pump_id")
    appointment.save()
    # A move to another pump changes both pumps' first booking.
    refresh_first_refill_booking({previous_pump_id, appointment.pump_id})
    return appointment


@transaction.atomic
def book_appointments(appointments: list[Appointment]) -> list[Appointment]:
    """Save new appointments in one insert (book the week: 200 at once) with what save() does
    for each (its UTC start; the save signals, so each is in the audit trail, the entries
    written together), then the booking state of their pumps once for all."""
    for appointment in appointments:
        appointment.starts_at = appointment.start_moment()
    with batched_entries():
        for appointment in appointments:
            signals.pre_save.send(
                sender=Appointment, instance=appointment, raw=False, using="default", update_fields=None
            )
        Appointment.objects.bulk_create(appointments)
        for appointment in appointments:
            signals.post_save.send(
                sender=Appointment, instance=appointment, created=True, raw=False, using="default", update_fields=None
            )
    refresh_first_refill_booking({appointment.pump_id for appointment in appointments})
    return appointments


def move_appointment(appointment: Appointment) -> Appointment:
    """Save a rescheduled or otherwise edited appointment (another date, time, kind or pump)."""
    return book_appointment(appointment)


@transaction.atomic
def set_appointment_status(appointment: Appointment, status: str) -> Appointment:
    """Cancel, complete or mark as no-show an appointment: its pump is no longer booked by it."""
    appointment.status = status
    appointment.save(update_fields=["status", "updated_at"])
    refresh_first_refill_booking({appointment.pump_id})
    return appointment


def cancel_appointment(appointment: Appointment) -> Appointment:
    return set_appointment_status(appointment, Appointment.Status.CANCELLED)


def complete_appointment(appointment: Appointment) -> Appointment:
    return set_appointment_status(appointment, Appointment.Status.COMPLETED)


def no_show_appointment(appointment: Appointment) -> Appointment:
    return set_appointment_status(appointment, Appointment.Status.NO_SHOW)


@transaction.atomic
def delete_appointment(appointment: Appointment) -> None:
    pump_id = appointment.pump_id
    appointment.delete()
    refresh_first_refill_booking({pump_id})


@transaction.atomic
def delete_appointments(appointments) -> int:
    """Delete a queryset of appointments and recompute their pumps' booking state."""
    pump_ids = set(appointments.values_list("pump_id", flat=True))
    deleted, _ = appointments.delete()
    refresh_first_refill_booking(pump_ids)
    return deleted


# Clinic settings -----------------------------------------------------------------------------


@transaction.atomic
def change_clinic_settings(clinic) -> None:
    """Save a clinic; recompute refill due dates if buffer or due-soon days changed, and the
    UTC start of its appointments if its time zone changed."""
    stored = type(clinic).objects.filter(pk=clinic.pk).values(*SETTINGS_FIELDS).first() if clinic.pk else None
    clinic.save()
    if stored is None:
        return
    if any(stored[f] != getattr(clinic, f) for f in ("buffer_days", "due_soon_days")):
        refresh_clinic_schedules(clinic)
    if stored["time_zone"] != clinic.time_zone:
        refresh_appointment_times(clinic)


SETTINGS_FIELDS = ("buffer_days", "due_soon_days", "time_zone")


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


def refresh_appointment_times(clinic) -> int:
    """After a clinic's time zone changes: recompute the UTC start of its appointments."""
    appointments = list(Appointment.objects.filter(patient__clinic=clinic).select_related("patient__clinic"))
    for appointment in appointments:
        appointment.patient.clinic = clinic
        appointment.starts_at = appointment.start_moment()
    Appointment.objects.bulk_update(appointments, ["starts_at"], batch_size=1000)
    return len(appointments)


# Bulk: the import's new rows -----------------------------------------------------------------


def create_in_bulk(rows, insert) -> None:
    """Write new patients, each with a new pump, its first fill and its booked appointment.

    ``rows``: objects with unsaved ``patient``, ``pump``, ``refill`` (or None) and
    ``appointment`` (or None). ``insert(model, objects)`` inserts a list (the importer's
    bulk insert with its audit entries). The stored dates, residual checks, booking state
    and UTC starts are the ones the single-row services write.
    """
    if not rows:
        return
    insert(Patient, [row.patient for row in rows])
    for row in rows:
        row.pump.patient = row.patient
        for field_name, value in compute_schedule(row.pump, events=(row.refill, [])).items():
            setattr(row.pump, field_name, value)
        booking = row.appointment
        books = booking is not None and (booking.kind, booking.status) == (
            Appointment.Kind.REFILL,
            Appointment.Status.SCHEDULED,
        )
        row.pump.first_refill_booking = booking.local_date if books else None
    insert(Pump, [row.pump for row in rows])
    refills = [row.refill for row in rows if row.refill is not None]
    for refill in refills:
        refill.pump = refill.pump  # now saved: sets pump_id
        refill.is_initial_fill = True
        apply_residual_check(refill)
    insert(Refill, refills)
    appointments = [row.appointment for row in rows if row.appointment is not None]
    for appointment in appointments:
        appointment.patient, appointment.pump = appointment.patient, appointment.pump
        appointment.starts_at = appointment.start_moment()
    insert(Appointment, appointments)


def _stored_value(instance: models.Model, field: str):
    """The value of ``field`` as stored now (None for a new row): what an edit changes from."""
    if instance.pk is None:
        return None
    return type(instance).objects.filter(pk=instance.pk).values_list(field, flat=True).first()
