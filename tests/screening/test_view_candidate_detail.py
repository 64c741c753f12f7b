"""The candidate page: referral, stage with its days, stage history with who moved it, trials
with their effect and links; actions by role; another clinic's candidate is a 404."""

from datetime import date, datetime

import pytest
from django.urls import reverse

from screening.models import Stage, StageMove
from tests.screening_data import LONDON, make_candidate, make_trial


@pytest.fixture
def candidate(clinic, manager):
    candidate = make_candidate(
        clinic, stage=Stage.TRIAL_DONE, referral_date=date(2026, 9, 1), stage_date=date(2026, 11, 3), clinician=manager
    )
    StageMove.objects.filter(candidate=candidate, stage=Stage.TRIAL_DONE).update(moved_by=manager)
    make_trial(
        candidate,
        given_at=datetime(2026, 11, 2, 9, 0, tzinfo=LONDON),
        dose="50",
        outcome="inconclusive",
        after=[{"hours": "2", "scores": {"hip_adductors_l": "3"}}],
    )
    make_trial(candidate, given_at=datetime(2026, 11, 3, 9, 0, tzinfo=LONDON), dose="75")
    return candidate


def test_the_page_reads_at_a_glance(client, staff, manager, candidate):
    client.force_login(staff)
    response = client.get(reverse("candidate_detail", args=[candidate.pk]))
    html = response.content.decode()
    assert "Trial done" in html and "22 days" in html and "85 days ago" in html
    assert "Tue 1 Sep 2026" in html and "Dr Invented, neurology" in html and "Multiple sclerosis" in html
    assert manager.get_full_name() in html  # the clinician and who moved the stage, by name
    rows = response.context["trials"]
    assert [r.effective for r in rows] == [False, True]
    assert rows[1].effect_hours == 6  # last time point with a mean drop of one step
    assert "last seen 6 h after the dose" in html
    for trial in candidate.trials.all():
        assert reverse("trial_detail", args=[trial.pk]) in html
    # Staff view, without the clinical actions.
    assert reverse("trial_create", args=[candidate.pk]) not in html
    assert reverse("candidate_move", args=[candidate.pk]) not in html


def test_managers_get_the_actions(client, manager, candidate):
    client.force_login(manager)
    html = client.get(reverse("candidate_detail", args=[candidate.pk])).content.decode()
    for name in ("trial_create", "candidate_move", "candidate_edit"):
        assert reverse(name, args=[candidate.pk]) in html


def test_a_closed_candidate_offers_no_trial(client, manager, clinic):
    closed = make_candidate(
        clinic, stage=Stage.CLOSED, closed_reason="not_a_candidate", referral_date=date(2026, 10, 1)
    )
    client.force_login(manager)
    html = client.get(reverse("candidate_detail", args=[closed.pk])).content.decode()
    assert "Closed: not a candidate" in html
    assert reverse("trial_create", args=[closed.pk]) not in html


def test_access(client, outsider, candidate):
    client.force_login(outsider)
    assert client.get(reverse("candidate_detail", args=[candidate.pk])).status_code == 404
    client.logout()
    assert reverse("login") in client.get(reverse("candidate_detail", args=[candidate.pk]))["Location"]


def test_a_referred_candidate_reads_once_and_a_closing_has_no_stray_space(client, manager, clinic):
    import re

    referred = make_candidate(clinic, referral_date=date(2026, 11, 20))
    client.force_login(manager)
    html = client.get(reverse("candidate_detail", args=[referred.pk])).content.decode()
    header = re.sub(r"<[^>]+>|\s+", " ", html.split('class="patient-status"')[1].split("</p>")[0])
    assert header.count("Fri 20 Nov 2026") == 1 and "since" not in header and "5 days ago" in header
    closed = make_candidate(clinic, stage=Stage.CLOSED, closed_reason="declined", referral_date=date(2026, 10, 1))
    html = client.get(reverse("candidate_detail", args=[closed.pk])).content.decode()
    assert "Thu 1 Oct 2026</time>: declined" in html
    page = client.get(reverse("patient_detail", args=[referred.patient_id])).content.decode()
    panel = re.sub(r"<[^>]+>|\s+", " ", page.split('id="h-candidate"')[1].split("</section>")[0])
    assert panel.count("Fri 20 Nov 2026") == 1 and "since" not in panel
