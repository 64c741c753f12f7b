"""PatientForm: MRN unique in the clinic, dates, reminders, who can manage the patient."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from patients.forms import NO_EMAIL_FOR_REMINDERS, PatientForm
from patients.models import Patient
from tests.factories import PatientFactory
from tests.test_view_patient_create import FROZEN as CREATE_FROZEN
from tests.test_view_patient_create import form_data as create_form_data

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 10)


def submit(clinic, instance=None, **overrides) -> PatientForm:
    values = {
        "mrn": "MRN-001",
        "first_name": "Ada",
        "last_name": "Example",
        "date_of_birth": "1980-05-17",
        "email": "ada@example.invalid",
        "phone": "",
        "status": "active",
        "notes": "",
    }
    values.update(overrides)
    values = {k: v for k, v in values.items() if v is not None}
    before = Patient.objects.count()
    form = PatientForm(values, clinic=clinic, today=TODAY, instance=instance)
    if form.is_valid():
        form.save()
    elif instance is None:
        assert Patient.objects.count() == before
    return form


def assert_error(form, field: str, fragment: str) -> None:
    assert not form.is_valid()
    assert field in form.errors, form.errors
    assert any(fragment in message for message in form.errors[field]), form.errors[field]


def test_valid_patient_saved_in_the_clinic(clinic):
    form = submit(clinic, sci_t6_or_above="on")
    assert form.is_valid(), form.errors
    patient = Patient.objects.get()
    assert patient.clinic == clinic
    assert patient.mrn == "MRN-001"
    assert patient.high_risk is True


def test_duplicate_mrn_refused_in_the_clinic(clinic):
    PatientFactory(clinic=clinic, mrn="MRN-001")
    assert_error(submit(clinic), "mrn", "MRN-001")
    assert_error(submit(clinic, mrn="  MRN-001  "), "mrn", "Another patient")
    assert Patient.objects.count() == 1


def test_same_mrn_allowed_in_another_clinic(clinic, other_clinic):
    PatientFactory(clinic=other_clinic, mrn="MRN-001")
    assert submit(clinic).is_valid()
    assert set(Patient.objects.values_list("clinic__slug", flat=True)) == {"north", "south"}


def test_editing_keeps_its_own_mrn(clinic):
    patient = PatientFactory(clinic=clinic, mrn="MRN-001")
    form = submit(clinic, instance=patient, last_name="Renamed")
    assert form.is_valid(), form.errors
    patient.refresh_from_db()
    assert patient.last_name == "Renamed"


def test_blank_mrn_refused(clinic):
    assert_error(submit(clinic, mrn="   "), "mrn", "required")


def test_mrn_too_long_refused(clinic):
    assert_error(submit(clinic, mrn="M" * 41), "mrn", "at most 40")


@pytest.mark.parametrize("dob, valid", [("2026-03-10", True), ("2026-03-11", False), ("1930-01-01", True)])
def test_date_of_birth_not_in_the_future(clinic, dob, valid):
    form = submit(clinic, date_of_birth=dob)
    if valid:
        assert form.is_valid(), form.errors
    else:
        assert_error(form, "date_of_birth", "in the future")


def test_reminders_without_an_email_are_accepted_with_a_warning(clinic):
    """Issue 12 item 7 (SPEC 4) changes this rule: it was an error on the email field."""
    form = submit(clinic, reminders_opt_in="on", email="")

    assert form.is_valid(), form.errors
    assert form.warnings == {"email": NO_EMAIL_FOR_REMINDERS}
    saved = Patient.objects.get()
    assert saved.reminders_opt_in is True and saved.email == ""
    # With an address, or without reminders, nothing to warn about.
    assert submit(clinic, instance=saved, reminders_opt_in="on").warnings == {}
    assert submit(clinic, instance=saved, email="").warnings == {}


def test_edit_page_saves_with_the_warning_and_the_patient_page_says_cannot_be_reminded(clinic, manager, client):
    patient = PatientFactory(clinic=clinic, email="old@example.invalid", reminders_opt_in=True)
    client.force_login(manager)
    data = {
        "mrn": patient.mrn,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "email": "",
        "reminders_opt_in": "on",
        "status": "active",
    }

    response = client.post(reverse("patient_edit", args=[patient.pk]), data, follow=True)

    patient.refresh_from_db()
    assert patient.email == "" and patient.reminders_opt_in is True
    page = response.content.decode()
    assert "message-warning" in page and str(NO_EMAIL_FOR_REMINDERS) in page
    assert 'id="cannot-be-reminded"' in page and "Cannot be reminded: no email address" in page
    patient.email = "new@example.invalid"
    patient.save()
    assert 'id="cannot-be-reminded"' not in client.get(reverse("patient_detail", args=[patient.pk])).content.decode()


def test_invalid_email_refused(clinic):
    assert_error(submit(clinic, email="not-an-email"), "email", "valid email")


@pytest.mark.parametrize("who, valid", [("manager", True), ("admin_user", True), ("staff", False), ("outsider", False)])
def test_manager_must_be_an_admin_or_manager_of_the_clinic(clinic, request, who, valid):
    user = request.getfixturevalue(who)
    form = submit(clinic, manager=str(user.pk))
    if valid:
        assert form.is_valid(), form.errors
        assert Patient.objects.get().manager == user
    else:
        assert_error(form, "manager", "valid choice")


def test_manager_choices_only_list_this_clinic(clinic, manager, staff, outsider):
    form = PatientForm(clinic=clinic, today=TODAY)
    assert list(form.fields["manager"].queryset) == [manager]


def test_add_patient_page_saves_with_the_warning(clinic, manager, client):
    """The add-patient page (patient, pump and first fill) takes the same rule."""
    client.force_login(manager)
    with time_machine.travel(CREATE_FROZEN, tick=False):
        data = create_form_data(**{"patient-email": "", "patient-reminders_opt_in": "on"})
        response = client.post(reverse("patient_create"), data, follow=True)

    patient = Patient.objects.get(mrn="MRN-NEW-1")
    assert patient.reminders_opt_in is True and patient.email == ""
    page = response.content.decode()
    assert str(NO_EMAIL_FOR_REMINDERS) in page and 'id="cannot-be-reminded"' in page
