"""The Django admin of candidates (stage history read-only), screening trials (read-only),
refill sessions and absences: each list and page renders for a superuser, edits go through
the app's forms (another clinic's member refused), and nothing bypasses the services."""

from datetime import date, datetime, time

import pytest
from django.urls import reverse

from scheduling.models import Absence, RefillSession
from screening.models import Stage
from tests.factories import MembershipFactory, UserFactory
from tests.screening_data import LONDON, make_candidate, make_trial


@pytest.fixture
def rows(clinic, manager):
    membership = manager.memberships.get()
    candidate = make_candidate(
        clinic, mrn="ADM-CAND", stage=Stage.TRIAL_DONE, referral_date=date(2026, 10, 1), stage_date=date(2026, 11, 3)
    )
    return {
        "candidate": candidate,
        "screeningtrial": make_trial(candidate, given_at=datetime(2026, 11, 3, 9, 15, tzinfo=LONDON)),
        "refillsession": RefillSession.objects.create(
            clinic=clinic, member=membership, weekday=1, start_time=time(9, 0), slots=4
        ),
        "absence": Absence.objects.create(
            clinic=clinic, member=membership, first_day=date(2026, 12, 7), last_day=date(2026, 12, 11), note="Course"
        ),
    }


MODELS = [
    ("screening", "candidate"),
    ("screening", "screeningtrial"),
    ("scheduling", "refillsession"),
    ("scheduling", "absence"),
]


@pytest.mark.parametrize(("app", "model"), MODELS)
def test_each_list_and_page_renders_for_the_superuser(client, superuser, rows, clinic, app, model):
    client.force_login(superuser)
    listing = client.get(reverse(f"admin:{app}_{model}_changelist"))
    assert listing.status_code == 200
    assert clinic.name in listing.content.decode()  # each list names the clinic
    page = client.get(reverse(f"admin:{app}_{model}_change", args=[rows[model].pk]))
    assert page.status_code == 200


def test_candidates_and_trials_are_found_by_mrn_and_listed_without_names(client, superuser, rows, clinic):
    other = make_candidate(clinic, mrn="ADM-OTHER")
    client.force_login(superuser)
    for model in ("candidate", "screeningtrial"):
        page = client.get(reverse(f"admin:screening_{model}_changelist"), {"q": "ADM-CAND"}).content.decode()
        assert "ADM-CAND" in page and "ADM-OTHER" not in page
        assert rows["candidate"].patient.last_name not in page
    # A trial in the clinic's time and words (09:00 in London is 08:00 UTC in summer), the dose without zeros.
    make_trial(other, given_at=datetime(2026, 9, 1, 9, 0, tzinfo=LONDON), dose="75")
    page = client.get(reverse("admin:screening_screeningtrial_changelist")).content.decode()
    assert "Tue 1 Sep 2026 09:00" in page and "08:00" not in page and ">75<" in page
    assert other.pk  # (a second candidate the search leaves out)


def test_the_stage_history_is_read_only_and_candidates_are_not_added_here(client, superuser, rows):
    candidate = rows["candidate"]
    client.force_login(superuser)
    page = client.get(reverse("admin:screening_candidate_change", args=[candidate.pk])).content.decode()
    assert "Trial done" in page and 'name="moves-0-stage"' not in page and 'name="stage"' not in page
    assert client.get(reverse("admin:screening_candidate_add")).status_code == 403
    assert client.get(reverse("admin:screening_screeningtrial_add")).status_code == 403
    trial = rows["screeningtrial"]
    assert (
        client.post(reverse("admin:screening_screeningtrial_delete", args=[trial.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert trial.__class__.objects.filter(pk=trial.pk).exists()


def candidate_data(candidate, **overrides):
    values = {
        "referral_date": "2026-10-01",
        "referrer": "Dr Invented, neurology",
        "cause": "sci",
        "injury_level": "T4",
        "cause_detail": "",
        "functional_goals": "Transfers",
        "clinician": "",
        "notes": "",
        "moves-TOTAL_FORMS": "2",
        "moves-INITIAL_FORMS": "2",
        "moves-MIN_NUM_FORMS": "0",
        "moves-MAX_NUM_FORMS": "1000",
    }
    for n, move in enumerate(candidate.moves.all()):
        values[f"moves-{n}-id"] = str(move.pk)
        values[f"moves-{n}-candidate"] = str(candidate.pk)
    values.update(overrides)
    return values


def test_a_candidate_edit_is_checked_by_the_app_form_and_the_stage_is_kept(client, superuser, rows):
    candidate = rows["candidate"]
    url = reverse("admin:screening_candidate_change", args=[candidate.pk])
    client.force_login(superuser)
    refused = client.post(url, candidate_data(candidate, injury_level="T13"))
    assert refused.status_code == 200 and "Enter a level such as C5" in refused.content.decode()
    candidate.refresh_from_db()
    assert candidate.cause == "ms"
    assert client.post(url, candidate_data(candidate, stage="closed")).status_code == 302
    candidate.refresh_from_db()
    assert (candidate.cause, candidate.injury_level, candidate.stage) == ("sci", "T4", Stage.TRIAL_DONE)


def test_an_absence_for_another_clinics_member_is_refused(client, superuser, rows, clinic, other_clinic):
    stranger = MembershipFactory(clinic=other_clinic, user=UserFactory(username="far-away"))
    client.force_login(superuser)
    response = client.post(
        reverse("admin:scheduling_absence_add"),
        {"clinic": clinic.pk, "member": stranger.pk, "first_day": "2026-12-14", "last_day": "2026-12-15", "note": ""},
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Absence.objects.filter(member=stranger).exists()


def test_a_session_on_a_day_the_clinic_does_not_work_is_refused(client, superuser, rows, clinic):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:scheduling_refillsession_add"),
        {
            "clinic": clinic.pk,
            "member": "",
            "weekday": "6",
            "start_time": "09:00",
            "slots": "4",
            "slot_minutes": "30",
            "active": "on",
        },
    )
    assert response.status_code == 200 and "The clinic does not work on" in response.content.decode()
    assert RefillSession.objects.count() == 1
