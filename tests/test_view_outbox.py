"""The outbox page and its retry action."""

import pytest
from django.urls import reverse

from refills.outbox import Reminder
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
    assert "2026-07-01 09:15" in client.get(reverse("outbox")).content.decode()  # BST
