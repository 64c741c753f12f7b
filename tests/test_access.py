"""The one access path: clinic scoping, active clinic switching, role checks."""

import pytest
from django.urls import reverse

from clinic.access import scoped
from clinic.models import Membership
from patients.models import Patient
from tests.factories import MembershipFactory, PatientFactory


def test_scoped_lists_only_the_clinics_rows(clinic, other_clinic):
    mine = PatientFactory(clinic=clinic)
    PatientFactory(clinic=other_clinic)
    assert list(scoped(Patient, clinic)) == [mine]


def test_patient_of_another_clinic_is_404_even_for_its_admin(client, clinic, outsider):
    patient = PatientFactory(clinic=clinic)
    client.force_login(outsider)
    response = client.get(reverse("patient_history", kwargs={"pk": patient.pk}))
    assert response.status_code == 404
    assert patient.mrn.encode() not in response.content


def test_non_numeric_or_missing_ids_are_404(client, staff):
    client.force_login(staff)
    assert client.get("/patients/999999/history/").status_code == 404


def test_staff_posting_an_admin_action_is_403(client, clinic, staff, admin_user):
    membership = Membership.objects.get(user=admin_user, clinic=clinic)
    client.force_login(staff)
    response = client.post(reverse("membership_remove", kwargs={"pk": membership.pk}))
    assert response.status_code == 403
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_user_without_membership_is_refused(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="lonely"))
    assert client.get(reverse("home")).status_code == 403


def test_member_of_two_clinics_switches_explicitly(client, clinic, other_clinic, manager):
    MembershipFactory(user=manager, clinic=other_clinic, role=Membership.Role.STAFF)
    theirs = PatientFactory(clinic=other_clinic)
    client.force_login(manager)
    # Works in the first clinic (by name) until switching: the other clinic's patient is hidden.
    assert client.get(reverse("patient_history", kwargs={"pk": theirs.pk})).status_code == 404
    response = client.post(reverse("switch_clinic"), {"clinic": other_clinic.pk})
    assert response.status_code == 302
    assert client.get(reverse("patient_history", kwargs={"pk": theirs.pk})).status_code == 200
    # In the other clinic this user is staff: admin pages are now refused.
    assert client.get(reverse("members")).status_code == 403


def test_switching_to_a_clinic_without_membership_is_404(client, other_clinic, staff):
    client.force_login(staff)
    assert client.post(reverse("switch_clinic"), {"clinic": other_clinic.pk}).status_code == 404


@pytest.mark.parametrize("value", ["", "abc", "1e9"])
def test_switch_with_garbage_redirects_home(client, staff, value):
    client.force_login(staff)
    response = client.post(reverse("switch_clinic"), {"clinic": value})
    assert response.status_code == 302 and response["Location"] == reverse("home")
