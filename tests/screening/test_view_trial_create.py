"""Recording a screening trial: the MAS grid in one form, SPEC 4-style validation (the field
named, nothing partial saved), the candidate moved to "trial done"; access cases."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from screening.models import ScreeningTrial, Stage, StageMove
from tests.screening_data import LONDON, grid_data, make_candidate, make_trial


@pytest.fixture
def candidate(clinic):
    return make_candidate(clinic, stage=Stage.TRIAL_SCHEDULED, referral_date=date(2026, 10, 1))


def test_manager_records_a_trial_with_its_grid(client, manager, candidate):
    client.force_login(manager)
    page = client.get(reverse("trial_create", args=[candidate.pk])).content.decode()
    assert 'name="mas_hip_flexors_l_0"' in page and 'name="hours_6"' in page
    assert 'value="1+"' in page  # the scale's six values, 1+ among them
    response = client.post(reverse("trial_create", args=[candidate.pk]), grid_data())
    trial = ScreeningTrial.objects.get(candidate=candidate)
    assert response.status_code == 302 and response["Location"] == reverse("trial_detail", args=[trial.pk])
    assert trial.given_at == datetime(2026, 11, 24, 9, 30, tzinfo=LONDON)
    assert trial.dose_mcg == Decimal(50) and trial.recorded_by == manager
    assert trial.mas_before == {"hip_adductors_l": "3", "knee_extensors_l": "2"}
    # Only the columns with scores, in order of hours (columns 1, 4 and 6 had none).
    assert trial.mas_after == [
        {"hours": "2", "scores": {"hip_adductors_l": "1+", "knee_extensors_l": "1"}},
        {"hours": "4", "scores": {"hip_adductors_l": "1", "knee_extensors_l": "1"}},
        {"hours": "8", "scores": {"hip_adductors_l": "2", "knee_extensors_l": "2"}},
    ]
    candidate.refresh_from_db()
    assert (candidate.stage, candidate.stage_date) == (Stage.TRIAL_DONE, date(2026, 11, 24))
    assert StageMove.objects.filter(candidate=candidate, stage=Stage.TRIAL_DONE, moved_by=manager).exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"mas_hip_adductors_l_2": "5"}, "mas_hip_adductors_l_2", "MAS is one of 0, 1, 1+, 2, 3 or 4."),
        ({"mas_hip_adductors_l_2": "1.5"}, "mas_hip_adductors_l_2", "MAS is one of 0, 1, 1+, 2, 3 or 4."),
        ({"dose_mcg": "120"}, "dose_mcg", "120 mcg is outside the usual 25-100 mcg"),
        ({"dose_mcg": "20"}, "dose_mcg", "20 mcg is outside the usual 25-100 mcg"),
        ({"dose_mcg": "0"}, "dose_mcg", "The dose must be more than 0 mcg."),
        ({"hours_2": "-1"}, "hours_2", "Time points are after the dose, not before it"),
        ({"hours_2": "0"}, "hours_2", "Time points are after the dose, not before it"),
        ({"hours_2": ""}, "hours_2", "These scores need the hours after the dose"),
        ({"hours_3": "2"}, "hours_3", "Time point 2 is already 2 hours after the dose."),
        ({"trial_date": "2026-11-26"}, "trial_date", "A trial cannot be dated in the future"),
        ({"trial_date": "2026-11-25", "trial_time": "13:00"}, "trial_time", "A trial cannot be dated in the future"),
        ({"mas_hip_flexors_r_3": "2"}, "mas_hip_flexors_r_0", "Hip flexors, right is scored after the dose"),
        ({"outcome": ""}, "outcome", "This field is required."),
    ],
)
def test_refusals_name_the_field_and_save_nothing(client, manager, candidate, overrides, field, message):
    client.force_login(manager)
    response = client.post(reverse("trial_create", args=[candidate.pk]), grid_data(**overrides))
    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors and any(message in e for e in form.errors[field]), form.errors
    assert "Nothing was saved" in response.content.decode()
    assert not ScreeningTrial.objects.exists()
    candidate.refresh_from_db()
    assert candidate.stage == Stage.TRIAL_SCHEDULED


def test_a_dose_outside_25_to_100_is_accepted_when_confirmed(client, manager, candidate):
    client.force_login(manager)
    response = client.post(reverse("trial_create", args=[candidate.pk]), grid_data(dose_mcg="120", dose_confirmed="on"))
    assert response.status_code == 302
    assert ScreeningTrial.objects.get().dose_mcg == Decimal(120)


def test_no_scores_at_all_is_refused(client, manager, candidate):
    client.force_login(manager)
    response = client.post(reverse("trial_create", args=[candidate.pk]), grid_data(scores={}))
    assert "Score at least one muscle group before the dose" in response.content.decode()
    assert not ScreeningTrial.objects.exists()


def test_a_second_trial_at_least_24_hours_after_the_previous(client, manager, candidate):
    make_trial(candidate, given_at=datetime(2026, 11, 23, 10, 0, tzinfo=LONDON))
    client.force_login(manager)
    # 23 h 30 min after: refused, naming the time.
    response = client.post(reverse("trial_create", args=[candidate.pk]), grid_data(trial_time="09:30"))
    assert "Trials are at least 24 hours apart" in " ".join(response.context["form"].errors["trial_time"])
    assert ScreeningTrial.objects.count() == 1
    response = client.post(reverse("trial_create", args=[candidate.pk]), grid_data(trial_time="10:00", dose_mcg="75"))
    assert response.status_code == 302
    assert ScreeningTrial.objects.count() == 2


def test_no_trial_for_a_closed_candidate(client, manager, clinic):
    closed = make_candidate(clinic, stage=Stage.CLOSED, closed_reason="declined", referral_date=date(2026, 10, 1))
    client.force_login(manager)
    response = client.post(reverse("trial_create", args=[closed.pk]), grid_data())
    assert response["Location"] == reverse("candidate_detail", args=[closed.pk])
    assert not ScreeningTrial.objects.exists()


def test_access(client, staff, outsider, candidate):
    url = reverse("trial_create", args=[candidate.pk])
    client.force_login(staff)
    assert client.get(url).status_code == 403
    assert client.post(url, grid_data()).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.post(url, grid_data()).status_code == 404
    assert not ScreeningTrial.objects.exists()


def test_a_time_point_still_in_the_future_is_refused_naming_it(client, manager, candidate):
    client.force_login(manager)
    # Dose today at 09:30; now is 12:00: the 2-hour point (11:30) is past, the 4-hour one (13:30) is not.
    response = client.post(
        reverse("trial_create", args=[candidate.pk]), grid_data(trial_date="2026-11-25", trial_time="09:30")
    )
    form = response.context["form"]
    assert "hours_2" not in form.errors
    assert any(
        "Time point 3, 4 hours after the dose, is Wed 25 Nov 2026 13:30: later than now" in e
        for e in form.errors["hours_3"]
    )
    assert "hours_5" in form.errors
    assert not ScreeningTrial.objects.exists()


def test_a_group_scored_after_at_several_points_but_not_before_gets_one_message(client, manager, candidate):
    client.force_login(manager)
    response = client.post(
        reverse("trial_create", args=[candidate.pk]), grid_data(mas_hip_flexors_r_3="2", mas_hip_flexors_r_5="2")
    )
    assert len(response.context["form"].errors["mas_hip_flexors_r_0"]) == 1
    assert response.content.decode().count("Hip flexors, right is scored after the dose") == 2  # summary + field
