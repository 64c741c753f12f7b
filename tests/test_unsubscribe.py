"""The one-click unsubscribe link of patient emails."""

import pytest
from auditlog.models import LogEntry
from django.core import signing
from django.urls import reverse

from clinic.audit import patient_history
from reminders.models import UNSUBSCRIBE_SALT, Reminder, patient_id_from_token, unsubscribe_token
from tests.factories import PatientFactory
from tests.reminders_data import reminder_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(clinic):
    return PatientFactory(clinic=clinic, reminders_opt_in=True)


def url(token):
    return reverse("unsubscribe", args=[token])


def token_for(patient, kind=Reminder.Kind.REFILL_NEEDED):
    """The token of a reminder email to ``patient``, as delivery puts it in the link."""
    return unsubscribe_token(reminder_row(patient.clinic, kind=kind, patient=patient))


def test_get_asks_and_changes_nothing(client, patient, clinic):
    response = client.get(url(token_for(patient)))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Stop reminder emails" in html and clinic.name in html and patient.last_name not in html
    patient.refresh_from_db()
    assert patient.reminders_opt_in is True


def test_post_turns_reminders_off_and_is_audited(client, patient, clinic):
    before = LogEntry.objects.count()
    response = client.post(url(token_for(patient)))  # no CSRF token: mail clients post directly
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.reminders_opt_in is False
    assert LogEntry.objects.count() == before + 1
    entry = patient_history(clinic, patient).first()
    assert entry.changes_dict["reminders_opt_in"] == ["True", "False"]
    assert entry.additional_data["via"] == "unsubscribe link in a reminder email"
    assert entry.actor is None
    assert "will not receive reminder emails" in client.get(response["Location"]).content.decode()


def test_post_twice_logs_once(client, patient):
    token = token_for(patient)
    client.post(url(token))
    count = LogEntry.objects.count()
    assert client.post(url(token)).status_code == 302
    assert LogEntry.objects.count() == count


@pytest.mark.parametrize(
    "make_token",
    [
        lambda p: "not-a-token",
        lambda p: token_for(p)[:-2] + "xx",  # tampered signature
        lambda p: signing.dumps({"patient": p.pk}),  # signed without the unsubscribe salt
        lambda p: signing.dumps({"patient": p.pk + 1000}, salt="refills.reminders.unsubscribe"),  # no such patient
        lambda p: signing.dumps({"r": 10**6}, salt="refills.reminders.unsubscribe"),  # no such reminder
        lambda p: token_for(p, kind=Reminder.Kind.DIGEST),  # a staff email's row names no patient
        lambda p: signing.dumps({"r": True}, salt="refills.reminders.unsubscribe"),
    ],
)
def test_a_bad_token_is_refused_and_changes_nothing(client, patient, make_token):
    for method in (client.get, client.post):
        response = method(url(make_token(patient)))
        assert response.status_code == 400
        assert "does not work" in response.content.decode()
    patient.refresh_from_db()
    assert patient.reminders_opt_in is True


def test_the_token_does_not_reveal_the_patients_internal_id(clinic):
    PatientFactory.create_batch(3, clinic=clinic)  # so the patient's id differs from the row's
    patient = PatientFactory(clinic=clinic, pk=4242, reminders_opt_in=True)
    token = token_for(patient)
    payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    assert "4242" not in token and "4242" not in str(payload) and "patient" not in payload
    assert payload == {"r": Reminder.objects.get(patient=patient).pk}  # the email's own id (its Message-ID shows it)
    assert patient_id_from_token(token) == patient.pk


def test_links_emailed_before_the_change_keep_working(client, patient):
    old_link = signing.dumps({"patient": patient.pk}, salt=UNSUBSCRIBE_SALT)
    assert client.post(url(old_link)).status_code == 302
    patient.refresh_from_db()
    assert patient.reminders_opt_in is False
