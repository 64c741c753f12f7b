"""What the reminder emails say: urgent wording, the sender, SPEC 8 dates, the digest's count.

Read as a patient and as a nurse would: the text and the HTML part of every email.
"""

import re
from datetime import date, time, timedelta
from email import message_from_bytes, policy

import pytest
import time_machine
from django.conf import settings as django_settings

from clinic.models import Membership
from refills.models import Refill
from reminders import delivery, digest
from reminders import sweep as reminders
from reminders.models import Reminder
from tests.factories import PatientFactory, PumpFactory, RefillFactory
from tests.reminders_data import appointment, member, pump_in_status, utc

pytestmark = pytest.mark.django_db
Kind = Reminder.Kind
TUESDAY = date(2026, 3, 10)
NOW = utc(2026, 3, 10, 9, 30)  # 09:30 in London (GMT)
SAFETY = "go to the emergency department and mention the pump"


def spec_date(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"  # Wed 25 Nov 2026


def sweep(clinic, now=NOW):
    with time_machine.travel(now, tick=False):
        reminders.sweep_clinic(clinic, now)


def send(reminder, mailoutbox, now=NOW):
    """Deliver one row; its message (text, HTML) as the recipient gets it."""
    with time_machine.travel(now, tick=False):
        assert delivery.deliver(reminder.pk, now).result == delivery.SENT
    message = mailoutbox[-1]
    return message, message.body, message.alternatives[0][0]


def swept_and_sent(clinic, mailoutbox, kind, now=NOW, **filters):
    sweep(clinic, now)
    return send(Reminder.objects.get(kind=kind, **filters), mailoutbox, now)


# Urgent wording (issue 12 item 3, SPEC 8) -------------------------------------------------

URGENT_CASES = [
    ("overdue", "is now overdue"),
    ("alarming", "running low"),
    ("empty", "may have run out of medicine"),
]


@pytest.mark.parametrize(("status", "reason"), URGENT_CASES)
def test_a_pump_past_due_alarming_or_empty_gets_the_urgent_email(clinic, mailoutbox, status, reason):
    pump = pump_in_status(clinic, status, TUESDAY)
    message, text, html = swept_and_sent(clinic, mailoutbox, Kind.REFILL_NEEDED)
    assert message.subject == "Urgent: please call North Pump Clinic today about your pump refill"
    assert "time to book" not in message.subject
    for body in (text, html):
        assert "ignore" not in body.lower()
        assert "please call North Pump Clinic today on 0100 000 0000" in body
        assert reason in body and spec_date(pump.refill_due) in body
        assert "no refill appointment is booked" in body
        assert SAFETY in body  # the safety line stays
    assert "URGENT: please call" in text
    assert "border: 3px solid #b3001b" in html  # a red box a patient cannot miss


def test_a_pump_due_soon_keeps_the_gentle_email(clinic, mailoutbox):
    pump = pump_in_status(clinic, "due_soon", TUESDAY)
    message, text, html = swept_and_sent(clinic, mailoutbox, Kind.REFILL_NEEDED)
    assert message.subject == "North Pump Clinic: time to book your pump refill"
    for body in (text, html):
        assert f"due for a refill by {spec_date(pump.refill_due)}" in body.replace("<strong>", "").replace(
            "</strong>", ""
        )
        assert "you can ignore this email" in body and "Urgent" not in body and SAFETY in body


def test_the_wording_follows_the_sweep_and_never_gets_gentler(clinic, mailoutbox):
    """Swept while due soon, sent 12 days later (retries) when the pump is overdue: urgent."""
    pump_in_status(clinic, "due_soon", TUESDAY)
    sweep(clinic)
    row = Reminder.objects.get(kind=Kind.REFILL_NEEDED)
    assert row.pump_status == "due_soon"
    message, text, _html = send(row, mailoutbox, NOW + timedelta(days=12))
    assert message.subject.startswith("Urgent:") and "ignore" not in text.lower()
    # And the other way: swept as overdue, the wording stays urgent whatever the pump says at send time.
    other = pump_in_status(clinic, "due_soon", TUESDAY)
    sweep(clinic)
    row = Reminder.objects.get(kind=Kind.REFILL_NEEDED, pump=other)
    Reminder.objects.filter(pk=row.pk).update(pump_status="overdue")
    message, text, _html = send(row, mailoutbox)
    assert message.subject.startswith("Urgent:") and "ignore" not in text.lower()


def test_an_appointment_reminder_for_a_pump_past_due_is_urgent(clinic, mailoutbox):
    late = pump_in_status(clinic, "overdue", TUESDAY)
    visit = appointment(late.patient, TUESDAY + timedelta(days=1), time(14, 30))  # booked after refill due
    fine = pump_in_status(clinic, "ok", TUESDAY)
    appointment(fine.patient, TUESDAY + timedelta(days=1), time(15, 0))
    sweep(clinic)
    row = Reminder.objects.get(kind=Kind.APPOINTMENT, appointment=visit)
    assert row.pump_status == "overdue"  # the pump's status on the sweep's date
    message, text, html = send(row, mailoutbox)
    assert message.subject == "Urgent: please call North Pump Clinic today (your appointment is on Wed 11 Mar 2026)"
    for body in (text, html):
        assert "please call North Pump Clinic today" in body and "ignore" not in body.lower()
        assert f"refill was due by {spec_date(late.refill_due)}" in body
        assert "your appointment on Wed 11 Mar 2026 is later than that" in body
        assert "Wed 11 Mar 2026 at 14:30" in body and SAFETY in body
    message, text, html = send(Reminder.objects.get(kind=Kind.APPOINTMENT, patient=fine.patient), mailoutbox)
    assert message.subject == "Reminder: your appointment at North Pump Clinic on Wed 11 Mar 2026"
    assert "Urgent" not in text and "Urgent" not in html


# The sender --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["North Pump Clinic", "Clinique Saint-Éloi, Nord", 'The "Spinal" Unit <East>'])
def test_patient_emails_come_from_the_clinics_name(clinic, mailoutbox, name, settings):
    settings.DEFAULT_FROM_EMAIL = "ITB Caseload <no-reply@caseload.example>"
    clinic.name = name
    clinic.save()
    pump_in_status(clinic, "due_soon", TUESDAY)
    message, _text, _html = swept_and_sent(clinic, mailoutbox, Kind.REFILL_NEEDED)
    received = message_from_bytes(message.message().as_bytes(), policy=policy.default)
    [sender] = received["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (name, "no-reply@caseload.example")


def test_staff_emails_keep_the_installations_sender(clinic, mailoutbox):
    member(clinic, digest=True)
    clinic.digest_hour = 9
    clinic.save()
    message, _text, _html = swept_and_sent(clinic, mailoutbox, Kind.DIGEST)
    assert message.from_email == django_settings.DEFAULT_FROM_EMAIL


# SPEC 8 dates in every email ---------------------------------------------------------------

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
LONG_NAMES = re.compile(
    r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March|April|June|July|"
    r"August|September|October|November|December)\b"
)


def readable(text: str) -> str:
    """The words of an email without its links (a token may hold any characters)."""
    return re.sub(r"https?://\S+", "", text)


def test_every_email_writes_dates_as_wed_25_nov_2026(clinic, mailoutbox, admin_user):
    clinic.digest_hour = 9
    clinic.save()
    member(clinic, Membership.Role.MANAGER, digest=True)
    empty = pump_in_status(clinic, "empty", TUESDAY)  # a nudge, an escalation, a digest row
    visit = pump_in_status(clinic, "ok", TUESDAY)
    appointment(visit.patient, TUESDAY + timedelta(days=1))
    sweep(clinic)
    rows = {row.kind: row for row in Reminder.objects.order_by("pk")}
    assert set(rows) == {Kind.REFILL_NEEDED, Kind.APPOINTMENT, Kind.DIGEST, Kind.ESCALATION}
    expected = {
        Kind.REFILL_NEEDED: [spec_date(empty.refill_due)],
        Kind.APPOINTMENT: ["Wed 11 Mar 2026"],
        Kind.DIGEST: ["Tue 10 Mar 2026", spec_date(empty.refill_due), spec_date(empty.alarm_date)],
        Kind.ESCALATION: [spec_date(empty.alarm_date), spec_date(empty.empty_date), spec_date(empty.refill_due)],
    }
    for kind, row in rows.items():
        message, text, html = send(row, mailoutbox)
        for part in (message.subject, readable(text), readable(html)):
            assert not ISO_DATE.search(part), (kind, ISO_DATE.search(part))
            assert not LONG_NAMES.search(part), (kind, LONG_NAMES.search(part))
        for day in expected[kind]:
            assert day in text and day in html, (kind, day)
    assert any("digest for Tue 10 Mar 2026:" in m.subject for m in mailoutbox)  # the day in full, with its year


# The digest's count equals its rows (issue 12 item 14) ---------------------------------------


def listed_rows(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.startswith("- "))


def stated_count(body: str) -> int:
    return int(re.search(r"(\d+) items? needs? attention", body).group(1))


@pytest.fixture
def digest_reader(clinic):
    clinic.digest_hour = 9
    clinic.save()
    return member(clinic, digest=True)


def test_the_digest_counts_exactly_the_rows_it_lists(clinic, digest_reader, mailoutbox):
    pump_in_status(clinic, "alarming", TUESDAY)
    overdue = pump_in_status(clinic, "overdue", TUESDAY)
    appointment(overdue.patient, TUESDAY + timedelta(days=5))  # booked after refill due: one row, under Overdue
    pump_in_status(clinic, "due_soon", TUESDAY)
    late = pump_in_status(clinic, "due_soon", TUESDAY)
    appointment(late.patient, late.refill_due + timedelta(days=2))  # booked late
    patient = PatientFactory(clinic=clinic)
    replacement = PumpFactory(patient=patient, implant_date=date(2019, 1, 10), eri_date=TUESDAY + timedelta(days=40))
    refill = RefillFactory(pump=replacement, performed_on=TUESDAY - timedelta(days=30), is_initial_fill=True)
    Refill.objects.filter(pk=refill.pk).update(needs_review=True)  # and a refill awaiting review
    message, text, html = swept_and_sent(clinic, mailoutbox, Kind.DIGEST)
    # Empty or alarming 1, overdue 1, due soon 1, booked late 1, replacement 1, review 1.
    assert listed_rows(text) == 6
    assert stated_count(text) == stated_count(html) == 6
    assert html.count("<tr><td><a href=") == 6
    assert "6 need attention" in message.subject
    assert "== Booked late (1) ==" in text and "Booked late Sun 15 Mar 2026" in text  # the overdue pump's booking


def test_a_long_section_is_cut_and_still_counted(clinic, digest_reader, mailoutbox, monkeypatch):
    monkeypatch.setattr(digest, "SECTION_LIMIT", 2)
    for _ in range(3):
        pump_in_status(clinic, "overdue", TUESDAY)
    _message, text, html = swept_and_sent(clinic, mailoutbox, Kind.DIGEST)
    assert listed_rows(text) == 2 and "== Overdue (3) ==" in text and "... and 1 more in the app." in text
    assert stated_count(text) == stated_count(html) == 3
    assert "… and 1 more in the app." in html
