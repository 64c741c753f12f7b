"""The printable wallet card: the pump, the drug and what to do in an emergency."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from auditlog.models import LogEntry
from django.urls import reverse

from clinic.audit import patient_history
from patients.models import PumpModel
from tests.factories import PatientFactory, ProgramChangeFactory, PumpFactory, RefillFactory


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel("2026-02-10 12:00:00Z", tick=False):
        yield


@pytest.fixture
def patient(clinic):
    clinic.phone = "0100 555 1234"
    clinic.save()
    patient = PatientFactory(clinic=clinic, first_name="Ada", last_name="Lovelace", date_of_birth=date(1970, 2, 3))
    pump = PumpFactory(patient=patient, serial_number="NGP4242", implant_date=date(2024, 6, 1))
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), is_initial_fill=True)
    ProgramChangeFactory(pump=pump, performed_on=date(2026, 2, 1), daily_dose_mcg=Decimal(450))
    return patient


def test_card_shows_pump_drug_dose_alarm_and_emergency_advice(client, staff, patient, clinic):
    client.force_login(staff)
    html = client.get(reverse("wallet_card", args=[patient.pk])).content.decode()
    assert "<dd>Ada Lovelace</dd>" in html and "<dd>Tue 3 Feb 1970</dd>" in html  # SPEC 8 date format
    assert f"<dd>{PumpModel.objects.get(code='synchromed-ii-20').name}</dd>" in html
    assert "<dd>NGP4242</dd>" in html
    assert "Baclofen (intrathecal), 2000 mcg/mL" in html
    assert "<dd>450 mcg/day</dd>" in html  # the dose after the program change
    # 31 days at 0.2 mL/day leave 13.8 mL, then 0.225 mL/day: (13.8 - 2) / 0.225 = 52.4 -> 2026-03-25.
    assert "<dd>Wed 25 Mar 2026</dd>" in html
    assert "North Pump Clinic" in html and "Phone 0100 555 1234" in html
    assert (
        "Sudden return of spasticity, itching, fever, confusion or a pump alarm: call the clinic at once "
        "or go to the emergency department and mention the pump." in html
    )
    assert "css/wallet-card.css" in html


def test_card_css_prints_card_sized():
    from pathlib import Path

    from django.conf import settings

    css = (Path(settings.BASE_DIR) / "static/css/wallet-card.css").read_text()
    assert "@page { size: 85.6mm 54mm;" in css


def test_viewing_the_card_is_logged_as_an_export(client, staff, patient, clinic):
    client.force_login(staff)
    client.get(reverse("wallet_card", args=[patient.pk]))
    entry = patient_history(clinic, patient).filter(action=LogEntry.Action.ACCESS).get()
    assert entry.actor == staff
    assert entry.additional_data["export"] == "wallet card"
    assert entry.changes_dict["export"] == ["wallet card", "html, 1 rows"]


def test_patient_without_pump_gets_no_card_and_no_link(client, staff, clinic):
    patient = PatientFactory(clinic=clinic)
    client.force_login(staff)
    html = client.get(reverse("wallet_card", args=[patient.pk])).content.decode()
    assert "no implanted pump: there is no wallet card to print" in html
    assert "I have an implanted baclofen pump" not in html and "Serial" not in html
    assert not patient_history(clinic, patient).filter(action=LogEntry.Action.ACCESS).exists()
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert reverse("wallet_card", args=[patient.pk]) not in page


def test_outsider_gets_404_and_nothing_is_logged(client, outsider, patient, clinic):
    client.force_login(outsider)
    assert client.get(reverse("wallet_card", args=[patient.pk])).status_code == 404
    assert not patient_history(clinic, patient).filter(action=LogEntry.Action.ACCESS).exists()
