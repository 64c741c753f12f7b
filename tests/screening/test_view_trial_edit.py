"""Editing a recorded trial: the grid comes back filled; the same checks (the trial itself is
not "another trial" 24 hours away); a refused edit changes nothing; access."""

from datetime import date, datetime

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from screening.models import Stage
from tests.screening_data import LONDON, grid_data, make_candidate, make_trial


@pytest.fixture
def trial(clinic):
    candidate = make_candidate(
        clinic, stage=Stage.TRIAL_DONE, referral_date=date(2026, 10, 1), stage_date=date(2026, 11, 24)
    )
    return make_trial(candidate, given_at=datetime(2026, 11, 24, 9, 30, tzinfo=LONDON), dose="50")


def test_the_form_comes_back_filled_and_saves_an_edit(client, manager, trial):
    client.force_login(manager)
    form = client.get(reverse("trial_edit", args=[trial.pk])).context["form"]
    assert form.initial["mas_hip_adductors_l_0"] == "3" and form.initial["hours_4"] == "8"
    assert form.initial["mas_knee_extensors_l_2"] == "0" and str(form.initial["trial_time"]) == "09:30:00"
    response = client.post(reverse("trial_edit", args=[trial.pk]), grid_data(dose_mcg="50", outcome="inconclusive"))
    assert response["Location"] == reverse("trial_detail", args=[trial.pk])
    trial.refresh_from_db()
    assert trial.outcome == "inconclusive" and trial.mas_before == {"hip_adductors_l": "3", "knee_extensors_l": "2"}
    entry = LogEntry.objects.get(content_type__model="screeningtrial", action=LogEntry.Action.UPDATE)
    assert entry.actor == manager and entry.changes_dict["outcome"] == ["responder", "inconclusive"]
    assert trial.candidate.moves.count() == 2  # an edit moves no stage


def test_a_refused_edit_changes_nothing(client, manager, trial):
    client.force_login(manager)
    response = client.post(reverse("trial_edit", args=[trial.pk]), grid_data(**{"mas_hip_adductors_l_0": "7"}))
    assert response.status_code == 200 and "MAS is one of" in response.content.decode()
    trial.refresh_from_db()
    assert trial.mas_before["hip_adductors_l"] == "3" and trial.outcome == "responder"


def test_access(client, staff, outsider, trial):
    client.force_login(staff)
    assert client.get(reverse("trial_edit", args=[trial.pk])).status_code == 403
    assert client.post(reverse("trial_edit", args=[trial.pk]), grid_data()).status_code == 403
    client.force_login(outsider)
    assert client.post(reverse("trial_edit", args=[trial.pk]), grid_data()).status_code == 404
    trial.refresh_from_db()
    assert trial.outcome == "responder"
