"""Clinic admins invite members, change roles and remove them; a clinic keeps an admin."""

import re

import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from clinic.models import Membership
from tests.factories import MembershipFactory, UserFactory


def invite(client, email="new.nurse@example.invalid", role="manager"):
    return client.post(reverse("members"), {"email": email, "first_name": "New", "last_name": "Nurse", "role": role})


def test_invite_creates_member_and_sends_set_password_link(
    client, django_capture_on_commit_callbacks, admin_user, clinic
):
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(client)
    assert response.status_code == 302
    user = get_user_model().objects.get(email="new.nurse@example.invalid")
    assert not user.has_usable_password()
    assert Membership.objects.get(user=user, clinic=clinic).role == "manager"
    assert len(mail.outbox) == 1 and clinic.name in mail.outbox[0].subject
    link = re.search(r"http://testserver(/accounts/set-password/\S+/)", mail.outbox[0].body).group(1)

    client.logout()
    page = client.get(link, follow=True)
    assert b"Set your password" in page.content
    response = client.post(
        page.redirect_chain[-1][0], {"new_password1": "a-long-pass-phrase-9", "new_password2": "a-long-pass-phrase-9"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-long-pass-phrase-9")
    # The token is single-use: the same link is now invalid.
    assert b"invalid or has expired" in client.get(link, follow=True).content


def test_invite_link_expires(client, django_capture_on_commit_callbacks, admin_user):
    client.force_login(admin_user)
    with time_machine.travel("2026-03-01 09:00Z", tick=False), django_capture_on_commit_callbacks(execute=True):
        invite(client)
    link = re.search(r"http://testserver(/accounts/set-password/\S+/)", mail.outbox[0].body).group(1)
    client.logout()
    with time_machine.travel("2026-03-01 09:00Z", tick=False):
        assert b"Set your password" in client.get(link, follow=True).content
    with time_machine.travel("2026-03-05 09:00Z", tick=False):  # past the 72 h default
        assert b"invalid or has expired" in client.get(link, follow=True).content


def test_invite_twice_is_a_field_error(client, admin_user, clinic):
    client.force_login(admin_user)
    invite(client)
    response = invite(client)
    assert response.status_code == 200
    assert "already a member" in response.context["form"].errors["email"][0]
    assert Membership.objects.filter(clinic=clinic, user__email="new.nurse@example.invalid").count() == 1


def test_invite_bad_email_names_the_field(client, admin_user):
    client.force_login(admin_user)
    response = invite(client, email="not-an-email")
    assert "email" in response.context["form"].errors
    assert not get_user_model().objects.filter(username="not-an-email").exists()


def test_change_role_and_digest(client, admin_user, staff, clinic):
    membership = Membership.objects.get(user=staff, clinic=clinic)
    client.force_login(admin_user)
    client.post(reverse("membership_update", kwargs={"pk": membership.pk}), {"role": "manager", "digest_opt_in": "on"})
    membership.refresh_from_db()
    assert membership.role == "manager" and membership.digest_opt_in is True


def test_last_admin_cannot_be_demoted_or_removed(client, admin_user, clinic):
    membership = Membership.objects.get(user=admin_user, clinic=clinic)
    client.force_login(admin_user)
    client.post(reverse("membership_update", kwargs={"pk": membership.pk}), {"role": "staff"})
    client.post(reverse("membership_remove", kwargs={"pk": membership.pk}))
    membership.refresh_from_db()
    assert membership.role == "admin"
    page = client.get(reverse("members"))
    assert b"last admin" in page.content


def test_an_admin_can_be_removed_when_another_remains(client, admin_user, clinic):
    second = MembershipFactory(clinic=clinic, role="admin", user=UserFactory(username="second-admin"))
    client.force_login(admin_user)
    client.post(reverse("membership_remove", kwargs={"pk": second.pk}))
    assert not Membership.objects.filter(pk=second.pk).exists()


def test_member_of_another_clinic_cannot_be_touched(client, admin_user, outsider, other_clinic):
    theirs = Membership.objects.get(user=outsider, clinic=other_clinic)
    client.force_login(admin_user)
    assert client.post(reverse("membership_remove", kwargs={"pk": theirs.pk})).status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()


def test_removing_a_member_revokes_their_feeds_for_good(client, admin_user, clinic, staff):
    """Re-adding a removed member revived their old feed URL (issue 13, defect 5)."""
    from auditlog.models import LogEntry

    from clinic.models import CalendarFeed

    mine, mine_token = CalendarFeed.issue(clinic, staff, CalendarFeed.Scope.MINE)
    whole, whole_token = CalendarFeed.issue(clinic, staff, CalendarFeed.Scope.CLINIC)
    others, others_token = CalendarFeed.issue(clinic, admin_user, CalendarFeed.Scope.CLINIC)
    membership = Membership.objects.get(user=staff, clinic=clinic)
    client.force_login(admin_user)
    response = client.post(reverse("membership_remove", kwargs={"pk": membership.pk}), follow=True)
    assert "Member removed. Their calendar feeds no longer work." in response.content.decode()
    assert not Membership.objects.filter(pk=membership.pk).exists()
    for feed in (mine, whole):
        feed.refresh_from_db()
        assert feed.revoked_at is not None
    others.refresh_from_db()
    assert others.revoked_at is None, "only the removed member's feeds"
    # Audited like any other revocation, with the admin who removed the member as the actor.
    revocations = LogEntry.objects.get_for_model(CalendarFeed).filter(action=LogEntry.Action.UPDATE)
    assert {(e.object_id, e.actor_id) for e in revocations} == {(mine.pk, admin_user.pk), (whole.pk, admin_user.pk)}
    assert all("revoked_at" in e.changes_dict and e.additional_data["clinic_id"] == clinic.pk for e in revocations)

    # Re-added: the old URLs stay dead.
    response = invite(client, email=staff.email, role="staff")
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    assert Membership.objects.filter(user=staff, clinic=clinic).exists()
    client.logout()
    for token in (mine_token, whole_token):
        assert client.get(reverse("calendar_feed", args=[token])).status_code == 404
    assert client.get(reverse("calendar_feed", args=[others_token])).status_code == 200


def test_removing_the_last_admin_revokes_nothing(client, admin_user, clinic):
    from clinic.models import CalendarFeed

    feed, _token = CalendarFeed.issue(clinic, admin_user, CalendarFeed.Scope.CLINIC)
    client.force_login(admin_user)
    client.post(reverse("membership_remove", kwargs={"pk": Membership.objects.get(user=admin_user).pk}))
    feed.refresh_from_db()
    assert feed.revoked_at is None
