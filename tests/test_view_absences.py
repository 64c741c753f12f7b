"""Absences pages: every member records their own; admins anyone's; another member's is 403,
another clinic's 404; deletion asks first; audited."""

from datetime import date

import pytest
import time_machine
from auditlog.models import LogEntry
from django.urls import reverse

from clinic.models import Membership
from scheduling.models import Absence

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel("2026-03-02 12:00:00Z", tick=False):
        yield


def absence_of(user, first=date(2026, 3, 9), last=date(2026, 3, 13)):
    member = Membership.objects.get(user=user)
    return Absence.objects.create(clinic=member.clinic, member=member, first_day=first, last_day=last, note="leave")


def dates(first="2026-03-16", last="2026-03-20", **extra):
    return {"first_day": first, "last_day": last, "note": "course", **extra}


def test_anonymous_is_sent_to_log_in(client, staff):
    absence = absence_of(staff)
    for url in (reverse("absences"), reverse("absence_create"), reverse("absence_edit", args=[absence.pk])):
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("who", ["staff", "manager", "admin_user"])
def test_every_member_records_their_own_absence(client, request, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    assert client.post(reverse("absence_create"), dates(member=Membership.objects.get(user=user).pk)).status_code == 302
    absence = Absence.objects.get()
    assert absence.member.user == user and (absence.first_day, absence.last_day) == (
        date(2026, 3, 16),
        date(2026, 3, 20),
    )
    assert LogEntry.objects.get_for_object(absence).get().actor == user


def test_staff_cannot_record_an_absence_for_someone_else(client, staff, manager):
    client.force_login(staff)
    other = Membership.objects.get(user=manager)
    client.post(reverse("absence_create"), dates(member=other.pk))  # the field is not offered: ignored
    assert Absence.objects.get().member.user == staff


def test_admin_records_anyones_absence(client, admin_user, manager):
    client.force_login(admin_user)
    client.post(reverse("absence_create"), dates(member=Membership.objects.get(user=manager).pk))
    assert Absence.objects.get().member.user == manager


@pytest.mark.parametrize("who", ["staff", "manager"])
def test_someone_elses_absence_is_403_for_non_admins(client, request, admin_user, who):
    absence = absence_of(admin_user)
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("absence_edit", args=[absence.pk])).status_code == 403
    assert client.post(reverse("absence_delete", args=[absence.pk]), {"confirm": "yes"}).status_code == 403
    assert Absence.objects.filter(pk=absence.pk).exists()


def test_own_absence_can_be_edited_and_deleted_after_confirming(client, staff):
    absence = absence_of(staff)
    client.force_login(staff)
    assert client.post(reverse("absence_edit", args=[absence.pk]), dates()).status_code == 302
    absence.refresh_from_db()
    assert absence.first_day == date(2026, 3, 16)
    assert client.post(reverse("absence_delete", args=[absence.pk])).status_code == 200  # asks again
    assert Absence.objects.filter(pk=absence.pk).exists()
    assert client.post(reverse("absence_delete", args=[absence.pk]), {"confirm": "yes"}).status_code == 302
    assert not Absence.objects.exists()


def test_another_clinics_absence_is_a_404(client, outsider, staff):
    absence = absence_of(staff)
    client.force_login(outsider)
    assert client.get(reverse("absence_edit", args=[absence.pk])).status_code == 404
    assert client.get(reverse("absences")).context["absences"] == []


def test_the_list_shows_current_and_coming_absences_with_edit_links_for_ones_own(client, staff, manager):
    mine, theirs = absence_of(staff), absence_of(manager, date(2026, 3, 23), date(2026, 3, 24))
    absence_of(manager, date(2026, 2, 1), date(2026, 2, 3))  # over: not listed
    client.force_login(staff)
    response = client.get(reverse("absences"))
    assert [(a.pk, a.editable) for a in response.context["absences"]] == [(mine.pk, True), (theirs.pk, False)]
    assert "Mon 9 Mar 2026" in response.content.decode()


def test_bad_dates_are_refused_with_the_field_named(client, staff):
    absence_of(staff)
    client.force_login(staff)
    backwards = client.post(reverse("absence_create"), dates(first="2026-03-20", last="2026-03-16"))
    assert "before the first day" in backwards.context["form"].errors["last_day"][0]
    overlap = client.post(reverse("absence_create"), dates(first="2026-03-12", last="2026-03-16"))
    assert "overlaps an absence" in overlap.context["form"].errors["first_day"][0]
    too_long = client.post(reverse("absence_create"), dates(first="2026-04-01", last="2027-04-02"))
    assert "at most a year" in too_long.context["form"].errors["last_day"][0]
    nonsense = client.post(reverse("absence_create"), dates(first="soon"))
    assert "first_day" in nonsense.context["form"].errors
    assert Absence.objects.count() == 1


def test_an_absence_over_booked_refills_warns_with_the_count_and_the_plans_list(client, clinic, manager):
    from datetime import time

    from tests.factories import AppointmentFactory, PatientFactory, PumpFactory

    patient = PatientFactory(clinic=clinic)
    pump = PumpFactory(patient=patient, implant_date=date(2025, 6, 1))
    for day in (date(2026, 3, 17), date(2026, 3, 19)):
        AppointmentFactory(patient=patient, pump=pump, local_date=day, local_time=time(10), assigned_to=manager)
    AppointmentFactory(
        patient=patient, pump=pump, local_date=date(2026, 3, 24), local_time=time(10), assigned_to=manager
    )
    client.force_login(manager)
    response = client.post(reverse("absence_create"), dates(), follow=True)
    html = response.content.decode()
    assert "2 booked refills fall in this absence." in html
    assert f'<a href="{reverse("plan")}#absence-heading">Move them from the plan' in html
