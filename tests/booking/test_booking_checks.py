"""The booking page asks before booking a second refill of a pump, or a refill at a time outside
every refill session of the day (each with a tick naming it; without it a field error and
nothing saved). The late-booking flash names refill due in words.

Today is Sunday 1 Mar 2026 (Europe/London). The pump's refill is due Wed 25 Mar 2026.
"""

from datetime import date, time

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from refills import services
from refills.models import Appointment
from tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db

REFILL_DUE = date(2026, 3, 25)
TUESDAY = date(2026, 3, 24)


def book(client, pump, day, at, kind="refill", **ticks):
    url = reverse("appointment_create", kwargs={"pk": pump.patient_id})
    data = {"kind": kind, "local_date": day.isoformat(), "local_time": at, "assigned_to": "", **ticks}
    return client.post(url, data)


def booked(pump, kind=Appointment.Kind.REFILL):
    return Appointment.objects.filter(pump=pump, kind=kind, status=Appointment.Status.SCHEDULED).count()


# A second refill ---------------------------------------------------------------------------


def test_a_second_refill_needs_the_tick_naming_the_booked_one(client, staff, pump):
    AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 3, 20), local_time=time(11, 15))
    client.force_login(staff)
    page = client.get(reverse("appointment_create", kwargs={"pk": pump.patient_id}) + "?kind=refill")
    assert 'data-testid="booked-refill"' in page.content.decode()  # the page says it first

    refused = book(client, pump, REFILL_DUE, "10:00")
    assert refused.status_code == 200
    form = refused.context["form"]
    problem = "This pump already has a refill booked for Fri 20 Mar 2026 at 11:15"
    assert form.errors["local_date"] == [
        f"{problem}. Choose another, or tick '{problem}: book it anyway'.",
    ]
    assert form.fields["confirm_second_refill"].label == f"{problem}: book it anyway"
    assert f"{problem}: book it anyway" in refused.content.decode()
    assert booked(pump) == 1  # nothing saved

    done = book(client, pump, REFILL_DUE, "10:00", confirm_second_refill="on")
    assert done.status_code == 302
    assert booked(pump) == 2


def test_a_review_beside_a_booked_refill_asks_nothing(client, staff, pump):
    AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 3, 20), local_time=time(11, 15))
    client.force_login(staff)
    assert book(client, pump, REFILL_DUE, "10:00", kind="review").status_code == 302
    assert booked(pump, Appointment.Kind.REVIEW) == 1


def test_a_cancelled_or_past_refill_is_not_a_booking(client, staff, pump):
    cancelled = AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 3, 20))
    services.set_appointment_status(cancelled, Appointment.Status.CANCELLED)
    with time_machine.travel("2026-02-20 12:00:00Z", tick=False):
        AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 2, 27))  # before today, left open
    client.force_login(staff)
    assert book(client, pump, REFILL_DUE, "10:00").status_code == 302


def test_moving_the_one_refill_asks_nothing_but_moving_beside_another_names_it(client, staff, pump):
    first = AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 3, 20), local_time=time(11))
    client.force_login(staff)
    url = reverse("appointment_edit", kwargs={"pk": first.pk})
    assert client.post(url, {"local_date": "2026-03-23", "local_time": "11:00", "assigned_to": ""}).status_code == 302

    AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 3, 26), local_time=time(14))
    refused = client.post(url, {"local_date": "2026-03-19", "local_time": "11:00", "assigned_to": ""})
    assert refused.status_code == 200
    assert (
        refused.context["form"]
        .errors["local_date"][0]
        .startswith("This pump already has a refill booked for Thu 26 Mar 2026 at 14:00.")
    )
    first.refresh_from_db()
    assert first.local_date == date(2026, 3, 23)  # unchanged
    ticked = {"local_date": "2026-03-19", "local_time": "11:00", "assigned_to": "", "confirm_second_refill": "on"}
    assert client.post(url, ticked).status_code == 302


# A time outside the refill sessions ----------------------------------------------------------


@pytest.mark.parametrize("at", ["03:00", "08:59", "10:00", "23:30"])
def test_a_refill_outside_the_days_sessions_needs_the_tick(client, staff, pump, tuesday_session, at):
    client.force_login(staff)
    refused = book(client, pump, TUESDAY, at)
    assert refused.status_code == 200
    problem = f"{at} on Tue 24 Mar 2026 is outside the refill sessions (09:00-10:00)"
    assert refused.context["form"].errors["local_time"] == [
        f"{problem}. Choose another, or tick '{problem}: book it anyway'.",
    ]
    assert booked(pump) == 0
    assert book(client, pump, TUESDAY, at, confirm_outside_sessions="on").status_code == 302
    assert booked(pump) == 1


@pytest.mark.parametrize("at", ["09:00", "09:15", "09:59"])
def test_a_refill_inside_a_session_asks_nothing(client, staff, pump, tuesday_session, at):
    client.force_login(staff)
    assert book(client, pump, TUESDAY, at).status_code == 302


def test_a_working_day_without_a_session_names_it(client, staff, pump, tuesday_session):
    client.force_login(staff)
    refused = book(client, pump, REFILL_DUE, "10:00")
    assert (
        refused.context["form"]
        .errors["local_time"][0]
        .startswith("No refill session is held on Wednesdays (Wed 25 Mar 2026).")
    )
    assert booked(pump) == 0


def test_without_sessions_or_for_a_review_any_time_is_accepted(client, staff, pump, tuesday_session):
    client.force_login(staff)
    assert book(client, pump, TUESDAY, "07:00", kind="review").status_code == 302
    tuesday_session.delete()
    assert book(client, pump, TUESDAY, "03:00").status_code == 302


def test_a_late_booking_names_refill_due_in_words(client, staff, pump):
    client.force_login(staff)
    response = book(client, pump, date(2026, 3, 27), "10:00")
    assert response.status_code == 302
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert "This is after the refill due date (Wed 25 Mar 2026): the refill is booked late." in texts
    assert not any("2026-03-25" in text for text in texts)


def test_a_refused_booking_lists_its_problems_at_the_top(client, staff, pump):
    """The booking form, like the other forms, says at the top what stopped the save."""
    AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 3, 20), local_time=time(11, 15))
    client.force_login(staff)
    response = book(client, pump, REFILL_DUE, "10:00")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="error-summary"' in html and "Nothing was saved: 1 problem to fix" in html
