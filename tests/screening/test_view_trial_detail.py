"""The trial summary: per muscle group before, best after and change; the effect in words;
the SVG chart; all scores; the starting-dose proposal; the edit link for managers; access."""

from datetime import date

from django.urls import reverse

from screening.models import Stage
from tests.screening_data import make_candidate, make_trial


def test_summary_at_a_glance(client, staff, trial):
    client.force_login(staff)
    response = client.get(reverse("trial_detail", args=[trial.pk]))
    html = response.content.decode()
    assert "Screening trial of 50 mcg" in html and "Tue 3 Nov 2026" in html and "09:15" in html
    groups = {g.label: g for g in response.context["row"].groups}
    adductors = groups["Hip adductors, left"]
    assert (adductors.before, adductors.best_after, adductors.change_text) == ("3", "1", "\u22123 steps")
    assert groups["Hip adductors, right"].best_after == "1" and groups["Knee extensors, left"].best_after == "0"
    assert "last seen 6 hours after the dose" in html
    # The chart: an SVG with one line per group scored, readable without it (desc).
    assert '<svg xmlns="http://www.w3.org/2000/svg" id="mas-chart-' in html
    assert html.count('class="group-line"') == 4
    assert "Hip adductors, left: 3 before, 1 at 2 h, 1 at 4 h, 2 at 6 h, 3 at 8 h." in html
    # Effect last seen at 6 h (not more than 8): twice the dose.
    assert "Proposed: <strong>100 mcg/day</strong>" in html
    assert reverse("trial_edit", args=[trial.pk]) not in html  # staff: no edit


def test_managers_see_the_edit_link(client, manager, trial):
    client.force_login(manager)
    assert (
        reverse("trial_edit", args=[trial.pk]) in client.get(reverse("trial_detail", args=[trial.pk])).content.decode()
    )


def test_a_non_responder_reads_as_such(client, staff, clinic):
    candidate = make_candidate(
        clinic, stage=Stage.TRIAL_DONE, referral_date=date(2026, 10, 1), stage_date=date(2026, 11, 3)
    )
    flat = make_trial(
        candidate,
        outcome="non_responder",
        dose="100",
        after=[
            {
                "hours": "2",
                "scores": {
                    "hip_adductors_l": "3",
                    "hip_adductors_r": "3",
                    "knee_extensors_l": "2",
                    "knee_extensors_r": "2",
                },
            }
        ],
    )
    client.force_login(staff)
    html = client.get(reverse("trial_detail", args=[flat.pk])).content.decode()
    assert "No effect by the scores" in html and "Non-responder" in html and "no change" in html
    assert "No trial is marked responder" in html


def test_access(client, outsider, trial):
    client.force_login(outsider)
    assert client.get(reverse("trial_detail", args=[trial.pk])).status_code == 404
