"""Builders shared by the reminder tests: pumps in a chosen status, outbox rows.

With the factories' defaults (20 mL at 2000 mcg/mL, 400 mcg/day: 0.2 mL/day, alarm at
2 mL) a pump refilled ``k`` days ago is: ok below 69, due soon from 69, overdue from 84,
alarming from 90 and empty from 100 (clinic defaults: buffer 7, due soon 14 days).
"""

from datetime import UTC, date, datetime, time, timedelta

from clinic.models import Membership
from reminders.models import Reminder
from tests.factories import (
    AppointmentFactory,
    MembershipFactory,
    PatientFactory,
    PumpFactory,
    RefillFactory,
    UserFactory,
)

DAYS_AGO = {"ok": 30, "due_soon": 75, "overdue": 86, "alarming": 95, "empty": 105}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def pump_in_status(clinic, status: str, today: date, *, opted_in=True, email=True, manager=None, **patient):
    """A patient with an active pump whose status on ``today`` is ``status``."""
    patient = PatientFactory(
        clinic=clinic,
        reminders_opt_in=opted_in,
        manager=manager,
        **({} if email else {"email": ""}),
        **patient,
    )
    pump = PumpFactory(patient=patient, implant_date=date(2024, 1, 10))
    RefillFactory(pump=pump, performed_on=today - timedelta(days=DAYS_AGO[status]), is_initial_fill=True)
    pump.refresh_from_db()
    return pump


def appointment(patient, local_date: date, at: time = time(14, 0), **kwargs):
    return AppointmentFactory(
        patient=patient, pump=patient.pumps.first(), local_date=local_date, local_time=at, **kwargs
    )


def member(clinic, role=Membership.Role.STAFF, *, digest=False, username=None):
    user = UserFactory(**({"username": username} if username else {}))
    MembershipFactory(clinic=clinic, user=user, role=role, digest_opt_in=digest)
    return user


def reminder_row(clinic, **fields) -> Reminder:
    """An outbox row, pending by default, with sensible required fields."""
    moment = fields.pop("moment", utc(2026, 3, 10, 9, 0))
    values = {
        "kind": Reminder.Kind.REFILL_NEEDED,
        "target": f"test:{Reminder.objects.count() + 1}",
        "key_date": moment.date(),
        "recipient_email": "someone@example.invalid",
        "due_at": moment,
        "next_attempt_at": moment,
    }
    values.update(fields)
    return Reminder.objects.create(clinic=clinic, **values)


def keys(queryset=None):
    """(kind, target, key_date, status) of every row, sorted."""
    rows = queryset if queryset is not None else Reminder.objects.all()
    return sorted(rows.values_list("kind", "target", "key_date", "status"))
