"""Adding a patient with an implanted pump and its first fill: all or nothing."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from patients.models import Patient, Pump, PumpModel
from refills.models import Refill
from tests.factories import PatientFactory, PumpFactory

FROZEN = "2026-01-05 12:00:00Z"


def form_data(**overrides):
    data = {
        "patient-mrn": "MRN-NEW-1",
        "patient-first_name": "Grace",
        "patient-last_name": "Hopper",
        "patient-date_of_birth": "1966-12-09",
        "patient-email": "grace@example.invalid",
        "patient-phone": "0100 222 3333",
        "patient-manager": "",
        "patient-status": "active",
        "patient-sci_t6_or_above": "on",
        "patient-notes": "",
        "pump-model": str(PumpModel.objects.get(code="synchromed-ii-20").pk),
        "pump-serial_number": "NGP9000001",
        "pump-implant_date": "2026-01-01",
        "pump-reservoir_ml": "",
        "pump-alarm_volume_ml": "",
        "pump-eri_date": "",
        "fill-performed_on": "2026-01-01",
        "fill-volume_removed_ml": "",
        "fill-volume_added_ml": "20",
        "fill-volume_after_ml": "20",
        "fill-concentration_mcg_ml": "2000",
        "fill-daily_dose_mcg": "400",
        "fill-dosing_mode": "simple",
        "fill-bolus_allowance_mcg": "0",
        "fill-notes": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def counts():
    return Patient.objects.count(), Pump.objects.count(), Refill.objects.count()


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(FROZEN, tick=False):
        yield


@pytest.fixture
def post(client):
    def post(user, data):
        client.force_login(user)
        return client.post(reverse("patient_create"), data)

    return post


def test_form_has_three_sections(client, manager):
    client.force_login(manager)
    html = client.get(reverse("patient_create")).content.decode()
    assert "<legend>Patient</legend>" in html and "<legend>Pump</legend>" in html
    assert "<legend>First fill at implant</legend>" in html
    assert 'name="fill-performed_on" value="2026-01-05"' in html  # today, in the clinic
    assert all(code in html for code in PumpModel.objects.values_list("name", flat=True))


def test_good_create_saves_all_and_computes_the_alarm_date(post, manager, clinic):
    response = post(manager, form_data())
    patient = Patient.objects.get(clinic=clinic, mrn="MRN-NEW-1")
    assert response.status_code == 302 and response["Location"] == reverse("patient_detail", args=[patient.pk])
    pump = patient.pumps.get()
    assert pump.clinic == clinic and pump.serial_number == "NGP9000001"
    assert pump.reservoir_ml == 20 and pump.alarm_volume_ml == 2  # the model's defaults
    # SPEC section 3's example: alarm 2026-04-01, refill due 2026-03-25.
    assert pump.alarm_date == date(2026, 4, 1)
    assert pump.refill_due == date(2026, 3, 25)
    fill = pump.refills.get()
    assert fill.is_initial_fill and fill.performed_by == manager and not fill.needs_review
    assert patient.sci_t6_or_above and patient.clinic == clinic
    page = response.client.get(response["Location"]).content.decode()
    assert "Pump NGP9000001 implanted for MRN-NEW-1" in page and "book the next refill" in page
    assert "Alarm date Wed 1 Apr 2026, refill due Wed 25 Mar 2026" in page  # SPEC 8: dates in words


def test_bad_first_fill_saves_nothing_and_names_the_field(post, manager):
    before = counts()
    response = post(manager, form_data(**{"fill-concentration_mcg_ml": "50"}))
    assert response.status_code == 200
    assert counts() == before
    html = response.content.decode()
    assert "50 mcg/mL is the screening strength and cannot fill a pump." in html
    assert "Nothing was saved" in html
    assert 'value="Grace"' in html  # what was typed is kept


def test_fill_is_checked_against_the_chosen_pump_reservoir(post, manager):
    before = counts()
    response = post(manager, form_data(**{"fill-volume_after_ml": "25"}))
    assert counts() == before
    assert "at most the 20 mL reservoir" in response.content.decode()


def test_fill_before_implant_is_refused(post, manager):
    before = counts()
    response = post(manager, form_data(**{"fill-performed_on": "2025-12-31"}))
    assert counts() == before
    assert "before the pump&#x27;s implant date (Thu 1 Jan 2026)" in response.content.decode()


def test_every_section_reports_its_errors_at_once(post, manager, clinic):
    PatientFactory(clinic=clinic, mrn="MRN-TAKEN")
    PumpFactory(patient__clinic=clinic, serial_number="NGP-TAKEN")
    before = counts()
    response = post(
        manager,
        form_data(
            **{
                "patient-mrn": "MRN-TAKEN",
                "pump-serial_number": "NGP-TAKEN",
                "fill-daily_dose_mcg": "5000",
            }
        ),
    )
    assert counts() == before
    html = response.content.decode()
    assert "Another patient in this clinic has MRN MRN-TAKEN." in html
    assert "Another pump in this clinic has serial number NGP-TAKEN." in html
    assert "The daily dose cannot exceed 3000 mcg/day." in html


def test_invalid_pump_model_still_renders(post, manager):
    before = counts()
    response = post(manager, form_data(**{"pump-model": "", "pump-implant_date": "not a date"}))
    assert response.status_code == 200 and counts() == before
    assert "This field is required." in response.content.decode()


def test_staff_may_not_add(client, post, staff):
    before = counts()
    assert post(staff, form_data()).status_code == 403
    assert client.get(reverse("patient_create")).status_code == 403
    assert counts() == before


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(reverse("patient_create"))
    assert response.status_code == 302 and reverse("login") in response["Location"]
