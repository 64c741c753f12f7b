"""Adding a candidate: a new patient and the referral in one transaction, or one of the
clinic's patients without a pump; access cases."""

from datetime import date

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from patients.models import Patient
from screening.models import Candidate, Stage, StageMove
from tests.factories import PatientFactory


def data(**overrides):
    values = {
        "patient-mrn": "SCR-0001",
        "patient-first_name": "Iris",
        "patient-last_name": "Invented",
        "patient-date_of_birth": "1975-03-02",
        "patient-email": "",
        "patient-phone": "0100 222 3333",
        "candidate-referral_date": "2026-11-20",
        "candidate-referrer": "Dr Made-Up, spinal unit",
        "candidate-cause": "sci",
        "candidate-injury_level": "t4",
        "candidate-cause_detail": "",
        "candidate-functional_goals": "Sitting balance",
        "candidate-clinician": "",
        "candidate-notes": "",
    }
    values.update(overrides)
    return values


def test_manager_adds_patient_and_candidate_together(client, manager, clinic):
    client.force_login(manager)
    assert client.get(reverse("candidate_create")).status_code == 200
    response = client.post(reverse("candidate_create"), data(**{"candidate-clinician": manager.pk}))
    candidate = Candidate.objects.get(patient__mrn="SCR-0001")
    assert response.status_code == 302 and response["Location"] == reverse("candidate_detail", args=[candidate.pk])
    assert candidate.clinic == clinic and candidate.patient.clinic == clinic
    assert (candidate.stage, candidate.stage_date, candidate.injury_level) == (Stage.REFERRED, date(2026, 11, 20), "T4")
    assert candidate.clinician == manager
    move = StageMove.objects.get(candidate=candidate)
    assert (move.stage, move.date, move.moved_by) == (Stage.REFERRED, date(2026, 11, 20), manager)
    # Audited as the manager, on the patient's trail.
    entry = LogEntry.objects.get(content_type__model="candidate", object_pk=str(candidate.pk))
    assert entry.actor == manager and entry.additional_data["patient_id"] == candidate.patient_id
    page = client.get(response["Location"]).content.decode()
    assert "Spinal cord injury (T4)" in page and "Fri 20 Nov 2026" in page


def test_a_bad_field_saves_nothing_and_names_the_field(client, manager, clinic):
    client.force_login(manager)
    response = client.post(reverse("candidate_create"), data(**{"candidate-injury_level": "X9"}))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing was saved" in html and "Injury level" in html and "C5, T4, L1 or S2" in html
    assert not Patient.objects.filter(mrn="SCR-0001").exists()  # the patient was valid: not saved either


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"candidate-referral_date": "2026-11-26"}, "This date is in the future (today is Wed 25 Nov 2026)."),
        ({"candidate-cause": "ms"}, "The injury level is only for a spinal cord injury"),
        ({"candidate-cause": "other", "candidate-injury_level": ""}, "Say what the other cause is"),
        ({"candidate-injury_level": ""}, "Give the level of the spinal cord injury"),
        ({"patient-mrn": "TAKEN"}, "Another patient in this clinic has MRN TAKEN"),
    ],
)
def test_refusals(client, manager, clinic, overrides, message):
    PatientFactory(clinic=clinic, mrn="TAKEN")
    client.force_login(manager)
    response = client.post(reverse("candidate_create"), data(**overrides))
    assert response.status_code == 200 and message in response.content.decode()
    assert not Candidate.objects.exists()


def test_access(client, staff, outsider, clinic):
    client.force_login(staff)
    assert client.get(reverse("candidate_create")).status_code == 403
    assert client.post(reverse("candidate_create"), data()).status_code == 403
    assert not Candidate.objects.exists()
    # An admin of another clinic adds to their own clinic, never to this one.
    client.force_login(outsider)
    client.post(reverse("candidate_create"), data())
    assert Candidate.objects.get().clinic == outsider.memberships.get().clinic
    assert not Candidate.objects.filter(clinic=clinic).exists()
    client.logout()
    assert reverse("login") in client.get(reverse("candidate_create"))["Location"]
