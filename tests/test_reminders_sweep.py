"""reminders.sweep: which rows the sweep writes, when, and only once."""

import socket
from datetime import date, time, timedelta

import pytest
import time_machine

from refills.models import Appointment
from reminders import sweep as reminders
from reminders.models import Reminder, SweepRun
from tests.factories import ClinicFactory, RefillFactory
from tests.reminders_data import appointment, keys, member, pump_in_status, reminder_row, utc

pytestmark = pytest.mark.django_db
Kind, Status = Reminder.Kind, Reminder.Status

# Tuesday 10 March 2026; London is on GMT (UTC+0) until 29 March.
TUESDAY = date(2026, 3, 10)


def sweep(clinic, now):
    with time_machine.travel(now, tick=False):
        return reminders.sweep_clinic(clinic, now)


# Appointment reminders ------------------------------------------------------------------


def test_appointment_reminder_at_each_lead_day_from_nine_local(clinic):
    pump = pump_in_status(clinic, "ok", TUESDAY)
    visit = appointment(pump.patient, TUESDAY + timedelta(days=7), time(14, 0))
    assert sweep(clinic, utc(2026, 3, 10, 8, 59)) == 0  # 08:59 local: not yet
    assert sweep(clinic, utc(2026, 3, 10, 9, 0)) == 1
    row = Reminder.objects.get()
    assert (row.kind, row.target, row.key_date) == (Kind.APPOINTMENT, f"appointment:{visit.pk}", TUESDAY)
    assert row.expires_at == visit.starts_at and row.recipient_email == pump.patient.email
    assert sweep(clinic, utc(2026, 3, 12, 9, 0)) == 0  # between lead days: nothing new
    assert sweep(clinic, utc(2026, 3, 16, 9, 5)) == 1  # the day before
    assert [r[2] for r in keys()] == [TUESDAY, date(2026, 3, 16)]


def test_a_missed_lead_day_is_superseded_by_the_latest_one(clinic):
    pump = pump_in_status(clinic, "ok", TUESDAY)
    appointment(pump.patient, date(2026, 3, 17), time(14, 0))
    # Nothing ran between the 7-day and the 1-day reminder: one reminder, the latest.
    assert sweep(clinic, utc(2026, 3, 16, 15, 0)) == 1
    assert Reminder.objects.get().key_date == date(2026, 3, 16)


def test_a_late_reminder_waits_for_nine_unless_the_visit_is_earlier(clinic):
    pump = pump_in_status(clinic, "ok", TUESDAY)
    appointment(pump.patient, date(2026, 3, 12), time(14, 0))  # booked inside the 7-day lead time
    assert sweep(clinic, utc(2026, 3, 10, 6, 0)) == 0  # no patient email at 06:00
    assert sweep(clinic, utc(2026, 3, 10, 9, 0)) == 1
    other = pump_in_status(clinic, "ok", TUESDAY)
    appointment(other.patient, date(2026, 3, 11), time(8, 0))  # starts before tomorrow's 09:00
    assert sweep(clinic, utc(2026, 3, 11, 6, 0)) == 1


def test_no_appointment_reminder_once_it_started(clinic):
    pump = pump_in_status(clinic, "ok", TUESDAY)
    appointment(pump.patient, TUESDAY, time(10, 0))
    assert sweep(clinic, utc(2026, 3, 10, 10, 0)) == 0
    assert not Reminder.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"opted_in": False},
        {"email": False},
    ],
)
def test_appointment_reminders_need_an_opted_in_patient_with_email(clinic, change):
    pump = pump_in_status(clinic, "ok", TUESDAY, **change)
    appointment(pump.patient, date(2026, 3, 11))
    assert sweep(clinic, utc(2026, 3, 10, 12, 0)) == 0


def test_no_reminder_for_a_cancelled_appointment(clinic):
    pump = pump_in_status(clinic, "ok", TUESDAY)
    appointment(pump.patient, date(2026, 3, 11), status=Appointment.Status.CANCELLED)
    assert sweep(clinic, utc(2026, 3, 10, 12, 0)) == 0


# Refill needed, not booked ------------------------------------------------------------


def test_refill_nudge_once_per_due_cycle(clinic):
    pump = pump_in_status(clinic, "due_soon", TUESDAY)
    assert sweep(clinic, utc(2026, 3, 10, 8, 59)) == 0  # before the clinic's morning
    assert sweep(clinic, utc(2026, 3, 10, 9, 0)) == 1
    assert sweep(clinic, utc(2026, 3, 11, 9, 0)) == 0  # still due soon, same cycle
    assert sweep(clinic, utc(2026, 3, 20, 9, 0)) == 0  # now overdue, same cycle
    row = Reminder.objects.get()
    assert (row.kind, row.target, row.key_date) == (Kind.REFILL_NEEDED, f"pump:{pump.pk}", pump.refill_due)
    # Refilled on the 20th: a new cycle, due soon again 69 days later.
    RefillFactory(pump=pump, performed_on=date(2026, 3, 20))
    pump.refresh_from_db()
    assert sweep(clinic, utc(2026, 3, 21, 9, 0)) == 0
    assert sweep(clinic, utc(2026, 5, 28, 9, 0)) == 1
    assert Reminder.objects.filter(kind=Kind.REFILL_NEEDED).count() == 2


def test_no_refill_nudge_when_booked_ok_or_not_opted_in(clinic):
    booked = pump_in_status(clinic, "due_soon", TUESDAY)
    appointment(booked.patient, TUESDAY + timedelta(days=5))  # before refill due: booked
    pump_in_status(clinic, "ok", TUESDAY)
    pump_in_status(clinic, "overdue", TUESDAY, opted_in=False)
    late = pump_in_status(clinic, "due_soon", TUESDAY)
    appointment(late.patient, late.refill_due + timedelta(days=3))  # booked late: not "unbooked"
    sweep(clinic, utc(2026, 3, 10, 9, 0))
    assert not Reminder.objects.filter(kind=Kind.REFILL_NEEDED).exists()
    # The booked patient does get the appointment reminder (7-day lead time).
    assert Reminder.objects.filter(kind=Kind.APPOINTMENT, patient=booked.patient).count() == 1


# Staff digest -----------------------------------------------------------------------


def test_digest_at_the_digest_hour_on_working_days_for_opted_in_members(clinic):
    clinic.digest_hour = 7
    clinic.save()
    reader = member(clinic, digest=True)
    member(clinic, digest=False)
    assert sweep(clinic, utc(2026, 3, 14, 12, 0)) == 0  # Saturday
    assert sweep(clinic, utc(2026, 3, 16, 6, 59)) == 0  # Monday 06:59
    assert sweep(clinic, utc(2026, 3, 16, 7, 0)) == 1
    row = Reminder.objects.get()
    assert (row.kind, row.recipient_user, row.key_date) == (Kind.DIGEST, reader, date(2026, 3, 16))
    assert row.expires_at == utc(2026, 3, 16, 19, 0)  # 12 hours
    assert sweep(clinic, utc(2026, 3, 16, 11, 0)) == 0  # once a day


def test_a_digest_missed_by_more_than_12_hours_is_recorded_skipped(clinic):
    clinic.digest_hour = 7
    clinic.save()
    member(clinic, digest=True)
    SweepRun.objects.create(started_at=utc(2026, 3, 16, 6, 0), finished_at=utc(2026, 3, 16, 6, 0))
    # Down from Monday 06:00 to Tuesday 10:00.
    with time_machine.travel(utc(2026, 3, 17, 10, 0), tick=False):
        run = reminders.run_sweep(utc(2026, 3, 17, 10, 0))
    assert run.rows_created == 1 and run.finished_at is not None
    assert SweepRun.objects.count() == 2
    rows = {r.key_date: r for r in Reminder.objects.filter(kind=Kind.DIGEST)}
    assert rows[date(2026, 3, 16)].status == Status.SKIPPED
    assert "12 hours" in rows[date(2026, 3, 16)].last_error
    assert rows[date(2026, 3, 17)].status == Status.PENDING
    assert len(rows) == 2  # the weekend and earlier days are not invented
    # A week later: the missed working days since the last sweep are recorded; old runs pruned.
    with time_machine.travel(utc(2026, 3, 25, 10, 0), tick=False):
        reminders.run_sweep(utc(2026, 3, 25, 10, 0))
    assert SweepRun.objects.count() == 1
    assert Reminder.objects.filter(kind=Kind.DIGEST, status=Status.SKIPPED).count() == 1 + 5  # 18th-24th


def test_without_a_previous_sweep_old_digests_are_not_invented(clinic):
    member(clinic, digest=True)
    sweep(clinic, utc(2026, 3, 17, 10, 0))
    assert [r[2] for r in keys()] == [date(2026, 3, 17)]


# Escalation --------------------------------------------------------------------------


def test_escalation_to_the_manager_and_admins_once_per_status(clinic, admin_user, manager, staff):
    pump = pump_in_status(clinic, "alarming", TUESDAY, manager=manager)
    assert sweep(clinic, utc(2026, 3, 10, 2, 0)) == 2  # any hour: as soon as it is seen
    rows = Reminder.objects.filter(kind=Kind.ESCALATION)
    assert {r.recipient_user for r in rows} == {admin_user, manager}
    assert {r.pump_status for r in rows} == {"alarming"}
    assert {r.key_date for r in rows} == {pump.last_refill_date}
    assert sweep(clinic, utc(2026, 3, 12, 2, 0)) == 0
    # Five days later the pump is empty: a second escalation per recipient.
    assert sweep(clinic, utc(2026, 3, 15, 2, 0)) == 2
    assert sorted(rows.values_list("pump_status", flat=True)) == ["alarming", "alarming", "empty", "empty"]


def test_escalation_skips_a_manager_who_left_the_clinic(clinic, admin_user, outsider):
    pump_in_status(clinic, "empty", TUESDAY, manager=outsider)
    sweep(clinic, utc(2026, 3, 10, 2, 0))
    assert list(Reminder.objects.values_list("recipient_user", flat=True)) == [admin_user.pk]


def test_reminders_disabled_stops_patient_emails_not_staff_alerts(clinic, admin_user):
    clinic.reminders_enabled = False
    clinic.save()
    pump = pump_in_status(clinic, "alarming", TUESDAY)
    appointment(pump.patient, date(2026, 3, 11))
    sweep(clinic, utc(2026, 3, 10, 12, 0))
    assert [r[0] for r in keys()] == [Kind.ESCALATION]


# Writing, enqueueing, recovering -------------------------------------------------------


def test_new_rows_are_enqueued_when_the_transaction_commits(clinic, django_capture_on_commit_callbacks):
    pump_in_status(clinic, "due_soon", TUESDAY)
    pump_in_status(clinic, "overdue", TUESDAY)
    with django_capture_on_commit_callbacks() as callbacks:
        sweep(clinic, utc(2026, 3, 10, 9, 0))
    enqueued = sorted(cb.args[0] for cb in callbacks)
    assert enqueued == sorted(Reminder.objects.values_list("pk", flat=True)) and len(enqueued) == 2
    with django_capture_on_commit_callbacks() as callbacks:
        sweep(clinic, utc(2026, 3, 10, 9, 5))
    assert callbacks == []  # nothing new, nothing enqueued


def test_a_row_written_by_someone_else_is_not_written_again(clinic):
    pump = pump_in_status(clinic, "due_soon", TUESDAY)
    due = reminders.refill_nudges_due(clinic, utc(2026, 3, 10, 9, 0))
    assert reminders.write_rows(clinic, due, utc(2026, 3, 10, 9, 0)) != []
    # As if a concurrent sweep had not seen the first one: the constraint drops it.
    assert reminders.write_rows(clinic, due + due, utc(2026, 3, 10, 9, 0)) == []
    assert Reminder.objects.filter(pump=pump).count() == 1


def test_stuck_sending_rows_are_requeued_or_failed(clinic, settings, django_capture_on_commit_callbacks):
    settings.REMINDER_STUCK_SENDING_SECONDS = 600
    settings.REMINDER_MAX_ATTEMPTS = 3
    now = utc(2026, 3, 10, 12, 0)
    stuck = reminder_row(clinic, status=Status.SENDING, attempts=1, claimed_at=now - timedelta(minutes=11))
    busy = reminder_row(clinic, status=Status.SENDING, attempts=1, claimed_at=now - timedelta(minutes=5))
    spent = reminder_row(clinic, status=Status.SENDING, attempts=3, claimed_at=now - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert reminders.requeue_stuck(now) == 1
    for row in (stuck, busy, spent):
        row.refresh_from_db()
    assert (stuck.status, stuck.next_attempt_at) == (Status.PENDING, now)
    assert busy.status == Status.SENDING  # may still be sending: left alone
    assert spent.status == Status.FAILED and "stopped" in spent.last_error
    assert [cb.args[0] for cb in callbacks] == [stuck.pk]


def test_pending_rows_whose_task_was_lost_are_enqueued_again(clinic, django_capture_on_commit_callbacks):
    now = utc(2026, 3, 10, 12, 0)
    lost = reminder_row(clinic, next_attempt_at=now - timedelta(minutes=10))
    reminder_row(clinic, next_attempt_at=now - timedelta(seconds=30))  # its task is probably on its way
    reminder_row(clinic, next_attempt_at=now + timedelta(minutes=5))  # waiting for its backoff
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert reminders.requeue_pending(now) == 1
    assert [cb.args[0] for cb in callbacks] == [lost.pk]


def test_one_clinic_failing_does_not_stop_the_others(clinic, other_clinic):
    pump_in_status(other_clinic, "due_soon", TUESDAY)
    type(clinic).objects.filter(pk=clinic.pk).update(appointment_reminder_lead_days=["x"])
    with time_machine.travel(utc(2026, 3, 10, 15, 0), tick=False):
        run = reminders.run_sweep(utc(2026, 3, 10, 15, 0))
    assert run.clinics_failed == 1 and run.rows_created == 1
    assert Reminder.objects.get().clinic == other_clinic


def test_sweep_respects_each_clinics_time_zone():
    london = ClinicFactory(slug="ldn", time_zone="Europe/London")
    new_york = ClinicFactory(slug="nyc", time_zone="America/New_York")
    for clinic in (london, new_york):
        pump_in_status(clinic, "due_soon", TUESDAY)
    # 10:00 UTC is 10:00 in London and 06:00 in New York (EDT from 8 March).
    with time_machine.travel(utc(2026, 3, 10, 10, 0), tick=False):
        reminders.run_sweep(utc(2026, 3, 10, 10, 0))
    assert list(Reminder.objects.values_list("clinic__slug", flat=True)) == ["ldn"]
    with time_machine.travel(utc(2026, 3, 10, 13, 0), tick=False):
        reminders.run_sweep(utc(2026, 3, 10, 13, 0))
    assert sorted(Reminder.objects.values_list("clinic__slug", flat=True)) == ["ldn", "nyc"]


def test_only_active_patients_and_pumps(clinic, admin_user):
    gone = pump_in_status(clinic, "empty", TUESDAY)
    gone.patient.status = "deceased"
    gone.patient.save()
    explanted = pump_in_status(clinic, "empty", TUESDAY)
    explanted.status = "explanted"
    explanted.save()
    sweep(clinic, utc(2026, 3, 10, 12, 0))
    assert not Reminder.objects.exists()


@pytest.fixture
def broker_down(monkeypatch):
    """Point this process's Celery producer at a port where nothing listens."""
    from kombu import pools

    from clinic.celery import app

    def reset():
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{port}/0")  # Celery reads it first
    reset()
    yield
    monkeypatch.undo()
    reset()


def test_a_broker_outage_at_commit_keeps_the_row_for_the_next_sweep(
    clinic, broker_down, django_capture_on_commit_callbacks, caplog
):
    pump_in_status(clinic, "due_soon", TUESDAY)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(clinic, utc(2026, 3, 10, 9, 0)) == 1  # committed; the enqueue failed, quietly
    row = Reminder.objects.get()
    assert row.status == Status.PENDING
    assert "send_reminder.delay" in caplog.text  # logged by Django's robust on_commit
    with django_capture_on_commit_callbacks() as callbacks:
        reminders.requeue_pending(utc(2026, 3, 10, 9, 5))
    assert [cb.args[0] for cb in callbacks] == [row.pk]
