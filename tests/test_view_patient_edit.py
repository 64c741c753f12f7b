"""Editing a patient's details."""

import pytest
import time_machine
from django.urls import reverse

from tests.factories import PatientFactory


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel("2026-01-05 12:00:00Z", tick=False):
        yield


def data(patient, **overrides):
    values = {
        "mrn": patient.mrn,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": "1980-05-17",
        "email": patient.email,
        "phone": patient.phone,
        "manager": "",
        "status": "active",
        "notes": "",
    }
    values.update(overrides)
    return values


def test_edit_saves_and_flags_risk(client, manager, clinic):
    patient = PatientFactory(clinic=clinic)
    client.force_login(manager)
    html = client.get(reverse("patient_edit", args=[patient.pk])).content.decode()
    assert 'name="date_of_birth" value="1980-05-17"' in html
    response = client.post(
        reverse("patient_edit", args=[patient.pk]),
        data(patient, phone="0100 999 0000", communication_difficulty="on", manager=manager.pk),
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.phone == "0100 999 0000" and patient.communication_difficulty and patient.manager == manager
    page = client.get(response["Location"]).content.decode()
    assert "High risk: communication difficulty" in page


def test_mrn_clash_is_a_field_error(client, manager, clinic):
    PatientFactory(clinic=clinic, mrn="TAKEN")
    patient = PatientFactory(clinic=clinic)
    client.force_login(manager)
    response = client.post(reverse("patient_edit", args=[patient.pk]), data(patient, mrn="TAKEN"))
    assert "Another patient in this clinic has MRN TAKEN." in response.content.decode()
    patient.refresh_from_db()
    assert patient.mrn != "TAKEN"


def test_staff_gets_403_and_outsider_404(client, staff, outsider, clinic):
    patient = PatientFactory(clinic=clinic)
    client.force_login(staff)
    assert client.post(reverse("patient_edit", args=[patient.pk]), data(patient, phone="1")).status_code == 403
    client.force_login(outsider)
    assert client.post(reverse("patient_edit", args=[patient.pk]), data(patient, phone="1")).status_code == 404
    patient.refresh_from_db()
    assert patient.phone != "1"
