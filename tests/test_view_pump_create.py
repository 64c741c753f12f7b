"""Implanting a new pump for a patient whose previous pump was explanted."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from patients.models import Pump, PumpModel
from refills.models import Refill
from tests.factories import PatientFactory, PumpFactory


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel("2026-01-05 12:00:00Z", tick=False):
        yield


@pytest.fixture
def patient(clinic):
    patient = PatientFactory(clinic=clinic)
    PumpFactory(patient=patient, serial_number="OLD1", status="explanted", explant_date=date(2025, 12, 30))
    return patient


def data(**overrides):
    values = {
        "pump-model": str(PumpModel.objects.get(code="prometra-ii-40").pk),
        "pump-serial_number": "NEW1",
        "pump-implant_date": "2026-01-01",
        "pump-reservoir_ml": "",
        "pump-alarm_volume_ml": "",
        "pump-eri_date": "",
        "fill-performed_on": "2026-01-01",
        "fill-volume_added_ml": "40",
        "fill-volume_after_ml": "40",
        "fill-concentration_mcg_ml": "2000",
        "fill-daily_dose_mcg": "300",
        "fill-dosing_mode": "simple",
        "fill-bolus_allowance_mcg": "0",
    }
    values.update(overrides)
    return values


def test_new_pump_with_its_first_fill(client, manager, patient):
    client.force_login(manager)
    response = client.post(reverse("pump_create", args=[patient.pk]), data())
    assert response.status_code == 302
    pump = Pump.objects.get(serial_number="NEW1")
    assert pump.patient == patient and pump.status == Pump.Status.ACTIVE
    # (40 - 3) / 0.15 = 246.7 days, but a refill is due within the model's 180 days.
    assert pump.alarm_date == date(2026, 9, 4)
    assert pump.refill_due == date(2026, 6, 30)
    assert pump.refills.get().is_initial_fill
    assert patient.pumps.get(serial_number="OLD1").status == Pump.Status.EXPLANTED


def test_bad_fill_saves_no_pump(client, manager, patient):
    client.force_login(manager)
    response = client.post(reverse("pump_create", args=[patient.pk]), data(**{"fill-volume_after_ml": "41"}))
    assert response.status_code == 200
    assert "at most the 40 mL reservoir" in response.content.decode()
    assert not Pump.objects.filter(serial_number="NEW1").exists() and not Refill.objects.exists()


def test_refused_while_a_pump_is_implanted(client, manager, clinic):
    current = PumpFactory(patient__clinic=clinic, serial_number="CURRENT")
    client.force_login(manager)
    response = client.post(reverse("pump_create", args=[current.patient.pk]), data(), follow=True)
    assert "still has pump CURRENT implanted: explant it before implanting a new one" in response.content.decode()
    assert not Pump.objects.filter(serial_number="NEW1").exists()
    assert client.get(reverse("pump_create", args=[current.patient.pk])).status_code == 302


def test_staff_gets_403(client, staff, patient):
    client.force_login(staff)
    assert client.post(reverse("pump_create", args=[patient.pk]), data()).status_code == 403
    assert not Pump.objects.filter(serial_number="NEW1").exists()


def test_outsider_gets_404(client, outsider, patient):
    client.force_login(outsider)
    assert client.get(reverse("pump_create", args=[patient.pk])).status_code == 404
