"""Refill sessions pages: list, add, edit, delete (with confirmation); clinic admins only; audited."""

from datetime import time

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from clinic.models import Membership
from scheduling.models import RefillSession

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(clinic, manager):
    member = Membership.objects.get(clinic=clinic, user=manager)
    return RefillSession.objects.create(clinic=clinic, member=member, weekday=1, start_time=time(9), slots=4)


def form_data(**changes):
    return {
        "member": "",
        "weekday": "3",
        "start_time": "14:00",
        "slots": "3",
        "slot_minutes": "30",
        "active": "on",
        **changes,
    }


def test_anonymous_is_sent_to_log_in(client, session):
    for url in (reverse("sessions"), reverse("session_create"), reverse("session_edit", args=[session.pk])):
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("who", ["manager", "staff"])
def test_managers_and_staff_may_not_see_or_change_sessions(client, request, session, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("sessions")).status_code == 403
    assert client.post(reverse("session_create"), form_data()).status_code == 403
    assert client.post(reverse("session_delete", args=[session.pk]), {"confirm": "yes"}).status_code == 403
    assert RefillSession.objects.count() == 1


def test_another_clinics_session_is_a_404(client, outsider, session):
    client.force_login(outsider)
    assert client.get(reverse("session_edit", args=[session.pk])).status_code == 404
    assert client.post(reverse("session_delete", args=[session.pk]), {"confirm": "yes"}).status_code == 404
    assert RefillSession.objects.filter(pk=session.pk).exists()
    assert client.get(reverse("sessions")).context["sessions"] == []  # their own clinic has none


def test_admin_lists_sessions_with_the_weekly_slots(client, admin_user, session):
    client.force_login(admin_user)
    response = client.get(reverse("sessions"))
    page = response.content.decode()
    assert "Tuesday" in page and "Test User" in page  # the manager's name, never a username alone
    assert response.context["weekly_slots"] == 4


def test_admin_adds_a_clinic_session_audited(client, admin_user, clinic):
    client.force_login(admin_user)
    response = client.post(reverse("session_create"), form_data())
    assert response.status_code == 302
    session = RefillSession.objects.get(clinic=clinic)
    assert (session.member, session.weekday, session.start_time, session.slots) == (None, 3, time(14), 3)
    entry = LogEntry.objects.get_for_object(session).get()
    assert entry.actor == admin_user and entry.additional_data["clinic_id"] == clinic.pk


def test_a_session_on_a_day_the_clinic_does_not_work_is_refused(client, admin_user, clinic):
    client.force_login(admin_user)
    response = client.post(reverse("session_create"), form_data(weekday="5"))
    assert "does not work on Saturdays" in response.context["form"].errors["weekday"][0]
    assert not RefillSession.objects.exists()


def test_a_session_past_midnight_and_an_overlapping_one_are_refused(client, admin_user, session, manager):
    client.force_login(admin_user)
    late = client.post(reverse("session_create"), form_data(start_time="23:00", slots="4"))
    assert "must end by midnight" in late.context["form"].errors["slots"][0]
    member = Membership.objects.get(user=manager)
    overlap = client.post(reverse("session_create"), form_data(member=member.pk, weekday="1", start_time="10:00"))
    assert "overlaps" in overlap.context["form"].errors["start_time"][0]
    assert RefillSession.objects.count() == 1


def test_bad_numbers_name_their_field(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("session_create"), form_data(slots="0", slot_minutes="abc"))
    assert set(response.context["form"].errors) == {"slots", "slot_minutes"}
    assert not RefillSession.objects.exists()


def test_admin_edits_a_session(client, admin_user, session):
    client.force_login(admin_user)
    member = session.member
    response = client.post(
        reverse("session_edit", args=[session.pk]), form_data(member=member.pk, weekday="1", slots="6")
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.slots == 6 and session.weekday == 1


def test_delete_asks_first_and_deletes_only_when_confirmed(client, admin_user, session):
    client.force_login(admin_user)
    asked = client.get(reverse("session_delete", args=[session.pk]))
    assert "Delete this refill session?" in asked.content.decode()
    unconfirmed = client.post(reverse("session_delete", args=[session.pk]))
    assert unconfirmed.status_code == 200 and RefillSession.objects.filter(pk=session.pk).exists()
    done = client.post(reverse("session_delete", args=[session.pk]), {"confirm": "yes"})
    assert done.status_code == 302 and not RefillSession.objects.exists()
    assert LogEntry.objects.filter(action=LogEntry.Action.DELETE, object_pk=str(session.pk)).exists()


def test_a_session_on_a_day_no_longer_worked_is_shown_as_not_offered(client, admin_user, session, clinic):
    clinic.working_days = [0, 2, 3, 4]  # Tuesdays off now
    clinic.save()
    client.force_login(admin_user)
    response = client.get(reverse("sessions"))
    assert response.context["weekly_slots"] == 0
    assert "No: not a working day of the clinic" in response.content.decode()
