"""Book, reschedule, cancel, complete and no-show appointments; the upcoming list.

Baseline: today is Sunday 2026-03-01 in Europe/London (GMT; BST from 2026-03-29).
The patient's pump was filled on 2026-01-01 (20 mL, 2000 mcg/mL, 400 mcg/day), so its
refill is due 2026-03-25: a refill booked on or before that is "booked", after it "late".
"""

import csv
import io
from datetime import UTC, date, datetime, time

import pytest
import time_machine
from auditlog.models import LogEntry
from django.contrib.messages import get_messages
from django.urls import reverse

from patients.models import Pump
from refills.models import Appointment
from tests.factories import AppointmentFactory, PatientFactory, PumpFactory, RefillFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 1)
REFILL_DUE = date(2026, 3, 25)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel("2026-03-01 12:00:00Z", tick=False):
        yield


@pytest.fixture
def pump(clinic, manager):
    patient = PatientFactory(clinic=clinic, manager=manager)
    pump = PumpFactory(patient=patient, implant_date=date(2025, 12, 1))
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), is_initial_fill=True)
    pump.refresh_from_db()
    assert pump.refill_due == REFILL_DUE
    return pump


@pytest.fixture
def patient(pump):
    return pump.patient


def booking(pump) -> str:
    return Pump.objects.with_status(TODAY).get(pk=pump.pk).booking


def appointment(pump, **kwargs):
    return AppointmentFactory(patient=pump.patient, pump=pump, **{"local_date": date(2026, 3, 20), **kwargs})


def book_url(patient, query=""):
    return reverse("appointment_create", kwargs={"pk": patient.pk}) + query


def action_url(name, appt):
    return reverse(name, kwargs={"pk": appt.pk})


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- booking ----------------------------------------------------------------------


def test_get_prefills_kind_and_date_from_the_query(client, staff, patient, manager):
    client.force_login(staff)
    initial = client.get(book_url(patient, "?kind=review&date=2026-03-20")).context["form"].initial
    assert initial == {
        "kind": "review",
        "local_date": date(2026, 3, 20),
        "local_time": time(9, 0),
        "assigned_to": manager.pk,
    }


def test_get_without_a_date_offers_the_refill_due_date(client, staff, patient):
    client.force_login(staff)
    initial = client.get(book_url(patient)).context["form"].initial
    assert (initial["kind"], initial["local_date"]) == ("refill", REFILL_DUE)


@pytest.mark.parametrize(
    "query", ["?kind=bogus&date=2026-13-45", "?date=99999-01-01", "?date=%00", "?kind=&date=", "?date=2031-01-01"]
)
def test_invalid_query_values_are_ignored(client, staff, patient, query):
    client.force_login(staff)
    response = client.get(book_url(patient, query))
    assert response.status_code == 200
    initial = response.context["form"].initial
    assert (initial["kind"], initial["local_date"]) == ("refill", REFILL_DUE)


def test_a_past_date_in_the_query_becomes_today(client, staff, patient):
    client.force_login(staff)
    initial = client.get(book_url(patient, "?kind=refill&date=2026-01-05")).context["form"].initial
    assert initial["local_date"] == TODAY


def test_booking_a_refill_makes_the_pump_booked(client, staff, pump, patient):
    assert booking(pump) == "unbooked"
    client.force_login(staff)
    data = {"kind": "refill", "local_date": "2026-03-20", "local_time": "10:30", "notes": ""}
    response = client.post(book_url(patient), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("patient_detail", kwargs={"pk": patient.pk})
    appt = Appointment.objects.get(patient=patient)
    assert (appt.pump, appt.status, appt.created_by) == (pump, "scheduled", staff)
    assert appt.starts_at == datetime(2026, 3, 20, 10, 30, tzinfo=UTC)  # GMT
    assert booking(pump) == "booked"


def test_booking_after_refill_due_is_late_and_times_follow_summer_time(client, staff, pump, patient):
    client.force_login(staff)
    response = client.post(book_url(patient), {"kind": "refill", "local_date": "2026-04-10", "local_time": "09:00"})
    appt = Appointment.objects.get(patient=patient)
    assert appt.starts_at == datetime(2026, 4, 10, 8, 0, tzinfo=UTC)  # 09:00 BST
    assert booking(pump) == "late"
    assert any("booked late" in m for m in messages_of(response))


def test_booking_another_kind_keeps_it_and_links_the_pump(client, staff, pump, patient):
    client.force_login(staff)
    client.post(book_url(patient), {"kind": "review", "local_date": "2026-03-20", "local_time": "09:00"})
    appt = Appointment.objects.get(patient=patient)
    assert (appt.kind, appt.pump, appt.local_time) == ("review", pump, time(9, 0))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("local_date", "1800-01-01"),
        ("local_date", "2026-02-30"),
        ("local_date", "2028-12-31"),
        ("local_date", "yesterday"),
        ("local_time", "25:99"),
        ("kind", "bogus"),
        ("assigned_to", "abc"),
        ("assigned_to", "other-clinic"),
    ],
)
def test_garbage_is_a_field_error_and_books_nothing(client, staff, patient, outsider, field, value):
    value = str(outsider.pk) if value == "other-clinic" else value
    data = {"kind": "refill", "local_date": "2026-03-20", "local_time": "09:00", field: value}
    client.force_login(staff)
    response = client.post(book_url(patient), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Appointment.objects.exists()


def test_outsider_cannot_book_for_this_clinic(client, outsider, patient):
    client.force_login(outsider)
    assert client.get(book_url(patient)).status_code == 404
    data = {"kind": "refill", "local_date": "2026-03-20", "local_time": "09:00"}
    assert client.post(book_url(patient), data).status_code == 404
    assert not Appointment.objects.exists()


# --- rescheduling ------------------------------------------------------------------


def test_reschedule_changes_date_time_and_booking_state(client, staff, pump, manager):
    appt = appointment(pump)
    assert booking(pump) == "booked"
    client.force_login(staff)
    data = {"kind": "review", "local_date": "2026-04-02", "local_time": "11:00", "assigned_to": manager.pk}
    response = client.post(action_url("appointment_edit", appt), data)
    assert response.status_code == 302
    appt.refresh_from_db()
    assert (appt.local_date, appt.local_time, appt.assigned_to) == (date(2026, 4, 2), time(11, 0), manager)
    assert appt.kind == "refill"  # rescheduling keeps the kind
    assert appt.starts_at == datetime(2026, 4, 2, 10, 0, tzinfo=UTC)
    assert booking(pump) == "late"


def test_reschedule_to_the_past_is_refused(client, staff, pump):
    appt = appointment(pump)
    client.force_login(staff)
    response = client.post(action_url("appointment_edit", appt), {"local_date": "2026-02-01", "local_time": "09:00"})
    assert "local_date" in response.context["form"].errors
    appt.refresh_from_db()
    assert appt.local_date == date(2026, 3, 20)


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_cancelled_appointment_cannot_be_rescheduled(client, staff, pump, method):
    appt = appointment(pump, status=Appointment.Status.CANCELLED)
    client.force_login(staff)
    response = getattr(client, method)(
        action_url("appointment_edit", appt), {"local_date": "2026-03-21", "local_time": "09:00"}
    )
    assert response.status_code == 302
    assert any("only a scheduled appointment can be rescheduled" in m for m in messages_of(response))
    appt.refresh_from_db()
    assert appt.local_date == date(2026, 3, 20)


def test_outsider_cannot_reschedule(client, outsider, pump):
    appt = appointment(pump)
    client.force_login(outsider)
    assert client.get(action_url("appointment_edit", appt)).status_code == 404
    response = client.post(action_url("appointment_edit", appt), {"local_date": "2026-03-21", "local_time": "9:00"})
    assert response.status_code == 404
    appt.refresh_from_db()
    assert appt.local_date == date(2026, 3, 20)


# --- status actions ----------------------------------------------------------------


def test_cancel_frees_the_booking(client, staff, pump):
    appt = appointment(pump)
    client.force_login(staff)
    response = client.post(action_url("appointment_cancel", appt))
    assert response.status_code == 302
    appt.refresh_from_db()
    assert appt.status == "cancelled"
    assert booking(pump) == "unbooked"
    assert any("cancelled" in m for m in messages_of(response))


@pytest.mark.parametrize(
    ("name", "status"), [("appointment_complete", "completed"), ("appointment_no_show", "no_show")]
)
def test_complete_and_no_show_on_the_day(client, staff, pump, name, status):
    appt = appointment(pump, local_date=TODAY)
    client.force_login(staff)
    assert client.post(action_url(name, appt)).status_code == 302
    appt.refresh_from_db()
    assert appt.status == status
    assert booking(pump) == "unbooked"


@pytest.mark.parametrize("name", ["appointment_complete", "appointment_no_show"])
def test_a_future_appointment_cannot_be_completed_or_missed_yet(client, staff, pump, name):
    appt = appointment(pump)
    client.force_login(staff)
    response = client.post(action_url(name, appt))
    appt.refresh_from_db()
    assert appt.status == "scheduled"
    assert any("before that day" in m for m in messages_of(response))


def test_a_cancelled_appointment_cannot_be_completed(client, staff, pump):
    appt = appointment(pump, local_date=TODAY, status=Appointment.Status.CANCELLED)
    client.force_login(staff)
    response = client.post(action_url("appointment_complete", appt))
    assert response.status_code == 302
    appt.refresh_from_db()
    assert appt.status == "cancelled"
    assert any("already cancelled" in m for m in messages_of(response))


def test_status_actions_are_post_only(client, staff, pump):
    appt = appointment(pump)
    client.force_login(staff)
    assert client.get(action_url("appointment_cancel", appt)).status_code == 405
    appt.refresh_from_db()
    assert appt.status == "scheduled"


@pytest.mark.parametrize("name", ["appointment_cancel", "appointment_complete", "appointment_no_show"])
def test_another_clinics_appointment_is_404(client, staff, other_clinic, name):
    theirs = AppointmentFactory(patient=PatientFactory(clinic=other_clinic), local_date=TODAY)
    client.force_login(staff)
    assert client.post(action_url(name, theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "scheduled"


def test_next_is_followed_only_within_the_site(client, staff, pump):
    first, second = appointment(pump), appointment(pump, local_date=date(2026, 3, 21))
    client.force_login(staff)
    response = client.post(action_url("appointment_cancel", first), {"next": "/appointments/?kind=refill"})
    assert response["Location"] == "/appointments/?kind=refill"
    response = client.post(action_url("appointment_cancel", second), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("patient_detail", kwargs={"pk": pump.patient_id})


# --- the upcoming list ---------------------------------------------------------------


@pytest.fixture
def listed(pump, clinic, other_clinic, manager, staff):
    other_patient = PatientFactory(clinic=clinic, mrn="MRN-B")
    return {
        "later": appointment(pump, local_date=date(2026, 3, 20), assigned_to=manager),
        "soon": AppointmentFactory(
            patient=other_patient, kind="review", local_date=TODAY, local_time=time(15, 0), assigned_to=staff
        ),
        "past": appointment(pump, local_date=date(2026, 2, 20)),
        "cancelled": appointment(pump, local_date=date(2026, 3, 5), status=Appointment.Status.CANCELLED),
        "elsewhere": AppointmentFactory(patient=PatientFactory(clinic=other_clinic), local_date=date(2026, 3, 3)),
    }


def test_list_shows_scheduled_appointments_from_today_soonest_first(client, staff, listed):
    client.force_login(staff)
    response = client.get(reverse("appointments"))
    assert list(response.context["appointments"]) == [listed["soon"], listed["later"]]
    html = response.content.decode()
    assert "MRN-B" in html and listed["later"].patient.mrn in html
    assert reverse("appointment_edit", kwargs={"pk": listed["later"].pk}) in html


def test_list_filters_by_assigned_member_and_kind(client, staff, manager, listed):
    client.force_login(staff)
    by_manager = client.get(reverse("appointments"), {"assigned": manager.pk}).context["appointments"]
    assert list(by_manager) == [listed["later"]]
    reviews = client.get(reverse("appointments"), {"kind": "review"}).context["appointments"]
    assert list(reviews) == [listed["soon"]]


def test_list_ignores_bad_filter_values(client, staff, outsider, listed):
    client.force_login(staff)
    for params in ({"assigned": "abc"}, {"assigned": outsider.pk}, {"kind": "bogus"}, {"page": "1"}):
        response = client.get(reverse("appointments"), params)
        assert response.status_code == 200
        assert len(response.context["appointments"]) == 2


def test_csv_export_lists_the_filtered_rows_and_is_logged(client, staff, listed):
    client.force_login(staff)
    response = client.get(reverse("appointments"), {"kind": "refill", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["date", "time", "kind", "mrn", "patient", "pump_serial", "assigned_to"]
    assert [row[:4] for row in rows[1:]] == [["2026-03-20", "10:00", "refill", listed["later"].patient.mrn]]
    entry = LogEntry.objects.get(additional_data__export="appointments")
    assert entry.actor == staff and entry.changes["export"] == ["appointments", "csv, 1 rows"]


def test_csv_cells_cannot_run_as_formulas(client, staff, clinic):
    patient = PatientFactory(clinic=clinic, first_name="=HYPERLINK(1)")
    AppointmentFactory(patient=patient, local_date=TODAY, assigned_to=UserFactory(username="u1"))
    client.force_login(staff)
    rows = list(csv.reader(io.StringIO(client.get(reverse("appointments"), {"format": "csv"}).content.decode())))
    assert rows[1][4].startswith("'=")


def test_no_booking_for_a_patient_no_longer_followed(client, staff, patient):
    patient.status = "transferred"
    patient.save()
    client.force_login(staff)
    response = client.post(book_url(patient), {"kind": "refill", "local_date": "2026-03-20", "local_time": "09:00"})
    assert response.status_code == 302
    assert any("transferred" in m for m in messages_of(response))
    assert not Appointment.objects.exists()
