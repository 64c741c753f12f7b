"""Deleting a screening trial recorded in error: a confirmation page, managers only, audited,
refused once the implant was booked from the trials; another clinic's trial is a 404."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from screening.models import ScreeningTrial, Stage
from tests.screening_data import make_candidate, make_trial

LONDON = ZoneInfo("Europe/London")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel("2026-11-25 12:00:00Z", tick=False):
        yield


def a_trial(clinic, stage=Stage.TRIAL_DONE):
    candidate = make_candidate(clinic, stage=stage, referral_date=date(2026, 10, 1), stage_date=date(2026, 11, 3))
    return make_trial(candidate, given_at=datetime(2026, 11, 3, 9, 15, tzinfo=LONDON), dose="50")


def test_a_manager_confirms_then_deletes_and_it_is_audited(client, manager, clinic):
    trial = a_trial(clinic)
    client.force_login(manager)
    url = reverse("trial_delete", args=[trial.pk])
    assert (
        reverse("trial_delete", args=[trial.pk])
        in client.get(reverse("trial_detail", args=[trial.pk])).content.decode()
    )
    page = client.get(url).content.decode()
    assert "Delete the screening trial of Tue 3 Nov 2026 09:15?" in page
    assert ScreeningTrial.objects.filter(pk=trial.pk).exists()  # the page alone deletes nothing
    assert client.post(url).status_code == 200  # without the page's confirmation: the page again
    assert ScreeningTrial.objects.filter(pk=trial.pk).exists()
    response = client.post(url, {"confirm": "yes"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("candidate_detail", args=[trial.candidate_id])
    assert "The trial of Tue 3 Nov 2026 09:15 was deleted" in response.content.decode()
    assert not ScreeningTrial.objects.filter(pk=trial.pk).exists()
    entry = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(ScreeningTrial),
        object_pk=str(trial.pk),
        action=LogEntry.Action.DELETE,
    )
    assert entry.actor == manager


def test_refused_once_the_implant_is_booked(client, manager, clinic):
    trial = a_trial(clinic, stage=Stage.IMPLANT_SCHEDULED)
    client.force_login(manager)
    response = client.post(reverse("trial_delete", args=[trial.pk]), {"confirm": "yes"}, follow=True)
    assert "the implant was booked from these trials" in response.content.decode()
    assert ScreeningTrial.objects.filter(pk=trial.pk).exists()


def test_access(client, staff, outsider, clinic):
    trial = a_trial(clinic)
    url = reverse("trial_delete", args=[trial.pk])
    client.force_login(staff)
    assert client.get(url).status_code == 403 and client.post(url, {"confirm": "yes"}).status_code == 403
    assert (
        reverse("trial_delete", args=[trial.pk])
        not in client.get(reverse("trial_detail", args=[trial.pk])).content.decode()
    )
    client.force_login(outsider)
    assert client.post(url, {"confirm": "yes"}).status_code == 404
    assert ScreeningTrial.objects.filter(pk=trial.pk).exists()
