"""An implant appointment is not a refill booking, and an implanted candidate is a pump patient:
in the refill lists, Today's counts and caseload_report, out of the pipeline (issue 16)."""

import io
import json
from datetime import UTC, date, datetime, time

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from patients.models import Pump
from refills.forms import AppointmentForm
from refills.models import Appointment
from reminders import sweep as reminders
from tests.factories import AppointmentFactory
from tests.implant_data import responder
from tests.test_view_implant import implant_data

TODAY = date(2026, 1, 5)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel("2026-01-05 12:00:00Z", tick=False):
        yield


@pytest.fixture
def booked(clinic, manager):
    """A responder whose implant is booked for tomorrow; opted in to reminders, with an email."""
    clinic.appointment_reminder_lead_days = [1, 7]
    clinic.save()
    candidate = responder(clinic, stage="implant_scheduled", stage_date=TODAY, mrn="CAND-IMP")
    patient = candidate.patient
    patient.reminders_opt_in, patient.email, patient.manager = True, "cand@example.invalid", manager
    patient.save()
    AppointmentFactory(patient=patient, kind="implant", local_date=date(2026, 1, 6), local_time=time(8, 30))
    return candidate


def test_the_implant_appointment_is_never_reminded(clinic, booked):
    # The morning before (the 1-day lead): a refill appointment would be reminded now.
    now = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert reminders.appointment_reminders_due(clinic, now) == []
    # The same patient's other visit on the same day is reminded: only the implant is left out.
    other = AppointmentFactory(patient=booked.patient, kind="review", local_date=date(2026, 1, 6), local_time=time(11))
    assert [d.appointment_id for d in reminders.appointment_reminders_due(clinic, now)] == [other.pk]


def test_the_implant_appointment_books_no_refill(client, manager, clinic, booked):
    client.force_login(manager)
    today = client.get("/")
    assert today.context["counts"]["total"] == 0  # no pump yet
    assert "CAND-IMP" not in client.get(reverse("caseload")).content.decode()


def test_another_appointment_cannot_be_made_an_implant(clinic, booked):
    form = AppointmentForm(patient=booked.patient, today=TODAY)
    assert "implant" not in [value for value, _label in form.fields["kind"].choices]
    moved = AppointmentForm(patient=booked.patient, today=TODAY, instance=Appointment.objects.get(kind="implant"))
    assert "implant" in [value for value, _label in moved.fields["kind"].choices]  # rescheduling keeps its kind


def test_after_the_implant_a_pump_patient_not_a_candidate(client, manager, clinic, booked):
    client.force_login(manager)
    assert "CAND-IMP" in client.get(reverse("pipeline")).content.decode()
    response = client.post(reverse("candidate_implant", args=[booked.pk]), implant_data())
    assert response.status_code == 302
    pump = Pump.objects.get(patient=booked.patient)

    # A pump patient: in the caseload (not booked: the completed implant appointment is no
    # refill booking), in Today's count and in caseload_report.
    assert "CAND-IMP" in client.get(reverse("caseload")).content.decode()
    assert client.get("/").context["counts"]["total"] == 1
    pump = Pump.objects.with_status(TODAY).get(pk=pump.pk)
    assert pump.booking == "unbooked" and pump.first_refill_booking is None
    out = io.StringIO()
    call_command("caseload_report", "--clinic", clinic.slug, "--format", "json", stdout=out)
    (row,) = json.loads(out.getvalue())
    assert row["mrn"] == "CAND-IMP" and row["booked"] == "unbooked" and not row["next_appointment"]

    # Not in the pipeline any more, and no implant appointment left to remind.
    assert "CAND-IMP" not in client.get(reverse("pipeline")).content.decode()
    assert not Appointment.objects.filter(patient=booked.patient, status="scheduled").exists()
