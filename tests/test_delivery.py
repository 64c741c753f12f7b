"""reminders.delivery: claim once, re-check, render, send, mark; back off and fail visibly."""

import re
import socket
from datetime import date, time, timedelta

import pytest
import time_machine

from refills.models import Appointment
from reminders import delivery
from reminders import sweep as reminders
from reminders.models import Reminder, patient_id_from_token
from tests.factories import RefillFactory
from tests.reminders_data import appointment, member, pump_in_status, reminder_row, utc

pytestmark = pytest.mark.django_db
Kind, Status = Reminder.Kind, Reminder.Status
TUESDAY = date(2026, 3, 10)
NOW = utc(2026, 3, 10, 9, 30)


def swept(clinic, now=NOW, **filters) -> Reminder:
    with time_machine.travel(now, tick=False):
        reminders.sweep_clinic(clinic, now)
    return Reminder.objects.get(**filters)


def deliver(reminder, now=NOW):
    with time_machine.travel(now, tick=False):
        outcome = delivery.deliver(reminder.pk, now)
    reminder.refresh_from_db()
    return outcome


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def visit(clinic):
    pump = pump_in_status(clinic, "ok", TUESDAY, first_name="Zebedee", last_name="Quintessence")
    return appointment(pump.patient, date(2026, 3, 11), time(14, 30))


def test_appointment_email_content_and_headers(clinic, visit, mailoutbox):
    reminder = swept(clinic, kind=Kind.APPOINTMENT)
    assert deliver(reminder).result == delivery.SENT
    assert (reminder.status, reminder.attempts, reminder.sent_at) == (Status.SENT, 1, NOW)
    [message] = mailoutbox
    assert message.to == [visit.patient.email]
    text, (html, mimetype) = message.body, message.alternatives[0]
    assert mimetype == "text/html"
    for body in (text, html):
        assert clinic.name in body and clinic.phone in body
        assert "Wed 11 Mar 2026" in body and "14:30" in body  # SPEC 8 date format
        assert "emergency department and mention the pump" in body
        assert "rebook" in body
        [token] = re.findall(r"/unsubscribe/([^/]+)/", body)
        assert patient_id_from_token(token) == visit.patient.pk
        # Never a name, a dose or a concentration.
        assert "Zebedee" not in body and "Quintessence" not in body
        assert "mcg" not in body and "400" not in body and "2000" not in body
    assert message.extra_headers["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/unsubscribe/")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.extra_headers["Message-ID"] == f"<reminder-{reminder.pk}@127.0.0.1>"


def test_a_row_is_sent_once_however_often_its_task_runs(clinic, visit, mailoutbox):
    reminder = swept(clinic, kind=Kind.APPOINTMENT)
    assert deliver(reminder).result == delivery.SENT
    assert deliver(reminder).result == delivery.NOT_CLAIMED
    assert len(mailoutbox) == 1 and reminder.attempts == 1


def test_claim_is_a_conditional_update(clinic):
    row = reminder_row(clinic)
    assert delivery.claim(row.pk, NOW) is True
    assert delivery.claim(row.pk, NOW) is False  # already sending
    row.refresh_from_db()
    assert (row.status, row.attempts, row.claimed_at) == (Status.SENDING, 1, NOW)


def test_a_retry_is_not_claimed_before_its_time(clinic):
    row = reminder_row(clinic, next_attempt_at=NOW + timedelta(minutes=1))
    assert delivery.claim(row.pk, NOW) is False
    assert delivery.claim(row.pk, NOW + timedelta(minutes=1)) is True


def test_failures_back_off_then_end_failed(clinic, visit, settings, mailoutbox):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    settings.REMINDER_BACKOFF_SECONDS, settings.REMINDER_MAX_ATTEMPTS = 60, 3
    reminder = swept(clinic, kind=Kind.APPOINTMENT)
    outcome = deliver(reminder)
    assert outcome == delivery.Outcome(delivery.RETRY, NOW + timedelta(seconds=60))
    assert (reminder.status, reminder.attempts, reminder.next_attempt_at) == (Status.PENDING, 1, outcome.retry_at)
    assert "ConnectionRefusedError" in reminder.last_error
    assert deliver(reminder, NOW + timedelta(seconds=30)).result == delivery.NOT_CLAIMED  # waits its turn
    outcome = deliver(reminder, NOW + timedelta(seconds=60))
    assert outcome.retry_at == NOW + timedelta(seconds=60 + 120)  # doubled
    assert deliver(reminder, outcome.retry_at).result == delivery.FAILED
    assert (reminder.status, reminder.attempts) == (Status.FAILED, 3)
    assert deliver(reminder, NOW + timedelta(hours=1)).result == delivery.NOT_CLAIMED
    assert mailoutbox == []


def test_backoff_is_capped(settings):
    settings.REMINDER_BACKOFF_SECONDS, settings.REMINDER_BACKOFF_MAX_SECONDS = 60, 300
    assert [delivery.backoff_seconds(n) for n in (1, 2, 3, 4, 5)] == [60, 120, 240, 300, 300]


def test_skipped_when_the_patient_unsubscribed_after_the_sweep(clinic, visit, mailoutbox):
    reminder = swept(clinic, kind=Kind.APPOINTMENT)
    visit.patient.reminders_opt_in = False
    visit.patient.save()
    assert deliver(reminder).result == delivery.SKIPPED
    assert reminder.status == Status.SKIPPED and "turned reminders off" in reminder.last_error
    assert mailoutbox == []


def test_skipped_when_the_appointment_was_cancelled_or_had_started(clinic, visit, mailoutbox):
    reminder = swept(clinic, kind=Kind.APPOINTMENT)
    assert deliver(reminder, visit.starts_at).result == delivery.SKIPPED
    assert "started" in reminder.last_error
    other = pump_in_status(clinic, "ok", TUESDAY)
    cancelled = appointment(other.patient, date(2026, 3, 11))
    second = swept(clinic, appointment=cancelled)
    Appointment.objects.filter(pk=cancelled.pk).update(status=Appointment.Status.CANCELLED)
    assert deliver(second).result == delivery.SKIPPED
    assert mailoutbox == []


def test_the_email_goes_to_the_patients_current_address(clinic, visit, mailoutbox):
    reminder = swept(clinic, kind=Kind.APPOINTMENT)
    visit.patient.email = "new-address@example.invalid"
    visit.patient.save()
    deliver(reminder)
    assert mailoutbox[0].to == ["new-address@example.invalid"]
    assert reminder.recipient_email == "new-address@example.invalid"


def test_refill_nudge_skipped_once_booked(clinic, mailoutbox):
    pump = pump_in_status(clinic, "due_soon", TUESDAY)
    reminder = swept(clinic, kind=Kind.REFILL_NEEDED)
    appointment(pump.patient, TUESDAY + timedelta(days=3))
    assert deliver(reminder).result == delivery.SKIPPED
    assert "booked" in reminder.last_error


def test_refill_nudge_content(clinic, mailoutbox):
    pump = pump_in_status(clinic, "due_soon", TUESDAY)
    deliver(swept(clinic, kind=Kind.REFILL_NEEDED))
    [message] = mailoutbox
    assert pump.refill_due.strftime("%a %-d %b %Y") in message.body  # SPEC 8 date format
    assert "book" in message.subject and clinic.phone in message.body
    assert "emergency department" in message.alternatives[0][0]
    assert "List-Unsubscribe" in message.extra_headers


def test_digest_shows_mrn_initials_status_and_links_only(clinic, mailoutbox):
    reader = member(clinic, digest=True)
    clinic.digest_hour = 9
    clinic.save()
    urgent = pump_in_status(clinic, "alarming", TUESDAY, first_name="Wilhelmina", last_name="Xylophone")
    soon = pump_in_status(clinic, "due_soon", TUESDAY)
    pump_in_status(clinic, "ok", TUESDAY)
    deliver(swept(clinic, kind=Kind.DIGEST))
    [message] = mailoutbox
    assert message.to == [reader.email] and "List-Unsubscribe" not in message.extra_headers
    assert "2 need attention" in message.subject
    for body in (message.body, message.alternatives[0][0]):
        assert urgent.patient.mrn in body and "WX" in body and soon.patient.mrn in body
        assert f"http://127.0.0.1:8000/patients/{urgent.patient.pk}/" in body
        assert "Alarming" in body and urgent.alarm_date.strftime("%a %-d %b %Y") in body  # SPEC 8 date format
        assert "Wilhelmina" not in body and "Xylophone" not in body and "mcg" not in body


def test_digest_skipped_when_too_late_or_member_opted_out(clinic, mailoutbox):
    reader = member(clinic, digest=True)
    clinic.digest_hour = 9
    clinic.save()
    reminder = swept(clinic, kind=Kind.DIGEST)
    assert deliver(reminder, utc(2026, 3, 10, 21, 1)).result == delivery.SKIPPED
    assert "12 hours" in reminder.last_error
    reader.memberships.update(digest_opt_in=False)
    Reminder.objects.filter(pk=reminder.pk).update(status=Status.PENDING)
    assert deliver(reminder).result == delivery.SKIPPED
    assert "turned the digest off" in reminder.last_error
    assert mailoutbox == []


def test_escalation_content_and_skip_after_refill(clinic, admin_user, manager, mailoutbox):
    pump = pump_in_status(clinic, "empty", TUESDAY, manager=manager)
    with time_machine.travel(NOW, tick=False):
        reminders.sweep_clinic(clinic, NOW)
    rows = list(Reminder.objects.filter(kind=Kind.ESCALATION).order_by("pk"))
    assert deliver(rows[0]).result == delivery.SENT
    [message] = mailoutbox
    assert message.subject.startswith("EMPTY: pump of patient " + pump.patient.mrn)
    assert pump.empty_date.strftime("%a %-d %b %Y") in message.body  # SPEC 8 date format
    assert manager.get_full_name() in message.body
    assert "mcg" not in message.body and pump.patient.last_name not in message.body
    # Refilled before the second email went out: it is no longer true, so not sent.
    RefillFactory(pump=pump, performed_on=TUESDAY)
    assert deliver(rows[1]).result == delivery.SKIPPED
    assert len(mailoutbox) == 1


def test_a_template_error_is_a_recorded_failure_not_a_lost_row(clinic, visit, monkeypatch):
    reminder = swept(clinic, kind=Kind.APPOINTMENT)

    def broken(*args, **kwargs):
        raise RuntimeError("template broke")

    monkeypatch.setattr(delivery, "build_message", broken)
    assert deliver(reminder).result == delivery.RETRY
    assert reminder.status == Status.PENDING and "template broke" in reminder.last_error


def test_marking_needs_our_own_claim(clinic):
    row = reminder_row(clinic)
    delivery.claim(row.pk, NOW)
    row.refresh_from_db()
    # The sweep requeued it meanwhile (as if this worker had hung past the stuck timeout).
    Reminder.objects.filter(pk=row.pk).update(status=Status.PENDING)
    assert delivery._finish(row, status=Status.SENT) is False
    row.refresh_from_db()
    assert row.status == Status.PENDING
