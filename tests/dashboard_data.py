"""Pumps in a chosen status on a fixed day, for the dashboard view tests.

With the factories' default fill (20 mL at 2000 mcg/mL, 400 mcg/day: 0.2 mL/day, a
SynchroMed II alarm at 2 mL) and the clinic defaults (buffer 7, due soon 14 days), a
refill on R gives: due soon from R+69, refill due R+83, alarm R+90, empty R+100.
"""

from datetime import date, time, timedelta
from decimal import Decimal

from refills import schedule
from tests.factories import AppointmentFactory, PatientFactory, PumpFactory, RefillFactory

TODAY = date(2026, 4, 1)  # a Wednesday
FROZEN = "2026-04-01 10:00:00Z"  # 11:00 in London, 06:00 in New York: the same date in both
REFILL_AGO = {
    schedule.EMPTY: 105,
    schedule.ALARMING: 95,
    schedule.OVERDUE: 87,
    schedule.DUE_SOON: 75,
    schedule.OK: 10,
}


def pump_with_status(clinic, status, *, today=TODAY, refill_ago=None, pump_fields=None, **patient_fields):
    """An active pump of a new patient whose status on ``today`` is ``status``."""
    patient = PatientFactory(clinic=clinic, **patient_fields)
    pump = PumpFactory(patient=patient, **{"implant_date": today - timedelta(days=400), **(pump_fields or {})})
    if status != schedule.NO_FILL:
        ago = refill_ago if refill_ago is not None else REFILL_AGO[status]
        RefillFactory(pump=pump, performed_on=today - timedelta(days=ago), is_initial_fill=True)
        pump.refresh_from_db()
    return pump


def book_refill(pump, on: date, kind="refill"):
    return AppointmentFactory(patient=pump.patient, pump=pump, kind=kind, local_date=on, local_time=time(9, 30))


def flagged_refill(clinic, *, today=TODAY, removed="18", **patient_fields):
    """A refill 10 days ago whose residual differed from the 14 mL expected (18 mL: +4 mL)."""
    pump = pump_with_status(clinic, schedule.OK, today=today, refill_ago=40, **patient_fields)
    refill = RefillFactory(pump=pump, performed_on=today - timedelta(days=10), volume_removed_ml=Decimal(removed))
    pump.refresh_from_db()
    return refill
