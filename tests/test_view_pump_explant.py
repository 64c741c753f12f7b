"""Explanting a pump: it leaves the caseload and its bookings are cancelled."""

from datetime import date, time

import pytest
import time_machine
from django.urls import reverse

from patients.models import Pump
from refills.models import Appointment
from tests.factories import AppointmentFactory, PumpFactory, RefillFactory


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel("2026-02-01 12:00:00Z", tick=False):
        yield


@pytest.fixture
def pump(clinic):
    pump = PumpFactory(patient__clinic=clinic, serial_number="NGP1", implant_date=date(2024, 6, 1))
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), is_initial_fill=True)
    return pump


def test_confirm_page_lists_the_bookings_to_cancel(client, manager, pump):
    AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 3, 20), local_time=time(9, 30))
    client.force_login(manager)
    html = client.get(reverse("pump_explant", args=[pump.pk])).content.decode()
    assert "Refill on Fri 20 Mar 2026 at 09:30" in html  # SPEC 8 date format
    assert 'name="explant_date" value="2026-02-01"' in html


def test_explant_leaves_the_caseload_and_cancels_bookings(client, manager, clinic, pump):
    booked = AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 3, 20), local_time=time(9, 30))
    done = AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 1, 1), status="completed")
    other = PumpFactory(patient__clinic=clinic)
    elsewhere = AppointmentFactory(patient=other.patient, pump=other, local_date=date(2026, 3, 20))
    assert Pump.objects.active().filter(pk=pump.pk).exists()
    client.force_login(manager)
    response = client.post(reverse("pump_explant", args=[pump.pk]), {"explant_date": "2026-01-30"})
    assert response.status_code == 302
    assert response["Location"] == reverse("patient_detail", args=[pump.patient_id])
    pump.refresh_from_db()
    assert pump.status == Pump.Status.EXPLANTED and pump.explant_date == date(2026, 1, 30)
    assert not Pump.objects.active().filter(pk=pump.pk).exists()
    statuses = dict(Appointment.objects.values_list("pk", "status"))
    assert statuses[booked.pk] == "cancelled"
    assert statuses[done.pk] == "completed"
    assert statuses[elsewhere.pk] == "scheduled"
    page = client.get(response["Location"]).content.decode()
    assert "1 scheduled appointment(s) cancelled" in page
    assert reverse("pump_create", args=[pump.patient_id]) in page


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("2026-02-02", "This date is in the future (today is Sun 1 Feb 2026)."),
        ("2024-05-31", "This date is before the pump&#x27;s implant date (Sat 1 Jun 2024)."),
        ("2025-12-31", "This date is before the pump&#x27;s last recorded fill or program change (Thu 1 Jan 2026)."),
        ("", "This field is required."),
    ],
)
def test_bad_dates_change_nothing(client, manager, pump, day, message):
    booked = AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 3, 20))
    client.force_login(manager)
    response = client.post(reverse("pump_explant", args=[pump.pk]), {"explant_date": day})
    assert response.status_code == 200 and message in response.content.decode()
    pump.refresh_from_db()
    booked.refresh_from_db()
    assert pump.status == Pump.Status.ACTIVE and pump.explant_date is None
    assert booked.status == "scheduled"


def test_explanting_twice_is_refused_with_a_message(client, manager, pump):
    client.force_login(manager)
    client.post(reverse("pump_explant", args=[pump.pk]), {"explant_date": "2026-01-30"})
    response = client.post(reverse("pump_explant", args=[pump.pk]), {"explant_date": "2026-01-31"}, follow=True)
    assert "already explanted on Fri 30 Jan 2026" in response.content.decode()
    pump.refresh_from_db()
    assert pump.explant_date == date(2026, 1, 30)


def test_staff_gets_403(client, staff, pump):
    client.force_login(staff)
    assert client.post(reverse("pump_explant", args=[pump.pk]), {"explant_date": "2026-01-30"}).status_code == 403
    pump.refresh_from_db()
    assert pump.status == Pump.Status.ACTIVE


def test_outsider_gets_404(client, outsider, pump):
    client.force_login(outsider)
    assert client.post(reverse("pump_explant", args=[pump.pk]), {"explant_date": "2026-01-30"}).status_code == 404
    pump.refresh_from_db()
    assert pump.status == Pump.Status.ACTIVE
