"""The outbox page and its retry action."""

import logging
import re

import pytest
from django.conf import settings
from django.urls import reverse

from reminders.models import Reminder
from tests.reminders_data import reminder_row, utc

pytestmark = pytest.mark.django_db
Status = Reminder.Status


@pytest.fixture
def rows(clinic, other_clinic):
    return {
        "sent": reminder_row(clinic, status=Status.SENT, attempts=1, recipient_email="sent@example.invalid"),
        "failed": reminder_row(
            clinic,
            status=Status.FAILED,
            attempts=5,
            last_error="SMTPRecipientsRefused: 550 mailbox unavailable",
            recipient_email="bounced@example.invalid",
        ),
        "other": reminder_row(other_clinic, status=Status.FAILED, recipient_email="elsewhere@example.invalid"),
    }


def test_staff_see_their_clinics_rows_with_failures_highlighted(client, staff, rows):
    client.force_login(staff)
    response = client.get(reverse("outbox"))
    html = response.content.decode()
    assert "sent@example.invalid" in html and "bounced@example.invalid" in html
    assert "elsewhere@example.invalid" not in html  # another clinic's row
    assert 'class="status-alarming outbox-failed"' in html
    assert "550 mailbox unavailable" in html
    assert "1 reminder failed" in html
    assert response.context["failed_count"] == 1
    assert reverse("outbox_retry", args=[rows["failed"].pk]) in html
    assert reverse("outbox_retry", args=[rows["sent"].pk]) not in html  # only failed rows get a retry


def test_filter_by_status(client, staff, rows):
    client.force_login(staff)
    response = client.get(reverse("outbox"), {"status": "failed"})
    assert [r.pk for r in response.context["reminders"]] == [rows["failed"].pk]


def test_a_bad_status_filter_names_the_field(client, staff, rows):
    client.force_login(staff)
    response = client.get(reverse("outbox"), {"status": "lost"})
    assert response.status_code == 200
    assert any(str(m).startswith("Status:") for m in response.context["messages"])
    assert len(response.context["reminders"]) == 2  # unfiltered


def test_retry_requeues_a_failed_row_on_commit(client, staff, rows, django_capture_on_commit_callbacks):
    client.force_login(staff)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("outbox_retry", args=[rows["failed"].pk]))
    assert response.status_code == 302 and response["Location"] == reverse("outbox")
    row = Reminder.objects.get(pk=rows["failed"].pk)
    assert (row.status, row.attempts) == (Status.PENDING, 0)
    assert [cb.args[0] for cb in callbacks] == [row.pk]


def test_retry_of_a_row_that_is_not_failed_changes_nothing(client, staff, rows, django_capture_on_commit_callbacks):
    client.force_login(staff)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("outbox_retry", args=[rows["sent"].pk]), follow=True)
    assert Reminder.objects.get(pk=rows["sent"].pk).status == Status.SENT
    assert callbacks == []
    assert "Only a failed reminder can be retried" in response.content.decode()


def test_retry_is_post_only_and_clinic_scoped(client, staff, outsider, rows):
    client.force_login(staff)
    assert client.get(reverse("outbox_retry", args=[rows["failed"].pk])).status_code == 405
    assert client.post(reverse("outbox_retry", args=[rows["other"].pk])).status_code == 404
    client.force_login(outsider)
    assert client.post(reverse("outbox_retry", args=[rows["failed"].pk])).status_code == 404
    assert Reminder.objects.get(pk=rows["failed"].pk).status == Status.FAILED


def test_anonymous_is_sent_to_log_in(client, rows):
    response = client.get(reverse("outbox"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_times_show_in_the_clinics_zone(client, staff, clinic):
    reminder_row(clinic, status=Status.SENT, sent_at=utc(2026, 7, 1, 8, 15))
    client.force_login(staff)
    assert "Wed 1 Jul 2026 09:15" in client.get(reverse("outbox")).content.decode()  # BST, SPEC 8 date format


# Retry all failed -------------------------------------------------------------------------


def test_status_counts_are_a_list_without_bullets_with_the_number_apart(client, staff, rows):
    client.force_login(staff)
    html = client.get(reverse("outbox")).content.decode()
    assert '<ul class="outbox-counts" aria-label="Reminders by status">' in html
    assert '<span class="outbox-count-label">Failed</span> <strong class="outbox-count-number">1</strong>' in html
    css = (settings.BASE_DIR / "static" / "css" / "app.css").read_text()
    rule = re.search(r"\.outbox-counts \{([^}]*)\}", css)
    assert rule and "list-style: none" in rule.group(1)  # the bullets were drawn over the numbers


def test_the_outbox_offers_retry_all_only_when_something_failed(client, staff, clinic):
    client.force_login(staff)
    reminder_row(clinic, status=Status.SENT)
    assert reverse("outbox_retry_failed") not in client.get(reverse("outbox")).content.decode()
    reminder_row(clinic, status=Status.FAILED)
    reminder_row(clinic, status=Status.FAILED)
    html = client.get(reverse("outbox")).content.decode()
    assert f'action="{reverse("outbox_retry_failed")}"' in html and "Retry all 2 failed" in html


def test_retry_all_asks_first_and_sends_nothing(client, staff, rows, django_capture_on_commit_callbacks):
    client.force_login(staff)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("outbox_retry_failed"))  # the outbox's button: no "confirm"
    assert response.status_code == 200
    html = response.content.decode()
    assert "Send 1 failed reminder again?" in html and "Refill needed, not booked: 1" in html
    assert 'name="confirm" value="yes"' in html
    assert callbacks == []
    assert Reminder.objects.get(pk=rows["failed"].pk).status == Status.FAILED


def test_retry_all_requeues_every_failed_row_of_the_clinic_once(
    client, staff, rows, clinic, django_capture_on_commit_callbacks, caplog
):
    second = reminder_row(clinic, status=Status.FAILED, attempts=5, kind=Reminder.Kind.DIGEST)
    client.force_login(staff)
    with django_capture_on_commit_callbacks() as callbacks, caplog.at_level(logging.INFO, "reminders.views"):
        response = client.post(reverse("outbox_retry_failed"), {"confirm": "yes"}, follow=True)
    assert response.redirect_chain == [(reverse("outbox"), 302)]
    assert "2 failed reminders will be sent again." in response.content.decode()
    retried = Reminder.objects.filter(pk__in=[rows["failed"].pk, second.pk])
    assert {(r.status, r.attempts) for r in retried} == {(Status.PENDING, 0)}
    assert sorted(cb.args[0] for cb in callbacks) == sorted([rows["failed"].pk, second.pk])
    assert Reminder.objects.get(pk=rows["other"].pk).status == Status.FAILED  # another clinic's row
    assert Reminder.objects.get(pk=rows["sent"].pk).status == Status.SENT
    assert any(f"retried by user {staff.pk}" in r.getMessage() for r in caplog.records)
    # A second confirmation (a double click) queues nothing again.
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("outbox_retry_failed"), {"confirm": "yes"}, follow=True)
    assert callbacks == [] and "no failed reminders to retry" in response.content.decode()


def test_retry_all_is_post_only_and_for_members(client, staff, outsider, rows):
    assert client.post(reverse("outbox_retry_failed"), {"confirm": "yes"}).status_code == 302  # to log in
    client.force_login(staff)
    assert client.get(reverse("outbox_retry_failed")).status_code == 405
    client.force_login(outsider)  # an admin of another clinic retries that clinic's rows only
    client.post(reverse("outbox_retry_failed"), {"confirm": "yes"})
    assert Reminder.objects.get(pk=rows["failed"].pk).status == Status.FAILED
    assert Reminder.objects.get(pk=rows["other"].pk).status == Status.PENDING


def test_the_single_retry_is_logged(client, staff, rows, caplog):
    client.force_login(staff)
    with caplog.at_level(logging.INFO, "reminders.views"):
        client.post(reverse("outbox_retry", args=[rows["failed"].pk]))
    assert any(f"reminder {rows['failed'].pk} retried by user {staff.pk}" in r.getMessage() for r in caplog.records)
