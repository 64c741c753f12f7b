"""Referring one of the clinic's patients without a pump: the referral alone, no second
patient; a patient with a pump or already a candidate is refused; the patient page offers it
and then shows the candidate's panel; access cases."""

from datetime import date

from django.urls import reverse

from patients.models import Patient
from screening.models import Candidate, Stage
from tests.factories import PatientFactory, PumpFactory
from tests.screening.test_view_candidate_create import data
from tests.screening_data import make_candidate


def test_an_existing_patient_without_a_pump_becomes_a_candidate(client, admin_user, clinic):
    patient = PatientFactory(clinic=clinic)
    client.force_login(admin_user)
    url = reverse("candidate_from_patient", args=[patient.pk])
    assert patient.full_name in client.get(url).content.decode()
    fields = {k.removeprefix("candidate-"): v for k, v in data().items() if k.startswith("candidate-")}
    response = client.post(url, {f"candidate-{k}": v for k, v in fields.items()})
    candidate = Candidate.objects.get(patient=patient)
    assert response["Location"] == reverse("candidate_detail", args=[candidate.pk])
    assert Patient.objects.filter(clinic=clinic).count() == 1  # no second patient


def test_a_patient_with_a_pump_or_already_a_candidate_is_refused(client, manager, clinic):
    pumped = PumpFactory(patient=PatientFactory(clinic=clinic)).patient
    client.force_login(manager)
    response = client.post(reverse("candidate_from_patient", args=[pumped.pk]), {})
    assert response["Location"] == reverse("patient_detail", args=[pumped.pk])
    assert not Candidate.objects.filter(patient=pumped).exists()
    existing = make_candidate(clinic)
    response = client.get(reverse("candidate_from_patient", args=[existing.patient.pk]))
    assert response["Location"] == reverse("candidate_detail", args=[existing.pk])


def test_the_patient_page_offers_the_referral_and_then_shows_the_candidate(client, manager, staff, clinic):
    patient = PatientFactory(clinic=clinic)
    client.force_login(manager)
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert reverse("candidate_from_patient", args=[patient.pk]) in page
    candidate = make_candidate(clinic, patient=patient, stage=Stage.ASSESSED, referral_date=date(2026, 10, 1))
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert reverse("candidate_from_patient", args=[patient.pk]) not in page
    assert reverse("candidate_detail", args=[candidate.pk]) in page and "Assessed" in page
    client.force_login(staff)  # staff view the panel, without the referral offer
    assert (
        reverse("candidate_detail", args=[candidate.pk])
        in client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    )
    pumped = PumpFactory(patient=PatientFactory(clinic=clinic)).patient
    client.force_login(manager)
    page = client.get(reverse("patient_detail", args=[pumped.pk])).content.decode()
    assert reverse("candidate_from_patient", args=[pumped.pk]) not in page


def test_access(client, staff, outsider, clinic):
    patient = PatientFactory(clinic=clinic)
    url = reverse("candidate_from_patient", args=[patient.pk])
    client.force_login(staff)
    assert client.get(url).status_code == 403
    assert client.post(url, data()).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.post(url, data()).status_code == 404
    assert not Candidate.objects.exists()
